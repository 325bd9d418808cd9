"""Transcript.to_dict / from_dict round trips, and refusals of dicts that are not
one."""

from __future__ import annotations

import json

import numpy as np
import pytest

from aural.audio import load
from aural.audio.waveform import Waveform
from aural.errors import ConfigError
from aural.types import Segment, Transcript, Word


def _round_trip(t: Transcript) -> Transcript:
    return Transcript.from_dict(json.loads(json.dumps(t.to_dict(), ensure_ascii=False)))


def test_real_and_empty_transcripts_round_trip(whisper_engine, jfk_flac):
    real = whisper_engine.transcribe(load(jfk_flac))
    assert real.words and _round_trip(real) == real
    silence = whisper_engine.transcribe(
        Waveform(np.zeros(16000 * 2, np.float32), 16000)
    )
    assert silence.segments == () and silence.text == ""
    assert _round_trip(silence) == silence


def test_unicode_text_round_trips(whisper_engine, jfk_flac):
    info = whisper_engine.transcribe(load(jfk_flac)).info
    words = (Word(0.0, 0.4, " héllo", 0.9), Word(0.4, 0.9, " 世界😀", 0.5))
    t = Transcript((Segment(0.0, 0.9, " héllo 世界😀", words, -0.3, 0.01),), info)
    back = _round_trip(t)
    assert back == t and back.text == "héllo 世界😀"


@pytest.mark.parametrize(
    ("d", "message"),
    [
        (None, "not a Transcript dict: got NoneType"),
        ([], "not a Transcript dict: got list"),
        ({"segments": []}, "missing field 'info'"),
        (
            {"schema_version": "2.0", "info": {}},
            "schema_version '2.0' is not supported",
        ),
    ],
)
def test_non_transcript_dicts_are_refused(d, message):
    with pytest.raises(ConfigError, match=message):
        Transcript.from_dict(d)


def test_bad_field_values_are_refused(whisper_engine, jfk_flac):
    good = whisper_engine.transcribe(load(jfk_flac)).to_dict()
    seg = good["segments"][0]
    for bad in (
        {**seg, "start": "soon"},
        {**seg, "text": None},
        {**seg, "words": [{}]},
    ):
        with pytest.raises(ConfigError, match="not a Transcript dict"):
            Transcript.from_dict({**good, "segments": [bad]})
    assert Transcript.from_dict({**good, "segments": None}).segments == ()
