"""POST /v1/transcribe and /v1/transcribe/base64 on a real server with real
recordings."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf

from aural import audio

pytestmark = pytest.mark.slow


def test_transcribe_multipart_returns_transcript_json(
    client: httpx.Client, server, ldc_wav: Path, check_transcript
):
    with ldc_wav.open("rb") as f:
        r = client.post(
            "/v1/transcribe", files={"file": ("LDC93S1.wav", f, "audio/wav")}
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["schema_version"]
    assert "greasy wash" in body["text"].lower()
    assert body["info"]["engine"] == "whisper"
    assert body["info"]["duration"] == pytest.approx(2.925, abs=0.01)
    assert body["info"]["options"]["beam_size"] == 1  # the server's default
    check_transcript(body)
    assert any(seg["words"] for seg in body["segments"])
    assert list(server.tmp_dir.iterdir()) == []  # the spooled upload is gone
    srt = client.post("/v1/render", json={"transcript": body, "format": "srt"})
    assert srt.status_code == 200
    assert "greasy" in srt.text.lower() and "-->" in srt.text


def test_transcribe_raw_body_with_query_options_as_srt(
    client: httpx.Client, jfk_flac: Path
):
    r = client.post(
        "/v1/transcribe",
        params={"response_format": "srt", "language": "en", "vad": "false"},
        content=jfk_flac.read_bytes(),
        headers={"Content-Type": "audio/flac"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/x-subrip")
    lines = r.text.strip().splitlines()
    assert lines[0] == "1"
    assert "-->" in lines[1] and "," in lines[1]  # SRT uses a decimal comma
    assert "ask not what your country can do for you" in r.text.lower()


def test_transcribe_form_fields_txt(client: httpx.Client, ldc_wav: Path):
    r = client.post(
        "/v1/transcribe",
        files={"file": ("a.wav", ldc_wav.read_bytes())},
        data={"response_format": "txt", "word_timestamps": "false", "beam_size": "1"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    assert "greasy wash" in r.text.lower()


def test_transcribe_base64_reports_timings(client: httpx.Client, ldc_wav: Path):
    payload = {
        "audio_data": base64.b64encode(ldc_wav.read_bytes()).decode(),
        "beam_size": 1,
    }
    r = client.post("/v1/transcribe/base64", json=payload)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "greasy" in body["transcription"].lower()
    assert 0.0 < body["confidence"] <= 1.0
    assert body["audio_duration"] == pytest.approx(2.925, abs=0.01)
    assert body["inference_time"] > 0
    assert body["real_time_factor"] == pytest.approx(
        body["inference_time"] / body["audio_duration"], rel=1e-6
    )


def test_base64_bad_data_is_400(client: httpx.Client):
    r = client.post("/v1/transcribe/base64", json={"audio_data": "not base64 !!"})
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "bad_request"
    assert "base64" in r.json()["error"]["message"]


# -- error paths -----------------------------------------------------------------------


def test_missing_api_key_is_401(server, ldc_wav: Path):
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        r = httpx.post(
            f"{server.url}/v1/transcribe", content=ldc_wav.read_bytes(), headers=headers
        )
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json()["error"]["type"] == "unauthorized"


def test_health_ready_need_no_key(server):
    assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}
    ready = httpx.get(f"{server.url}/ready")
    assert ready.status_code == 200
    assert ready.json()["engines"] == ["whisper:tiny.en"]


@pytest.fixture(scope="module")
def big_wav(tmp_path_factory: pytest.TempPathFactory, ldc_wav: Path) -> Path:
    """A real recording tiled to 80 s (2.5 MB as PCM16): over the 2 MiB test limit."""
    w = audio.load(ldc_wav)
    path = tmp_path_factory.mktemp("big") / "long.wav"
    sf.write(path, np.tile(w.samples, 28), 16000, subtype="PCM_16")
    return path


def test_upload_over_limit_is_413_by_content_length(
    client: httpx.Client, big_wav: Path
):
    r = client.post(
        "/v1/transcribe", files={"file": ("long.wav", big_wav.read_bytes())}
    )
    assert r.status_code == 413
    assert r.json()["error"]["type"] == "too_large"
    assert "2 MiB" in r.json()["error"]["message"]


def test_upload_over_limit_is_413_when_streamed_without_length(
    client: httpx.Client, big_wav: Path
):
    def chunks() -> Iterator[bytes]:  # chunked transfer: no Content-Length to check
        with big_wav.open("rb") as f:
            while block := f.read(64 * 1024):
                yield block

    r = client.post(
        "/v1/transcribe", content=chunks(), headers={"Content-Type": "audio/wav"}
    )
    assert r.status_code == 413
    assert r.json()["error"]["type"] == "too_large"


def test_two_files_in_one_request_is_400(client: httpx.Client, ldc_wav: Path):
    data = ldc_wav.read_bytes()
    r = client.post(
        "/v1/transcribe", files=[("file", ("a.wav", data)), ("file", ("b.wav", data))]
    )
    assert r.status_code == 400
    assert "exactly one audio file" in r.json()["error"]["message"]


def test_audio_longer_than_limit_is_413(
    client: httpx.Client, tmp_path: Path, ldc_wav: Path
):
    w = audio.load(ldc_wav)
    path = tmp_path / "long.flac"  # FLAC keeps 45 s under the 2 MiB size limit
    sf.write(path, np.tile(w.samples, 16)[: 45 * 16000], 16000, format="FLAC")
    assert path.stat().st_size < 2 * 1024 * 1024
    r = client.post("/v1/transcribe", files={"file": ("long.flac", path.read_bytes())})
    assert r.status_code == 413
    err = r.json()["error"]
    assert err["type"] == "audio_too_long"
    assert "45.0 s" in err["message"] and "40 s" in err["message"]


def test_corrupt_audio_is_415_naming_the_file(client: httpx.Client):
    junk = os.urandom(4096)
    r = client.post("/v1/transcribe", files={"file": ("notes.mp3", junk, "audio/mpeg")})
    assert r.status_code == 415
    err = r.json()["error"]
    assert err["type"] == "unsupported_audio"
    assert (
        "notes.mp3" in err["message"]
    )  # the client's name, not the server's temp path
    assert "aural-upload-" not in err["message"]


def test_truncated_wav_is_4xx(client: httpx.Client, ldc_wav: Path):
    header_only = ldc_wav.read_bytes()[
        :44
    ]  # a WAV header announcing data that is absent
    r = client.post("/v1/transcribe", files={"file": ("cut.wav", header_only)})
    assert r.status_code in (400, 415)
    assert r.json()["error"]["type"] in (
        "empty_audio",
        "audio_decode_error",
        "unsupported_audio",
    )


def test_empty_body_is_400(client: httpx.Client):
    r = client.post("/v1/transcribe", content=b"")
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "no_audio"


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"beam_size": "0"}, "beam_size"),
        ({"beam": "3"}, "unknown option"),
        ({"response_format": "docx"}, "response_format"),
        ({"temperature": "hot"}, "temperature"),
        ({"engine": "sphinx"}, "not loaded"),
    ],
)
def test_invalid_options_are_422(client: httpx.Client, ldc_wav: Path, fields, needle):
    r = client.post(
        "/v1/transcribe", files={"file": ("a.wav", ldc_wav.read_bytes())}, data=fields
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["type"] == "invalid_options"
    assert needle in r.json()["error"]["message"]


def test_english_model_rejects_other_language_with_422(
    client: httpx.Client, ldc_wav: Path
):
    r = client.post(
        "/v1/transcribe", params={"language": "fr"}, content=ldc_wav.read_bytes()
    )
    assert r.status_code == 422
    assert "fr" in r.json()["error"]["message"]


def test_cors_allows_only_configured_origin(server):
    ok = httpx.options(
        f"{server.url}/v1/transcribe",
        headers={
            "Origin": "http://allowed.example",
            "Access-Control-Request-Method": "POST",
        },
    )
    assert ok.headers.get("access-control-allow-origin") == "http://allowed.example"
    bad = httpx.options(
        f"{server.url}/v1/transcribe",
        headers={
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "POST",
        },
    )
    assert "access-control-allow-origin" not in bad.headers


def test_unknown_route_uses_error_body(server):
    r = httpx.get(f"{server.url}/v1/nothing-here")
    assert r.status_code == 404
    assert r.json()["error"]["type"] == "not_found"


def test_temp_dir_is_clean_after_rejected_uploads(
    client: httpx.Client, server, ldc_wav: Path
):
    client.post(
        "/v1/transcribe",
        files={"file": ("a.wav", ldc_wav.read_bytes())},
        data={"beam_size": "0"},
    )  # refused after the upload was spooled to disk
    client.post("/v1/transcribe", files={"file": ("b.mp3", b"\x00" * 1000)})
    client.post("/v1/transcribe", content=os.urandom(3 * 1024 * 1024))  # 413 mid-stream
    assert list(server.tmp_dir.iterdir()) == []


def test_render_rejects_non_transcript(client: httpx.Client):
    bad = client.post(
        "/v1/render", json={"transcript": {"segments": []}, "format": "srt"}
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["type"] == "invalid_options"
