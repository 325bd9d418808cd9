"""Scored evaluation results and their reports: results.json, report.md and report.html.

:func:`score_engine` turns raw hypotheses into typed results (per utterance, per noise
condition, per speaker and duration bin); :func:`results_to_dict`,
:func:`render_markdown` and :func:`render_html` present them; :func:`write_report`
writes every file atomically. Scoring is pure: no engine and no audio, so a cached run
is re-scored in moments.
"""

from __future__ import annotations

import html
import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aural.evaluation.languages import (
    LanguageIdStats,
    LanguageStats,
    Metric,
    clip_weighted_error_rate,
    language_breakdown,
    language_identification,
    metric_for,
)
from aural.evaluation.metrics import (
    CalibrationResult,
    EditAlignment,
    ErrorCounts,
    OovStats,
    align_words,
    bootstrap_ci,
    calibration,
    char_counts,
    hyp_word_correctness,
    oov_stats,
    top_confusions,
)
from aural.evaluation.robustness import Condition, condition_label
from aural.types import SCHEMA_VERSION

if TYPE_CHECKING:
    from aural.evaluation.runner import EvalOptions, EvalResults, UtteranceHypothesis

__all__ = [
    "DURATION_BINS",
    "ConditionSummary",
    "EngineResults",
    "UtteranceResult",
    "duration_bin",
    "render_html",
    "render_markdown",
    "results_to_dict",
    "score_engine",
    "write_report",
]

DURATION_BINS = ("0-5", "5-10", "10+")
"""Duration bins (seconds) of the ``by_duration`` breakdown."""

UNKNOWN_SPEAKER = "unknown"


def duration_bin(seconds: float) -> str:
    """``"0-5"``, ``"5-10"`` or ``"10+"``: lower bound included, upper excluded."""
    if seconds < 5.0:
        return DURATION_BINS[0]
    if seconds < 10.0:
        return DURATION_BINS[1]
    return DURATION_BINS[2]


@dataclass(frozen=True, slots=True)
class UtteranceResult:
    """One utterance decoded by one engine in one condition, scored.

    Attributes:
        id: utterance id.
        speaker: speaker id (``"unknown"`` when the dataset has none).
        duration: seconds of audio.
        condition: SNR in dB, or ``None`` for clean.
        ref / hyp: reference and hypothesis as written.
        ref_norm / hyp_norm: the same after the normaliser.
        alignment: word alignment of the normalised texts (ops and counts).
        chars: character error counts of the normalised texts.
        engine_seconds: time the engine spent on this utterance.
        word_probabilities: one probability per normalised hypothesis word, or ``None``
            when the engine's words do not map one-to-one onto them.
        language: the utterance's language as the dataset labels it (None: unknown).
        detected_language / detected_probability: what the engine reported.
        metric: ``cer`` for languages written without spaces, whose alignment is then
            one of characters (spaces ignored); else ``wer``.
    """

    id: str
    speaker: str
    duration: float
    condition: Condition
    ref: str
    hyp: str
    ref_norm: str
    hyp_norm: str
    alignment: EditAlignment
    chars: ErrorCounts
    engine_seconds: float
    word_probabilities: tuple[float, ...] | None
    language: str | None = None
    detected_language: str | None = None
    detected_probability: float | None = None
    metric: Metric = "wer"

    @property
    def counts(self) -> ErrorCounts:
        """Error counts in the metric's units (words, or characters for ``cer``)."""
        return self.alignment.counts

    def to_dict(self) -> dict[str, Any]:
        c = self.alignment.counts
        return {
            "id": self.id,
            "speaker": self.speaker,
            "duration": round(self.duration, 3),
            "snr": condition_label(self.condition),
            "ref": self.ref,
            "hyp": self.hyp,
            "ref_norm": self.ref_norm,
            "hyp_norm": self.hyp_norm,
            "wer": c.wer,
            "hits": c.hits,
            "substitutions": c.substitutions,
            "deletions": c.deletions,
            "insertions": c.insertions,
            "ref_words": c.ref_len,
            "hyp_words": c.hyp_len,
            "char_errors": self.chars.errors,
            "ref_chars": self.chars.ref_len,
            "ops": [list(op) for op in self.alignment.ops],
            "engine_seconds": round(self.engine_seconds, 4),
            "rtf": _rate(self.engine_seconds, self.duration),
            "word_probabilities": (
                None
                if self.word_probabilities is None
                else [round(p, 4) for p in self.word_probabilities]
            ),
            "language": self.language,
            "detected_language": self.detected_language,
            "detected_probability": self.detected_probability,
            "metric": self.metric,
        }


