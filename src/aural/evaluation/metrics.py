"""Word and character error rates, alignments and the statistics built on them.

Everything here is pure: it takes already-normalised text (see :mod:`aural.text`) or
word sequences and returns frozen result objects. Corpus rates are always *total edits
over total reference units*, never a mean of per-utterance rates.

EditAlignment is a Levenshtein alignment with unit costs. Several alignments can share
the minimal cost and split it differently into substitutions, deletions and insertions;
we match the common prefix and suffix first and then break ties the way Hyyro's
bit-parallel alignment does in ``rapidfuzz.distance.Levenshtein.opcodes``, which
``jiwer`` uses, so hits, substitutions, deletions and insertions agree with
``jiwer.process_words`` count for count (tests check this).

Empty references: an utterance with no reference words contributes its hypothesis words
as insertions. :attr:`ErrorCounts.wer` is ``0.0`` when there are neither reference words
nor errors and ``inf`` when there are errors but no reference words (jiwer 4 returns the
insertion count in that case, and jiwer 3 raises).

Example:
    >>> a = align_words("the cat sat".split(), "the cat sat down".split())
    >>> a.counts.insertions, a.counts.wer
    (1, 0.3333333333333333)
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np

from aural.errors import ConfigError

__all__ = [
    "EditAlignment",
    "CalibrationBin",
    "CalibrationResult",
    "EditOp",
    "ErrorCounts",
    "OovStats",
    "OpKind",
    "align_texts",
    "align_words",
    "bootstrap_ci",
    "calibration",
    "char_counts",
    "corpus_cer",
    "corpus_wer",
    "hyp_word_correctness",
    "oov_stats",
    "top_confusions",
]

OpKind = Literal["equal", "substitute", "delete", "insert"]


class EditOp(NamedTuple):
    """One step of an alignment: ``(op, ref_word, hyp_word)``.

    ``ref_word`` is ``None`` for an insertion and ``hyp_word`` is ``None`` for a
    deletion.
    """

    op: OpKind
    ref: str | None
    hyp: str | None


@dataclass(frozen=True, slots=True)
class ErrorCounts:
    """Edit counts for one utterance or a whole corpus; add them with ``+``.

    Attributes:
        hits: reference units recognised correctly.
        substitutions: reference units replaced by another unit.
        deletions: reference units missing from the hypothesis.
        insertions: hypothesis units with no reference counterpart.
        ref_len: number of reference units (``hits + substitutions + deletions``).
        hyp_len: number of hypothesis units (``hits + substitutions + insertions``).
    """

    hits: int = 0
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    ref_len: int = 0
    hyp_len: int = 0

    def __post_init__(self) -> None:
        values = (
            self.hits,
            self.substitutions,
            self.deletions,
            self.insertions,
            self.ref_len,
            self.hyp_len,
        )
        if any(v < 0 for v in values):
            raise ConfigError(f"ErrorCounts must be non-negative, got {self!r}")
        if self.hits + self.substitutions + self.deletions != self.ref_len:
            raise ConfigError(
                f"ErrorCounts: hits + substitutions + deletions != ref_len in {self!r}"
            )
        if self.hits + self.substitutions + self.insertions != self.hyp_len:
            raise ConfigError(
                f"ErrorCounts: hits + substitutions + insertions != hyp_len in {self!r}"
            )

    def __add__(self, other: ErrorCounts) -> ErrorCounts:
        if not isinstance(other, ErrorCounts):
            return NotImplemented
        return ErrorCounts(
            self.hits + other.hits,
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
            self.ref_len + other.ref_len,
            self.hyp_len + other.hyp_len,
        )

    @property
    def errors(self) -> int:
        """Substitutions + deletions + insertions (the edit distance)."""
        return self.substitutions + self.deletions + self.insertions

    @property
    def wer(self) -> float:
        """errors / ref_len; ``0.0`` for nothing vs nothing, ``inf`` for errors on no
        reference.

        For character counts this is the character error rate.
        """
        if self.ref_len == 0:
            return 0.0 if self.errors == 0 else math.inf
        return self.errors / self.ref_len

    def to_dict(self) -> dict[str, Any]:
        return {
            "hits": self.hits,
            "substitutions": self.substitutions,
            "deletions": self.deletions,
            "insertions": self.insertions,
            "ref_len": self.ref_len,
            "hyp_len": self.hyp_len,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ErrorCounts:
        return cls(
            int(d["hits"]),
            int(d["substitutions"]),
            int(d["deletions"]),
            int(d["insertions"]),
            int(d["ref_len"]),
            int(d["hyp_len"]),
        )

    @staticmethod
    def total(counts: Iterable[ErrorCounts]) -> ErrorCounts:
        """The sum of many counts (``ErrorCounts()`` for none)."""
        result = ErrorCounts()
        for c in counts:
            result = result + c
        return result


@dataclass(frozen=True, slots=True)
class EditAlignment:
    """A minimal-cost alignment of a reference and a hypothesis.

    Attributes:
        ops: the steps in order, covering every reference and hypothesis unit once.
        counts: the edit counts of ``ops``.
    """

    ops: tuple[EditOp, ...]
    counts: ErrorCounts

    @property
    def hits(self) -> int:
        return self.counts.hits

    @property
    def substitutions(self) -> int:
        return self.counts.substitutions

    @property
    def deletions(self) -> int:
        return self.counts.deletions

    @property
    def insertions(self) -> int:
        return self.counts.insertions

    @property
    def ref(self) -> tuple[str, ...]:
        """The reference units, in order."""
        return tuple(o.ref for o in self.ops if o.ref is not None)

    @property
    def hyp(self) -> tuple[str, ...]:
        """The hypothesis units, in order."""
        return tuple(o.hyp for o in self.ops if o.hyp is not None)

    def to_dict(self) -> dict[str, Any]:
        return {"ops": [list(o) for o in self.ops], "counts": self.counts.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EditAlignment:
        return cls(
            tuple(EditOp(*o) for o in d["ops"]), ErrorCounts.from_dict(d["counts"])
        )


def _distance_matrix(ref_ids: np.ndarray, hyp_ids: np.ndarray) -> np.ndarray:
    """Levenshtein DP table, shape ``(len(ref) + 1, len(hyp) + 1)``, one numpy pass per
    row.

    Within a row ``D[i, j] = min_k (T[k] + j - k)`` for
    ``T = min(up + 1, diag + cost)``, which ``np.minimum.accumulate`` computes without a
    Python loop over columns.
    """
    n, m = len(ref_ids), len(hyp_ids)
    table = np.empty((n + 1, m + 1), dtype=np.int32)
    cols = np.arange(m + 1, dtype=np.int32)
    table[0] = cols
    for i in range(1, n + 1):
        prev = table[i - 1]
        t = np.empty(m + 1, dtype=np.int32)
        t[0] = i
        t[1:] = np.minimum(prev[1:] + 1, prev[:-1] + (hyp_ids != ref_ids[i - 1]))
        table[i] = np.minimum.accumulate(t - cols) + cols
    return table


def _backtrace(
    table: np.ndarray,
    ref_ids: np.ndarray,
    hyp_ids: np.ndarray,
    ref: Sequence[str],
    hyp: Sequence[str],
) -> tuple[list[EditOp], tuple[int, int, int, int]]:
    """Walk the DP table back from the end; returns the ops in reverse order and counts.

    The choice among equal-cost paths follows Hyyro's bit-parallel alignment as used by
    rapidfuzz: delete when the cell above is one cheaper; else insert when, one column
    back, the cell above is one dearer; else step diagonally.
    """
    at = table.item  # reads one cell as a Python int; the table is never copied
    i, j = len(ref), len(hyp)
    ops: list[EditOp] = []
    hits = subs = dels = ins = 0
    while i > 0 and j > 0:
        if at(i, j) == at(i - 1, j) + 1:
            i -= 1
            ops.append(EditOp("delete", ref[i], None))
            dels += 1
            continue
        j -= 1
        if j > 0 and at(i, j) == at(i - 1, j) - 1:
            ops.append(EditOp("insert", None, hyp[j]))
            ins += 1
            continue
        i -= 1
        if ref_ids.item(i) == hyp_ids.item(j):
            ops.append(EditOp("equal", ref[i], hyp[j]))
            hits += 1
        else:
            ops.append(EditOp("substitute", ref[i], hyp[j]))
            subs += 1
    for k in reversed(range(i)):
        ops.append(EditOp("delete", ref[k], None))
        dels += 1
    for k in reversed(range(j)):
        ops.append(EditOp("insert", None, hyp[k]))
        ins += 1
    return ops, (hits, subs, dels, ins)


def align_words(ref: Sequence[str], hyp: Sequence[str]) -> EditAlignment:
    """Align two word (or character) sequences with a unit-cost Levenshtein backtrace.

    Args:
        ref: reference units, e.g. ``"the cat".split()``.
        hyp: hypothesis units.

    Returns:
        The alignment with its :class:`ErrorCounts`; ties break like jiwer (see module
        doc).
    """
    vocab: dict[str, int] = {}
    ref_all = [vocab.setdefault(w, len(vocab)) for w in ref]
    hyp_all = [vocab.setdefault(w, len(vocab)) for w in hyp]
    # Equal prefix and suffix are matched first (as rapidfuzz does); only the middle is
    # aligned by dynamic programming.
    prefix = 0
    while (
        prefix < min(len(ref_all), len(hyp_all)) and ref_all[prefix] == hyp_all[prefix]
    ):
        prefix += 1
    suffix = 0
    while (
        suffix < min(len(ref_all), len(hyp_all)) - prefix
        and ref_all[-1 - suffix] == hyp_all[-1 - suffix]
    ):
        suffix += 1
    ref_ids = np.array(ref_all[prefix : len(ref_all) - suffix], dtype=np.int64)
    hyp_ids = np.array(hyp_all[prefix : len(hyp_all) - suffix], dtype=np.int64)
    ops = [
        EditOp("equal", ref[len(ref) - 1 - k], hyp[len(hyp) - 1 - k])
        for k in range(suffix)
    ]
    middle, (hits, subs, dels, ins) = _backtrace(
        _distance_matrix(ref_ids, hyp_ids),
        ref_ids,
        hyp_ids,
        ref[prefix : len(ref) - suffix],
        hyp[prefix : len(hyp) - suffix],
    )
    ops.extend(middle)
    ops.extend(EditOp("equal", ref[k], hyp[k]) for k in reversed(range(prefix)))
    hits += prefix + suffix
    ops.reverse()
    counts = ErrorCounts(hits, subs, dels, ins, len(ref), len(hyp))
    return EditAlignment(tuple(ops), counts)


def align_texts(ref: str, hyp: str) -> EditAlignment:
    """Align two already-normalised strings word by word (split on whitespace)."""
    return align_words(ref.split(), hyp.split())


def _check_pairs(refs: Sequence[str], hyps: Sequence[str]) -> None:
    if isinstance(refs, str) or isinstance(hyps, str):
        raise ConfigError(
            "pass lists of sentences, not a single string, to corpus metrics"
        )
    if len(refs) != len(hyps):
        raise ConfigError(
            f"got {len(refs)} references but {len(hyps)} hypotheses; they must pair up"
        )


def corpus_wer(refs: Sequence[str], hyps: Sequence[str]) -> ErrorCounts:
    """Word error counts over a corpus: total edits over total reference words.

    Args:
        refs: normalised reference sentences.
        hyps: normalised hypothesis sentences, one per reference.

    Returns:
        The summed :class:`ErrorCounts`; ``.wer`` is the corpus WER.

    Raises:
        ConfigError: when the two lists differ in length.
    """
    _check_pairs(refs, hyps)
    return ErrorCounts.total(align_texts(r, h).counts for r, h in zip(refs, hyps))


def _chars(text: str) -> list[str]:
    # Like jiwer's cer: strip the ends, keep every inner character (spaces included).
    return list(text.strip())


def char_counts(ref: str, hyp: str) -> ErrorCounts:
    """Character error counts of one utterance.

    Like ``jiwer.cer``: leading and trailing whitespace is stripped and every other
    character, spaces included, is a unit (normalise first to collapse whitespace runs).
    """
    return align_words(_chars(ref), _chars(hyp)).counts


def corpus_cer(refs: Sequence[str], hyps: Sequence[str]) -> ErrorCounts:
    """Character error counts over a corpus, spaces included as in ``jiwer.cer``.

    See :func:`char_counts` for what counts as a character.

    Raises:
        ConfigError: when the two lists differ in length.
    """
    _check_pairs(refs, hyps)
    return ErrorCounts.total(char_counts(r, h) for r, h in zip(refs, hyps))


def bootstrap_ci(
    per_utt_counts: Sequence[ErrorCounts],
    n: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the corpus WER, resampling
    utterances.

    Each of ``n`` resamples draws as many utterances as there are, with replacement, and
    computes total errors over total reference words.

    Args:
        per_utt_counts: one :class:`ErrorCounts` per utterance.
        n: number of resamples.
        seed: seed of the random generator, for reproducible intervals.
        level: coverage of the interval, in (0, 1).

    Returns:
        ``(low, high)`` as fractions (not percent). A resample without reference words
        counts as ``inf`` if it has errors, else ``0``.

    Raises:
        ConfigError: for no utterances, ``n < 1`` or a level outside (0, 1).
    """
    if len(per_utt_counts) == 0:
        raise ConfigError("bootstrap_ci needs at least one utterance, got none")
    if n < 1:
        raise ConfigError(f"bootstrap_ci needs n >= 1 resamples, got {n}")
    if not 0.0 < level < 1.0:
        raise ConfigError(f"bootstrap_ci level must be in (0, 1), got {level}")
    errors = np.array([c.errors for c in per_utt_counts], dtype=np.float64)
    ref_lens = np.array([c.ref_len for c in per_utt_counts], dtype=np.float64)
    rng = np.random.default_rng(seed)
    m = len(per_utt_counts)
    total_errors = np.zeros(n)
    total_refs = np.zeros(n)
    # Chunk the resamples so memory stays bounded on large corpora.
    chunk = max(1, 2_000_000 // m)
    for start in range(0, n, chunk):
        idx = rng.integers(0, m, size=(min(chunk, n - start), m))
        total_errors[start : start + len(idx)] = errors[idx].sum(axis=1)
        total_refs[start : start + len(idx)] = ref_lens[idx].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(
            total_refs > 0,
            total_errors / np.maximum(total_refs, 1),
            np.where(total_errors > 0, np.inf, 0.0),
        )
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(rates, [alpha, 1.0 - alpha])
    return float(low), float(high)


def top_confusions(
    alignments: Iterable[EditAlignment], k: int = 20
) -> dict[str, list[tuple[Any, int]]]:
    """The most frequent substitution pairs, deleted words and inserted words.

    Args:
        alignments: per-utterance alignments.
        k: how many of each kind to keep.

    Returns:
        ``{"substitutions": [((ref, hyp), count), ...],
        "deletions": [(ref, count), ...], "insertions": [(hyp, count), ...]}``, most
        frequent first; equal counts are ordered by first occurrence.
    """
    subs: Counter[tuple[str, str]] = Counter()
    dels: Counter[str] = Counter()
    ins: Counter[str] = Counter()
    for a in alignments:
        for op in a.ops:
            if op.op == "substitute":
                subs[(op.ref, op.hyp)] += 1  # type: ignore[index]
            elif op.op == "delete":
                dels[op.ref] += 1  # type: ignore[index]
            elif op.op == "insert":
                ins[op.hyp] += 1  # type: ignore[index]
    return {
        "substitutions": list(subs.most_common(k)),
        "deletions": list(dels.most_common(k)),
        "insertions": list(ins.most_common(k)),
    }


@dataclass(frozen=True, slots=True)
class OovStats:
    """Out-of-vocabulary statistics of reference words against a word list.

    Attributes:
        ref_words: reference word tokens.
        oov_words: reference tokens not in the vocabulary.
        oov_errors: OOV reference tokens substituted or deleted.
        in_vocab_errors: in-vocabulary reference tokens substituted or deleted.
        oov_types: distinct OOV words, sorted.
    """

    ref_words: int
    oov_words: int
    oov_errors: int
    in_vocab_errors: int
    oov_types: tuple[str, ...]

    @property
    def oov_rate(self) -> float:
        """Share of reference tokens that are out of vocabulary (0 for no tokens)."""
        return self.oov_words / self.ref_words if self.ref_words else 0.0

    @property
    def oov_wer(self) -> float:
        """(substitutions + deletions) / tokens over OOV reference words (nan if
        none)."""
        return self.oov_errors / self.oov_words if self.oov_words else math.nan

    @property
    def in_vocab_wer(self) -> float:
        """(substitutions + deletions) / tokens over in-vocabulary reference words."""
        n = self.ref_words - self.oov_words
        return self.in_vocab_errors / n if n else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref_words": self.ref_words,
            "oov_words": self.oov_words,
            "oov_rate": self.oov_rate,
            "oov_wer": self.oov_wer,
            "in_vocab_wer": self.in_vocab_wer,
            "oov_types": list(self.oov_types),
        }


