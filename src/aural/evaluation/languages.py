"""Per-language scoring: error rates by language (WER, or CER for languages written
without spaces) and language identification against the dataset's language labels.

Pure functions over scored utterances (:class:`~aural.evaluation.report.UtteranceResult`
with ``language`` and ``detected_language``), used by
:func:`~aural.evaluation.report.score_engine`.

Example:
    >>> by_language = language_breakdown(items)            # doctest: +SKIP
    >>> by_language["zh"].metric, by_language["zh"].counts.wer  # doctest: +SKIP
    ('cer', 0.25)
    >>> language_identification(items).accuracy             # doctest: +SKIP
    0.93
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from aural.evaluation.metrics import ErrorCounts
from aural.text.multilingual import base_language, uses_cer

if TYPE_CHECKING:
    from aural.evaluation.report import UtteranceResult

__all__ = [
    "NO_LANGUAGE",
    "LanguageIdStats",
    "LanguageStats",
    "Metric",
    "clip_weighted_error_rate",
    "language_breakdown",
    "language_identification",
    "metric_for",
]

Metric = Literal["wer", "cer"]

NO_LANGUAGE = "none"
"""The detected-language label of an utterance whose engine named no language."""


def metric_for(language: str | None) -> Metric:
    """``cer`` for languages written without spaces (:func:`aural.text.uses_cer`),
    else ``wer``."""
    return "cer" if uses_cer(language) else "wer"


@dataclass(frozen=True, slots=True)
class LanguageStats:
    """The scores of one language.

    Attributes:
        language: ISO 639 code (``unknown`` for utterances without one).
        metric: ``wer``, or ``cer`` for languages written without spaces.
        counts: error counts in the metric's units (words or characters).
        utterances: how many utterances.
        duration: seconds of audio.
        lid_correct: utterances whose detected language is this one (None when the
            language was given to the engine, not detected).
    """

    language: str
    metric: Metric
    counts: ErrorCounts
    utterances: int
    duration: float
    lid_correct: int | None

    @property
    def error_rate(self) -> float:
        """The metric's rate (fraction)."""
        return self.counts.wer

    @property
    def lid_accuracy(self) -> float | None:
        """Share of the language's utterances identified as it (None when not
        detected)."""
        if self.lid_correct is None or not self.utterances:
            return None
        return self.lid_correct / self.utterances

    def to_dict(self) -> dict[str, Any]:
        c = self.counts
        return {
            "metric": self.metric,
            "error_rate": c.wer,
            "utterances": self.utterances,
            "ref_units": c.ref_len,
            "hits": c.hits,
            "substitutions": c.substitutions,
            "deletions": c.deletions,
            "insertions": c.insertions,
            "duration": round(self.duration, 3),
            "lid_accuracy": self.lid_accuracy,
        }


@dataclass(frozen=True, slots=True)
class LanguageIdStats:
    """Language identification against the dataset's labels.

    Attributes:
        correct: utterances whose detected language is their labelled one.
        total: utterances with a language label.
        confusion: true language -> detected language -> count (``none`` when the
            engine named no language).
    """

    correct: int
    total: int
    confusion: Mapping[str, Mapping[str, int]]

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def labels(self) -> list[str]:
        """Every language seen, true or detected: the true ones first (sorted), then
        the languages only ever detected."""
        true = sorted(self.confusion)
        detected = sorted(
            {d for row in self.confusion.values() for d in row} - set(true)
        )
        return true + detected

    def matrix(self) -> list[list[int]]:
        """Counts as rows (true language) by columns (detected), in :attr:`labels`
        order; rows only for the true languages."""
        labels = self.labels
        return [
            [self.confusion[t].get(d, 0) for d in labels]
            for t in sorted(self.confusion)
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "correct": self.correct,
            "total": self.total,
            "labels": self.labels,
            "confusion": {t: dict(row) for t, row in sorted(self.confusion.items())},
        }


UNKNOWN_LANGUAGE = "unknown"


def _true(u: UtteranceResult) -> str:
    return base_language(u.language) or UNKNOWN_LANGUAGE


def language_breakdown(
    items: Sequence[UtteranceResult], detected: bool
) -> dict[str, LanguageStats]:
    """Scores per labelled language, sorted by code.

    Args:
        items: scored utterances of one condition.
        detected: whether the engine detected the language (else it was given, and
            language-ID counts are None).
    """
    groups: dict[str, list[UtteranceResult]] = defaultdict(list)
    for u in items:
        groups[_true(u)].append(u)
    out = {}
    for language in sorted(groups):
        group = groups[language]
        correct = (
            sum(base_language(u.detected_language) == language for u in group)
            if detected and language != UNKNOWN_LANGUAGE
            else None
        )
        out[language] = LanguageStats(
            language,
            metric_for(None if language == UNKNOWN_LANGUAGE else language),
            ErrorCounts.total(u.counts for u in group),
            len(group),
            sum(u.duration for u in group),
            correct,
        )
    return out


def language_identification(items: Iterable[UtteranceResult]) -> LanguageIdStats:
    """Detected against labelled language over the utterances that have a label."""
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    correct = total = 0
    for u in items:
        true = base_language(u.language)
        if true is None:
            continue
        found = base_language(u.detected_language) or NO_LANGUAGE
        confusion[true][found] += 1
        total += 1
        correct += found == true
    return LanguageIdStats(
        correct, total, {t: dict(row) for t, row in confusion.items()}
    )


def clip_weighted_error_rate(by_language: Mapping[str, LanguageStats]) -> float | None:
    """Each language's error rate (WER or CER) weighted by its number of clips: one
    figure for a dataset that mixes languages scored in different units. None without
    labelled languages."""
    stats = [s for k, s in by_language.items() if k != UNKNOWN_LANGUAGE]
    clips = sum(s.utterances for s in stats)
    if not clips:
        return None
    return sum(s.error_rate * s.utterances for s in stats) / clips
