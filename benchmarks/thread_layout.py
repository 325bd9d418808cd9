"""Thread and batch layout: is aural's default as fast as the best setting on this machine?

Issue 17, point 5. On short (<= 8 s), medium (10-15 s) and long (one ~3-minute input)
LibriSpeech audio from ../shared/data, Whisper tiny.en (beam 5, VAD, word times):

* one at a time: aural's default (``Recognizer()``: the layout rule of
  :mod:`aural.engines.layout`) against every intra-op thread count 1..cores;
* batch: what ``aural transcribe`` does with several inputs (its batch layout, files read
  inside the timing) and with one long input (its "long" layout), against one at a time.

Each condition runs on an idle machine and again with another process keeping one core
busy (what users' machines often look like). Every run is its own process (an engine's
idle threads would otherwise spin beside the next one's); systems alternate in rounds
and the fastest round of each is kept. Writes benchmarks/results/thread_layout.{json,md}.

    python benchmarks/thread_layout.py [--rounds 2] [--short 24] [--medium 12] [--long-s 180]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from _common import cpu_name, git_commit, keep_fastest, shared_data

RESULTS = Path(__file__).resolve().parent / "results"


def pick_files(short: int, medium: int) -> tuple[list[Path], list[Path], list[Path]]:
    """Short and medium utterances, and the files tiled into the long input (distinct)."""
    files = sorted((shared_data() / "LibriSpeech").rglob("*.flac"))
    durations = [(f, sf.info(f).duration) for f in files]
    shorts = [f for f, d in durations if d <= 8.0][:short]
    mediums = [f for f, d in durations if 10.0 <= d <= 15.0][:medium]
    used = set(shorts) | set(mediums)
    rest = [f for f, _ in durations if f not in used]
    return shorts, mediums, rest


def long_input(files: list[Path], seconds: float, folder: Path) -> Path:
    """Recordings laid end to end with 0.5 s gaps, ``seconds`` long, as one FLAC."""
    parts, total = [], 0.0
    for f in files:
        audio, rate = sf.read(f, dtype="float32")
        parts += [audio, np.zeros(rate // 2, np.float32)]
        total += len(audio) / rate + 0.5
        if total >= seconds:
            break
    path = folder / "long.flac"
    sf.write(path, np.concatenate(parts), 16000)
    return path


def busy_core(stop: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def one_at_a_time(engine, paths: list[Path]) -> float:  # type: ignore[no-untyped-def]
    """Seconds to transcribe ``paths`` one after another, decoding included."""
    from aural.audio import load
    from aural.decoding.options import DecodeOptions

    t0 = time.perf_counter()
    for p in paths:
        engine.transcribe(load(p, engine.sample_rate), DecodeOptions())
    return time.perf_counter() - t0


def batch(engine, paths: list[Path]) -> float:  # type: ignore[no-untyped-def]
    """Seconds for ``aural transcribe``'s batch (transcribe_many) over ``paths``."""
    from aural.batch import transcribe_many
    from aural.decoding.options import DecodeOptions

    t0 = time.perf_counter()
    for item in transcribe_many(engine, paths, DecodeOptions()):
        assert item.error is None, item.error
    return time.perf_counter() - t0


def systems(name: str) -> list[str]:
    """The systems measured on input set ``name``."""
    from aural.engines.layout import usable_cores

    threads = [f"{t} thread(s)" for t in range(1, usable_cores() + 1)]
    return [
        "default",
        *threads,
        "aural (long layout)" if name == "long" else "aural batch",
    ]


def run_child(system: str, paths: list[Path]) -> dict[str, float]:
    """Seconds ``system`` takes on ``paths`` (in this process, model loaded first), and
    the threads per decode and decodes side by side its engine had."""
    from aural.engines import create_engine
    from aural.engines.layout import choose_layout
    from aural.engines.whisper import WhisperEngine

    if system == "default":
        engine, run = create_engine("whisper"), one_at_a_time
    elif system.endswith("thread(s)"):
        engine, run = (
            create_engine("whisper", cpu_threads=int(system.split()[0])),
            one_at_a_time,
        )
    elif system == "aural batch":  # `aural transcribe` with several inputs
        engine = create_engine(
            "whisper", **WhisperEngine.layout_settings(choose_layout("batch"))
        )
        run = batch
    else:  # `aural transcribe` with one long input
        engine = create_engine(
            "whisper", **WhisperEngine.layout_settings(choose_layout("long"))
        )
        run = one_at_a_time
    run(engine, paths[:1])  # warm-up: first-call allocations
    seconds = run(engine, paths)
    return {
        "seconds": seconds,
        "decodes": engine.concurrency,
        "threads": engine.cpu_threads,
    }