def oov_stats(
    alignments: Iterable[EditAlignment], vocabulary: Collection[str]
) -> OovStats:
    """OOV rate of the references and error rates on OOV vs in-vocabulary words.

    Insertions belong to no reference word, so the per-class rates count substitutions
    and deletions only; compare them with each other, not with the corpus WER.

    Args:
        alignments: per-utterance alignments (their reference side is used).
        vocabulary: known words, already normalised like the references.
    """
    vocab = (
        vocabulary
        if isinstance(vocabulary, (set, frozenset, dict))
        else set(vocabulary)
    )
    ref_words = oov = oov_err = iv_err = 0
    types: set[str] = set()
    for a in alignments:
        for op in a.ops:
            if op.ref is None:
                continue
            ref_words += 1
            wrong = op.op != "equal"
            if op.ref in vocab:
                iv_err += wrong
            else:
                oov += 1
                oov_err += wrong
                types.add(op.ref)
    return OovStats(ref_words, oov, oov_err, iv_err, tuple(sorted(types)))


def hyp_word_correctness(alignment: EditAlignment) -> list[bool]:
    """For each hypothesis word in order, whether the alignment marks it correct (a
    hit)."""
    return [op.op == "equal" for op in alignment.ops if op.hyp is not None]


@dataclass(frozen=True, slots=True)
class CalibrationBin:
    """One confidence bin ``[lower, upper)`` (the last bin includes 1.0)."""

    lower: float
    upper: float
    count: int
    mean_confidence: float  # nan when the bin is empty
    accuracy: float  # nan when the bin is empty

    def to_dict(self) -> dict[str, Any]:
        return {
            "lower": self.lower,
            "upper": self.upper,
            "count": self.count,
            "mean_confidence": self.mean_confidence,
            "accuracy": self.accuracy,
        }


