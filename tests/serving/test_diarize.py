"""``diarize=true`` on the transcription endpoints (issue 21), on a real server with
a two-speaker conversation simulated from LibriSpeech dev-clean."""

from __future__ import annotations

import base64
import importlib.util
import io
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf

pytestmark = pytest.mark.slow

ROUTES = ("/v1/transcribe", "/v1/audio/transcriptions", "/v1/transcribe/base64")


@pytest.fixture(scope="module")
def conversation_wav(dev_clean: Path) -> bytes:
    if importlib.util.find_spec("resemblyzer") is None:
        pytest.skip("needs aural[diarize] (resemblyzer's encoder weights)")
    from aural.data import load_dataset
    from aural.diarization.simulate import (
        ConversationOptions,
        simulate_conversation,
        speakers_of,
    )

    manifest = load_dataset(dev_clean)
    speakers = sorted(speakers_of(manifest))[:2]
    conv = simulate_conversation(
        manifest,
        speakers,
        ConversationOptions(num_speakers=2, max_duration_s=20.0, max_turn_s=5.0),
        np.random.default_rng(7),
    )
    buf = io.BytesIO()
    sf.write(buf, conv.waveform.samples, 16000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _post(
    client: httpx.Client, route: str, audio: bytes, fields: dict[str, str]
) -> httpx.Response:
    if route == "/v1/transcribe/base64":
        body = {"audio_data": base64.b64encode(audio).decode(), **fields}
        return client.post(route, json=body)
    if route == "/v1/audio/transcriptions":
        fields = {
            "model": "whisper-1",
            "response_format": "verbose_json",
            "timestamp_granularities[]": "word",
            **fields,
        }
    return client.post(route, files={"file": ("conv.wav", audio)}, data=fields)


def _segments(route: str, body: dict) -> list[dict]:
    return body["segments"] if route != "/v1/audio/transcriptions" else body["words"]


@pytest.mark.parametrize("route", ROUTES)
def test_diarize_true_labels_speakers(
    client: httpx.Client, conversation_wav: bytes, route: str
) -> None:
    r = _post(client, route, conversation_wav, {"diarize": "true", "num_speakers": "2"})
    assert r.status_code == 200, r.text
    items = _segments(route, r.json())
    assert items and all(item["speaker"] in {"S1", "S2"} for item in items)
    assert {item["speaker"] for item in items} == {"S1", "S2"}
    if route == "/v1/transcribe":
        for seg in items:
            assert all(w["speaker"] == seg["speaker"] for w in seg["words"])


def test_without_diarize_there_is_no_speaker(
    client: httpx.Client, conversation_wav: bytes
) -> None:
    r = _post(client, "/v1/transcribe", conversation_wav, {})
    assert r.status_code == 200, r.text
    assert all("speaker" not in seg for seg in r.json()["segments"])


@pytest.mark.parametrize("route", ROUTES)
def test_speaker_count_without_diarize_is_422(
    client: httpx.Client, conversation_wav: bytes, route: str
) -> None:
    r = _post(client, route, conversation_wav, {"num_speakers": "2"})
    assert r.status_code == 422, r.text
    assert "diarize" in r.json()["error"]["message"]


def test_conflicting_counts_are_422(
    client: httpx.Client, conversation_wav: bytes
) -> None:
    r = _post(
        client,
        "/v1/transcribe",
        conversation_wav,
        {"diarize": "true", "num_speakers": "2", "max_speakers": "3"},
    )
    assert r.status_code == 422, r.text
    assert "num_speakers" in r.json()["error"]["message"]
