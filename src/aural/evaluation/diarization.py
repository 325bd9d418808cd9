"""Diarization scoring: DER (NIST md-eval conventions), JER, speaker-count accuracy and
the word-level speaker error.

DER follows NIST md-eval-22 (``md-eval-22.pl -af -r REF -s HYP -c C -u UEM [-1]``),
the reference the test vectors in ``shared/data/diarization/der_vectors`` are scored
with:

- turns of the same speaker that overlap or touch are merged, in the reference and
  the hypothesis; zero-length turns are ignored;
- only the UEM regions are scored (without a UEM: from the first onset to the last
  offset of either side, dscore's convention);
- the speaker mapping is the one-to-one mapping that maximises the overlapping time
  over the whole UEM, chosen *before* the no-score zones are removed (pyannote.metrics
  chooses it on the scored region instead, so the two can differ with a collar or
  skip-overlap);
- ``collar`` seconds on each side of every reference boundary are not scored (the
  boundaries of the turns as written, before same-speaker turns are merged);
- with ``skip_overlap`` the regions where two or more reference speakers talk are not
  scored;
- the DER of a set of files is the total error time over the total scored speaker
  time, never a mean of per-file DERs.

JER follows dscore: per reference speaker ``1 - |ref ∩ hyp| / |ref ∪ hyp|`` under the
mapping that minimises it, averaged over all reference speakers of all files (collar
and skip-overlap do not apply, as in dscore).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from aural.types import Turn, Word

__all__ = [
    "DiarizationScore",
    "score_diarization",
    "diarization_error_rate",
    "jaccard_error_rate",
    "speaker_count_accuracy",
    "word_speaker_error",
]

Intervals = list[tuple[float, float]]


@dataclass(frozen=True, slots=True)
class DiarizationScore:
    """Error times in seconds, summed over files (``+`` adds two scores).

    Attributes:
        total: scored reference speaker time (each speaker counted).
        miss: reference speaker time with no hypothesis speaker.
        false_alarm: hypothesis speaker time beyond the reference speakers.
        confusion: speaker time given to the wrong (unmapped) speaker.
    """

    total: float = 0.0
    miss: float = 0.0
    false_alarm: float = 0.0
    confusion: float = 0.0

    @property
    def der(self) -> float:
        """Diarization error rate as a fraction (0 when nothing is scored and no
        error is made; ``inf`` for errors against no reference time)."""
        errors = self.miss + self.false_alarm + self.confusion
        if self.total > 0:
            return errors / self.total
        return 0.0 if errors == 0 else float("inf")

    def __add__(self, other: DiarizationScore) -> DiarizationScore:
        return DiarizationScore(
            self.total + other.total,
            self.miss + other.miss,
            self.false_alarm + other.false_alarm,
            self.confusion + other.confusion,
        )

    def to_dict(self) -> dict[str, float]:
        return {
            "der": self.der,
            "total": self.total,
            "miss": self.miss,
            "false_alarm": self.false_alarm,
            "confusion": self.confusion,
        }


def _union(intervals: Iterable[tuple[float, float]]) -> Intervals:
    """Sorted, disjoint intervals covering the same time (touching ones merged)."""
    out: Intervals = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _intersect(a: Intervals, b: Intervals) -> Intervals:
    out: Intervals = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if end > start:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _by_speaker(turns: Iterable[Turn]) -> dict[str, Intervals]:
    grouped: dict[str, list[tuple[float, float]]] = {}
    for t in turns:
        grouped.setdefault(t.speaker, []).append((t.start, t.end))
    return {k: _union(v) for k, v in sorted(grouped.items())}


def _active(intervals: Intervals, points: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Whether each point lies inside one of the sorted, disjoint ``intervals``."""
    if not intervals:
        return np.zeros(points.shape, dtype=bool)
    arr = np.asarray(intervals, dtype=np.float64)
    idx = np.searchsorted(arr[:, 0], points, side="right") - 1
    inside = idx >= 0
    inside[inside] &= points[inside] < arr[idx[inside], 1]
    return inside


def _overlap(a: Intervals, b: Intervals) -> float:
    return sum(end - start for start, end in _intersect(a, b))


def _best_mapping(
    ref: dict[str, Intervals], hyp: dict[str, Intervals]
) -> list[tuple[str, str]]:
    """(ref, hyp) speaker pairs maximising the total overlapping time."""
    if not ref or not hyp:
        return []
    ref_names, hyp_names = list(ref), list(hyp)
    gain = np.array([[_overlap(ref[r], hyp[h]) for h in hyp_names] for r in ref_names])
    rows, cols = linear_sum_assignment(-gain)
    return [(ref_names[r], hyp_names[c]) for r, c in zip(rows, cols) if gain[r, c] > 0]


