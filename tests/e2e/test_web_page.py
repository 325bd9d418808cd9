"""The web page at / in headless Chromium: upload a file, and record from a fake
microphone, each with a hotword list that the request carries; an uploaded file plays
under its words (highlight, click to seek, confidence shading, speakers, language).

Debian's chromium (/usr/bin/chromium) is driven by Playwright; Chromium's fake capture
device plays a real recording (JFK, converted to 16-bit WAV at test time) as the
microphone. Every test fails on a page error or a content-security-policy violation.
Set AURAL_UPDATE_SCREENSHOT=1 to refresh docs/img/web-page.png.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
import soundfile as sf
from tests.browser import CHROMIUM_ARGS, open_page, require_chromium

from aural import audio
from aural.serving import ServeConfig, create_app
from aural.serving.runner import free_port, serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
API_KEY = "page-key"
LONG_S = 120_000  # ms: the model shares two CPU cores with everything else
# app.js's CONFIDENCE: a word's class is the first bin whose floor it reaches
CONFIDENCE_FLOORS = (("conf-high", 0.8), ("conf-mid", 0.5), ("conf-low", float("-inf")))
HOLD_S = 0.3  # app.js: a word stays lit this long after its end


def chromium_args(mic_wav: Path) -> list[str]:
    return [
        *CHROMIUM_ARGS,
        "--autoplay-policy=no-user-gesture-required",  # play() from the test
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={mic_wav}",
    ]


@pytest.fixture(scope="module")
def chromium() -> Path:
    return require_chromium()


@pytest.fixture(scope="module")
def page_url(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    config = ServeConfig(
        engine="whisper",
        beam_size=1,
        workers=2,
        port=free_port(),
        api_key=API_KEY,
        tmp_dir=tmp_path_factory.mktemp("page-uploads"),
    )
    with serve_in_thread(create_app(config), port=config.port) as url:
        yield url


@pytest.fixture()
def mic_wav(jfk_flac: Path, tmp_path: Path) -> Path:
    """JFK (44.1 kHz stereo FLAC) as the 16-bit mono WAV Chromium's fake mic plays."""
    w = audio.load(jfk_flac, sample_rate=16000)
    path = tmp_path / "mic.wav"
    pcm = np.concatenate([np.zeros(8000, np.float32), w.samples])  # 0.5 s lead-in
    sf.write(path, pcm, 16000, subtype="PCM_16")
    return path


@pytest.fixture()
def page(chromium: Path, mic_wav: Path, tmp_path: Path) -> Iterator[object]:
    with open_page(
        tmp_path / "profile",  # a fresh user-data-dir
        chromium_args(mic_wav),
        accept_downloads=True,
        viewport={"width": 1100, "height": 900},
    ) as page:
        yield page


def _open(page, url: str) -> None:
    from playwright.sync_api import expect

    # streaming knobs on the page URL reach the WebSocket: never skip partials, even
    # when other jobs starve the server of CPU
    page.goto(f"{url}/?max_lag_s=600&partial_interval_s=1.0")
    expect(page.locator("#key-panel")).to_be_visible()  # /v1/info says a key is needed
    page.fill("#api-key", API_KEY)
    expect(page.locator("#engine-info")).to_contain_text("whisper:tiny.en")


def test_upload_shows_transcript_and_downloads_srt(
    page, page_url: str, ldc_wav: Path, tmp_path: Path
):
    from playwright.sync_api import expect

    _open(page, page_url)
    page.fill("#hotwords", " Gwynplaine,, Dea:2.0 ")
    page.set_input_files("#file-input", str(ldc_wav))
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/v1/transcribe"),
        timeout=LONG_S,
    ) as response:
        page.click("#upload-button")
    # Chromium does not show a multipart body with a file to Playwright: the options
    # the server decoded with (recorded in the transcript) show what the form carried
    transcript = response.value.json()
    assert transcript["info"]["options"]["hotwords"] == ["Gwynplaine", "Dea:2.0"]
    expect(page.locator("#final-text")).to_contain_text(
        "greasy wash", ignore_case=True, timeout=LONG_S
    )
    expect(page.locator("#status")).to_contain_text("Done")
    expect(page.locator("#segments li")).not_to_have_count(0)
    with page.expect_download() as info:
        page.click("#download-srt")
    srt = Path(info.value.path()).read_text()
    assert info.value.suggested_filename == "transcript.srt"
    assert "-->" in srt and "greasy wash" in srt.lower()
    page.screenshot(path=str(tmp_path / "upload.png"), full_page=True)
    assert (tmp_path / "upload.png").stat().st_size > 0


