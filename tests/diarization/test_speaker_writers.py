"""Speakers in the transcript formats, RTTM writing, and speaker fields in JSON."""

from __future__ import annotations

import json

import pytest

from aural.diarization import parse_rttm
from aural.types import Segment, Transcript, TranscriptionInfo, Turn, Word
from aural.writers import format_rttm, render

INFO = TranscriptionInfo("en", 1.0, 6.0, "whisper", "tiny.en")


def _transcript(speakers: tuple[str | None, ...]) -> Transcript:
    texts = (" Hello there.", " Hi.", " How are you?")
    times = ((0.0, 1.5), (1.6, 2.0), (2.5, 4.0))
    return Transcript(
        tuple(
            Segment(
                start,
                end,
                text,
                words=(Word(start, end, text, 0.9, speaker=spk),),
                speaker=spk,
            )
            for (start, end), text, spk in zip(times, texts, speakers)
        ),
        INFO,
    )


SPOKEN = _transcript(("S1", "S2", "S2"))
PLAIN = _transcript((None, None, None))


def test_txt_one_line_per_speaker_turn() -> None:
    assert render(SPOKEN, "txt") == "S1: Hello there.\nS2: Hi. How are you?\n"


def test_srt_speaker_prefix() -> None:
    assert "00:00:01,600 --> 00:00:02,000\nS2: Hi.\n" in render(SPOKEN, "srt")


def test_vtt_voice_tag() -> None:
    assert "00:00:00.000 --> 00:00:01.500\n<v S1>Hello there.\n" in render(
        SPOKEN, "vtt"
    )


def test_tsv_speaker_column() -> None:
    lines = render(SPOKEN, "tsv").splitlines()
    assert lines[0] == "start\tend\tspeaker\ttext"
    assert lines[1] == "0\t1500\tS1\tHello there."


@pytest.mark.parametrize("fmt", ["txt", "srt", "vtt", "tsv", "json"])
def test_formats_without_speakers_have_no_speaker_marks(fmt: str) -> None:
    out = render(PLAIN, fmt)
    assert "S1" not in out and "speaker" not in out and "<v " not in out


def test_json_speaker_round_trip() -> None:
    d = json.loads(render(SPOKEN, "json"))
    assert d["segments"][0]["speaker"] == "S1"
    assert d["segments"][0]["words"][0]["speaker"] == "S1"
    assert Transcript.from_dict(d) == SPOKEN


def test_json_without_speakers_is_unchanged() -> None:
    seg = PLAIN.segments[0].to_dict()
    assert list(seg) == [
        "start",
        "end",
        "text",
        "words",
        "avg_log_prob",
        "no_speech_prob",
    ]
    assert list(seg["words"][0]) == ["start", "end", "text", "probability"]


def test_rttm_round_trip() -> None:
    turns = [Turn(1.25, 2.5, "S2"), Turn(0.0, 1.0, "S1")]
    text = format_rttm(turns, "meeting 1")
    assert text.splitlines()[0] == (
        "SPEAKER meeting_1 1 0.000 1.000 <NA> <NA> S1 <NA> <NA>"
    )
    assert parse_rttm(text) == {"meeting_1": sorted(turns)}


def test_turn_rejects_end_before_start() -> None:
    from aural.errors import ConfigError

    with pytest.raises(ConfigError, match="before its start"):
        Turn(2.0, 1.0, "S1")
