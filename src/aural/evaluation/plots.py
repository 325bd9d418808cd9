"""PNG plots of an evaluation (matplotlib, Agg backend): one function per figure.

Each ``plot_*`` function returns a :class:`matplotlib.figure.Figure` and touches no
file; :func:`render_plots` saves them (atomically) into ``OUTPUT_DIR/plots/``, together
with each engine's error pictures (:mod:`aural.plots.errors`: substitution matrix,
error cloud, WER spread, confident errors). :func:`error_utterances` and
:func:`error_utterances_from_json` turn scored results, or a ``results.json`` written
earlier, into what those pictures read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from aural.errors import ConfigError, MissingDependencyError
from aural.writers import write_atomic

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from aural.evaluation.report import EngineResults
    from aural.evaluation.runner import EvalResults
    from aural.plots.errors import ScoredUtterance

__all__ = [
    "ERROR_PLOT_TITLES",
    "PLOT_DIR",
    "engine_slug",
    "error_plot_key",
    "error_utterances",
    "error_utterances_from_json",
    "plot_calibration",
    "plot_confusions",
    "plot_durations",
    "plot_error_types",
    "plot_languages",
    "plot_speakers",
    "plot_wer_vs_snr",
    "render_plots",
]

PLOT_DIR = "plots"
MAX_SPEAKERS = 30  # more bars than this are unreadable; the worst ones are shown
MAX_PAIRS = 15


def _figure(
    width: float = 8.0, height: float = 4.5, ncols: int = 1
) -> tuple[Figure, Any]:
    try:
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover - matplotlib is a core dependency
        raise MissingDependencyError(
            "the HTML report's plots need matplotlib; install it with `pip install "
            "matplotlib`"
        ) from err
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, axes


def plot_speakers(results: EvalResults) -> Figure:
    """Grouped bars: WER per speaker and engine (primary condition; worst speakers
    first)."""
    engines = results.engines
    speakers: dict[str, list[float]] = {}
    for e in engines:
        for spk, g in e.primary.by_speaker.items():
            speakers.setdefault(spk, []).append(g.counts.wer)
    order = sorted(
        speakers,
        key=lambda s: (
            -float(np.mean([w for w in speakers[s] if math.isfinite(w)] or [0]))
        ),
    )
    shown = order[:MAX_SPEAKERS]
    fig, (ax,) = _figure(max(8.0, 0.35 * len(shown) * len(engines) + 2), 4.5)
    width = 0.8 / max(1, len(engines))
    x = np.arange(len(shown))
    for k, e in enumerate(engines):
        vals = [
            100 * e.primary.by_speaker[s].counts.wer
            if s in e.primary.by_speaker
            else 0.0
            for s in shown
        ]
        ax.bar(x + k * width, vals, width, label=e.label)
    ax.set_xticks(x + width * (len(engines) - 1) / 2, shown, rotation=60, fontsize=8)
    ax.set_ylabel("WER %")
    title = "WER per speaker"
    if len(order) > len(shown):
        title += f" ({len(shown)} highest of {len(order)})"
    ax.set_title(title)
    ax.legend()
    return fig


def plot_wer_vs_snr(results: EvalResults) -> Figure:
    """WER against SNR, one line per engine; clean is drawn to the right of the
    noisiest."""
    fig, (ax,) = _figure()
    snrs = [c for c in results.options.snrs if c is not None]
    clean_x = (max(snrs) + 10.0) if snrs else 0.0
    for e in results.engines:
        pts = sorted(
            ((clean_x if c.condition is None else c.condition), 100 * c.counts.wer)
            for c in e.conditions
        )
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=e.label)
    ticks = sorted(set(snrs)) + ([clean_x] if None in results.options.snrs else [])
    ax.set_xticks(
        ticks,
        [
            ("clean" if t == clean_x and None in results.options.snrs else f"{t:g}")
            for t in ticks
        ],
    )
    ax.set_xlabel("SNR (dB)")
    ax.set_ylabel("WER %")
    ax.set_title("WER vs SNR")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def plot_error_types(results: EvalResults) -> Figure:
    """Stacked bars of substitutions, deletions and insertions (% of reference
    words)."""
    labels, subs, dels, ins = [], [], [], []
    for e in results.engines:
        for c in e.conditions:
            n = max(1, c.counts.ref_len)
            labels.append(f"{e.label}\n{c.label}")
            subs.append(100 * c.counts.substitutions / n)
            dels.append(100 * c.counts.deletions / n)
            ins.append(100 * c.counts.insertions / n)
    fig, (ax,) = _figure(max(6.0, 1.1 * len(labels) + 2), 4.5)
    x = np.arange(len(labels))
    ax.bar(x, subs, label="substitutions")
    ax.bar(x, dels, bottom=subs, label="deletions")
    ax.bar(x, ins, bottom=np.add(subs, dels), label="insertions")
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel("% of reference words")
    ax.set_title("Error types")
    ax.legend()
    return fig


def plot_durations(results: EvalResults) -> Figure:
    """Histogram of utterance durations (seconds) with the duration-bin edges marked."""
    first = results.engines[0]
    durations = [
        u.duration for u in first.utterances if u.condition == first.primary_condition
    ]
    fig, (ax,) = _figure()
    ax.hist(durations, bins=min(40, max(5, len(durations) // 3)), color="#4c72b0")
    for edge in (5.0, 10.0):
        ax.axvline(edge, color="#999", linestyle="--")
    ax.set_xlabel("duration (s)")
    ax.set_ylabel("utterances")
    ax.set_title(
        f"Utterance durations ({len(durations)} utterances, "
        f"{sum(durations) / 60:.1f} min)"
    )
    return fig


def plot_confusions(results: EvalResults) -> Figure:
    """Horizontal bars: the most frequent substitution pairs of each engine."""
    engines = results.engines
    fig, axes = _figure(5.0 * len(engines), 5.0, ncols=len(engines))
    for ax, e in zip(axes, engines, strict=True):
        pairs = e.primary.confusions.get("substitutions", [])[:MAX_PAIRS]
        names = [f"{r} → {h}" for (r, h), _ in pairs][::-1]
        counts = [n for _, n in pairs][::-1]
        ax.barh(np.arange(len(names)), counts, color="#dd8452")
        ax.set_yticks(np.arange(len(names)), names, fontsize=8)
        ax.set_xlabel("count")
        ax.set_title(f"{e.label}: substitutions")
    return fig


def plot_calibration(results: EvalResults) -> Figure:
    """Reliability diagram: accuracy of hypothesis words against their probability."""
    fig, (ax,) = _figure(6.0, 5.0)
    ax.plot([0, 1], [0, 1], color="#999", linestyle="--", label="perfect")
    for e in results.engines:
        cal = e.primary.calibration
        if cal is None:
            continue
        pts = [(b.mean_confidence, b.accuracy) for b in cal.bins if b.count > 0]
        ax.plot(
            [p[0] for p in pts],
            [p[1] for p in pts],
            marker="o",
            label=f"{e.label} (ECE {cal.ece:.3f})",
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("word probability")
    ax.set_ylabel("fraction correct")
    ax.set_title("Confidence calibration")
    ax.legend()
    return fig


def plot_languages(results: EvalResults) -> Figure:
    """Language identification: per engine, a matrix of detected (columns) against
    labelled (rows) language, each row as shares of that language's utterances."""
    engines = [
        e
        for e in results.engines
        if e.primary.language_id is not None and e.primary.language_id.total
    ]
    if not engines:
        raise ConfigError("no engine identified languages on labelled utterances")
    sizes = [len(e.primary.language_id.labels) for e in engines]  # type: ignore[union-attr]
    side = max(4.0, 0.45 * max(sizes) + 2.0)
    fig, axes = _figure(side * len(engines), side, ncols=len(engines))
    for ax, e in zip(axes, engines, strict=True):
        lid = e.primary.language_id
        assert lid is not None
        labels = lid.labels
        true = sorted(lid.confusion)
        counts = np.array(lid.matrix(), dtype=float)
        shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
        ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
        for (i, j), n in np.ndenumerate(counts):
            if n:
                ax.text(
                    j,
                    i,
                    str(int(n)),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if shares[i, j] > 0.6 else "black",
                )
        ax.set_xticks(np.arange(len(labels)), labels, fontsize=8, rotation=90)
        ax.set_yticks(np.arange(len(true)), true, fontsize=8)
        ax.set_xlabel("detected")
        ax.set_ylabel("labelled")
        ax.set_title(f"{e.label}: {100.0 * lid.accuracy:.1f} % right")
    return fig