def test_microphone_streams_live_partials_and_finals(
    page, page_url: str, tmp_path: Path
):
    from playwright.sync_api import expect

    _open(page, page_url)
    page.evaluate(
        """() => {
          window.__partials = [];
          const el = document.getElementById('partial');
          new MutationObserver(() => {
            if (el.textContent) window.__partials.push(el.textContent);
          }).observe(el, {childList: true, characterData: true, subtree: true});
        }"""
    )
    page.fill("#hotwords", "Americans, fellow citizens:1.5")
    with page.expect_websocket() as socket:
        page.click("#record-button")
    query = parse_qs(urlsplit(socket.value.url).query)
    assert query["hotwords"] == ["Americans, fellow citizens:1.5"]
    expect(page.locator("#status")).to_contain_text("Listening", timeout=30_000)
    expect(page.locator("body")).to_have_class("recording")
    # a live partial arrives while the microphone is still recording
    page.wait_for_function("() => window.__partials.length > 0", timeout=LONG_S)
    expect(page.locator("#segments li")).not_to_have_count(0, timeout=LONG_S)  # a final
    assert page.evaluate("document.body.classList.contains('recording')")
    page.click("#stop-button")
    expect(page.locator("#status")).to_contain_text(
        "Recording transcribed", timeout=LONG_S
    )
    text = page.locator("#final-text").inner_text().lower()
    assert "americans" in text or "fellow" in text
    expect(page.locator("#download-vtt")).to_be_enabled()
    with page.expect_download() as info:
        page.click("#download-vtt")
    assert Path(info.value.path()).read_text().startswith("WEBVTT")
    shot = tmp_path / "live.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0


# the highlighted words and the player's time, read in one animation frame (after the
# page's own frame callback has updated the highlight)
_SAMPLE = """() => new Promise((resolve) => requestAnimationFrame(() => {
  const player = document.getElementById('player');
  const lit = document.querySelectorAll('#segments .word.current');
  const el = lit[0];
  resolve({
    t: player.currentTime, count: lit.length, paused: player.paused,
    index: el ? Number(el.dataset.index) : -1,
    aria: el ? el.getAttribute('aria-current') : null,
  });
}))"""

# record the player's time and the highlighted word when a seek completes, then pause
# there, so the state the click left is what the test reads
_RECORD_SEEKS = """() => {
  window.__seeks = [];
  const player = document.getElementById('player');
  player.addEventListener('seeked', () => {
    const lit = document.querySelector('#segments .word.current');
    window.__seeks.push({
      t: player.currentTime, playing: !player.paused,
      index: lit ? Number(lit.dataset.index) : -1,
    });
    player.pause();
  });
}"""


def _word(
    start: float, end: float, text: str, probability: float, speaker: str
) -> dict:
    return {
        "start": start,
        "end": end,
        "text": text,
        "probability": probability,
        "speaker": speaker,
    }


def _confidence_class(probability: float) -> str:
    return next(cls for cls, floor in CONFIDENCE_FLOORS if probability >= floor)


def _upload(page, path: Path) -> dict:
    page.set_input_files("#file-input", str(path))
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/v1/transcribe"),
        timeout=LONG_S,
    ) as response:
        page.click("#upload-button")
    return response.value.json()


def _play_and_sample(page, until_s: float) -> list[dict]:
    """Play the upload muted and sample the highlight until ``until_s`` seconds in."""
    page.evaluate(
        "() => { const a = document.getElementById('player'); a.muted = true; "
        "return a.play(); }"
    )
    samples: list[dict] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        samples.append(page.evaluate(_SAMPLE))
        if samples[-1]["t"] > until_s:
            break
        page.wait_for_timeout(120)
    return samples


def _seek_by_click(page, locator) -> dict:
    page.evaluate("() => { window.__seeks = []; }")
    locator.click()
    page.wait_for_function("() => window.__seeks.length > 0", timeout=10_000)
    return page.evaluate("window.__seeks[0]")


