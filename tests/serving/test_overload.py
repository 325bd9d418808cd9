"""Overload: a server with one worker and a queue of one answers 429, never 5xx or a
hang."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from aural.serving import create_app
from aural.serving.runner import serve_in_thread

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_server(model_cache, server_config, tmp_path_factory: pytest.TempPathFactory):
    tmp_dir = tmp_path_factory.mktemp("tiny-uploads")
    config = server_config(tmp_dir, workers=1, queue=1, max_streams=1, retry_after_s=2)
    with serve_in_thread(
        create_app(config, model_cache=model_cache), port=config.port
    ) as url:
        yield url, tmp_dir


def test_overload_gets_429_with_retry_after(tiny_server, auth, ldc_wav: Path):
    url, tmp_dir = tiny_server
    data = ldc_wav.read_bytes()

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=url, headers=auth, timeout=120) as c:
            return await asyncio.gather(
                *(
                    c.post("/v1/transcribe", files={"file": ("a.wav", data)})
                    for _ in range(6)
                )
            )

    responses = asyncio.run(burst())
    codes = sorted(r.status_code for r in responses)
    assert set(codes) <= {200, 429}, codes  # never a 5xx
    assert codes.count(429) >= 3  # capacity is 1 running + 1 waiting
    assert 1 <= codes.count(200) <= 3
    for r in responses:
        if r.status_code == 429:
            assert r.headers["retry-after"] == "2"
            assert r.json()["error"]["type"] == "overloaded"
        else:
            assert "greasy wash" in r.json()["text"].lower()
    assert list(tmp_dir.iterdir()) == []
    # the server recovers: capacity is free again once the burst is done
    again = httpx.post(f"{url}/v1/transcribe", content=data, headers=auth, timeout=120)
    assert again.status_code == 200
    metrics = httpx.get(f"{url}/metrics").text
    assert (
        'aural_requests_total{method="POST",route="/v1/transcribe",status="429"}'
        in metrics
    )
    assert "aural_queue_depth 0.0" in metrics


def test_streams_beyond_limit_are_refused(tiny_server, auth):
    url, _ = tiny_server
    ws_url = url.replace("http://", "ws://") + "/v1/listen"

    async def two_streams() -> tuple[dict, int | None]:
        async with connect(ws_url, additional_headers=auth, proxy=None) as first:
            await first.send(b"\x00\x00" * 1600)
            async with connect(ws_url, additional_headers=auth, proxy=None) as second:
                message = json.loads(await asyncio.wait_for(second.recv(), 30))
                await second.wait_closed()
                code = second.close_code
            await first.send(json.dumps({"type": "end"}))
            async for event in first:
                if json.loads(event)["type"] == "end":
                    break
        return message, code

    message, code = asyncio.run(two_streams())
    assert message == {
        "type": "error",
        "error": "overloaded",
        "message": "the server already serves 1 streams; retry later",
    }
    assert code == 1013
