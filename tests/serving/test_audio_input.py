"""Audio input over HTTP: headerless PCM with its format as request options, and a file
whose header understates its length."""

from __future__ import annotations

import base64
import struct
from pathlib import Path

import httpx
import numpy as np
import pytest

from aural import audio

pytestmark = pytest.mark.slow


def test_raw_pcm_without_rate_is_422_naming_the_file(
    client: httpx.Client, goforward_raw: Path
):
    r = client.post(
        "/v1/transcribe", files={"file": ("goforward.raw", goforward_raw.read_bytes())}
    )
    assert r.status_code == 422, r.text
    message = r.json()["error"]["message"]
    assert message.startswith("goforward.raw: ")
    assert "raw_sample_rate" in message and "raw_encoding" in message
    assert "aural-upload-" not in message and "/" not in message.split(":", 1)[0]
    assert "--raw-sample-rate" not in message  # a CLI flag means nothing over HTTP


def _assert_goforward(text: str) -> None:
    words = text.lower()
    assert "forward" in words and ("ten" in words or "10" in words), text


def test_raw_pcm_with_rate_is_transcribed(client: httpx.Client, goforward_raw: Path):
    data = goforward_raw.read_bytes()
    as_form = client.post(
        "/v1/transcribe",
        files={"file": ("goforward.raw", data)},
        data={"raw_sample_rate": "16000", "raw_encoding": "pcm_s16le"},
    )
    assert as_form.status_code == 200, as_form.text
    _assert_goforward(as_form.json()["text"])
    assert as_form.json()["info"]["duration"] == pytest.approx(2.786, abs=0.01)
    as_body = client.post(
        "/v1/transcribe",
        params={"raw_sample_rate": 16000, "response_format": "txt"},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert as_body.status_code == 200, as_body.text
    _assert_goforward(as_body.text)
    as_base64 = client.post(
        "/v1/transcribe/base64",
        json={"audio_data": base64.b64encode(data).decode(), "raw_sample_rate": 16000},
    )
    assert as_base64.status_code == 200, as_base64.text
    _assert_goforward(as_base64.json()["transcription"])
    as_openai = client.post(
        "/v1/audio/transcriptions",
        files={"file": ("goforward.pcm", data)},
        data={"model": "whisper-1", "raw_sample_rate": "16000"},
    )
    assert as_openai.status_code == 200, as_openai.text
    _assert_goforward(as_openai.json()["text"])


def test_raw_encoding_without_rate_is_422(client: httpx.Client, goforward_raw: Path):
    r = client.post(
        "/v1/transcribe",
        files={"file": ("goforward.raw", goforward_raw.read_bytes())},
        data={"raw_encoding": "pcm_s16le"},
    )
    assert r.status_code == 422, r.text
    assert "raw_sample_rate" in r.json()["error"]["message"]


@pytest.mark.parametrize("rate", ["1", "1999", "800000"])
def test_implausible_raw_rate_is_422_before_decoding(
    client: httpx.Client, goforward_raw: Path, rate: str
):
    r = client.post(
        "/v1/transcribe",
        files={"file": ("goforward.raw", goforward_raw.read_bytes())},
        data={"raw_sample_rate": rate},
    )
    assert r.status_code == 422, r.text
    assert "raw_sample_rate" in r.json()["error"]["message"]


def _lying_m4a(path: Path, samples: np.ndarray, rate: int = 16000) -> None:
    """AAC in M4A whose mvhd/tkhd/mdhd durations claim 1 s (as a hostile client
    might)."""
    import av

    with av.open(str(path), "w", format="ipod") as out:
        stream = out.add_stream("aac", rate=rate, layout="mono")
        resampler = av.AudioResampler(
            format=stream.codec_context.format.name, layout="mono", rate=rate
        )
        for i in range(0, samples.size, rate):
            frame = av.AudioFrame.from_ndarray(
                samples[None, i : i + rate], format="flt", layout="mono"
            )
            frame.sample_rate = rate
            for resampled in resampler.resample(frame):
                out.mux(stream.encode(resampled))
        out.mux(stream.encode(None))
    data = bytearray(path.read_bytes())
    for box in (b"mvhd", b"tkhd", b"mdhd"):
        i = data.find(box)
        dates = 8 if data[i + 4] == 0 else 16  # creation + modification time
        if box == b"tkhd":  # version/flags, dates, track id, reserved, duration
            struct.pack_into(">I", data, i + 8 + dates + 8, 1000)
        else:  # version/flags, dates, timescale, duration: 1 s in that timescale
            (timescale,) = struct.unpack_from(">I", data, i + 8 + dates)
            struct.pack_into(">I", data, i + 8 + dates + 4, timescale)
    path.write_bytes(bytes(data))


def test_m4a_whose_header_understates_its_length_is_413(
    client: httpx.Client, server, tmp_path: Path, ldc_wav: Path
):
    limit = server.config.max_duration_s  # 40 s
    speech = audio.load(ldc_wav).samples
    path = tmp_path / "lying.m4a"
    _lying_m4a(path, np.tile(speech, 20)[: int((limit + 10) * 16000)])
    assert path.stat().st_size < server.config.max_upload_bytes
    assert audio.probe(path).duration < 2.0  # the header passes the up-front check
    r = client.post(
        "/v1/transcribe", files={"file": ("lying.m4a", path.read_bytes(), "audio/mp4")}
    )
    assert r.status_code == 413, r.text
    err = r.json()["error"]
    assert err["type"] == "audio_too_long"
    assert f"{limit:g} s" in err["message"] and "header said less" in err["message"]
    assert list(server.tmp_dir.iterdir()) == []
