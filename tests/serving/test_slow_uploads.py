"""Slow and stalled uploads on a real server: they hold no decode slot, time out with
408 when they stall, and at most ``max_uploads`` are received at once.

The tests talk raw HTTP/1.1 over sockets: a client library would send the body it
declares.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aural.serving import create_app
from aural.serving.runner import serve_in_thread

pytestmark = pytest.mark.slow

IDLE_S = 1.0  # the test server's upload_idle_timeout_s


@pytest.fixture(scope="module")
def slow_server(
    model_cache, server_config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """1 worker + 1 queued, 3 uploads at once, 1 s upload idle limit."""
    tmp_dir = tmp_path_factory.mktemp("slow-uploads")
    config = server_config(
        tmp_dir,
        workers=1,
        queue=1,
        max_uploads=3,
        upload_idle_timeout_s=IDLE_S,
        retry_after_s=2,
    )
    with serve_in_thread(
        create_app(config, model_cache=model_cache), port=config.port
    ) as url:
        yield url, tmp_dir


def _stall(
    url: str, auth: dict[str, str], path: str = "/v1/transcribe"
) -> socket.socket:
    """A connection that declares a 1000-byte body, sends 10 bytes and goes quiet."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.sendall(
        (
            f"POST {path} HTTP/1.1\r\n"
            "Host: x\r\n"
            f"Authorization: {auth['Authorization']}\r\n"
            "Content-Type: application/octet-stream\r\n"
            "Content-Length: 1000\r\n"
            "\r\n"
            "0123456789"
        ).encode()
    )
    return sock


def _read_status(sock: socket.socket) -> tuple[int, bytes]:
    """The status code and the bytes the server sent before closing or pausing."""
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1]), data


def _post_ldc(url: str, auth: dict[str, str], ldc: bytes) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/transcribe",
        files={"file": ("a.wav", ldc)},
        headers=auth,
        timeout=120,
    )


def test_stalled_uploads_hold_no_decode_slot_and_time_out(
    slow_server, auth, ldc_wav: Path
):
    url, tmp_dir = slow_server
    # as many stalled uploads as the pool has slots (1 worker + 1 queued)
    stalled = [_stall(url, auth), _stall(url, auth, "/v1/transcribe/base64")]
    try:
        time.sleep(0.3)
        r = _post_ldc(url, auth, ldc_wav.read_bytes())
        assert r.status_code == 200, r.text
        assert "greasy wash" in r.json()["text"].lower()
        started = time.monotonic()
        for (
            sock
        ) in stalled:  # each ends with 408 after the idle limit, not the 120 s one
            status, data = _read_status(sock)
            assert status == 408, data
            assert b'"timeout"' in data and b"stalled" in data
        assert time.monotonic() - started < 10 * IDLE_S
    finally:
        for sock in stalled:
            sock.close()
    assert list(tmp_dir.iterdir()) == []


def test_uploads_beyond_max_uploads_get_429(slow_server, auth, ldc_wav: Path):
    url, tmp_dir = slow_server
    stalled = [_stall(url, auth) for _ in range(3)]  # max_uploads = 3
    try:
        time.sleep(0.3)
        r = _post_ldc(url, auth, ldc_wav.read_bytes())
        assert r.status_code == 429, r.text
        assert r.headers["retry-after"] == "2"
        assert r.json()["error"]["type"] == "overloaded"
        assert "uploads" in r.json()["error"]["message"]
        for sock in stalled:
            assert _read_status(sock)[0] == 408
    finally:
        for sock in stalled:
            sock.close()
    # the places are free again once the stalled uploads have timed out
    r = _post_ldc(url, auth, ldc_wav.read_bytes())
    assert r.status_code == 200, r.text
    assert list(tmp_dir.iterdir()) == []