def measure(sets: dict[str, list[Path]], rounds: int) -> dict[str, dict[str, dict]]:
    """{set: {system: fastest run}}; every run in its own process, so that no other
    engine's idle threads share the cores."""
    import subprocess
    import sys

    best: dict[str, dict[str, dict]] = {name: {} for name in sets}
    for _ in range(rounds):
        for name, paths in sets.items():
            for label in systems(name):
                out = subprocess.run(
                    [sys.executable, __file__, "--child", label, *map(str, paths)],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                run = json.loads(out.strip().splitlines()[-1])
                keep_fastest(best[name], label, run, "seconds")
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--short", type=int, default=24)
    ap.add_argument("--medium", type=int, default=12)
    ap.add_argument("--long-s", type=float, default=180.0)
    ap.add_argument("--conditions", nargs="*", default=["idle", "one core busy"])
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child[0], [Path(p) for p in args.child[1:]])))
        return
    import tempfile

    from aural.engines.layout import choose_layout, usable_cores

    shorts, mediums, rest = pick_files(args.short, args.medium)
    with tempfile.TemporaryDirectory() as tmp:
        sets = {
            "short": shorts,
            "medium": mediums,
            "long": [long_input(rest, args.long_s, Path(tmp))],
        }
        audio = {
            name: sum(sf.info(p).duration for p in paths)
            for name, paths in sets.items()
        }
        results = {}
        for condition in args.conditions:
            stop = multiprocessing.Event()
            busy = None
            if condition != "idle":
                busy = multiprocessing.Process(
                    target=busy_core, args=(stop,), daemon=True
                )
                busy.start()
            try:
                seconds = measure(sets, args.rounds)
            finally:
                stop.set()
                if busy is not None:
                    busy.join()
            results[condition] = {
                name: {
                    label: {
                        "seconds": round(r["seconds"], 3),
                        "rtf": round(r["seconds"] / audio[name], 4),
                        "decodes": r["decodes"],
                        "threads": r["threads"],
                    }
                    for label, r in by.items()
                }
                for name, by in seconds.items()
            }
    record = {
        "command": "python benchmarks/thread_layout.py "
        + " ".join(
            f"--{k.replace('_', '-')} {v}"
            for k, v in vars(args).items()
            if k not in ("conditions", "child")
        ),
        "commit": git_commit(),
        "machine": {
            "processor": cpu_name(),
            "cores": usable_cores(),
            "python": platform.python_version(),
            "load_before": os.getloadavg()[0],
        },
        "layouts": {
            w: str(choose_layout(w)) for w in ("single", "batch", "long", "server")
        },
        "audio_s": {k: round(v, 1) for k, v in audio.items()},
        "files": {k: len(v) for k, v in sets.items()},
        "results": results,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "thread_layout.json").write_text(json.dumps(record, indent=2) + "\n")
    (RESULTS / "thread_layout.md").write_text(render(record))
    print(render(record))


def render(record: dict) -> str:  # type: ignore[type-arg]
    lines = [
        "# Thread and batch layout",
        "",
        f"`{record['command']}` at {record['commit']} on {record['machine']['processor']} "
        f"({record['machine']['cores']} cores, load {record['machine']['load_before']:.2f} "
        "before the run). Whisper tiny.en, beam 5, VAD, word times; fastest of the rounds.",
        "",
        "Layouts chosen here: "
        + "; ".join(f"{k}: {v}" for k, v in record["layouts"].items()),
        "",
    ]
    for condition, sets in record["results"].items():
        lines += [
            f"## {condition}",
            "",
            "| input | system | decodes x threads | RTF | vs best one-at-a-time setting "
            "| vs default |",
            "|---|---|---|---:|---:|---:|",
        ]
        for name, by in sets.items():
            single = {
                k: v["rtf"] for k, v in by.items() if "thread" in k or k == "default"
            }
            best = min(single.values())
            default = by["default"]["rtf"]
            for label, v in by.items():
                lines.append(
                    f"| {name} ({record['files'][name]} files, "
                    f"{record['audio_s'][name]} s) | {label} | "
                    f"{v['decodes']} x {v['threads']} | {v['rtf']:.4f} | "
                    f"{best / v['rtf']:.2f}x | {default / v['rtf']:.2f}x |"
                )
        lines.append("")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
