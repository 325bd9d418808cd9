"""PNG plots of an evaluation (matplotlib, Agg backend): one function per figure.

Each ``plot_*`` function returns a :class:`matplotlib.figure.Figure` and touches no
file; :func:`render_plots` saves them (atomically) into ``OUTPUT_DIR/plots/``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from aural.errors import MissingDependencyError
from aural.writers import write_atomic

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from aural.evaluation.runner import EvalResults

__all__ = [
    "PLOT_DIR",
    "plot_calibration",
    "plot_confusions",
    "plot_durations",
    "plot_error_types",
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


PLOTS: dict[str, Callable[[EvalResults], Figure]] = {
    "speakers": plot_speakers,
    "snr": plot_wer_vs_snr,
    "errors": plot_error_types,
    "durations": plot_durations,
    "confusions": plot_confusions,
    "calibration": plot_calibration,
}


def _save(fig: Figure, path: Path) -> None:
    write_atomic(path, lambda f: fig.savefig(f, format="png"))


def render_plots(results: EvalResults, output_dir: Path) -> dict[str, str]:
    """Save every plot as ``output_dir/plots/<name>.png``.

    Returns:
        plot name -> path relative to ``output_dir`` (what report.html links to).
    """
    folder = Path(output_dir) / PLOT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    for name, make in PLOTS.items():
        _save(make(results), folder / f"{name}.png")
        written[name] = f"{PLOT_DIR}/{name}.png"
    return written
