"""POST /v1/audio/transcriptions driven by the official ``openai`` Python client."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture()
def oai(server, auth) -> openai.OpenAI:
    key = auth["Authorization"].split(" ", 1)[1]
    return openai.OpenAI(
        base_url=f"{server.url}/v1", api_key=key, max_retries=0, timeout=120
    )


def test_openai_json_and_text(oai: openai.OpenAI, ldc_wav: Path):
    with ldc_wav.open("rb") as f:
        result = oai.audio.transcriptions.create(model="whisper-1", file=f)
    assert "greasy wash" in result.text.lower()
    with ldc_wav.open("rb") as f:
        text = oai.audio.transcriptions.create(
            model="whisper-1", file=f, response_format="text", language="en"
        )
    assert isinstance(text, str)
    assert "greasy wash" in text.lower()


def test_openai_verbose_json_with_words_and_segments(
    oai: openai.OpenAI, jfk_flac: Path
):
    with jfk_flac.open("rb") as f:
        result = oai.audio.transcriptions.create(
            model="whisper-1",
            file=f,
            response_format="verbose_json",
            timestamp_granularities=["word", "segment"],
            temperature=0.0,
            prompt="President Kennedy's inaugural address.",
        )
    assert result.language == "english"
    assert result.duration == pytest.approx(11.0, abs=0.05)
    assert "ask not what your country can do for you" in result.text.lower()
    assert result.segments and result.words
    assert result.segments[0].id == 0
    starts = [w.start for w in result.words]
    assert starts == sorted(starts)
    assert all(w.start <= w.end <= result.duration + 1e-3 for w in result.words)
    assert {"country", "americans"} <= {
        w.word.strip(",.").lower() for w in result.words
    }


def test_openai_vtt(oai: openai.OpenAI, ldc_wav: Path):
    with ldc_wav.open("rb") as f:
        vtt = oai.audio.transcriptions.create(
            model="whisper-1", file=f, response_format="vtt"
        )
    assert vtt.startswith("WEBVTT")
    assert "-->" in vtt and "greasy wash" in vtt.lower()


def test_openai_engine_model_names(oai: openai.OpenAI, ldc_wav: Path):
    with ldc_wav.open("rb") as f:  # a loaded engine:model spec works like whisper-1
        result = oai.audio.transcriptions.create(model="whisper:tiny.en", file=f)
    assert "greasy wash" in result.text.lower()
    with ldc_wav.open("rb") as f, pytest.raises(openai.UnprocessableEntityError) as err:
        oai.audio.transcriptions.create(model="gpt-4o-transcribe", file=f)
    assert "gpt-4o-transcribe" in str(err.value)
    assert "whisper-1" in str(err.value)


def test_openai_wrong_key_is_authentication_error(server, ldc_wav: Path):
    bad = openai.OpenAI(base_url=f"{server.url}/v1", api_key="nope", max_retries=0)
    with ldc_wav.open("rb") as f, pytest.raises(openai.AuthenticationError):
        bad.audio.transcriptions.create(model="whisper-1", file=f)


def test_openai_corrupt_file_is_415(oai: openai.OpenAI, tmp_path: Path):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 50)
    with junk.open("rb") as f, pytest.raises(openai.APIStatusError) as err:
        oai.audio.transcriptions.create(model="whisper-1", file=f)
    assert err.value.status_code in (400, 415)
    assert "junk.wav" in str(err.value)