def _default_uem(ref: Sequence[Turn], hyp: Sequence[Turn]) -> Intervals:
    turns = [*ref, *hyp]
    if not turns:
        return []
    return [(min(t.start for t in turns), max(t.end for t in turns))]


def score_diarization(
    reference: Sequence[Turn],
    hypothesis: Sequence[Turn],
    *,
    uem: Sequence[tuple[float, float]] | None = None,
    collar: float = 0.0,
    skip_overlap: bool = False,
) -> DiarizationScore:
    """DER error times of one file, as NIST md-eval-22 computes them.

    Args:
        reference: the reference turns.
        hypothesis: the system's turns (labels need not match the reference's).
        uem: the scored regions in seconds (None: first onset to last offset).
        collar: seconds not scored on **each** side of every reference boundary
            (md-eval ``-c``; pyannote.metrics' ``collar`` is twice this).
        skip_overlap: do not score where two or more reference speakers talk.

    Returns:
        The scored time and the missed, false-alarm and confusion times in seconds.

    Example:
        >>> ref = [Turn(0, 4, "a"), Turn(4, 10, "b")]
        >>> score_diarization(ref, [Turn(0, 10, "x")]).der
        0.4
    """
    if collar < 0:
        raise ValueError(f"collar must be >= 0 seconds, got {collar}")
    scored_uem = _union(uem if uem is not None else _default_uem(reference, hypothesis))
    ref = {k: _intersect(v, scored_uem) for k, v in _by_speaker(reference).items()}
    hyp = {k: _intersect(v, scored_uem) for k, v in _by_speaker(hypothesis).items()}
    ref = {k: v for k, v in ref.items() if v}
    hyp = {k: v for k, v in hyp.items() if v}
    mapping = _best_mapping(ref, hyp)
    # md-eval puts collars around the boundaries of the turns as written, before
    # same-speaker turns are merged (the AMI excerpt vectors depend on it)
    boundaries = [b for t in reference for b in (t.start, t.end)]
    collars = _union((b - collar, b + collar) for b in boundaries) if collar else []
    points = {
        p
        for iv in (*ref.values(), *hyp.values(), scored_uem, collars)
        for t in iv
        for p in t
    }
    times = np.array(sorted(points), dtype=np.float64)
    if times.size < 2:
        return DiarizationScore()
    mids, durations = (times[:-1] + times[1:]) / 2, np.diff(times)
    ref_on = {k: _active(v, mids) for k, v in ref.items()}
    hyp_on = {k: _active(v, mids) for k, v in hyp.items()}
    zeros = np.zeros(mids.shape, dtype=np.int64)
    n_ref = sum((a.astype(np.int64) for a in ref_on.values()), zeros)
    n_hyp = sum((a.astype(np.int64) for a in hyp_on.values()), zeros)
    n_correct = sum(
        ((ref_on[r] & hyp_on[h]).astype(np.int64) for r, h in mapping), zeros
    )
    scored = _active(scored_uem, mids) & ~_active(collars, mids)
    if skip_overlap:
        scored &= n_ref < 2
    w = durations * scored
    return DiarizationScore(
        total=float(np.sum(w * n_ref)),
        miss=float(np.sum(w * np.maximum(n_ref - n_hyp, 0))),
        false_alarm=float(np.sum(w * np.maximum(n_hyp - n_ref, 0))),
        confusion=float(np.sum(w * (np.minimum(n_ref, n_hyp) - n_correct))),
    )


def diarization_error_rate(
    references: Mapping[str, Sequence[Turn]],
    hypotheses: Mapping[str, Sequence[Turn]],
    *,
    uem: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    collar: float = 0.0,
    skip_overlap: bool = False,
) -> tuple[DiarizationScore, dict[str, DiarizationScore]]:
    """DER over a set of files: the summed score and the score of each file.

    The files scored are those of the UEM when one is given, else those of the
    references, as md-eval does: a scored file without hypothesis turns is all
    missed, and hypothesis files outside that set are ignored. A reference file
    missing from a given ``uem`` is not scored.

    Args:
        references: file id -> reference turns (e.g. from
            :func:`aural.diarization.read_rttm`).
        hypotheses: file id -> system turns.
        uem: file id -> scored regions (None: each file's extent).
        collar: seconds not scored on each side of every reference boundary.
        skip_overlap: do not score reference overlap.
    """
    files = sorted(uem if uem is not None else references)
    per_file = {
        f: score_diarization(
            references.get(f, ()),
            hypotheses.get(f, ()),
            uem=(uem or {}).get(f),
            collar=collar,
            skip_overlap=skip_overlap,
        )
        for f in files
    }
    return sum(per_file.values(), DiarizationScore()), per_file


