"""The page and its assets are served from the package, with nothing loaded from
elsewhere."""

from __future__ import annotations

import re
from importlib import resources

import httpx

from aural.serving.routes_system import STATIC_PACKAGE


def test_page_and_assets_are_local(server):
    page = httpx.get(f"{server.url}/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    refs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert refs, "the page references its assets"
    for ref in refs:
        assert not ref.startswith(("http:", "https:", "//")), ref
    for asset in ("/static/app.js", "/static/style.css", "/static/pcm-worklet.js"):
        r = httpx.get(f"{server.url}{asset}")
        assert r.status_code == 200, asset
        assert "https://" not in r.text and "http://" not in r.text


def test_openapi_lists_the_endpoints(server):
    spec = httpx.get(f"{server.url}/openapi.json").json()
    for path in (
        "/v1/transcribe",
        "/v1/audio/transcriptions",
        "/v1/transcribe/base64",
        "/health",
        "/ready",
        "/metrics",
    ):
        assert path in spec["paths"], path
    body = spec["paths"]["/v1/transcribe"]["post"]["requestBody"]["content"]
    assert "file" in body["multipart/form-data"]["schema"]["properties"]
    form = spec["paths"]["/v1/audio/transcriptions"]["post"]["requestBody"]["content"]
    assert (
        "timestamp_granularities[]"
        in form["multipart/form-data"]["schema"]["properties"]
    )


def test_info_describes_the_server(server):
    info = httpx.get(f"{server.url}/v1/info").json()
    assert info["engines"] == ["whisper:tiny.en"]
    assert info["auth_required"] is True
    assert info["max_upload_mb"] == 2.0


def test_page_needs_no_inline_code_or_styles():
    """What the policy (script-src/style-src 'self') would refuse: inline scripts,
    event-handler attributes, style attributes, and code built from strings."""
    static = resources.files(STATIC_PACKAGE)
    html = static.joinpath("index.html").read_text(encoding="utf-8")
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert "<style" not in html
    assert re.findall(r"\s(?:on\w+|style)=", html) == []
    for name in ("app.js", "pcm-worklet.js"):
        code = static.joinpath(name).read_text(encoding="utf-8")
        for banned in ("eval(", "new Function", "innerHTML", 'setAttribute("style"'):
            assert banned not in code, (name, banned)
    assert '<audio id="player" controls' in html  # the upload plays under its words
