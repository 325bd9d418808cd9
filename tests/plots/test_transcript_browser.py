"""The HTML transcript player in Debian's Chromium (headless, driven by Playwright):
playing moves the cursor and highlights the word being spoken, clicking a word seeks
the audio to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.browser import CHROMIUM_ARGS, open_page

from aural.plots.transcript import (
    TranscriptPicture,
    segments_from_transcript,
    write_transcript_html,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARGS = [*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required", "--mute-audio"]


@pytest.fixture(scope="module")
def player(jfk_flac: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """jfk.flac transcribed by tiny.en, written as the HTML player."""
    import aural
    from aural.audio import load

    waveform = load(jfk_flac)
    transcript = aural.Recognizer().transcribe(waveform)
    picture = TranscriptPicture(
        waveform.samples, 16000, 0.0, segments_from_transcript(transcript), "jfk"
    )
    out = tmp_path_factory.mktemp("player") / "jfk.html"
    return write_transcript_html(picture, out)


@pytest.fixture()
def page(player: Path, tmp_path: Path) -> Iterator[object]:
    with open_page(
        tmp_path / "profile", ARGS, viewport={"width": 1000, "height": 700}
    ) as page:
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(player.as_uri())
        page.wait_for_function("document.getElementById('audio').readyState >= 1")
        yield page
        # the page fetches nothing but itself and its data: URIs
        assert [u for u in requests if not u.startswith(("file:", "data:"))] == []


def cursor_left(page) -> float:
    return page.evaluate("parseFloat(document.getElementById('cursor').style.left)")


def test_clicking_a_word_seeks_the_audio(page) -> None:
    word = page.locator(".word").nth(5)
    start = float(word.get_attribute("data-start"))
    word.click()
    page.wait_for_function(
        f"Math.abs(document.getElementById('audio').currentTime - {start}) < 0.05"
    )
    axis = page.evaluate("JSON.parse(document.getElementById('picture').dataset.axis)")
    now = page.evaluate("document.getElementById('audio').currentTime")
    scale = (axis["x1"] - axis["x0"]) / (axis["t1"] - axis["t0"])
    expected = axis["x0"] + now * scale
    assert cursor_left(page) == pytest.approx(expected, abs=1.0)
    # the word under the cursor is highlighted
    assert "on" in (word.get_attribute("class") or "")


def test_playing_moves_the_cursor_over_the_words(page) -> None:
    before = cursor_left(page)
    page.evaluate("document.getElementById('audio').play()")
    page.wait_for_function(
        "document.getElementById('audio').currentTime > 1.5", timeout=20_000
    )
    page.evaluate("document.getElementById('audio').pause()")
    t = page.evaluate("document.getElementById('audio').currentTime")
    assert cursor_left(page) > before + 1.5 * 60  # at least 60 pixels a second
    highlighted = page.locator(".word.on")
    if highlighted.count():  # between words nothing is highlighted
        start = float(highlighted.first.get_attribute("data-start"))
        end = float(highlighted.first.get_attribute("data-end"))
        assert start <= t < end + 0.25
