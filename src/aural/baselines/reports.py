"""Reports of the baselines: results.json, report.md and PNG plots in one folder.

Plots use :class:`matplotlib.figure.Figure` directly (no pyplot state) and every file
is written atomically.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from aural.types import SCHEMA_VERSION
from aural.writers import write_atomic

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from aural.baselines.dnn import EpochStats, FrameEvaluation
    from aural.baselines.gmm_hmm import DigitEvaluation

__all__ = [
    "dnn_markdown",
    "gmm_hmm_markdown",
    "plot_bars",
    "plot_confusion",
    "write_dnn_report",
    "write_gmm_hmm_report",
]


def _save_png(fig: Figure, path: Path) -> None:
    write_atomic(path, lambda f: fig.savefig(f, format="png"))


def plot_confusion(
    confusion: np.ndarray, labels: Sequence[str], title: str, annotate: bool = True
) -> Figure:
    """Row-normalised confusion matrix (rows: reference, columns: recognised).

    Cells show the percentage of each reference class; counts are annotated when
    ``annotate`` and the matrix is small enough to read.
    """
    from matplotlib.figure import Figure

    counts = np.asarray(confusion, dtype=np.float64)
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    size = max(4.5, 0.22 * len(labels) + 2.5)
    fig = Figure(figsize=(size + 1.0, size), dpi=100, layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(share * 100, cmap="Blues", vmin=0, vmax=100)
    ticks = np.arange(len(labels))
    small = len(labels) <= 12
    ax.set_xticks(
        ticks, labels, fontsize=9 if small else 6, rotation=0 if small else 90
    )
    ax.set_yticks(ticks, labels, fontsize=9 if small else 6)
    ax.set_xlabel("recognised")
    ax.set_ylabel("reference")
    ax.set_title(title, fontsize=10)
    if annotate and small:
        for i in range(len(labels)):
            for j in range(len(labels)):
                if counts[i, j]:
                    colour = "white" if share[i, j] > 0.5 else "black"
                    ax.text(
                        j,
                        i,
                        f"{int(counts[i, j])}",
                        ha="center",
                        va="center",
                        fontsize=8,
                        color=colour,
                    )
    fig.colorbar(image, ax=ax, label="% of reference class", shrink=0.8)
    return fig


def plot_bars(
    values: Mapping[str, float], title: str, ylabel: str, floor: float | None = None
) -> Figure:
    """One bar per key (e.g. accuracy per held-out speaker), with an optional dashed
    floor."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 3.6), dpi=100, layout="constrained")
    ax = fig.subplots()
    names = list(values)
    heights = [100 * values[n] for n in names]
    bars = ax.bar(names, heights, color="#4c72b0")
    for bar, h in zip(bars, heights, strict=True):
        ax.text(
            bar.get_x() + bar.get_width() / 2,
            h + 1,
            f"{h:.1f}",
            ha="center",
            fontsize=8,
        )
    if floor is not None:
        ax.axhline(
            100 * floor,
            color="#c44e52",
            linestyle="--",
            linewidth=1,
            label=f"floor {100 * floor:.1f}%",
        )
        ax.legend(fontsize=8, loc="lower right")
    ax.set_ylim(0, 105)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="x", labelsize=8)
    return fig


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def gmm_hmm_markdown(results: Mapping[str, Any], plots: Mapping[str, str]) -> str:
    """report.md text for a GMM-HMM results dict (as written to results.json)."""
    opts = results["options"]
    lines = [
        "# GMM-HMM isolated-digit baseline",
        "",
        (
            f"One left-to-right HMM per digit ({opts['num_states']} states x "
            f"{opts['num_mixtures']} diagonal Gaussians, {opts['num_iterations']} "
            "Baum-Welch iterations at most) on 13 MFCC + delta + delta-delta with "
            "per-utterance CMVN. Speaker-independent: each fold trains on every "
            "other speaker and tests on the held-out one."
        ),
        "",
        (
            f"**Accuracy {_pct(results['accuracy'])}** over {results['num_test']} "
            f"test recordings (WER {_pct(results['wer'])}; for isolated words WER is "
            "the error rate)."
        ),
        "",
        "| held-out speaker | train | test | correct | accuracy |",
        "|---|---:|---:|---:|---:|",
    ]
    for speaker, r in results["by_speaker"].items():
        lines.append(
            f"| {speaker} | {r['num_train']} | {r['num_test']} | {r['num_correct']} | "
            f"{_pct(r['accuracy'])} |"
        )
    lines += ["", *(f"![{name}]({path})" for name, path in plots.items()), ""]
    return "\n".join(lines)


