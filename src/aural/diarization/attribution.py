"""Speaker-attributed transcripts: give each recognised word the speaker of the turn
it overlaps most, then split segments where the speaker changes.

The rules, from the complaints users of WhisperX-style pipelines make most (issue 21):

- a word's span is capped to its last ``max_word_s`` seconds before matching, since
  Whisper often stretches a word's start back over the pause before it, and the
  stretched part would otherwise grab the previous speaker;
- a word inside turns of two speakers takes the turn it lies deepest inside (the
  overlap step extends both turns of a change across it);
- a word that overlaps no turn takes the nearest turn's speaker;
- a run of one or two words whose speaker differs from the same speaker on both sides,
  with no pause of ``island_gap_s`` or more around it, is absorbed by its neighbours
  (it is usually a boundary word given to the wrong side, not a real interjection);
- a segment is split at every speaker change; a segment without words takes the
  speaker that overlaps its span most.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from aural.types import Segment, Transcript, Turn, Word

__all__ = ["assign_speakers", "word_speakers"]


def _overlaps(start: float, end: float, turns: Sequence[Turn]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for t in turns:
        overlap = min(end, t.end) - max(start, t.start)
        if overlap > 0:
            totals[t.speaker] = totals.get(t.speaker, 0.0) + overlap
    return totals


def _speaker_of(
    start: float, end: float, turns: Sequence[Turn], starts: Sequence[float]
) -> str | None:
    if not turns:
        return None
    # only turns that can overlap: those starting before `end` (turns are sorted)
    hi = bisect.bisect_right(starts, end)
    nearby = [t for t in turns[max(0, hi - 64) : hi] if t.end > start]
    totals = _overlaps(start, end, nearby)
    if totals:
        # a word inside two overlapping turns (speech where two people talk) goes to
        # the turn it lies deepest inside: the overlap step extends both turns of a
        # change across it, and the word belongs to the side it was said on
        middle = (start + end) / 2
        depth: dict[str, float] = {}
        for t in nearby:
            if t.speaker in totals:
                inside = min(middle - t.start, t.end - middle)
                depth[t.speaker] = max(depth.get(t.speaker, -np.inf), inside)
        return max(totals, key=lambda spk: (round(totals[spk], 6), depth[spk]))
    middle = (start + end) / 2
    nearest = min(turns, key=lambda t: max(t.start - middle, middle - t.end, 0.0))
    return nearest.speaker


def _absorb_islands(
    words: Sequence[Word], speakers: list[str | None], island_words: int, gap_s: float
) -> list[str | None]:
    runs: list[list[int]] = []  # [first index, last index]
    for i, spk in enumerate(speakers):
        if runs and speakers[runs[-1][0]] == spk:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    out = list(speakers)
    for r in range(1, len(runs) - 1):
        first, last = runs[r]
        before, after = runs[r - 1], runs[r + 1]
        if last - first + 1 > island_words or out[before[1]] != out[after[0]]:
            continue
        gap_before = words[first].start - words[before[1]].end
        gap_after = words[after[0]].start - words[last].end
        if max(gap_before, gap_after) < gap_s:
            for i in range(first, last + 1):
                out[i] = out[before[1]]
    return out


def word_speakers(
    words: Sequence[Word],
    turns: Sequence[Turn],
    *,
    max_word_s: float = 0.7,
    island_words: int = 2,
    island_gap_s: float = 0.5,
) -> list[str | None]:
    """The speaker of each word (None only when there are no turns).

    Args:
        words: words in time order.
        turns: diarization turns.
        max_word_s: a word's span is cut to its last this many seconds for matching.
        island_words: runs of at most this many words between two runs of one
            speaker are given to that speaker (0 = never).
        island_gap_s: ...unless a pause at least this long separates them.
    """
    turns = sorted(turns)
    starts = [t.start for t in turns]
    speakers = [
        _speaker_of(max(w.start, w.end - max_word_s), w.end, turns, starts)
        for w in words
    ]
    if island_words > 0:
        speakers = _absorb_islands(words, speakers, island_words, island_gap_s)
    return speakers


def _split(segment: Segment, words: Sequence[Word]) -> list[Segment]:
    pieces: list[list[Word]] = []
    for w in words:
        if pieces and pieces[-1][-1].speaker == w.speaker:
            pieces[-1].append(w)
        else:
            pieces.append([w])
    if len(pieces) == 1:
        return [replace(segment, words=tuple(words), speaker=words[0].speaker)]
    out = []
    for i, piece in enumerate(pieces):
        text = "".join(w.text for w in piece)
        out.append(
            replace(
                segment,
                start=segment.start if i == 0 else piece[0].start,
                end=segment.end if i == len(pieces) - 1 else piece[-1].end,
                text=text if text.startswith(" ") else " " + text,
                words=tuple(piece),
                speaker=piece[0].speaker,
            )
        )
    return out


def assign_speakers(
    transcript: Transcript,
    turns: Sequence[Turn],
    *,
    max_word_s: float = 0.7,
    island_words: int = 2,
    island_gap_s: float = 0.5,
) -> Transcript:
    """``transcript`` with ``speaker`` set on its words and segments, segments split
    at speaker changes (see the module docstring for the rules).

    Args:
        transcript: a transcript, ideally with word timestamps.
        turns: the diarization of the same audio.
        max_word_s: see :func:`word_speakers`.
        island_words: see :func:`word_speakers`.
        island_gap_s: see :func:`word_speakers`.

    Returns:
        A new transcript; the input is unchanged.
    """
    turns = sorted(turns)
    starts = [t.start for t in turns]
    words = transcript.words
    speakers = word_speakers(
        words,
        turns,
        max_word_s=max_word_s,
        island_words=island_words,
        island_gap_s=island_gap_s,
    )
    labelled = iter(
        [replace(w, speaker=s) for w, s in zip(words, speakers, strict=True)]
    )
    segments: list[Segment] = []
    for segment in transcript.segments:
        seg_words = [next(labelled) for _ in segment.words]
        if seg_words:
            segments.extend(_split(segment, seg_words))
        else:
            speaker = _speaker_of(segment.start, segment.end, turns, starts)
            segments.append(replace(segment, speaker=speaker))
    return replace(transcript, segments=tuple(segments))
