"""Plot learning curves of training runs (metrics.jsonl) to benchmarks/results/train_curves.png.

Usage:
    python benchmarks/train_curves.py runs/librispeech_ljspeech_tiny_cpu/metrics.jsonl [more...]

Each file is one run; the plot has training loss (per utterance, smoothed), dev loss,
dev CER and dev WER against the optimizer step. A copy of each metrics file is kept next to the plot
(benchmarks/results/train_curves_<run>.jsonl) and a summary in train_curves.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"


def _smooth(values: list[float], width: int = 5) -> list[float]:
    return [
        sum(values[max(0, i - width + 1) : i + 1])
        / len(values[max(0, i - width + 1) : i + 1])
        for i in range(len(values))
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("metrics", nargs="+", type=Path)
    parser.add_argument("--labels", nargs="*", default=None)
    args = parser.parse_args()
    fig, axes = plt.subplots(1, 4, figsize=(19, 4.2))
    summary = {}
    for n, path in enumerate(args.metrics):
        label = (
            args.labels[n] if args.labels and n < len(args.labels) else path.parent.name
        )
        records = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
        train = [r for r in records if "loss" in r]
        dev = [r for r in records if "dev_loss" in r]
        axes[0].plot(
            [r["step"] for r in train], _smooth([r["loss"] for r in train]), label=label
        )
        axes[1].plot(
            [r["step"] for r in dev], [r["dev_loss"] for r in dev], "o-", label=label
        )
        axes[2].plot(
            [r["step"] for r in dev],
            [100 * r["dev_cer"] for r in dev],
            "o-",
            label=label,
        )
        axes[3].plot(
            [r["step"] for r in dev],
            [100 * r["dev_wer"] for r in dev],
            "o-",
            label=label,
        )
        summary[label] = {
            "steps": train[-1]["step"] if train else 0,
            "dev": [
                {k: r[k] for k in ("step", "dev_loss", "dev_wer", "dev_cer")}
                for r in dev
            ],
        }
        copy = OUT / f"train_curves_{label}.jsonl"
        if path.resolve() != copy.resolve():
            shutil.copyfile(path, copy)
    for ax, title in zip(
        axes,
        (
            "training CTC loss / utterance (smoothed)",
            "dev CTC loss / utterance",
            "dev CER (%)",
            "dev WER (%)",
        ),
    ):
        ax.set_title(title)
        ax.set_xlabel("optimizer step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(
        "Conformer-CTC on shared LibriSpeech + LJSpeech (CPU); fbank runs from scratch, "
        "whisper runs on Whisper tiny.en encoder frames; dev = dev-clean (12 utterances)"
    )
    fig.tight_layout()
    fig.savefig(OUT / "train_curves.png", dpi=110)
    (OUT / "train_curves.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