@dataclass(frozen=True, slots=True)
class CalibrationResult:
    """Reliability bins and the expected calibration error (count-weighted
    |acc - conf|)."""

    bins: tuple[CalibrationBin, ...]
    ece: float
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "bins": [b.to_dict() for b in self.bins],
            "ece": self.ece,
            "count": self.count,
        }


def calibration(
    word_probs_and_correct: Sequence[tuple[float, bool]], bins: int = 10
) -> CalibrationResult:
    """Confidence calibration of hypothesis words.

    Args:
        word_probs_and_correct: ``(probability, is_correct)`` per hypothesis word, e.g.
            ``zip(probabilities, hyp_word_correctness(alignment))``.
        bins: number of equal-width bins over [0, 1].

    Returns:
        Per-bin count, mean confidence and accuracy, and the ECE (``nan`` with no
        words).

    Raises:
        ConfigError: for ``bins < 1`` or a probability outside [0, 1].
    """
    if bins < 1:
        raise ConfigError(f"calibration needs bins >= 1, got {bins}")
    probs = np.array([float(p) for p, _ in word_probs_and_correct], dtype=np.float64)
    correct = np.array([bool(c) for _, c in word_probs_and_correct], dtype=np.float64)
    if probs.size and (np.isnan(probs).any() or probs.min() < 0.0 or probs.max() > 1.0):
        raise ConfigError(
            "word probabilities must lie in [0, 1]; got values outside it"
        )
    index = np.minimum((probs * bins).astype(np.int64), bins - 1)
    result: list[CalibrationBin] = []
    ece = 0.0
    for b in range(bins):
        mask = index == b
        count = int(mask.sum())
        if count:
            conf = float(probs[mask].mean())
            acc = float(correct[mask].mean())
            ece += count * abs(acc - conf)
        else:
            conf = acc = math.nan
        result.append(CalibrationBin(b / bins, (b + 1) / bins, count, conf, acc))
    total = int(probs.size)
    return CalibrationResult(tuple(result), ece / total if total else math.nan, total)


def __getattr__(name: str) -> object:
    if name == "Alignment":  # renamed in issue 17; the old name stays for a release
        import warnings

        warnings.warn(
            "aural.evaluation.metrics.Alignment is deprecated; use EditAlignment",
            DeprecationWarning,
            stacklevel=2,
        )
        return EditAlignment
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