def _speaker_jers(
    reference: Sequence[Turn],
    hypothesis: Sequence[Turn],
    uem: Sequence[tuple[float, float]] | None,
) -> list[float]:
    region = _union(uem if uem is not None else _default_uem(reference, hypothesis))
    ref = {k: _intersect(v, region) for k, v in _by_speaker(reference).items()}
    hyp = {k: _intersect(v, region) for k, v in _by_speaker(hypothesis).items()}
    ref = {k: v for k, v in ref.items() if v}
    hyp = {k: v for k, v in hyp.items() if v}
    if not ref and not hyp:
        return []
    if not ref or not hyp:
        return [1.0] * max(len(ref), len(hyp))
    ref_dur = np.array([sum(e - s for s, e in v) for v in ref.values()])
    hyp_dur = np.array([sum(e - s for s, e in v) for v in hyp.values()])
    inter = np.array([[_overlap(r, h) for h in hyp.values()] for r in ref.values()])
    cost = 1.0 - inter / (ref_dur[:, None] + hyp_dur[None, :] - inter)
    rows, cols = linear_sum_assignment(cost)
    jers = np.ones(len(ref))
    jers[rows] = cost[rows, cols]
    return [float(x) for x in jers]


def jaccard_error_rate(
    references: Mapping[str, Sequence[Turn]],
    hypotheses: Mapping[str, Sequence[Turn]],
    *,
    uem: Mapping[str, Sequence[tuple[float, float]]] | None = None,
) -> float:
    """JER as a fraction, dscore's definition: the mean over every reference speaker
    of every file of ``1 - Jaccard(ref, mapped hyp)``, 1 for unmapped speakers."""
    jers: list[float] = []
    for f in sorted(uem if uem is not None else references):
        jers += _speaker_jers(
            references.get(f, ()), hypotheses.get(f, ()), (uem or {}).get(f)
        )
    return float(np.mean(jers)) if jers else 0.0


def speaker_count_accuracy(
    references: Mapping[str, Sequence[Turn]],
    hypotheses: Mapping[str, Sequence[Turn]],
) -> float:
    """The fraction of reference files whose hypothesis has the same number of
    distinct speakers."""
    if not references:
        return 0.0
    right = sum(
        len({t.speaker for t in turns})
        == len({t.speaker for t in hypotheses.get(f, ())})
        for f, turns in references.items()
    )
    return right / len(references)


def _reference_speaker(word: Word, reference: Sequence[Turn]) -> str | None:
    best, best_overlap = None, 0.0
    for t in reference:
        overlap = min(word.end, t.end) - max(word.start, t.start)
        if overlap > best_overlap:
            best, best_overlap = t.speaker, overlap
    return best


def word_speaker_error(words: Sequence[Word], reference: Sequence[Turn]) -> float:
    """Word-level diarization error (WDER): the fraction of words whose speaker is
    wrong under the best one-to-one mapping of hypothesis to reference labels.

    Each word's true speaker is the reference turn it overlaps most; words that
    overlap no reference turn, or carry no speaker, are not counted... except that a
    word without a speaker whose reference speaker is known counts as an error.

    Args:
        words: recognised words with ``speaker`` set (e.g. from
            :func:`aural.diarization.assign_speakers`).
        reference: the reference turns of the same audio.

    Returns:
        Errors over counted words (0 when no word is counted).
    """
    pairs = [(w.speaker, _reference_speaker(w, reference)) for w in words]
    pairs = [(h, r) for h, r in pairs if r is not None]
    if not pairs:
        return 0.0
    hyp_names = sorted({h for h, _ in pairs if h is not None})
    ref_names = sorted({r for _, r in pairs if r is not None})
    counts = np.zeros((len(hyp_names), len(ref_names)))
    for h, r in pairs:
        if h is not None and r is not None:
            counts[hyp_names.index(h), ref_names.index(r)] += 1
    rows, cols = linear_sum_assignment(-counts) if counts.size else ([], [])
    right = sum(counts[r, c] for r, c in zip(rows, cols))
    return float(1.0 - right / len(pairs))
