"""Classic baselines on real speech: GMM-HMM digits (FSDD) and DNN phone frames (LibriSpeech).

Usage:
    OMP_NUM_THREADS=1 nice python benchmarks/baselines_fsdd_librispeech.py \
        [--threads 1] [--iterations 10] [--epochs 8] [--skip-gmm] [--skip-dnn]

- GMM-HMM: the full rotating 6-fold speaker-independent protocol on the Free Spoken
  Digit recordings (train on 5 speakers, 2,500 recordings; test on the 6th, 500).
- DNN: MLP phone classifier trained on PocketSphinx alignments of the LibriSpeech
  train-clean-100 utterances (251 speakers), tested on the dev-clean speakers.

Writes benchmarks/results/baselines.json and baselines.md plus the confusion-matrix
PNGs (baselines_gmm_hmm_confusion.png, baselines_dnn_phone_confusion.png, ...).
Alignments are cached in .cache/baseline-alignments (not committed) so a rerun does
not realign.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from aural.baselines.dnn import DnnOptions
from aural.baselines.experiments import run_dnn, run_gmm_hmm
from aural.baselines.gmm_hmm import GmmHmmOptions

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _log(stage: str, done: int, total: int) -> None:
    if done == total or stage in ("folds", "epochs"):
        print(f"  {stage}: {done}/{total}", flush=True)


def _copy_plots(files: dict[str, Path], prefix: str) -> dict[str, str]:
    copied = {}
    for name, path in files.items():
        if path.suffix == ".png":
            target = RESULTS / f"{prefix}_{path.name}"
            shutil.copyfile(path, target)
            copied[name] = target.name
    return copied


def _gmm_markdown(r: dict[str, Any], plots: dict[str, str]) -> list[str]:
    o = r["options"]
    lines = [
        "## GMM-HMM isolated digits (Free Spoken Digit, speaker-independent)",
        "",
        f"{o['num_states']} states x {o['num_mixtures']} diagonal Gaussians per digit, "
        f"{o['num_iterations']} Baum-Welch iterations at most, 13 MFCC + deltas + CMVN. "
        f"Each fold trains on 5 speakers and tests on the 6th. Run time {r['seconds']} s.",
        "",
        "| held-out speaker | train | test | accuracy |",
        "|---|---:|---:|---:|",
    ]
    for spk, f in r["by_speaker"].items():
        lines.append(f"| {spk} | {f['num_train']} | {f['num_test']} | "
                     f"{100 * f['accuracy']:.1f}% |")
    lines += [f"| **all** | | {r['num_test']} | **{100 * r['accuracy']:.1f}%** |", "",
              f"WER through `aural.evaluation.metrics.corpus_wer`: {100 * r['wer']:.1f}% "
              "(equal to the error rate for isolated words).", ""]
    lines += [f"![{n}]({p})" for n, p in plots.items()] + [""]
    return lines


def _dnn_markdown(r: dict[str, Any], plots: dict[str, str]) -> list[str]:
    o, t, d = r["options"], r["test"], r["data"]
    lines = [
        "## DNN frame-level phone classifier (LibriSpeech, held-out speakers)",
        "",
        f"MLP {o['num_layers']} x {o['hidden_size']} over {2 * o['context'] + 1} spliced "
        f"frames of 13 MFCC + deltas, 40 classes (39 phones + silence), {o['num_epochs']} "
        f"epochs. Trained on {d['train_utterances']} utterances / {d['train_speakers']} "
        f"speakers ({d['train_frames']} frames) of PocketSphinx-aligned train-clean-100; "
        f"tested on {d['test_utterances']} utterances of {d['test_speakers']} dev-clean "
        f"speakers. Alignment failures: {len(d['alignment_failures'])}. "
        f"Run time {r['seconds']} s.",
        "",
        "| held-out speaker | frame accuracy |",
        "|---|---:|",
        *(f"| {s} | {100 * a:.1f}% |" for s, a in t["by_speaker"].items()),
        f"| **all** ({t['num_frames']} frames) | **{100 * t['frame_accuracy']:.1f}%** |",
        "",
        f"Majority class ({t['majority_class']}) floor: "
        f"{100 * t['majority_class_accuracy']:.1f}%.",
        "",
        *(f"![{n}]({p})" for n, p in plots.items()),
        "",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--states", type=int, default=5)
    parser.add_argument("--mixtures", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--skip-gmm", action="store_true")
    parser.add_argument("--skip-dnn", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out_json = RESULTS / "baselines.json"
    previous = json.loads(out_json.read_text()) if out_json.exists() else {}
    summary: dict[str, Any] = {
        "command": "OMP_NUM_THREADS=1 nice python benchmarks/baselines_fsdd_librispeech.py "
                   f"--threads {args.threads} --states {args.states} --mixtures "
                   f"{args.mixtures} --iterations {args.iterations} --epochs {args.epochs}",
        "commit": _commit(),
        "device": f"cpu ({platform.machine()}), torch threads={args.threads}",
        "gmm_hmm": previous.get("gmm_hmm"),
        "dnn": previous.get("dnn"),
    }
    plots: dict[str, dict[str, str]] = previous.get("plots", {})
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_gmm:
            print("GMM-HMM, 6 folds", flush=True)
            gmm = run_gmm_hmm(
                DATA / "fsdd" / "recordings", Path(tmp) / "gmm",
                GmmHmmOptions(num_states=args.states, num_mixtures=args.mixtures,
                              num_iterations=args.iterations),
                progress=_log,
            )
            summary["gmm_hmm"] = gmm.results
            plots["gmm_hmm"] = _copy_plots(gmm.files, "baselines_gmm_hmm")
        if not args.skip_dnn:
            print("DNN phone classifier", flush=True)
            started = time.perf_counter()
            dnn = run_dnn(
                DATA / "LibriSpeech", Path(tmp) / "dnn", DnnOptions(num_epochs=args.epochs),
                alignment_cache=ROOT / ".cache" / "baseline-alignments", progress=_log,
            )
            summary["dnn"] = dnn.results | {"wall_seconds": round(time.perf_counter() - started)}
            plots["dnn"] = _copy_plots(dnn.files, "baselines_dnn")
    summary["plots"] = plots
    out_json.write_text(json.dumps(summary, indent=2) + "\n")
    lines = [
        "# Classic baselines: GMM-HMM digits and DNN phone frames",
        "",
        f"Command: `{summary['command']}`  ",
        f"Device: {summary['device']} (2 cores shared with other jobs; times are wall clock)  ",
        f"Commit: {summary['commit']}",
        "",
    ]
    if summary["gmm_hmm"]:
        lines += _gmm_markdown(summary["gmm_hmm"], plots.get("gmm_hmm", {}))
    if summary["dnn"]:
        lines += _dnn_markdown(summary["dnn"], plots.get("dnn", {}))
    (RESULTS / "baselines.md").write_text("\n".join(lines))
    print(f"wrote {out_json} and {RESULTS / 'baselines.md'}")


if __name__ == "__main__":
    main()