@dataclass(frozen=True, slots=True)
class GroupStats:
    """Error counts of a group of utterances (one speaker, one duration bin)."""

    counts: ErrorCounts
    utterances: int
    duration: float

    def to_dict(self) -> dict[str, Any]:
        c = self.counts
        return {
            "wer": c.wer,
            "utterances": self.utterances,
            "ref_words": c.ref_len,
            "hits": c.hits,
            "substitutions": c.substitutions,
            "deletions": c.deletions,
            "insertions": c.insertions,
            "duration": round(self.duration, 3),
        }


@dataclass(frozen=True, slots=True)
class ConditionSummary:
    """Corpus-level results of one engine in one noise condition.

    Attributes:
        condition: SNR in dB, or ``None`` for clean.
        counts: corpus word error counts (``counts.wer`` is the corpus WER).
        chars: corpus character error counts (``chars.wer`` is the CER).
        engine_seconds / audio_seconds: summed over the utterances; RTF is their ratio.
        wer_ci95: bootstrap 95 % interval of the WER (fractions).
        by_speaker / by_duration: the same counts per group.
        calibration: reliability of word probabilities (None with no mapped words).
        confusions: most frequent substitution pairs, deleted and inserted words.
        oov: out-of-vocabulary statistics (None without a word list).
        by_language: scores per labelled language (WER, or CER where the language is
            written without spaces); empty when no utterance has a language label.
        language_id: detected against labelled language (None when the language was
            given to the engine or no utterance has a label).
    """

    condition: Condition
    counts: ErrorCounts
    chars: ErrorCounts
    engine_seconds: float
    audio_seconds: float
    wer_ci95: tuple[float, float]
    by_speaker: Mapping[str, GroupStats]
    by_duration: Mapping[str, GroupStats]
    calibration: CalibrationResult | None
    confusions: Mapping[str, list[tuple[Any, int]]]
    oov: OovStats | None
    utterances: int
    by_language: Mapping[str, LanguageStats] = field(default_factory=dict)
    language_id: LanguageIdStats | None = None

    @property
    def clip_weighted_error_rate(self) -> float | None:
        """Per-language error rates weighted by clips (None without labels)."""
        return clip_weighted_error_rate(self.by_language)

    @property
    def label(self) -> str:
        return condition_label(self.condition)

    @property
    def rtf(self) -> float:
        return _rate(self.engine_seconds, self.audio_seconds)

    def to_dict(self) -> dict[str, Any]:
        c = self.counts
        return {
            "wer": c.wer,
            "cer": self.chars.wer,
            "substitutions": c.substitutions,
            "deletions": c.deletions,
            "insertions": c.insertions,
            "hits": c.hits,
            "ref_words": c.ref_len,
            "hyp_words": c.hyp_len,
            "rtf": self.rtf,
            "wer_ci95": list(self.wer_ci95),
            "utterances": self.utterances,
            "audio_seconds": round(self.audio_seconds, 3),
            "engine_seconds": round(self.engine_seconds, 3),
            "by_speaker": {k: v.to_dict() for k, v in self.by_speaker.items()},
            "by_duration": {k: v.to_dict() for k, v in self.by_duration.items()},
            "calibration": None
            if self.calibration is None
            else self.calibration.to_dict(),
            "confusions": {
                "substitutions": [
                    {"ref": r, "hyp": h, "count": n}
                    for (r, h), n in self.confusions.get("substitutions", [])
                ],
                "deletions": [
                    {"ref": w, "count": n}
                    for w, n in self.confusions.get("deletions", [])
                ],
                "insertions": [
                    {"hyp": w, "count": n}
                    for w, n in self.confusions.get("insertions", [])
                ],
            },
            "oov": None if self.oov is None else self.oov.to_dict(),
            "by_language": {k: v.to_dict() for k, v in self.by_language.items()},
            "clip_weighted_error_rate": self.clip_weighted_error_rate,
            "language_id": None
            if self.language_id is None
            else self.language_id.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class EngineResults:
    """All results of one engine: one summary per condition plus every utterance.

    Attributes:
        label: the name in reports (``whisper`` or ``whisper:tiny.en``).
        engine / model: registry name and model id.
        conditions: one :class:`ConditionSummary` per condition, in the order evaluated.
        utterances: every scored utterance of every condition.
        primary_condition: the condition reported at the top level.
    """

    label: str
    engine: str
    model: str
    conditions: tuple[ConditionSummary, ...]
    utterances: tuple[UtteranceResult, ...]
    primary_condition: Condition

    @property
    def primary(self) -> ConditionSummary:
        return self.condition(self.primary_condition)

    def condition(self, condition: Condition) -> ConditionSummary:
        for c in self.conditions:
            if c.condition == condition:
                return c
        raise KeyError(
            f"{self.label} was not evaluated at {condition_label(condition)}"
        )

    def to_dict(self) -> dict[str, Any]:
        primary = self.primary.to_dict()
        return {
            "engine": self.engine,
            "model": self.model,
            "primary_snr": condition_label(self.primary_condition),
            **primary,
            "by_snr": {c.label: _condition_brief(c.to_dict()) for c in self.conditions},
            "utterances": [u.to_dict() for u in self.utterances],
        }


def _condition_brief(d: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "wer",
        "cer",
        "substitutions",
        "deletions",
        "insertions",
        "hits",
        "ref_words",
        "hyp_words",
        "rtf",
        "wer_ci95",
        "utterances",
        "audio_seconds",
        "by_speaker",
        "by_duration",
        "by_language",
        "clip_weighted_error_rate",
    )
    brief = {k: d[k] for k in keep}
    brief["lid_accuracy"] = (
        None if d["language_id"] is None else d["language_id"]["accuracy"]
    )
    brief["ece"] = None if d["calibration"] is None else d["calibration"]["ece"]
    return brief


def _rate(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else 0.0


# -- scoring ---------------------------------------------------------------------------


def _word_probabilities(
    words: Sequence[tuple[str, float]],
    hyp_tokens: Sequence[str],
    normalize: Callable[[str], str],
) -> tuple[float, ...] | None:
    """Give each normalised hypothesis word the probability of the engine word it came
    from.

    Returns None when normalising word by word does not reproduce the normalised text
    (e.g. "twenty five" -> "25" only in context); those utterances are left out of the
    calibration curve rather than guessed.
    """
    if not words:
        return None if hyp_tokens else ()
    tokens: list[str] = []
    probs: list[float] = []
    for text, p in words:
        for token in normalize(text).split():
            tokens.append(token)
            probs.append(p)
    return tuple(probs) if tokens == list(hyp_tokens) else None


def _group(
    items: Sequence[UtteranceResult],
    key: Callable[[UtteranceResult], str],
    order: Sequence[str] = (),
) -> dict[str, GroupStats]:
    groups: dict[str, list[UtteranceResult]] = defaultdict(list)
    for u in items:
        groups[key(u)].append(u)
    names = [k for k in order if k in groups] + sorted(
        k for k in groups if k not in order
    )
    return {
        k: GroupStats(
            ErrorCounts.total(u.counts for u in groups[k]),
            len(groups[k]),
            sum(u.duration for u in groups[k]),
        )
        for k in names
    }


def _summarise(
    condition: Condition,
    items: Sequence[UtteranceResult],
    options: EvalOptions,
    vocabulary: frozenset[str] | None,
) -> ConditionSummary:
    labelled = any(u.language is not None for u in items)
    detected = options.detects_language
    counts = ErrorCounts.total(u.counts for u in items)
    pairs = [
        (p, ok)
        for u in items
        if u.word_probabilities is not None
        for p, ok in zip(
            u.word_probabilities, hyp_word_correctness(u.alignment), strict=True
        )
    ]
    ci = (
        bootstrap_ci(
            [u.counts for u in items], n=options.bootstrap_samples, seed=options.seed
        )
        if items
        else (math.nan, math.nan)
    )
    return ConditionSummary(
        condition=condition,
        counts=counts,
        chars=ErrorCounts.total(u.chars for u in items),
        engine_seconds=sum(u.engine_seconds for u in items),
        audio_seconds=sum(u.duration for u in items),
        wer_ci95=ci,
        by_speaker=_group(items, lambda u: u.speaker),
        by_duration=_group(items, lambda u: duration_bin(u.duration), DURATION_BINS),
        # Word.probability defaults to 1.0, so all-1.0 means "no confidences", not
        # certainty.
        calibration=(
            calibration(pairs, bins=options.calibration_bins)
            if any(p < 1.0 for p, _ in pairs)
            else None
        ),
        confusions=top_confusions((u.alignment for u in items), k=options.top_k),
        oov=None
        if vocabulary is None
        else oov_stats((u.alignment for u in items), vocabulary),
        utterances=len(items),
        by_language=language_breakdown(items, detected) if labelled else {},
        language_id=language_identification(items) if labelled and detected else None,
    )


def score_engine(
    *,
    label: str,
    engine: str,
    model: str,
    utterances: Sequence[Any],
    hypotheses: Mapping[Condition, Mapping[str, UtteranceHypothesis]],
    options: EvalOptions,
) -> EngineResults:
    """Score one engine's hypotheses against the references, condition by condition.

    Args:
        label / engine / model: how the engine is named in the results.
        utterances: the manifest's utterances (``id``, ``text``, ``speaker``).
        hypotheses: per condition, utterance id ->
            :class:`~aural.evaluation.runner.UtteranceHypothesis`; utterances without
            one (failed to decode) are left out.
        options: the run's options (normaliser, bootstrap, bins, vocabulary).
    """
    from aural.data.readers import utterance_language
    from aural.text.multilingual import scoring_units
    from aural.text.normalizers import get_normalizer

    languages = {
        str(u.id): utterance_language(u) if hasattr(u, "extra") else None
        for u in utterances
    }
    normalizers = {
        code: get_normalizer(options.normalizer, code)
        for code in set(languages.values())
    }
    normalize = normalizers.get(None) or get_normalizer(options.normalizer)
    vocabulary = None
    if options.vocabulary is not None:
        vocabulary = frozenset(
            t for w in options.vocabulary for t in normalize(w).split()
        )
    ref_norms = {
        str(u.id): normalizers[languages[str(u.id)]](u.text or "") for u in utterances
    }
    scored: list[UtteranceResult] = []
    summaries: list[ConditionSummary] = []
    for condition in options.snrs:
        hyps = hypotheses.get(condition, {})
        items: list[UtteranceResult] = []
        for u in utterances:
            h = hyps.get(str(u.id))
            if h is None:
                continue
            language = languages[str(u.id)]
            norm = normalizers[language]
            ref_norm, hyp_norm = ref_norms[str(u.id)], norm(h.text)
            metric = metric_for(language)
            ref_tokens = scoring_units(ref_norm, language)
            hyp_tokens = scoring_units(hyp_norm, language)
            chars = (
                char_counts("".join(ref_tokens), "".join(hyp_tokens))
                if metric == "cer"
                else char_counts(ref_norm, hyp_norm)
            )
            items.append(
                UtteranceResult(
                    id=str(u.id),
                    speaker=str(u.speaker) if u.speaker else UNKNOWN_SPEAKER,
                    duration=h.duration,
                    condition=condition,
                    ref=u.text or "",
                    hyp=h.text,
                    ref_norm=ref_norm,
                    hyp_norm=hyp_norm,
                    alignment=align_words(ref_tokens, hyp_tokens),
                    chars=chars,
                    engine_seconds=h.engine_seconds,
                    word_probabilities=(
                        _word_probabilities(h.words, hyp_tokens, norm)
                        if metric == "wer"
                        else None
                    ),
                    language=language,
                    detected_language=h.language,
                    detected_probability=h.language_probability,
                    metric=metric,
                )
            )
        summaries.append(_summarise(condition, items, options, vocabulary))
        scored.extend(items)
    return EngineResults(
        label, engine, model, tuple(summaries), tuple(scored), options.primary
    )


# -- presentation ----------------------------------------------------------------------


def _json_safe(value: Any) -> Any:
    """NaN and infinities become None so the file is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def results_to_dict(results: EvalResults) -> dict[str, Any]:
    """The results.json document (see DESIGN.md): schema version, run facts, engines."""
    return _json_safe(
        {
            "schema_version": SCHEMA_VERSION,
            "dataset": results.dataset,
            "options": results.options.to_dict(),
            "snrs": [condition_label(c) for c in results.options.snrs],
            "timing": results.timing.to_dict(),
            "failures": [{"id": i, "error": m} for i, m in results.failures],
            "engines": {e.label: e.to_dict() for e in results.engines},
        }
    )


def _pct(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{100.0 * value:.2f}"


def summary_rows(results: EvalResults) -> list[list[str]]:
    """One row per engine and condition: the table of report.md and the CLI summary."""
    rows = []
    for e in results.engines:
        for c in e.conditions:
            lo, hi = c.wer_ci95
            rows.append(
                [
                    e.label,
                    c.label,
                    _pct(c.counts.wer),
                    f"{_pct(lo)}-{_pct(hi)}",
                    _pct(c.chars.wer),
                    str(c.counts.substitutions),
                    str(c.counts.deletions),
                    str(c.counts.insertions),
                    str(c.counts.hits),
                    str(c.counts.ref_len),
                    f"{c.rtf:.3f}",
                    str(c.utterances),
                ]
            )
    return rows


SUMMARY_HEADER = [
    "engine",
    "SNR dB",
    "WER %",
    "95% CI",
    "CER %",
    "sub",
    "del",
    "ins",
    "hits",
    "ref words",
    "RTF",
    "utts",
]


def render_markdown(
    results: EvalResults, plots: Mapping[str, str] | None = None
) -> str:
    """A Markdown report: run facts, the summary table (engines x conditions) and,
    when ``plots`` (name -> file, as :func:`render_html` takes) is given, links to
    the pictures."""
    o, t = results.options, results.timing
    audio = sum(e.primary.audio_seconds for e in results.engines[:1])
    lines = [
        "# aural evaluation",
        "",
        f"- dataset: `{results.dataset}`",
        (
            "- utterances: "
            f"{results.engines[0].primary.utterances if results.engines else 0} "
            f"({audio / 60.0:.1f} min of audio)"
        ),
        f"- normalizer: {o.normalizer}; beam size: {o.decode.beam_size}; seed: "
        f"{o.seed}",
        f"- noise: {o.noise_dir or 'none'}; room responses: {o.rir_dir or 'none'}",
        (
            f"- this run: {t.decoded} decodes, {t.cached} from cache, "
            f"{t.wall_seconds:.1f} s wall, {t.engine_seconds:.1f} s in engines, "
            f"{t.load_seconds:.1f} s loading models"
        ),
        "",
        "| " + " | ".join(SUMMARY_HEADER) + " |",
        "|"
        + "|".join("---" if i < 2 else "---:" for i in range(len(SUMMARY_HEADER)))
        + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in summary_rows(results)]
    lines += _language_markdown(results)
    if results.failures:
        lines += ["", f"{len(results.failures)} utterance(s) failed:", ""]
        lines += [f"- `{i}`: {m}" for i, m in results.failures]
    if plots:
        lines += ["", "## Pictures", ""]
        lines += [
            f"- [{title}]({plots[name]})"
            for name, title in _picture_titles(results)
            if name in plots
        ]
    return "\n".join(lines) + "\n"


LANGUAGE_HEADER = [
    "engine",
    "language",
    "metric",
    "error %",
    "utts",
    "ref units",
    "sub",
    "del",
    "ins",
    "LID %",
]


def language_rows(results: EvalResults) -> list[list[str]]:
    """One row per engine and labelled language (primary condition): the metric
    (WER, or CER for languages written without spaces), its rate and the
    language-ID accuracy (``-`` when the language was given)."""
    rows = []
    for e in results.engines:
        p = e.primary
        for language, stats in p.by_language.items():
            c = stats.counts
            lid = stats.lid_accuracy
            rows.append(
                [
                    e.label,
                    language,
                    stats.metric.upper(),
                    _pct(c.wer),
                    str(stats.utterances),
                    str(c.ref_len),
                    str(c.substitutions),
                    str(c.deletions),
                    str(c.insertions),
                    "-" if lid is None else _pct(lid),
                ]
            )
        weighted = p.clip_weighted_error_rate
        if p.by_language and weighted is not None:
            lid_all = p.language_id
            rows.append(
                [
                    e.label,
                    "all (clip-weighted)",
                    "WER/CER",
                    _pct(weighted),
                    str(sum(s.utterances for s in p.by_language.values())),
                    "",
                    "",
                    "",
                    "",
                    "-" if lid_all is None else _pct(lid_all.accuracy),
                ]
            )
    return rows


def confusion_table(stats: LanguageIdStats) -> tuple[list[str], list[list[str]]]:
    """The language-ID confusion matrix as a table: rows are the true languages,
    columns the detected ones (``none``: the engine named no language)."""
    labels = stats.labels
    header = ["true / detected", *labels]
    rows = [
        [true, *[str(n) if n else "." for n in counts]]
        for true, counts in zip(sorted(stats.confusion), stats.matrix(), strict=True)
    ]
    return header, rows


def _markdown_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1
) -> list[str]:
    """A Markdown table; the first ``left`` columns left-aligned, the rest right."""
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if i < left else "---:" for i in range(len(header))) + "|",
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def _language_markdown(results: EvalResults) -> list[str]:
    rows = language_rows(results)
    if not rows:
        return []
    lines = ["", "## By language", ""]
    lines += _markdown_table(LANGUAGE_HEADER, rows, left=3)
    for e in results.engines:
        lid = e.primary.language_id
        if lid is None or not lid.total:
            continue
        lines += [
            "",
            f"### Language identification: {e.label} "
            f"({lid.correct}/{lid.total} = {_pct(lid.accuracy)} %)",
            "",
        ]
        lines += _markdown_table(*confusion_table(lid))
    return lines


_PLOT_TITLES = (
    ("snr", "WER vs SNR"),
    ("errors", "Error types"),
    ("speakers", "WER per speaker"),
    ("durations", "Utterance durations"),
    ("confusions", "Most frequent confusions"),
    ("calibration", "Confidence calibration"),
    ("languages", "Language identification"),
)


def _error_picture_titles(label: str) -> list[tuple[str, str]]:
    """(plot key, title) of engine ``label``'s error pictures."""
    from aural.evaluation.plots import ERROR_PLOT_TITLES, error_plot_key

    return [
        (error_plot_key(name, label), f"{label}: {title}")
        for name, title in ERROR_PLOT_TITLES.items()
    ]


def _picture_titles(results: EvalResults) -> list[tuple[str, str]]:
    titles = list(_PLOT_TITLES)
    for e in results.engines:
        titles += _error_picture_titles(e.label)
    return titles


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _group_rows(
    groups: Mapping[str, GroupStats], limit: int | None = None
) -> list[list[str]]:
    items = (
        sorted(groups.items(), key=lambda kv: -kv[1].counts.wer)
        if limit
        else groups.items()
    )
    rows = [
        [
            k,
            _pct(g.counts.wer),
            g.utterances,
            g.counts.ref_len,
            g.counts.substitutions,
            g.counts.deletions,
            g.counts.insertions,
        ]
        for k, g in items
    ]
    return rows[:limit] if limit else rows


_CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;\
color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;\
padding:.25em .6em;
text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}code{background:#f6f6f6}"""


def render_html(results: EvalResults, plots: Mapping[str, str]) -> str:
    """A self-contained HTML report; ``plots`` maps a plot name to its PNG file name."""
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>aural "
        "evaluation</title>",
        f"<style>{_CSS}</style></head><body><h1>aural evaluation</h1>",
        (
            f"<p>Dataset <code>{esc(results.dataset)}</code>, normalizer "
            f"<code>{esc(results.options.normalizer)}</code>, seed "
            f"{results.options.seed}.</p>"
        ),
        "<h2>Summary</h2>",
        _table(SUMMARY_HEADER, summary_rows(results)),
    ]
    language_table = language_rows(results)
    if language_table:
        parts.append("<h2>By language</h2>" + _table(LANGUAGE_HEADER, language_table))
        for e in results.engines:
            lid = e.primary.language_id
            if lid is not None and lid.total:
                parts.append(
                    f"<h3>Language identification: {esc(e.label)} ({lid.correct}/"
                    f"{lid.total} = {_pct(lid.accuracy)} %)</h3>"
                    + _table(*confusion_table(lid))
                )
    for name, title in _PLOT_TITLES:
        if name in plots:
            parts.append(
                f"<h2>{esc(title)}</h2><img src='{esc(plots[name])}' "
                f"alt='{esc(title)}'>"
            )
    group_header = ["group", "WER %", "utts", "ref words", "sub", "del", "ins"]
    for e in results.engines:
        p = e.primary
        parts.append(
            f"<h2>{esc(e.label)} <small>({esc(e.model)}, SNR "
            f"{esc(p.label)})</small></h2>"
        )
        parts.append(
            "<h3>By duration (s)</h3>"
            + _table(group_header, _group_rows(p.by_duration))
        )
        parts.append(
            "<h3>Speakers with the highest WER</h3>"
            + _table(group_header, _group_rows(p.by_speaker, limit=20))
        )
        subs = p.confusions.get("substitutions", [])[:15]
        parts.append(
            "<h3>Substitutions</h3>"
            + _table(
                ["reference", "hypothesis", "count"], [[r, h, n] for (r, h), n in subs]
            )
        )
        if p.calibration is not None:
            parts.append(
                f"<p>Expected calibration error: {p.calibration.ece:.3f} over "
                f"{p.calibration.count} words.</p>"
            )
        if p.oov is not None:
            parts.append(
                f"<p>OOV rate {_pct(p.oov.oov_rate)} %; errors on OOV words "
                f"{_pct(p.oov.oov_wer)} %, on known words {_pct(p.oov.in_vocab_wer)} %."
                "</p>"
            )
        for key, title in _error_picture_titles(e.label):
            if key in plots:
                parts.append(
                    f"<h3>{esc(title)}</h3><img src='{esc(plots[key])}' "
                    f"alt='{esc(title)}'>"
                )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(
    results: EvalResults, output_dir: Path, *, plots: bool = True
) -> dict[str, Path]:
    """Write results.json, report.md, report.html and the PNG plots into ``output_dir``.

    Every file is written to a temporary name and renamed, so a reader never sees half
    a report. Returns the written paths by name.
    """
    import json

    from aural.writers import write_atomic

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    pngs: dict[str, str] = {}
    if plots and results.engines:
        from aural.evaluation.plots import render_plots

        pngs = render_plots(results, output_dir)
        written.update({f"plot:{k}": output_dir / v for k, v in pngs.items()})
    for name, text in (
        (
            "results.json",
            json.dumps(
                results_to_dict(results), indent=1, ensure_ascii=False, allow_nan=False
            ),
        ),
        ("report.md", render_markdown(results, pngs)),
        ("report.html", render_html(results, pngs)),
    ):
        write_atomic(output_dir / name, text)
        written[name] = output_dir / name
    return written
