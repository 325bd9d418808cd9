"""Words to speakers: overlap, capped spans, gaps, islands and segment splits."""

from __future__ import annotations

from aural.diarization import assign_speakers, word_speakers
from aural.types import Segment, Transcript, TranscriptionInfo, Turn, Word

INFO = TranscriptionInfo("en", 1.0, 10.0, "whisper", "tiny.en")
TURNS = [Turn(0.0, 3.0, "S1"), Turn(3.0, 6.0, "S2"), Turn(6.5, 9.0, "S1")]


def _words(*spans: tuple[float, float]) -> list[Word]:
    return [Word(s, e, f" w{i}") for i, (s, e) in enumerate(spans)]


def test_word_takes_the_speaker_it_overlaps_most() -> None:
    words = _words((0.5, 0.9), (2.8, 3.4), (4.0, 4.3))
    assert word_speakers(words, TURNS, island_words=0) == ["S1", "S2", "S2"]


def test_stretched_word_is_capped_to_its_end() -> None:
    # Whisper stretched the first word of S2 back over S1's last seconds
    words = _words((1.5, 3.4))
    assert word_speakers(words, TURNS, island_words=0) == ["S2"]
    assert word_speakers(words, TURNS, island_words=0, max_word_s=10) == ["S1"]


def test_word_in_a_gap_takes_the_nearest_turn() -> None:
    assert word_speakers(_words((6.05, 6.2)), TURNS) == ["S2"]
    assert word_speakers(_words((6.3, 6.45)), TURNS) == ["S1"]


def test_two_word_island_is_absorbed_but_not_across_a_pause() -> None:
    turns = [Turn(0, 2, "S1"), Turn(2, 2.6, "S2"), Turn(2.6, 5, "S1")]
    words = _words((1.0, 1.5), (1.6, 1.9), (2.0, 2.3), (2.3, 2.55), (2.7, 3.0))
    assert word_speakers(words, turns) == ["S1"] * 5
    assert word_speakers(words, turns, island_words=0)[2:4] == ["S2", "S2"]
    paused = _words((0.2, 0.5), (2.1, 2.3), (2.3, 2.5), (2.7, 3.0))
    assert word_speakers(paused, turns)[1:3] == ["S2", "S2"]


def test_segments_split_at_speaker_changes() -> None:
    words = _words((2.0, 2.4), (2.5, 2.9), (3.1, 3.5), (3.6, 4.0), (4.1, 4.5))
    seg = Segment(1.9, 4.6, "".join(w.text for w in words), tuple(words), -0.2)
    out = assign_speakers(Transcript((seg,), INFO), TURNS)
    assert [s.speaker for s in out.segments] == ["S1", "S2"]
    assert [s.text for s in out.segments] == [" w0 w1", " w2 w3 w4"]
    assert out.segments[0].start == 1.9 and out.segments[-1].end == 4.6
    assert out.segments[0].end == 2.9 and out.segments[1].start == 3.1
    assert all(w.speaker == s.speaker for s in out.segments for w in s.words)
    assert out.segments[1].avg_log_prob == -0.2
    assert out.text == Transcript((seg,), INFO).text


def test_segment_without_words_takes_the_overlapping_speaker() -> None:
    out = assign_speakers(Transcript((Segment(3.5, 5.5, " hi"),), INFO), TURNS)
    assert out.segments[0].speaker == "S2"


def test_no_turns_leaves_speakers_unknown() -> None:
    seg = Segment(0, 1, " a", tuple(_words((0.1, 0.5))))
    out = assign_speakers(Transcript((seg,), INFO), [])
    assert out.segments[0].speaker is None and out.words[0].speaker is None


def test_word_inside_two_overlapping_turns_takes_the_deeper_one() -> None:
    # the overlap step extended S1 to 3.3 and S2 back to 2.7 across the change at 3.0
    turns = [Turn(0.0, 3.3, "S1"), Turn(2.7, 6.0, "S2")]
    words = _words((2.75, 2.95), (3.05, 3.25))
    assert word_speakers(words, turns, island_words=0) == ["S1", "S2"]
