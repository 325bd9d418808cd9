"""Client input that once gave a 500 or a wrong status, on a real server over HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow


def test_deeply_nested_json_is_400(client: httpx.Client):
    body = '{"audio_data": ' + "[" * 100_000 + "]" * 100_000 + "}"
    r = client.post(
        "/v1/transcribe/base64",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["type"] == "bad_request"
    assert "nested too deeply" in r.json()["error"]["message"]


def test_json_nan_is_400(client: httpx.Client):
    r = client.post(
        "/v1/transcribe/base64",
        content=b'{"audio_data": "AAAA", "temperature": NaN}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert "NaN" in r.json()["error"]["message"]


@pytest.mark.parametrize("route", ["/v1/transcribe", "/v1/audio/transcriptions"])
def test_file_in_another_field_is_400(client: httpx.Client, ldc_wav: Path, route: str):
    r = client.post(route, files={"audio": ("a.wav", ldc_wav.read_bytes())})
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["type"] == "bad_request"
    assert "'audio'" in err["message"] and "'file'" in err["message"]


def test_connection_stays_usable_after_client_errors(server, auth, ldc_wav: Path):
    """Each 4xx leaves the keep-alive connection open for the next request."""
    ldc = ldc_wav.read_bytes()
    bad_requests = [
        ("/v1/transcribe/base64", {"content": b"[" * 5000 + b"]" * 5000}, 400),
        ("/v1/transcribe/base64", {"content": b'{"audio_data": "!!"}'}, 400),
        (
            "/v1/transcribe",
            {"files": {"file": ("a.wav", ldc)}, "data": {"beam_size": "0"}},
            422,
        ),
        ("/v1/transcribe", {"files": {"file": ("a.mp3", b"\x00" * 4000)}}, 415),
        ("/v1/transcribe", {"files": {"audio": ("a.wav", ldc)}}, 400),
        ("/v1/transcribe", {"content": b""}, 400),
    ]
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    with httpx.Client(
        base_url=server.url, headers=auth, timeout=120, limits=limits
    ) as c:
        peers = set()
        for route, kwargs, status in bad_requests:
            bad = c.post(route, **kwargs)
            assert bad.status_code == status, (route, bad.text)
            good = c.post("/v1/transcribe", content=ldc)
            assert good.status_code == 200, good.text
            assert "greasy wash" in good.json()["text"].lower()
            for r in (bad, good):
                peers.add(r.extensions["network_stream"].get_extra_info("client_addr"))
    assert len(peers) == 1  # one connection served every request
