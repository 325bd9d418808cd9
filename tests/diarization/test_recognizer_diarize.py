"""``Recognizer.transcribe(..., diarize=...)``: the Python API of speaker-attributed
transcripts (Whisper tiny.en on a simulated two-speaker conversation)."""

from __future__ import annotations

import pytest

from aural.diarization import DiarizationOptions
from aural.evaluation.diarization import word_speaker_error

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def recognizer():  # type: ignore[no-untyped-def]
    from aural import DecodeOptions, Recognizer

    rec = Recognizer("whisper", "tiny.en", DecodeOptions(beam_size=1))
    yield rec
    rec.close()


def test_transcribe_with_diarize_labels_words_and_segments(
    recognizer, diarizer, make_conversation
) -> None:
    conv = make_conversation(2, 11)
    transcript = recognizer.transcribe(
        conv.waveform, diarize=DiarizationOptions(num_speakers=2)
    )
    assert {s.speaker for s in transcript.segments} == {"S1", "S2"}
    for segment in transcript.segments:
        assert all(w.speaker == segment.speaker for w in segment.words)
        assert segment.start <= segment.end
    assert word_speaker_error(transcript.words, conv.reference) < 0.1


def test_transcribe_without_diarize_is_unchanged(recognizer, make_conversation) -> None:
    conv = make_conversation(2, 11)
    transcript = recognizer.transcribe(conv.waveform)
    assert all(s.speaker is None for s in transcript.segments)
    assert all(w.speaker is None for w in transcript.words)
    with_true = recognizer.transcribe(conv.waveform, diarize=True)
    assert with_true.text.split() == transcript.text.split()
