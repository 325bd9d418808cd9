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

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from aural.errors import DatasetError
from aural.types import SCHEMA_VERSION, Transcript, Turn, Word

if TYPE_CHECKING:
    from aural.diarization import Diarizer

__all__ = [
    "DiarizationItem",
    "DiarizationFileResult",
    "DiarizationEvaluation",
    "is_diarization_manifest",
    "load_diarization_manifest",
    "evaluate_diarization",
    "render_diarization_markdown",
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


# --- datasets with RTTM references (``aural evaluate`` on a diarization manifest) ---


@dataclass(frozen=True, slots=True)
class DiarizationItem:
    """One recording of a diarization dataset and its reference."""

    id: str
    audio: Path
    reference: tuple[Turn, ...]
    uem: tuple[tuple[float, float], ...] | None  # scored regions (None: the extent)
    has_transcript: bool = False  # the row names a transcript: WDER can be scored


def _manifest_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise DatasetError(
                f"{path}:{number}: not a JSON object: {err.msg}"
            ) from err
        if not isinstance(row, dict):
            raise DatasetError(f"{path}:{number}: not a JSON object")
        rows.append(row)
    return rows


def is_diarization_manifest(path: str | Path) -> bool:
    """Whether ``path`` is a JSONL manifest whose rows carry an ``rttm`` reference
    (as ``aural data simulate-conversations`` and the shared AMI excerpts write)."""
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.jsonl"
    if path.suffix != ".jsonl" or not path.is_file():
        return False
    try:
        with path.open(encoding="utf-8") as f:
            first = next((line for line in f if line.strip()), "")
        row = json.loads(first)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(row, dict) and "rttm" in row


def _pick(by_file: Mapping[str, list[Any]], wanted: str, what: str, where: Path) -> Any:
    if wanted in by_file:
        return by_file[wanted]
    if len(by_file) == 1:
        return next(iter(by_file.values()))
    raise DatasetError(
        f"{where} holds {len(by_file)} files ({', '.join(sorted(by_file)[:4])}...) "
        f"and none is {wanted!r}: give each row its own {what}"
    )


def load_diarization_manifest(path: str | Path) -> tuple[DiarizationItem, ...]:
    """The rows of a diarization manifest: ``audio`` and ``rttm`` (paths relative to
    the manifest), optional ``uem``, ``id`` (default: the audio file's stem) and
    ``transcript``.

    Raises:
        DatasetError: a row lacks a field, names a missing file or an RTTM without
            its recording.
    """
    from aural.diarization import read_rttm, read_uem

    path = Path(path)
    if path.is_dir():
        path = path / "manifest.jsonl"
    root = path.parent
    items = []
    for number, row in enumerate(_manifest_rows(path), 1):
        if not row.get("audio") or not row.get("rttm"):
            raise DatasetError(f"{path} row {number}: needs 'audio' and 'rttm'")
        audio, rttm = root / row["audio"], root / row["rttm"]
        for p in (audio, rttm):
            if not p.is_file():
                raise DatasetError(f"{path} row {number}: {p} does not exist")
        file_id = str(row.get("id") or audio.stem)
        reference = _pick(read_rttm(rttm), file_id, "RTTM", rttm)
        uem = None
        if row.get("uem"):
            uem_path = root / row["uem"]
            if not uem_path.is_file():
                raise DatasetError(f"{path} row {number}: {uem_path} does not exist")
            uem = tuple(_pick(read_uem(uem_path), file_id, "UEM", uem_path))
        items.append(
            DiarizationItem(
                file_id, audio, tuple(reference), uem, bool(row.get("transcript"))
            )
        )
    if not items:
        raise DatasetError(f"{path} holds no recordings")
    return tuple(items)


@dataclass(frozen=True, slots=True)
class DiarizationFileResult:
    """The scores of one recording."""

    id: str
    reference_speakers: int
    hypothesis_speakers: int
    score: DiarizationScore  # DER error times at the evaluation's collar
    jer: float  # mean over this file's reference speakers
    wder: float | None  # None: no transcript, nothing recognised
    words: int  # recognised words scored for WDER
    audio_seconds: float
    wall_seconds: float  # diarization time (models loaded)
    turns: tuple[Turn, ...] = field(repr=False, default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reference_speakers": self.reference_speakers,
            "hypothesis_speakers": self.hypothesis_speakers,
            **self.score.to_dict(),
            "jer": self.jer,
            "wder": self.wder,
            "words": self.words,
            "audio_seconds": self.audio_seconds,
            "wall_seconds": self.wall_seconds,
        }


@dataclass(frozen=True, slots=True)
class DiarizationEvaluation:
    """DER, JER, speaker-count accuracy and WDER of a diarizer on a dataset."""

    files: tuple[DiarizationFileResult, ...]
    collar: float
    skip_overlap: bool
    oracle_speakers: bool  # each file was given its reference speaker count
    jer: float  # dscore's: the mean over all reference speakers of all files

    @property
    def score(self) -> DiarizationScore:
        """Error times summed over the files (``.der`` is the dataset's DER)."""
        return sum((f.score for f in self.files), DiarizationScore())

    @property
    def speaker_count_accuracy(self) -> float:
        right = sum(f.reference_speakers == f.hypothesis_speakers for f in self.files)
        return right / len(self.files) if self.files else 0.0

    @property
    def wder(self) -> float | None:
        """Word-weighted WDER over the files with transcripts (None: none had)."""
        scored = [f for f in self.files if f.wder is not None]
        words = sum(f.words for f in scored)
        if not scored or words == 0:
            return None
        return sum(f.wder * f.words for f in scored if f.wder is not None) / words

    @property
    def rtf(self) -> float:
        audio = sum(f.audio_seconds for f in self.files)
        return sum(f.wall_seconds for f in self.files) / audio if audio else 0.0

    def to_dict(self) -> dict[str, Any]:
        s = self.score
        return {
            "schema_version": SCHEMA_VERSION,
            "diarization": {
                "der": s.der,
                "miss": s.miss / s.total if s.total else 0.0,
                "false_alarm": s.false_alarm / s.total if s.total else 0.0,
                "confusion": s.confusion / s.total if s.total else 0.0,
                "scored_seconds": s.total,
                "jer": self.jer,
                "speaker_count_accuracy": self.speaker_count_accuracy,
                "wder": self.wder,
                "rtf": self.rtf,
                "collar": self.collar,
                "skip_overlap": self.skip_overlap,
                "oracle_speakers": self.oracle_speakers,
                "files": [f.to_dict() for f in self.files],
            },
        }


def _speakers_in(
    turns: Sequence[Turn], uem: Sequence[tuple[float, float]] | None
) -> int:
    if uem is None:
        return len({t.speaker for t in turns})
    region = _union(uem)
    return sum(
        bool(v) for v in (_intersect(iv, region) for iv in _by_speaker(turns).values())
    )


def evaluate_diarization(
    items: Sequence[DiarizationItem],
    diarizer: Diarizer,
    *,
    collar: float = 0.25,
    skip_overlap: bool = False,
    oracle_speakers: bool = False,
    transcribe: Callable[[Path], Transcript] | None = None,
    progress: Callable[[int, DiarizationFileResult], None] | None = None,
) -> DiarizationEvaluation:
    """Diarize every recording and score it against its reference.

    Args:
        items: the recordings (:func:`load_diarization_manifest`).
        diarizer: the diarizer and its options.
        collar: seconds not scored on each side of reference boundaries (md-eval).
        skip_overlap: do not score overlapped reference speech.
        oracle_speakers: give each recording its reference speaker count (within
            the UEM).
        transcribe: recognises a recording with word times; with it, the WDER of
            the recordings that have transcripts is scored.
        progress: called after each recording with its index and result.
    """
    from aural.diarization import assign_speakers

    if collar < 0:
        raise ValueError(f"collar must be >= 0 seconds, got {collar}")
    diarizer.embedder  # noqa: B018 - load the model before timing (RTF)
    files = []
    for index, item in enumerate(items):
        options = diarizer.options
        if oracle_speakers:
            n = max(1, _speakers_in(item.reference, item.uem))
            options = replace(
                options,
                num_speakers=n,
                min_speakers=min(options.min_speakers, n),
                max_speakers=max(options.max_speakers, n),
            )
        t0 = time.perf_counter()
        trace = diarizer.trace(item.audio, options)
        wall = time.perf_counter() - t0
        turns = trace.turns
        score = score_diarization(
            item.reference,
            turns,
            uem=item.uem,
            collar=collar,
            skip_overlap=skip_overlap,
        )
        jers = _speaker_jers(item.reference, turns, item.uem)
        wder, words = None, 0
        if transcribe is not None and item.has_transcript:
            attributed = assign_speakers(transcribe(item.audio), turns)
            words = len(attributed.words)
            wder = (
                word_speaker_error(attributed.words, item.reference) if words else None
            )
        result = DiarizationFileResult(
            item.id,
            _speakers_in(item.reference, item.uem),
            _speakers_in(turns, item.uem),
            score,
            float(np.mean(jers)) if jers else 0.0,
            wder,
            words,
            trace.duration,
            wall,
            turns,
        )
        files.append(result)
        if progress is not None:
            progress(index, result)
    all_jers = [
        j
        for item, f in zip(items, files)
        for j in _speaker_jers(item.reference, f.turns, item.uem)
    ]
    return DiarizationEvaluation(
        tuple(files),
        collar,
        skip_overlap,
        oracle_speakers,
        float(np.mean(all_jers)) if all_jers else 0.0,
    )


def render_diarization_markdown(evaluation: DiarizationEvaluation) -> str:
    """A Markdown report: the totals, then one row per recording."""
    e, s = evaluation, evaluation.score

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.1f} %"

    total = s.total or 1.0
    lines = [
        "# Diarization evaluation",
        "",
        f"DER at collar {e.collar:g} s (each side, NIST md-eval)"
        + (", overlap not scored" if e.skip_overlap else ", overlap scored")
        + (", each file told its speaker count" if e.oracle_speakers else "")
        + f"; {len(e.files)} recordings, {s.total:.1f} s of reference speech.",
        "",
        "| DER | missed | false alarm | confusion | JER | speaker count right | "
        "WDER | RTF |",
        "|---|---|---|---|---|---|---|---|",
        f"| {pct(s.der)} | {pct(s.miss / total)} | {pct(s.false_alarm / total)} | "
        f"{pct(s.confusion / total)} | {pct(e.jer)} | "
        f"{pct(e.speaker_count_accuracy)} | {pct(e.wder)} | {e.rtf:.4f} |",
        "",
        "| file | speakers (ref / found) | DER | missed | false alarm | confusion | "
        "JER | WDER |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in e.files:
        t = f.score.total or 1.0
        lines.append(
            f"| {f.id} | {f.reference_speakers} / {f.hypothesis_speakers} | "
            f"{pct(f.score.der)} | {pct(f.score.miss / t)} | "
            f"{pct(f.score.false_alarm / t)} | {pct(f.score.confusion / t)} | "
            f"{pct(f.jer)} | {pct(f.wder)} |"
        )
    return "\n".join(lines) + "\n"
