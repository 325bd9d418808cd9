"""GET /metrics: Prometheus text with requests, latency, audio seconds, queue and
streams."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow


def _value(text: str, sample: str) -> float:
    match = re.search(rf"^{re.escape(sample)} ([0-9.e+-]+)$", text, re.MULTILINE)
    assert match, f"{sample} not in /metrics"
    return float(match.group(1))


def test_metrics_count_requests_latency_and_audio(
    client: httpx.Client, server, ldc_wav: Path
):
    before = httpx.get(f"{server.url}/metrics").text
    audio_before = (
        _value(before, 'aural_audio_seconds_total{route="/v1/transcribe"}')
        if 'aural_audio_seconds_total{route="/v1/transcribe"}' in before
        else 0.0
    )
    assert (
        client.post("/v1/transcribe", content=ldc_wav.read_bytes()).status_code == 200
    )
    assert httpx.post(f"{server.url}/v1/transcribe", content=b"x").status_code == 401
    response = httpx.get(f"{server.url}/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    ok = 'aural_requests_total{method="POST",route="/v1/transcribe",status="200"}'
    assert _value(text, ok) >= 1
    assert _value(text, ok.replace('"200"', '"401"')) >= 1
    assert (
        _value(text, 'aural_request_duration_seconds_count{route="/v1/transcribe"}')
        >= 2
    )
    assert (
        'aural_request_duration_seconds_bucket{le="0.5",route="/v1/transcribe"}' in text
    )
    audio_after = _value(text, 'aural_audio_seconds_total{route="/v1/transcribe"}')
    assert audio_after - audio_before == pytest.approx(2.925, abs=0.01)
    assert _value(text, 'aural_inference_duration_seconds_count{engine="whisper"}') >= 1
    assert _value(text, "aural_queue_depth") == 0
    assert _value(text, "aural_in_flight_requests") == 0
    assert _value(text, "aural_active_streams") == 0
