"""Classic baselines on real speech: GMM-HMM digits (FSDD) and DNN phone frames (LibriSpeech).

Usage:
    OMP_NUM_THREADS=1 nice python benchmarks/baselines_fsdd_librispeech.py \
        [--threads 1] [--iterations 10] [--epochs 8] [--skip-gmm] [--skip-dnn]

- GMM-HMM: the full rotating 6-fold speaker-independent protocol on the Free Spoken
  Digit recordings (train on 5 speakers, 2,500 recordings; test on the 6th, 500).
- DNN: MLP phone classifier trained on PocketSphinx alignments of the LibriSpeech
  train-clean-100 utterances (251 speakers), tested on the dev-clean speakers.

Writes benchmarks/results/baselines.json and baselines.md plus the confusion-matrix
PNGs (baselines_gmm_hmm_confusion.png, baselines_dnn_phone_confusion.png, ...). Each
part also keeps its results in benchmarks/results/baselines_parts/<part>.json, so
``--skip-gmm`` / ``--skip-dnn`` rerun one part and keep the other's numbers.
Alignments are cached in .cache/baseline-alignments (not committed) so a rerun does
not realign.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from _common import git_commit, shared_data

from aural.baselines.dnn import DnnOptions
from aural.baselines.experiments import run_dnn, run_gmm_hmm
from aural.baselines.gmm_hmm import GmmHmmOptions

ROOT = Path(__file__).resolve().parents[1]
DATA = shared_data()
RESULTS = ROOT / "benchmarks" / "results"
SIDECARS = RESULTS / "baselines_parts"


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
        (
            f"{o['num_states']} states x {o['num_mixtures']} diagonal Gaussians per digit, "
            f"{o['num_iterations']} Baum-Welch iterations at most, 13 MFCC + deltas + CMVN. "
            f"Each fold trains on 5 speakers and tests on the 6th. Run time {r['seconds']} s."
        ),
        "",
        "| held-out speaker | train | test | accuracy |",
        "|---|---:|---:|---:|",
    ]
    for spk, f in r["by_speaker"].items():
        lines.append(
            f"| {spk} | {f['num_train']} | {f['num_test']} | "
            f"{100 * f['accuracy']:.1f}% |"
        )
    lines += [
        f"| **all** | | {r['num_test']} | **{100 * r['accuracy']:.1f}%** |",
        "",
        (
            f"WER through `aural.evaluation.metrics.corpus_wer`: {100 * r['wer']:.1f}% "
            "(equal to the error rate for isolated words)."
        ),
        "",
    ]
    lines += [f"![{n}]({p})" for n, p in plots.items()] + [""]
    return lines


def _dnn_markdown(r: dict[str, Any], plots: dict[str, str]) -> list[str]:
    o, t, d = r["options"], r["test"], r["data"]
    lines = [
        "## DNN frame-level phone classifier (LibriSpeech, held-out speakers)",
        "",
        (
            f"MLP {o['num_layers']} x {o['hidden_size']} over {2 * o['context'] + 1} spliced "
            f"frames of 13 MFCC + deltas, 40 classes (39 phones + silence), {o['num_epochs']} "
            f"epochs. Trained on {d['train_utterances']} utterances / {d['train_speakers']} "
            f"speakers ({d['train_frames']} frames) of PocketSphinx-aligned train-clean-100; "
            f"tested on {d['test_utterances']} utterances of {d['test_speakers']} dev-clean "
            f"speakers. Alignment failures: {len(d['alignment_failures'])}. "
            f"Run time {r['seconds']} s."
        ),
        "",
        "| held-out speaker | frame accuracy |",
        "|---|---:|",
        *(f"| {s} | {100 * a:.1f}% |" for s, a in t["by_speaker"].items()),
        f"| **all** ({t['num_frames']} frames) | **{100 * t['frame_accuracy']:.1f}%** |",
        "",
        (
            f"Majority class ({t['majority_class']}) floor: "
            f"{100 * t['majority_class_accuracy']:.1f}%."
        ),
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
    SIDECARS.mkdir(parents=True, exist_ok=True)
    parts: dict[str, Any] = {}
    summary: dict[str, Any] = {
        "command": "OMP_NUM_THREADS=1 nice python benchmarks/baselines_fsdd_librispeech.py "
        + " ".join(sys.argv[1:]),
        "commit": git_commit(),
        "device": f"cpu ({platform.machine()}), torch threads={args.threads}",
    }
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_gmm:
            print("GMM-HMM, 6 folds", flush=True)
            gmm = run_gmm_hmm(
                DATA / "fsdd" / "recordings",
                Path(tmp) / "gmm",
                GmmHmmOptions(
                    num_states=args.states,
                    num_mixtures=args.mixtures,
                    num_iterations=args.iterations,
                ),
                progress=_log,
            )
            parts["gmm_hmm"] = {
                "results": gmm.results,
                "plots": _copy_plots(gmm.files, "baselines_gmm_hmm"),
                "command": summary["command"],
                "commit": summary["commit"],
            }
        if not args.skip_dnn:
            print("DNN phone classifier", flush=True)
            started = time.perf_counter()
            dnn = run_dnn(
                DATA / "LibriSpeech",
                Path(tmp) / "dnn",
                DnnOptions(num_epochs=args.epochs),
                alignment_cache=ROOT / ".cache" / "baseline-alignments",
                progress=_log,
            )
            parts["dnn"] = {
                "results": dnn.results
                | {"wall_seconds": round(time.perf_counter() - started)},
                "plots": _copy_plots(dnn.files, "baselines_dnn"),
                "command": summary["command"],
                "commit": summary["commit"],
            }
    # Each part is kept in its own file so the two can run (or rerun) separately.
    for name, part in parts.items():
        (SIDECARS / f"{name}.json").write_text(json.dumps(part, indent=2) + "\n")
    previous = json.loads(out_json.read_text()) if out_json.exists() else {}
    plots: dict[str, dict[str, str]] = {}
    for name in ("gmm_hmm", "dnn"):
        path = SIDECARS / f"{name}.json"
        part = json.loads(path.read_text()) if path.exists() else None
        if part is None and previous.get(
            name
        ):  # written before the parts files existed
            part = {
                "results": previous[name],
                "plots": previous["plots"][name],
                "command": previous["command"],
                "commit": previous["commit"],
            }
        summary[name] = part and part["results"]
        plots[name] = part["plots"] if part else {}
        if part:
            summary[f"{name}_command"] = part["command"]
            summary[f"{name}_commit"] = part["commit"]
    summary["plots"] = plots
    out_json.write_text(json.dumps(summary, indent=2) + "\n")
    lines = [
        "# Classic baselines: GMM-HMM digits and DNN phone frames",
        "",
        f"Device: {summary['device']} (2 cores shared with other jobs; times are wall clock)",
        "",
    ]
    for name, render in (("gmm_hmm", _gmm_markdown), ("dnn", _dnn_markdown)):
        if summary[name]:
            lines += render(summary[name], plots[name])
            lines += [
                (
                    f"Command: `{summary[name + '_command']}` at commit "
                    f"{summary[name + '_commit']}"
                ),
                "",
            ]
    (RESULTS / "baselines.md").write_text("\n".join(lines))
    print(f"wrote {out_json} and {RESULTS / 'baselines.md'}")


if __name__ == "__main__":
    main()
