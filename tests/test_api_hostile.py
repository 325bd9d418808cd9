"""Hostile input to the public Python API: every refusal is an AuralError saying what to
pass.

Real audio (jfk.flac) and the real default Whisper engine; one Recognizer per module.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import aural
from aural.audio import load
from aural.errors import (
    AuralError,
    ConfigError,
    EngineNotFoundError,
    UnsupportedAudioError,
)

JFK_WORDS = ("ask not what your country can do for you",)


@pytest.fixture(scope="module")
def rec(shared_data) -> aural.Recognizer:
    r = aural.Recognizer()
    yield r
    r.close()


@pytest.fixture(scope="module")
def jfk(jfk_flac) -> np.ndarray:
    return load(jfk_flac).samples


def _has_jfk(text: str) -> bool:
    return all(w in text.lower() for w in JFK_WORDS)


@pytest.mark.parametrize("options", [{"beam_size": 1}, {"beem_size": 1}, "fast", 5])
def test_options_that_are_not_decode_options_are_refused(rec, jfk_flac, options):
    with pytest.raises(
        ConfigError, match="options must be a DecodeOptions.*DecodeOptions\\("
    ):
        rec.transcribe(jfk_flac, options=options)
    with pytest.raises(ConfigError, match="options must be a DecodeOptions"):
        rec.transcribe_batch([jfk_flac], options=options)
    with pytest.raises(ConfigError, match="options must be a DecodeOptions"):
        rec.stream(options=options)


def test_unknown_option_keys_are_named(rec, jfk_flac):
    with pytest.raises(
        ConfigError, match=r"unknown key\(s\) beem_size \(fields: .*beam_size"
    ):
        rec.transcribe(jfk_flac, options={"beem_size": 1})
    with pytest.raises(ConfigError, match="unknown key"):
        aural.Recognizer(options={"beem_size": 1})


def test_dict_options_refused_before_the_model_loads(jfk_flac):
    with pytest.raises(ConfigError, match=r"DecodeOptions\(\*\*options\)"):
        aural.transcribe(jfk_flac, options={"beam_size": 1})


def test_beam_size_zero_and_unknown_language(rec, jfk_flac):
    with pytest.raises(ConfigError, match="beam_size"):
        aural.DecodeOptions(beam_size=0)
    with pytest.raises(ConfigError, match="English-only"):
        rec.transcribe(jfk_flac, aural.DecodeOptions(language="xx"))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"engine": "nope"}, EngineNotFoundError, "available engines"),
        ({"engine": None}, EngineNotFoundError, "engine must be a name"),
        ({"model": 5}, ConfigError, "model must be a model name"),
        (
            {"bogus_setting": 1},
            ConfigError,
            "WhisperSettings has no setting.*bogus_setting",
        ),
    ],
)
def test_bad_recognizer_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        aural.Recognizer(**kwargs)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (np.zeros(16000, np.float32), "bare numpy array.*Waveform"),
        ([0.0] * 100, "cannot read audio from list"),
        (None, "cannot read audio from NoneType"),
    ],
)
def test_sources_without_audio_are_refused(rec, source, message):
    with pytest.raises(ConfigError, match=message):
        rec.transcribe(source)


def test_folder_and_garbage_bytes(rec, tmp_path):
    with pytest.raises(AuralError, match="is a directory"):
        rec.transcribe(Path(tmp_path))
    with pytest.raises(UnsupportedAudioError, match="not a recognised audio format"):
        rec.transcribe(b"\x13not audio at all" * 200)


def test_channels_first_stereo_is_refused_and_the_fix_transcribes(rec, jfk):
    stereo = np.stack([jfk, jfk])
    with pytest.raises(ConfigError, match="pass samples.T"):
        rec.transcribe(aural.Waveform(stereo, 16000))
    assert _has_jfk(rec.transcribe(aural.Waveform(stereo.T, 16000)).text)


def test_waveform_at_another_rate_and_int16(rec, jfk):
    pcm = (jfk * 32767).astype(np.int16)
    assert _has_jfk(rec.transcribe(aural.Waveform(pcm, 16000)).text)
    with pytest.raises(ConfigError, match="pass 16000"):
        rec.transcribe(aural.Waveform(jfk, 16000.0))


def test_empty_batch_gives_an_empty_list(rec):
    assert rec.transcribe_batch([]) == []


@pytest.mark.parametrize("sources", ["a.wav", b"RIFF", None, 3])
def test_batch_of_one_input_or_none_is_refused(rec, sources):
    with pytest.raises(ConfigError, match="transcribe_batch takes a list of inputs"):
        rec.transcribe_batch(sources)


def test_batch_with_a_bad_input_names_its_position(rec, jfk_flac, tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_bytes(b"\x13these are not samples" * 100)
    # the error keeps its type and message; the position is a note on it (add_note)
    with pytest.raises(UnsupportedAudioError, match=r"notes\.wav") as bad_file:
        rec.transcribe_batch([jfk_flac, bad, jfk_flac])
    assert bad_file.value.__notes__ == ["(input 2 of 3)"]
    with pytest.raises(
        ConfigError, match=r"^cannot read audio from NoneType"
    ) as bad_type:
        rec.transcribe_batch([jfk_flac, jfk_flac, None])
    assert bad_type.value.__notes__ == ["(input 3 of 3)"]


def test_batch_of_good_inputs_accepts_any_iterable(rec, jfk_flac, jfk):
    out = rec.transcribe_batch(iter([jfk_flac, aural.Waveform(jfk, 16000)]))
    assert len(out) == 2 and all(_has_jfk(t.text) for t in out)
