"""Hostile input on WS /v1/listen: every bad stream ends with a JSON error event and a
close code with a reason, frees its stream slot, and leaves the server serving others.

Real servers on loopback, real recordings, a real ``websockets`` client.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from aural.serving import create_app
from aural.serving.runner import serve_in_thread

pytestmark = pytest.mark.slow

END = json.dumps({"type": "end"})


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture()
def server_log() -> Iterator[list[logging.LogRecord]]:
    """Warnings and errors the server logs (uvicorn's loggers do not reach caplog)."""
    handler = _Collect()
    loggers = [logging.getLogger(n) for n in ("aural", "uvicorn.error", "uvicorn")]
    for lg in loggers:
        lg.addHandler(handler)
    yield handler.records
    for lg in loggers:
        lg.removeHandler(handler)


@pytest.fixture(scope="module")
def tight_server(model_cache, server_config, tmp_path_factory) -> Iterator[Any]:
    """One stream at a time, 1 s idle timeout, 2 s of audio per stream."""
    config = server_config(
        tmp_path_factory.mktemp("tight"),
        max_streams=1,
        request_timeout_s=1.0,
        max_duration_s=2.0,
    )
    with serve_in_thread(
        create_app(config, model_cache=model_cache), port=config.port
    ) as url:
        yield url


def ws_url(base: str, query: str = "") -> str:
    return (
        base.replace("http://", "ws://", 1)
        + "/v1/listen"
        + (f"?{query}" if query else "")
    )


def wait_streams_idle(base: str) -> str:
    """The /metrics text once no stream is open (fails after 30 s)."""
    deadline = time.monotonic() + 30
    while True:
        metrics = httpx.get(f"{base}/metrics").text
        if "aural_active_streams 0.0" in metrics or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert "aural_active_streams 0.0" in metrics
    return metrics


async def _drain(ws: ClientConnection, timeout: float = 60) -> list[dict[str, Any]]:
    """Every event until the server closes (a hang fails the test)."""
    events: list[dict[str, Any]] = []
    try:
        while True:
            events.append(json.loads(await asyncio.wait_for(ws.recv(), timeout)))
    except ConnectionClosed:
        pass
    return events


def exchange(
    url: str, frames: list[str | bytes], headers: dict[str, str] | None
) -> tuple[list[dict[str, Any]], int | None, str]:
    """Send ``frames`` (ignoring a close meanwhile); return (events, close code,
    reason)."""

    async def go() -> tuple[list[dict[str, Any]], int | None, str]:
        async with connect(
            url, additional_headers=headers, proxy=None, max_size=None
        ) as ws:
            for frame in frames:
                try:
                    await ws.send(frame)
                except ConnectionClosed:
                    break
            events = await _drain(ws)
        return events, ws.close_code, ws.close_reason

    return asyncio.run(go())


def assert_error(result, error: str, code: int, needle: str) -> None:
    events, close_code, reason = result
    assert [e["type"] for e in events] == ["error"], events
    assert events[0]["error"] == error
    assert needle in events[0]["message"]
    assert close_code == code
    assert reason and len(reason.encode()) <= 123
    assert reason[:40] == events[0]["message"][:40]


def final_text(events: list[dict[str, Any]]) -> str:
    return " ".join(e["text"] for e in events if e["type"] == "final").lower()


@pytest.mark.parametrize(
    ("frame", "needle"),
    [
        ("hello", "unexpected text frame"),
        ("[1, 2]", "unexpected text frame"),
        ("null", "unexpected text frame"),
        ('{"type": 5}', "unexpected text frame"),
        ('{"type": "pause"}', "unexpected text frame"),
        ('{"type": "end", "flush": true}', "'flush'"),
        ("x" * (1 << 20), "unexpected text frame"),
    ],
)
def test_bad_text_frames_get_error_and_1003(server, auth, ldc_pcm16, frame, needle):
    result = exchange(ws_url(server.url), [ldc_pcm16[:8000], frame], auth)
    assert_error(result, "bad_request", 1003, needle)
    wait_streams_idle(server.url)


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("sample_rate=0", "sample_rate"),
        ("sample_rate=1", "sample_rate"),
        ("sample_rate=-16000", "sample_rate"),
        ("sample_rate=10000000", "sample_rate"),
        ("sample_rate=2000", "sample_rate"),
        ("sample_rate=16k", "sample_rate"),
        ("encoding=pcm_mulaw", "encoding"),
        ("encoding=", "encoding"),
        ("partials=maybe", "partials"),
        ("beam_size=0", "beam_size"),
        ("endpoint_silence_s=nan", "endpoint_silence_s"),
        ("channels=2", "channels"),
    ],
)
def test_bad_stream_options_get_error_and_1003(server, auth, query, needle):
    result = exchange(ws_url(server.url, query), [], auth)
    assert_error(result, "invalid_options", 1003, needle)
    wait_streams_idle(server.url)