PLOTS: dict[str, Callable[[EvalResults], Figure]] = {
    "speakers": plot_speakers,
    "snr": plot_wer_vs_snr,
    "errors": plot_error_types,
    "durations": plot_durations,
    "confusions": plot_confusions,
    "calibration": plot_calibration,
}


ERROR_PLOT_TITLES: dict[str, str] = {
    "confusion-matrix": "Substitution matrix",
    "error-cloud": "Most frequent errors",
    "wer-spread": "WER over speakers and durations",
    "confident-errors": "Confident errors",
}
"""name -> section title of each engine's error picture (:mod:`aural.plots.errors`)."""


def _save(fig: Figure, path: Path) -> None:
    # no Software tag: the same results give the same bytes
    write_atomic(
        path, lambda f: fig.savefig(f, format="png", metadata={"Software": None})
    )


def engine_slug(label: str) -> str:
    """``whisper:tiny.en`` -> ``whisper-tiny.en``: an engine label as a file name
    part."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-") or "engine"


def error_plot_key(name: str, label: str) -> str:
    """The key of engine ``label``'s error picture ``name`` in
    :func:`render_plots`' result."""
    return f"{name}@{label}"


def render_plots(results: EvalResults, output_dir: Path) -> dict[str, str]:
    """Save every plot as ``output_dir/plots/<name>.png`` and each engine's error
    pictures as ``output_dir/plots/<name>-<engine>.png``.

    Returns:
        plot name (``name@engine label`` for error pictures) -> path relative to
        ``output_dir`` (what report.html links to).
    """
    from aural.evaluation.report import DURATION_BINS
    from aural.plots.errors import draw_error_pictures

    folder = Path(output_dir) / PLOT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    for name, make in PLOTS.items():
        _save(make(results), folder / f"{name}.png")
        written[name] = f"{PLOT_DIR}/{name}.png"
    if any(
        e.primary.language_id is not None and e.primary.language_id.total
        for e in results.engines
    ):
        _save(plot_languages(results), folder / "languages.png")
        written["languages"] = f"{PLOT_DIR}/languages.png"
    for e in results.engines:
        paths = draw_error_pictures(
            error_utterances(e),
            folder,
            label=e.label,
            stem_suffix=f"-{engine_slug(e.label)}",
            duration_bins=DURATION_BINS,
        )
        for name, path in paths.items():
            written[error_plot_key(name, e.label)] = f"{PLOT_DIR}/{path.name}"
    return written


