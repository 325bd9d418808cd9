"""The web page at / in headless Chromium: upload a file, and record from a fake
microphone, each with a hotword list that the request carries.

Debian's chromium (/usr/bin/chromium) is driven by Playwright; Chromium's fake capture
device plays a real recording (JFK, converted to 16-bit WAV at test time) as the
microphone. Set AURAL_UPDATE_SCREENSHOT=1 to refresh docs/img/web-page.png.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
import soundfile as sf

from aural import audio
from aural.serving import ServeConfig, create_app
from aural.serving.runner import free_port, serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
API_KEY = "page-key"
LONG_S = 120_000  # ms: the model shares two CPU cores with everything else


def chromium_args(mic_wav: Path) -> list[str]:
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={mic_wav}",
    ]


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(
                "/usr/bin/chromium is missing under CI (apt-get install chromium)"
            )
        pytest.skip(
            "Debian chromium not installed at /usr/bin/chromium (apt-get install "
            "chromium)"
        )
    pytest.importorskip("playwright.sync_api")
    return CHROMIUM


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
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh user-data-dir
            executable_path=str(chromium),
            headless=True,
            args=chromium_args(mic_wav),
            accept_downloads=True,
            viewport={"width": 1100, "height": 900},
        )
        try:
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page
            assert errors == [], errors
        finally:
            context.close()


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
    shot = tmp_path / "web-page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0
    if os.environ.get("AURAL_UPDATE_SCREENSHOT") == "1":
        target = REPO / "docs" / "img" / "web-page.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target)