@pytest.mark.parametrize(
    "headers",
    [None, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic test-key-123"}],
)
def test_missing_or_wrong_key_gets_1008(server, headers):
    result = exchange(
        ws_url(server.url, "api_key=wrong" if headers else ""), [], headers
    )
    assert_error(result, "unauthorized", 1008, "API key")
    wait_streams_idle(server.url)


def test_odd_byte_frames_are_reassembled(server, auth, ldc_pcm16):
    cuts = [0, 16001, 16002, 40001, 64003, len(ldc_pcm16) - 1, len(ldc_pcm16)]
    frames: list[str | bytes] = [ldc_pcm16[a:b] for a, b in itertools.pairwise(cuts)]
    events, code, _ = exchange(ws_url(server.url), [*frames, b"", END], auth)
    assert events[-1]["type"] == "end" and code == 1000
    assert "greasy" in final_text(events)
    wait_streams_idle(server.url)


def test_nan_and_inf_float32_are_zeroed_not_fatal(server, auth, ldc_wav):
    from aural import audio

    samples = audio.load(ldc_wav).samples.astype("<f4")
    samples[2000:2400] = np.nan
    samples[30000:30100] = np.inf
    samples[40000:40100] = -np.inf
    url = ws_url(server.url, "encoding=pcm_f32le")
    events, code, _ = exchange(url, [samples.tobytes(), END], auth)
    assert "error" not in [e["type"] for e in events]
    assert events[-1]["type"] == "end" and code == 1000
    assert "greasy" in final_text(events)
    wait_streams_idle(server.url)


def test_many_tiny_frames(server, auth, ldc_pcm16):
    audio_part = ldc_pcm16[:32000]  # 1 s in 16,000 frames of one sample
    frames: list[str | bytes] = [
        audio_part[i : i + 2] for i in range(0, len(audio_part), 2)
    ]
    events, code, _ = exchange(ws_url(server.url), [*frames, END], auth)
    assert events[-1]["type"] == "end" and code == 1000
    wait_streams_idle(server.url)


def _count(metrics: str, outcome: str) -> float:
    prefix = f'aural_streams_total{{outcome="{outcome}"}} '
    return sum(
        float(line[len(prefix) :])
        for line in metrics.splitlines()
        if line.startswith(prefix)
    )


def test_frame_beyond_max_size_is_refused_and_server_keeps_serving(
    server, auth, ldc_pcm16
):
    errors = _count(wait_streams_idle(server.url), "error")
    # the test server runs the CLI's ws_max_size (4 MiB)
    _, code, reason = exchange(ws_url(server.url), [bytes(5 * 1024 * 1024)], auth)
    assert code == 1009 and "exceeds" in reason
    assert (
        _count(wait_streams_idle(server.url), "error") == errors + 1
    )  # not "disconnected"
    events, code, _ = exchange(ws_url(server.url), [ldc_pcm16, END], auth)
    assert "greasy" in final_text(events) and code == 1000


def test_audio_after_the_end_frame_is_ignored(server, auth, ldc_pcm16):
    frames: list[str | bytes] = [ldc_pcm16, END, ldc_pcm16[:32000], END]
    events, code, _ = exchange(ws_url(server.url), frames, auth)
    kinds = [e["type"] for e in events]
    assert kinds.count("end") == 1 and kinds[-1] == "end" and "error" not in kinds
    assert code == 1000
    wait_streams_idle(server.url)


def test_stream_longer_than_max_duration_gets_1009(tight_server, auth, ldc_pcm16):
    frames: list[str | bytes] = [
        ldc_pcm16[i : i + 16000] for i in range(0, len(ldc_pcm16), 16000)
    ]
    result = exchange(ws_url(tight_server), [*frames, END], auth)
    assert_error(result, "audio_too_long", 1009, "2 s")
    wait_streams_idle(tight_server)


def test_idle_client_times_out_and_frees_the_slot(tight_server, auth):
    began = time.monotonic()
    result = exchange(ws_url(tight_server), [], auth)
    assert_error(result, "timeout", 1008, "no audio for 1 s")
    assert time.monotonic() - began < 10
    assert 'aural_streams_total{outcome="error"}' in wait_streams_idle(tight_server)


def test_trickling_client_cannot_hold_a_slot(tight_server, auth):
    async def trickle() -> tuple[list[dict[str, Any]], int | None, str, float]:
        began = time.monotonic()
        async with connect(
            ws_url(tight_server), additional_headers=auth, proxy=None
        ) as ws:
            try:
                for _ in range(
                    40
                ):  # one sample every 0.5 s: never idle, never 2 s of audio
                    await ws.send(b"\0\0")
                    await asyncio.sleep(0.5)
            except ConnectionClosed:
                pass
            events = await _drain(ws)
        return events, ws.close_code, ws.close_reason, time.monotonic() - began

    events, code, reason, took = asyncio.run(trickle())
    assert_error((events, code, reason), "timeout", 1008, "limit of 3 s")
    assert took < 10
    wait_streams_idle(tight_server)


def test_streams_beyond_max_streams_are_refused_then_served(
    tight_server, auth, ldc_pcm16
):
    async def go() -> tuple[Any, Any]:
        async with connect(
            ws_url(tight_server), additional_headers=auth, proxy=None
        ) as first:
            await first.send(ldc_pcm16[:8000])
            await asyncio.sleep(0.2)
            async with connect(
                ws_url(tight_server), additional_headers=auth, proxy=None
            ) as ws:
                refused = (await _drain(ws), ws.close_code, ws.close_reason)
            await first.send(END)
            await _drain(first)
        return refused, first.close_code

    refused, first_code = asyncio.run(go())
    assert_error(refused, "overloaded", 1013, "retry later")
    assert first_code == 1000
    metrics = wait_streams_idle(tight_server)
    assert 'aural_streams_total{outcome="refused"}' in metrics
    events, code, _ = exchange(ws_url(tight_server), [ldc_pcm16[:32000], END], auth)
    assert events[-1]["type"] == "end" and code == 1000


def test_client_vanishing_mid_utterance_logs_nothing(
    server, auth, ldc_pcm16, server_log
):
    async def vanish() -> None:
        ws = await connect(ws_url(server.url), additional_headers=auth, proxy=None)
        await ws.send(ldc_pcm16[:40000])
        await asyncio.sleep(0.3)  # a decode is running
        ws.transport.abort()  # TCP reset, no close frame

    asyncio.run(vanish())
    metrics = wait_streams_idle(server.url)
    assert 'aural_streams_total{outcome="disconnected"}' in metrics
    time.sleep(0.5)  # let the aborted decode finish in its worker thread
    assert not [r for r in server_log if r.levelno >= logging.ERROR], server_log