def error_utterances(engine: EngineResults) -> list[ScoredUtterance]:
    """The engine's utterances in its primary condition, as the error pictures read
    them."""
    from aural.evaluation.report import duration_bin
    from aural.plots.errors import ScoredUtterance

    return [
        ScoredUtterance(
            u.id,
            u.speaker,
            u.duration,
            duration_bin(u.duration),
            tuple((op.op, op.ref, op.hyp) for op in u.alignment.ops),
            u.word_probabilities,
        )
        for u in engine.utterances
        if u.condition == engine.primary_condition
    ]


_OPS = frozenset({"equal", "substitute", "delete", "insert"})


def _json_utterance(u: Mapping[str, object], where: str) -> ScoredUtterance:
    from aural.evaluation.report import duration_bin
    from aural.plots.errors import ScoredUtterance

    try:
        ops = tuple(
            (str(op), None if r is None else str(r), None if h is None else str(h))
            for op, r, h in u["ops"]  # type: ignore[attr-defined]
        )
        duration = float(u["duration"])  # type: ignore[arg-type]
        probs = u.get("word_probabilities")
        probabilities = (
            None if probs is None else tuple(float(p) for p in probs)  # type: ignore[attr-defined]
        )
    except (KeyError, TypeError, ValueError) as err:
        raise ConfigError(
            f"{where}: needs 'ops' ([op, ref, hyp] triples) and a numeric "
            f"'duration' ({type(err).__name__}: {err})"
        ) from err
    if any(op not in _OPS for op, _, _ in ops):
        raise ConfigError(f"{where}: unknown alignment step in 'ops'")
    return ScoredUtterance(
        str(u.get("id", "")),
        str(u.get("speaker") or "unknown"),
        duration,
        duration_bin(duration),
        ops,
        probabilities,
    )


def error_utterances_from_json(
    document: object,
) -> dict[str, list[ScoredUtterance]]:
    """Engine label -> its utterances in its primary condition, from a
    ``results.json`` document (``aural evaluate``'s output).

    Raises:
        ConfigError: not a results.json document; the message names what is missing.
    """
    engines = document.get("engines") if isinstance(document, Mapping) else None
    if not isinstance(engines, Mapping) or not engines:
        raise ConfigError(
            "not an aural evaluate results.json: no 'engines' with results"
        )
    out: dict[str, list[ScoredUtterance]] = {}
    for label, e in engines.items():
        if not isinstance(e, Mapping) or not isinstance(e.get("utterances"), list):
            raise ConfigError(f"engine {label!r}: no 'utterances' list")
        primary = e.get("primary_snr", "clean")
        items = []
        for k, u in enumerate(e["utterances"]):
            where = f"engine {label!r} utterance {k}"
            if not isinstance(u, Mapping):
                raise ConfigError(f"{where} is not an object")
            if u.get("snr", primary) == primary:
                items.append(_json_utterance(u, where))
        out[str(label)] = items
    return out
