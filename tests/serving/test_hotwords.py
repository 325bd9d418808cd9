"""The ``hotwords`` field on every transcription endpoint (issue 18), on real servers.

Whisper tiny.en takes hotwords: the entries reach ``DecodeOptions`` (the Transcript
JSON records them) and a malformed weight is a 422 before decoding. PocketSphinx takes
none: each endpoint refuses a list with a 422 naming hotwords, which also shows the
field reaches the options on every endpoint.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from aural.serving import ServeConfig, create_app
from aural.serving.runner import serve_in_thread
from aural.serving.schemas import HOTWORDS_MAX_CHARS

pytestmark = pytest.mark.slow

LIST = "Gwynplaine, Dea:2.0, a greasy wash:1.5, Gwynplaine"
ENTRIES = ["Gwynplaine", "Dea:2.0", "a greasy wash:1.5"]  # each entry once, in order


def _post(
    client: httpx.Client, route: str, audio: Path, fields: dict[str, str]
) -> httpx.Response:
    if route == "/v1/transcribe/base64":
        body = {"audio_data": base64.b64encode(audio.read_bytes()).decode(), **fields}
        return client.post(route, json=body)
    if route == "/v1/audio/transcriptions":
        fields = {"model": "whisper-1", **fields}
    return client.post(
        route, files={"file": ("a.wav", audio.read_bytes())}, data=fields
    )


ROUTES = ("/v1/transcribe", "/v1/audio/transcriptions", "/v1/transcribe/base64")


def _assert_422(r: httpx.Response, *needles: str) -> None:
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["type"] == "invalid_options"
    for needle in needles:
        assert needle in error["message"], error


async def _stream(url: str, pcm: bytes, headers: dict[str, str]) -> list[Any]:
    """Send ``pcm`` at once, then the end frame; every event until the close, and the
    close code last."""
    events: list[Any] = []
    async with connect(url, additional_headers=headers, proxy=None) as ws:
        for i in range(0, len(pcm), 32_000):
            await ws.send(pcm[i : i + 32_000])
        await ws.send(json.dumps({"type": "end"}))
        async for message in ws:
            events.append(json.loads(message))
        events.append(ws.close_code)
    return events


async def _first_error(url: str, headers: dict[str, str]) -> tuple[Any, int | None]:
    """The first event of a stream the server refuses at once, and its close code."""
    async with connect(url, additional_headers=headers, proxy=None) as ws:
        message = json.loads(await asyncio.wait_for(ws.recv(), 30))
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 30)
        return message, ws.close_code


# -- whisper: hotwords taken -----------------------------------------------------------


def test_transcribe_records_the_entries(client: httpx.Client, ldc_wav: Path) -> None:
    r = _post(client, "/v1/transcribe", ldc_wav, {"hotwords": LIST})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["info"]["options"]["hotwords"] == ENTRIES
    assert "greasy wash" in body["text"].lower()
    query = client.post(
        "/v1/transcribe",
        params={"hotwords": "Ursus:0.5"},
        content=ldc_wav.read_bytes(),
    )
    assert query.status_code == 200, query.text
    assert query.json()["info"]["options"]["hotwords"] == ["Ursus:0.5"]


@pytest.mark.parametrize("route", ROUTES[1:])
def test_other_endpoints_take_hotwords(
    client: httpx.Client, ldc_wav: Path, route: str
) -> None:
    r = _post(client, route, ldc_wav, {"hotwords": LIST})
    assert r.status_code == 200, r.text
    text = r.json().get("text") or r.json().get("transcription")
    assert "greasy wash" in text.lower()


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("hotwords", "needles"),
    [
        ("Gwynplaine, Dea:loud", ("hotwords", "Dea:loud", "must be a number")),
        ("Dea:-2", ("hotwords", "Dea", ">= 0")),
        ("x" * (HOTWORDS_MAX_CHARS + 1), ("hotwords", "at most")),
    ],
)
def test_malformed_hotwords_are_422(
    client: httpx.Client, ldc_wav: Path, route: str, hotwords: str, needles
) -> None:
    r = _post(client, route, ldc_wav, {"hotwords": hotwords})
    _assert_422(r, *needles)
    assert len(r.json()["error"]["message"]) < 1000  # a long list is not echoed


def test_listen_takes_hotwords(server, auth, ldc_pcm16: bytes) -> None:
    url = f"{server.ws_url}/v1/listen?hotwords=Gwynplaine,%20Dea:2.0&max_lag_s=600"
    events = asyncio.run(_stream(url, ldc_pcm16, auth))
    kinds = [e["type"] for e in events[:-1]]
    assert "error" not in kinds and kinds[-1] == "end", events
    text = " ".join(e["text"] for e in events[:-1] if e["type"] == "final")
    assert "greasy" in text.lower()
    assert events[-1] == 1000


def test_listen_malformed_weight_is_an_error_frame(server, auth) -> None:
    url = f"{server.ws_url}/v1/listen?hotwords=Dea:loud"
    error, code = asyncio.run(_first_error(url, auth))
    assert error["type"] == "error" and error["error"] == "invalid_options"
    assert "hotwords" in error["message"] and "Dea:loud" in error["message"]
    assert code == 1003


# -- sphinx: hotwords refused ----------------------------------------------------------


@pytest.fixture(scope="module")
def sphinx_server(
    tmp_path_factory: pytest.TempPathFactory,
    server_config: Callable[..., ServeConfig],
    shared_data: Path,
) -> Iterator[str]:
    config = server_config(
        tmp_path_factory.mktemp("sphinx-uploads"), engine="sphinx", workers=1
    )
    with serve_in_thread(create_app(config), port=config.port) as url:
        yield url


@pytest.mark.parametrize("route", ROUTES)
def test_engine_without_hotwords_is_422(
    sphinx_server: str, auth, ldc_wav: Path, route: str
) -> None:
    with httpx.Client(base_url=sphinx_server, headers=auth, timeout=120) as client:
        _assert_422(
            _post(client, route, ldc_wav, {"hotwords": "Gwynplaine"}),
            "does not support hotwords",
        )
        plain = _post(client, route, ldc_wav, {})
        assert plain.status_code == 200, plain.text


def test_listen_engine_without_hotwords_is_an_error_frame(
    sphinx_server: str, auth
) -> None:
    url = sphinx_server.replace("http://", "ws://", 1) + "/v1/listen?hotwords=Dea"
    error, code = asyncio.run(_first_error(url, auth))
    assert error["type"] == "error" and error["error"] == "invalid_options"
    assert "does not support hotwords" in error["message"]
    assert code == 1003
