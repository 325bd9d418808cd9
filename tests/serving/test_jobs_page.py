"""The web page runs long files as jobs: in headless Chromium (Debian's chromium driven
by Playwright) the 'background job' box sends the upload to POST /v1/jobs, the page
shows the job's progress while it polls, then the transcript; a file over 8 MiB ticks
the box by itself. The test fails on a page error or a content-security-policy
violation."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf
from tests.browser import open_page, require_chromium

from aural import audio
from aural.serving import ModelCache, ServeConfig, create_app
from aural.serving.runner import serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LONG_MS = 120_000  # the model shares two CPU cores with everything else
API_KEY = "test-key-123"  # tests/serving/conftest.py's key


@pytest.fixture(scope="module")
def chromium() -> Path:
    return require_chromium()


@pytest.fixture()
def jobs_url(
    model_cache: ModelCache,
    server_config: Callable[..., ServeConfig],
    tmp_path: Path,
) -> Iterator[str]:
    config = server_config(
        tmp_path / "uploads",
        jobs_dir=tmp_path / "jobs",
        job_poll_s=0.2,
        job_lease_s=3.0,
        max_upload_mb=20.0,
        max_duration_s=600.0,
    )
    with serve_in_thread(
        create_app(config, model_cache=model_cache), port=config.port
    ) as url:
        yield url


@pytest.fixture()
def page(chromium: Path, tmp_path: Path) -> Iterator[object]:
    with open_page(tmp_path / "profile") as page:
        yield page


def test_page_runs_a_long_file_as_a_job_and_shows_progress(
    page, jobs_url: str, jfk_flac: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    # a longer recording: JFK's 11 s four times (44 s)
    waveform = audio.load(jfk_flac)
    long = tmp_path / "jfk-x4.wav"
    sf.write(long, np.tile(waveform.samples, 4), waveform.sample_rate)
    page.goto(jobs_url)
    page.fill("#api-key", API_KEY)
    assert not page.locator("#as-job").is_checked()
    page.set_input_files("#file-input", str(long))
    page.check("#as-job")
    statuses: list[str] = []
    page.expose_function("reportStatus", lambda text: statuses.append(text))
    page.evaluate(
        """() => new MutationObserver(() => window.reportStatus(
             document.getElementById('status').textContent)).observe(
             document.getElementById('status'), {childList: true, subtree: true,
             characterData: true})"""
    )
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/v1/jobs"),
        timeout=LONG_MS,
    ) as submitted:
        page.click("#upload-button")
    assert submitted.value.status == 202
    job_id = submitted.value.json()["id"]
    expect(page.locator("#status")).to_contain_text("Done", timeout=LONG_MS)
    # the page showed the job's progress while it ran
    running = [s for s in statuses if "is running" in s]
    assert running and all(job_id in s for s in running), statuses
    # (how finely the percentage moves depends on the engine: tiny.en decodes 44 s in
    # one batch of 30 s windows and reports it when they are done)
    percents = [int(re.search(r"(\d+) % done", s).group(1)) for s in running]
    assert percents == sorted(percents) and all(0 <= p <= 100 for p in percents)
    job = httpx.get(
        f"{jobs_url}/v1/jobs/{job_id}",
        headers={"Authorization": f"Bearer {API_KEY}"},
    ).json()
    assert job["status"] == "succeeded"
    assert job["options"]["word_timestamps"] is True  # the page asks for word times
    words = sum(len(s["words"]) for s in job["result"]["segments"])
    expect(page.locator("#segments .word")).to_have_count(words)
    expect(page.locator("#final-text")).to_contain_text("fellow Americans")


def test_a_large_file_ticks_the_job_box(page, jobs_url: str, tmp_path: Path) -> None:
    small, large = tmp_path / "small.wav", tmp_path / "big.wav"
    small.write_bytes(b"0" * 1000)
    with large.open("wb") as f:  # 9 MiB (the page looks at the size only)
        f.truncate(9 * 1024 * 1024)
    page.goto(jobs_url)
    page.set_input_files("#file-input", str(small))
    assert not page.locator("#as-job").is_checked()
    page.set_input_files("#file-input", str(large))
    assert page.locator("#as-job").is_checked()