def _save_docs_screenshot(shot: Path) -> None:
    """docs/img/web-page.png: the screenshot quantised to a small palette."""
    from PIL import Image

    target = REPO / "docs" / "img" / "web-page.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(shot) as img:
        small = img.convert("RGB").quantize(
            colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
        small.save(target, optimize=True)
    assert target.stat().st_size < 150_000, target.stat().st_size


def test_upload_plays_audio_under_its_words(
    page, page_url: str, jfk_flac: Path, tmp_path: Path
):
    from playwright.sync_api import expect

    _open(page, page_url)
    transcript = _upload(page, jfk_flac)
    info = transcript["info"]
    assert info["options"]["word_timestamps"] is True  # the page asked for them
    words = [w for seg in transcript["segments"] for w in seg["words"]]
    assert len(words) >= 15, words  # "And so my fellow Americans..."
    spans = page.locator("#segments .word")
    expect(spans).to_have_count(len(words), timeout=LONG_S)
    expect(page.locator("#segments li")).to_have_count(len(transcript["segments"]))
    rendered = spans.evaluate_all(
        "els => els.map(e => ({text: e.textContent, start: Number(e.dataset.start),"
        " cls: e.className}))"
    )
    assert [r["text"] for r in rendered] == [w["text"].strip() for w in words]
    assert [r["start"] for r in rendered] == [w["start"] for w in words]
    assert [r["cls"] for r in rendered] == [
        f"word {_confidence_class(w['probability'])}" for w in words
    ]
    expect(page.locator("#confidence-legend")).to_be_visible()
    assert info["language"] == "en"
    expect(page.locator("#transcript-info")).to_contain_text("Language: English (en)")
    expect(page.locator("#transcript-info")).to_contain_text(f"{len(words)} words")

    # the player holds the uploaded file itself
    expect(page.locator("#player")).to_be_visible()
    assert page.evaluate("document.getElementById('player').src").startswith("blob:")
    page.wait_for_function(
        "() => isFinite(document.getElementById('player').duration)", timeout=10_000
    )
    duration = page.evaluate("document.getElementById('player').duration")
    assert duration == pytest.approx(info["duration"], abs=0.05)

    # playing: one word lit at a time, moving forward with the player's time
    samples = _play_and_sample(page, until_s=4.0)
    assert samples[-1]["t"] > 4.0, samples  # the audio played
    assert all(s["count"] <= 1 for s in samples), samples
    lit = [s for s in samples if s["index"] >= 0]
    indices = [s["index"] for s in lit]
    assert indices == sorted(indices) and len(set(indices)) >= 3, samples
    for s in lit:
        word = words[s["index"]]
        assert s["aria"] == "true"
        assert word["start"] <= s["t"] + 0.02, (s, word)
        assert s["t"] < word["end"] + HOLD_S + 0.1, (s, word)

    # clicking a later word seeks to its start, plays, and lights it
    page.evaluate(_RECORD_SEEKS)
    k = next(
        i
        for i in range(len(words) - 3, 0, -1)
        if words[i + 1]["start"] > words[i]["start"]
    )
    seek = _seek_by_click(page, spans.nth(k))
    assert seek["t"] == pytest.approx(words[k]["start"], abs=0.05)
    assert seek["playing"] and seek["index"] == k, seek
    expect(spans.nth(k)).to_have_attribute("aria-current", "true")
    expect(page.locator("#segments .word.current")).to_have_count(1)

    # a segment's time plays from the segment's start
    seek = _seek_by_click(page, page.locator("#segments .seek").first)
    first = transcript["segments"][0]
    assert seek["t"] == pytest.approx(first["start"], abs=0.05)
    _seek_by_click(page, spans.nth(k))  # the screenshot shows a lit word

    shot = tmp_path / "web-page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0
    if os.environ.get("AURAL_UPDATE_SCREENSHOT") == "1":
        _save_docs_screenshot(shot)


@pytest.mark.slow
def test_upload_with_label_speakers_shows_the_speakers(
    page, page_url: str, shared_data: Path
):
    """The "Label speakers" box sends diarize=true; a real two-person recording comes
    back with speakers on its words, and the page labels them."""
    from playwright.sync_api import expect

    _open(page, page_url)
    page.check("#diarize")
    meeting = shared_data / "diarization" / "ami" / "audio" / "trn00.wav"
    transcript = _upload(page, meeting)
    speakers = {seg.get("speaker") for seg in transcript["segments"]}
    assert None not in speakers and len(speakers) >= 2, transcript["segments"]
    labels = page.locator("#segments .speaker")
    expect(labels.first).to_be_visible(timeout=LONG_S)
    shown = set(labels.evaluate_all("els => els.map(e => e.textContent)"))
    assert shown == speakers
    expect(page.locator("#transcript-info")).to_contain_text(
        f"Speakers ({len(speakers)})"
    )


def test_page_shows_speakers_confidence_and_language_of_a_transcript(
    page, page_url: str
):
    """The diarized shape (speaker on segments and words), built here: the page's own
    rendering function draws it."""
    from playwright.sync_api import expect

    segments = [
        {
            "start": 0.0,
            "end": 2.0,
            "text": " Bonjour à tous.",
            "speaker": "S1",
            "words": [
                _word(0.0, 0.6, " Bonjour", 0.95, "S1"),
                _word(0.6, 0.9, " à", 0.62, "S1"),
                _word(0.9, 2.0, " tous.", 0.2, "S1"),
            ],
        },
        {  # the speaker changes inside the segment
            "start": 2.5,
            "end": 4.0,
            "text": " Merci. Oui.",
            "speaker": "S2",
            "words": [
                _word(2.5, 3.0, " Merci.", 0.9, "S2"),
                _word(3.2, 4.0, " Oui.", 0.85, "S1"),
            ],
        },
        {"start": 4.5, "end": 5.0, "text": " Au revoir.", "speaker": "S3", "words": []},
    ]
    transcript = {
        "schema_version": "1.0",
        "text": "Bonjour à tous. Merci. Oui. Au revoir.",
        "segments": segments,
        "info": {
            "language": "fr",
            "language_probability": 0.91,
            "duration": 5.0,
            "engine": "whisper",
            "model": "tiny",
            "options": {},
        },
    }
    _open(page, page_url)
    page.evaluate("t => window.auralPage.showTranscript(t)", transcript)

    spans = page.locator("#segments .word")
    expect(spans).to_have_count(5)
    classes = spans.evaluate_all("els => els.map(e => e.className)")
    assert classes == [
        "word conf-high",
        "word conf-mid",
        "word conf-low",
        "word conf-high",
        "word conf-high",
    ]
    # told apart without colour: no underline, dotted, wavy
    styles = page.evaluate(
        """() => ['conf-high', 'conf-mid', 'conf-low'].map((c) => {
          const s = getComputedStyle(document.querySelector('#segments .' + c));
          return [s.textDecorationLine, s.textDecorationStyle];
        })"""
    )
    assert styles == [["none", "solid"], ["underline", "dotted"], ["underline", "wavy"]]
    labels = page.locator("#segments .speaker").evaluate_all(
        "els => els.map(e => [e.textContent, e.className])"
    )
    assert labels == [
        ["S1", "speaker speaker-0"],
        ["S2", "speaker speaker-1"],
        ["S1", "speaker speaker-0"],
        ["S3", "speaker speaker-2"],
    ]
    colours = page.locator("#segments .speaker").evaluate_all(
        "els => els.map(e => getComputedStyle(e).backgroundColor)"
    )
    assert len({colours[0], colours[1], colours[3]}) == 3, colours
    lines = page.locator("#segments li").evaluate_all(
        "els => els.map(e => [e.className, e.querySelector('.line').textContent])"
    )
    assert [c for c, _ in lines] == [
        "segment speaker-0",
        "segment speaker-1",
        "segment speaker-2",
    ]
    assert lines[2][1].strip() == "S3 Au revoir."  # no word times: the text
    info = page.locator("#transcript-info")
    expect(info).to_contain_text("Language: French (fr), 91 % sure")
    expect(info).to_contain_text("Speakers (3): S1 S2 S3")
    expect(page.locator("#confidence-legend")).to_be_visible()
    # no upload, no player: times are not buttons one can press, words do nothing
    expect(page.locator("#player-bar")).to_be_hidden()
    expect(page.locator("#segments .seek").first).to_be_disabled()
    spans.nth(1).click()
    expect(page.locator("#segments .word.current")).to_have_count(0)
    # the lookup the highlight uses: the last word started, held HOLD_S past its end
    at = page.evaluate(
        "ts => ts.map((t) => window.auralPage.wordAt(t))", [0.0, 0.7, 2.2, 2.4, 3.1]
    )
    assert at == [0, 1, 2, -1, 3]
