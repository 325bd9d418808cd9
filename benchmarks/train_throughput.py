"""Training throughput on CPU: audio seconds processed per wall-clock second.

Usage:
    OMP_NUM_THREADS=1 python benchmarks/train_throughput.py [--steps 8] [--threads 1]

Trains each model size for ``--steps`` optimizer steps on LibriSpeech train-clean-100
utterances (<= 10 s, 24 s padded batches, fbank 80, character CTC, no augmentation,
no evaluation) and writes benchmarks/results/train.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
from pathlib import Path

import torch
from _common import git_commit, shared_data

from aural.training.config import parse_config
from aural.training.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]
LIBRI = shared_data() / "LibriSpeech" / "train-clean-100"


def measure(size: str, steps: int, threads: int, workdir: Path) -> dict[str, float]:
    cfg = parse_config(
        {
            "name": f"throughput_{size}",
            "output_dir": str(workdir / size),
            "data": {
                "train": [{"path": str(LIBRI), "kind": "librispeech", "limit": 120}],
                "max_duration": 10.0,
            },
            "features": {"num_mels": 80, "cmvn": "utterance"},
            "model": {"size": size},
            "optim": {"warmup_steps": 2},
            "training": {
                "max_steps": steps,
                "batch_seconds": 24,
                "max_batch_size": 8,
                "num_threads": threads,
                "checkpoint_every": 10_000,
                "log_every": 1,
            },
            "tracking": {"mlflow": False},
        }
    )
    result = Trainer(cfg).run()
    records = [
        json.loads(x)
        for x in (workdir / size / "metrics.jsonl").read_text().splitlines()
    ]
    rates = [r["audio_seconds_per_second"] for r in records if "loss" in r][
        1:
    ]  # skip step 1
    return {
        "parameters": result.num_parameters,
        "steps": result.step,
        "audio_seconds": round(result.audio_seconds, 1),
        "audio_seconds_per_second_median": round(sorted(rates)[len(rates) // 2], 2),
        "audio_seconds_per_second_overall": round(
            result.audio_seconds / result.train_seconds, 2
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sizes", default="tiny,small")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="aural_throughput_"))
    try:
        rows = {
            s: measure(s, args.steps, args.threads, workdir)
            for s in args.sizes.split(",")
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    commit = git_commit()
    out = {
        "command": f"python benchmarks/train_throughput.py --steps {args.steps} "
        f"--threads {args.threads} --sizes {args.sizes}",
        "device": f"cpu ({platform.machine()}), torch threads={args.threads}, "
        f"load average at end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
        "(machine shared with other jobs: numbers are lower bounds)",
        "commit": commit,
        "torch": torch.__version__,
        "data": "LibriSpeech train-clean-100 (first 120 utterances <= 10 s), fbank 80, "
        "24 s padded batches (<= 8 utterances), characters, fp32",
        "results": rows,
    }
    path = ROOT / "benchmarks" / "results" / "train.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