def dnn_markdown(results: Mapping[str, Any], plots: Mapping[str, str]) -> str:
    """report.md text for a DNN results dict (as written to results.json)."""
    opts = results["options"]
    test = results["test"]
    data = results["data"]
    width = 2 * opts["context"] + 1
    lines = [
        "# DNN frame-level phone classifier baseline",
        "",
        (
            f"An MLP ({opts['num_layers']} x {opts['hidden_size']} ReLU) over {width} "
            "spliced frames of 13 MFCC + delta + delta-delta predicts one of "
            f"{len(test['labels'])} classes (39 ARPAbet phones without stress, plus "
            "silence). Targets are PocketSphinx en-us forced alignments computed by "
            "aural; frames of out-of-dictionary words are left out. Test speakers "
            "never appear in training."
        ),
        "",
        (
            f"**Frame accuracy on held-out speakers: {_pct(test['frame_accuracy'])}** "
            f"over {test['num_frames']} frames (always answering the most frequent "
            f"class, {test['majority_class']}, gives "
            f"{_pct(test['majority_class_accuracy'])})."
        ),
        "",
        (
            f"Training: {data['train_utterances']} utterances from "
            f"{data['train_speakers']} speakers, {data['train_frames']} frames; test: "
            f"{data['test_utterances']} utterances from {data['test_speakers']} "
            f"speakers. Alignment failures skipped: {len(data['alignment_failures'])}."
        ),
        "",
        "| held-out speaker | frame accuracy |",
        "|---|---:|",
        *(f"| {s} | {_pct(a)} |" for s, a in test["by_speaker"].items()),
        "",
        "| epoch | loss | train frame accuracy |",
        "|---:|---:|---:|",
        *(
            f"| {e['epoch']} | {e['loss']:.3f} | {_pct(e['train_accuracy'])} |"
            for e in results["history"]
        ),
        "",
        *(f"![{name}]({path})" for name, path in plots.items()),
        "",
    ]
    return "\n".join(lines)


def _finish(
    output_dir: Path, results: dict[str, Any], markdown: str
) -> dict[str, Path]:
    json_path = output_dir / "results.json"
    md_path = output_dir / "report.md"
    write_atomic(json_path, json.dumps(results, indent=2) + "\n")
    write_atomic(md_path, markdown)
    return {"results": json_path, "report": md_path}


def write_gmm_hmm_report(
    evaluation: DigitEvaluation,
    output_dir: str | Path,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Write results.json, report.md, confusion.png and by_speaker.png into
    ``output_dir``.

    Args:
        evaluation: the fold results.
        output_dir: created if needed.
        extra: more fields for results.json (e.g. the data folder, timings).

    Returns:
        name -> path of each file written.
    """
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = {
        "schema_version": SCHEMA_VERSION,
        "baseline": "gmm-hmm",
        **evaluation.to_dict(),
        **(extra or {}),
    }
    plots = {"confusion": "confusion.png", "by_speaker": "by_speaker.png"}
    _save_png(
        plot_confusion(
            evaluation.confusion,
            evaluation.labels,
            f"GMM-HMM digits, all held-out speakers "
            f"(accuracy {_pct(evaluation.accuracy)})",
        ),
        out / plots["confusion"],
    )
    _save_png(
        plot_bars(
            {f.speaker: f.accuracy for f in evaluation.folds},
            "Digit accuracy per held-out speaker",
            "accuracy (%)",
            floor=1.0 / len(evaluation.labels),
        ),
        out / plots["by_speaker"],
    )
    paths = _finish(out, results, gmm_hmm_markdown(results, plots))
    return paths | {name: out / p for name, p in plots.items()}


def write_dnn_report(
    evaluation: FrameEvaluation,
    history: Sequence[EpochStats],
    output_dir: str | Path,
    extra: Mapping[str, Any],
) -> dict[str, Path]:
    """Write results.json, report.md, phone_confusion.png and by_speaker.png.

    Args:
        evaluation: frame results on the held-out speakers.
        history: per-epoch training statistics.
        output_dir: created if needed.
        extra: must hold ``options`` (DnnOptions as a dict) and ``data`` (split sizes,
            ``alignment_failures``); more fields are copied into results.json.
    """
    from dataclasses import asdict

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = {
        "schema_version": SCHEMA_VERSION,
        "baseline": "dnn",
        "test": evaluation.to_dict(),
        "history": [asdict(h) for h in history],
        **extra,
    }
    plots = {"phone_confusion": "phone_confusion.png", "by_speaker": "by_speaker.png"}
    labels = results["test"]["labels"]
    _save_png(
        plot_confusion(
            evaluation.confusion,
            labels,
            f"DNN phone frames, held-out speakers "
            f"(frame accuracy {_pct(evaluation.accuracy)})",
            annotate=False,
        ),
        out / plots["phone_confusion"],
    )
    _save_png(
        plot_bars(
            evaluation.by_speaker,
            "Frame accuracy per held-out speaker",
            "frame accuracy (%)",
            floor=evaluation.majority_accuracy,
        ),
        out / plots["by_speaker"],
    )
    paths = _finish(out, results, dnn_markdown(results, plots))
    return paths | {name: out / p for name, p in plots.items()}
