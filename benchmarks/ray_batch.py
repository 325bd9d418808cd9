"""Ray batch against the local batch on one machine: overhead at 1, 2 and 4 workers.

Issue 23, item 1. LibriSpeech utterances from ../shared/data (dev-clean and the first
files of train-clean-100, read from one folder of links), Whisper tiny.en with
``aural transcribe``'s defaults (beam 5, VAD), run as a user runs it: one process per
run, from its start to its exit, so the local batch pays its model load and the Ray
runs pay starting Ray, its workers and their models. Each worker count N runs both
ways: the local batch with ``--workers N`` (N decodes side by side in one process) and
Ray with ``--workers N`` (N actors, a process and a model each), so that both get the
same share of a machine other work keeps busy. Systems alternate in rounds; the fastest
round of each is kept.

Per system, two runs in a row:

* **wall**: seconds from the command's start to its exit over all the inputs (what a
  user waits);
* **fixed**: the same command on the first input alone: the cost of starting (Python,
  the model; for Ray also starting Ray, its workers and their models);
* **steady**: seconds of audio per second of the difference, (all audio - the first
  input's) / (wall - fixed): throughput once everything is loaded. (File times cannot
  give it: both systems write their files in bursts, the local batch a chunk of
  inputs at a time, Ray as its pipeline hands results to the driver.)

Every Ray run's files are compared byte for byte with the local batch's. The machine
has 2 cores shared with other work: 2 workers is all it can run side by side, and 4
workers share the same 2 cores, so this measures overhead, not scaling; the load is
recorded, and only ratios within one run of the script mean anything.

    python benchmarks/ray_batch.py [--train-files 36] [--rounds 2] [--workers 1 2 4]
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf
from _common import cpu_name, git_commit, keep_fastest, shared_data

RESULTS = Path(__file__).resolve().parent / "results"
LEDGER = "aural-ledger.jsonl"


def pick_files(train_files: int) -> list[Path]:
    libri = shared_data() / "LibriSpeech"
    dev = sorted((libri / "dev-clean").rglob("*.flac"))
    train = sorted((libri / "train-clean-100").rglob("*.flac"))[:train_files]
    return dev + train


def run_once(system: str, inputs: Path, out: Path) -> float:
    """Seconds ``system`` (``local:N`` or ``ray:N``) takes over ``inputs`` (a folder or
    a file) into ``out``."""
    backend, workers = system.split(":")
    cmd = [sys.executable, "-m", "aural.cli", "transcribe", str(inputs)]
    cmd += ["--output-dir", str(out), "--quiet", "--workers", workers]
    if backend == "ray":
        cmd += ["--backend", "ray"]
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.time() - t0
    if p.returncode != 0:
        raise SystemExit(f"{system} failed ({p.returncode}):\n{p.stderr}")
    return wall


def same_outputs(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir() if p.name != LEDGER)
    other = sorted(p.name for p in b.iterdir() if p.name != LEDGER)
    if names != other:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    return not mismatch and not errors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--train-files", type=int, default=36)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = ap.parse_args()
    files = pick_files(args.train_files)
    audio_s = sum(sf.info(f).duration for f in files)
    first_s = sf.info(files[0]).duration
    systems = [f"{b}:{n}" for n in args.workers for b in ("local", "ray")]
    best: dict[str, dict[str, float]] = {}
    identical: dict[str, bool] = {}
    loads = []
    with tempfile.TemporaryDirectory(prefix="aural-ray-bench-") as tmp:
        inputs = Path(tmp) / "in"
        inputs.mkdir()
        for f in files:
            (inputs / f.name).symlink_to(f)
        for r in range(args.rounds):
            for system in systems:
                out = Path(tmp) / f"{system.replace(':', '')}-{r}"
                loads.append(os.getloadavg()[0])
                fixed = run_once(system, inputs / files[0].name, out.with_name("one"))
                shutil.rmtree(out.with_name("one"))
                wall = run_once(system, inputs, out)
                steady = (audio_s - first_s) / max(wall - fixed, 1e-3)
                run = {"wall": wall, "fixed": fixed, "steady": steady}
                print(system, json.dumps({k: round(v, 2) for k, v in run.items()}))
                keep_fastest(best, system, run, "wall")
                if system != systems[0]:
                    first = Path(tmp) / f"{systems[0].replace(':', '')}-{r}"
                    ok = same_outputs(first, out)
                    identical[system] = identical.get(system, True) and ok
    record = {
        "command": "python benchmarks/ray_batch.py "
        f"--train-files {args.train_files} --rounds {args.rounds} "
        f"--workers {' '.join(map(str, args.workers))}",
        "commit": git_commit(),
        "machine": {
            "processor": cpu_name(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "load_min": round(min(loads), 2),
            "load_max": round(max(loads), 2),
        },
        "ray": _ray_version(),
        "files": len(files),
        "audio_s": round(audio_s, 1),
        "results": {
            s: {
                "wall_s": round(v["wall"], 2),
                "fixed_s": round(v["fixed"], 2),
                "rtf": round(v["wall"] / audio_s, 4),
                "steady_audio_s_per_s": round(v["steady"], 1),
                "identical_to_local": identical.get(s),
            }
            for s, v in best.items()
        },
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ray_batch.json").write_text(json.dumps(record, indent=2) + "\n")
    (RESULTS / "ray_batch.md").write_text(render(record))
    print(render(record))


def _ray_version() -> str:
    try:
        import ray

        return str(ray.__version__)
    except ImportError:
        return "not installed"


def render(record: dict) -> str:  # type: ignore[type-arg]
    m = record["machine"]
    res = record["results"]
    lines = [
        "# Ray batch against the local batch (one machine)",
        "",
        f"`{record['command']}` at {record['commit']} on {m['processor']} "
        f"({m['cores']} cores shared with other sessions' work: load "
        f"{m['load_min']}-{m['load_max']} at the runs' starts), Ray {record['ray']}. "
        f"{record['files']} LibriSpeech utterances (dev-clean + train-clean-100), "
        f"{record['audio_s']} s of audio; Whisper tiny.en, `aural transcribe` defaults "
        "(beam 5, VAD). Each run is one `aural transcribe` process from start to exit; "
        "fastest of the rounds.",
        "",
        "| workers | system | wall s | RTF | fixed s | steady audio s/s "
        "| wall vs local | steady vs local | files identical to local x1 |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for system, v in res.items():
        backend, n = system.split(":")
        local = res[f"local:{n}"]
        same = v["identical_to_local"]
        lines.append(
            f"| {n} | {'Ray' if backend == 'ray' else 'local batch'} "
            f"| {v['wall_s']} | {v['rtf']} | {v['fixed_s']} "
            f"| {v['steady_audio_s_per_s']} "
            f"| {v['wall_s'] / local['wall_s']:.2f}x "
            f"| {v['steady_audio_s_per_s'] / local['steady_audio_s_per_s']:.2f}x "
            f"| {'-' if same is None else 'yes' if same else 'NO'} |"
        )
    lines += [
        "",
        "- *fixed*: the same command on the first input alone: Python, the model; for "
        "Ray also starting Ray, its workers and their models.",
        "- *steady*: seconds of audio per second once loaded: (all audio - the first "
        "input's) / (wall - fixed).",
        "- *vs local*: against the local batch with the same `--workers` (decodes side "
        "by side in one process), so both take the same share of the shared cores.",
        "- 2 cores cap scaling: 2 workers is all this machine runs side by side, and 4 "
        "share the same cores; on a cluster, Ray's workers add machines.",
        "- The cores were shared with other sessions' work (the load above, which "
        "changed during the runs): one run can take twice another's time, and "
        "*steady*, from two runs, varies more. Compare walls, within this table only.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
