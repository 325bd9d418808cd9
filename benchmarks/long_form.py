"""Long recordings: accuracy, speed and memory of aural's long-form paths and faster-whisper's.

Each long input is real speech from ../shared/data laid end to end with 0.5 s of silence
between the recordings: LibriSpeech (263 utterances, a new speaker every ~12 s, like a
conversation) and LJSpeech (200 clips, one speaker, like an audiobook). Every system
transcribes the same input in its own child process (peak memory is its own); the
parent scores the whole transcript against the joined references with the Whisper
English normaliser and writes benchmarks/results/long_form.{json,md}.

    python benchmarks/long_form.py [--sets libri lj] [--only SYSTEM ...] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

from _common import git_commit, shared_data

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
GAP_S = 0.5
SYSTEMS = {
    "aural_chunked": "aural default (chunked long form), 1 decode x 2 threads",
    "aural_chunked_parallel": "aural default (chunked long form), 2 decodes x 1 thread "
    "(what `aural transcribe long.wav` uses)",
    "aural_sequential": "aural --full-window (faster-whisper's sequential decoder, in pieces), "
    "1 decode x 2 threads",
    "aural_sequential_parallel": "aural --full-window, 2 decodes x 1 thread (5-minute pieces "
    "side by side)",
    "fw_sequential": "faster-whisper transcribe, beam 5, VAD, word timestamps",
    "fw_batched": "faster-whisper BatchedInferencePipeline, batch 4, beam 5, word timestamps",
}


def corpus(name: str) -> list[tuple[Path, str]]:
    data = shared_data()
    rows = []
    if name == "libri":
        for split in ("dev-clean", "train-clean-100"):
            for trans in sorted((data / "LibriSpeech" / split).rglob("*.trans.txt")):
                for line in trans.read_text().splitlines():
                    uid, text = line.split(" ", 1)
                    rows.append((trans.parent / f"{uid}.flac", text))
    elif name == "lj":
        root = data / "LJSpeech-1.1"
        for line in (root / "metadata.csv").read_text().splitlines():
            uid, _, text = line.split("|")
            rows.append((root / "wavs" / f"{uid}.wav", text))
    else:
        raise SystemExit(f"unknown set {name}")
    return rows


def long_input(name: str):
    import numpy as np

    from aural.audio import load

    gap = np.zeros(int(GAP_S * 16000), np.float32)
    parts = []
    for path, _ in corpus(name):
        parts += [load(path).samples, gap]
    return np.concatenate(parts).astype(np.float32)


def run_system(system: str, name: str, threads: int) -> dict:
    import numpy as np

    from aural.audio.waveform import Waveform
    from aural.decoding.options import DecodeOptions

    samples = long_input(name)
    t_load = time.perf_counter()
    if system.startswith("aural"):
        from aural.engines import create_engine

        settings = (
            {"num_workers": threads, "cpu_threads": 1}
            if system.endswith("_parallel")
            else {"cpu_threads": threads}
        )
        engine = create_engine("whisper", **settings)
        options = DecodeOptions(
            trimmed_windows=not system.startswith("aural_sequential")
        )
        t0 = time.perf_counter()
        text = engine.transcribe(Waveform(samples, 16000), options).text
    else:
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        from aural.engines.whisper import resolve_whisper_model

        model = WhisperModel(
            str(resolve_whisper_model("tiny.en")),
            device="cpu",
            compute_type="int8",
            cpu_threads=threads,
        )
        kw = {
            "language": "en",
            "beam_size": 5,
            "vad_filter": True,
            "word_timestamps": True,
            "vad_parameters": {
                "threshold": 0.5,
                "min_speech_duration_ms": 250,
                "min_silence_duration_ms": 500,
                "speech_pad_ms": 200,
            },
        }
        t0 = time.perf_counter()
        if system == "fw_batched":
            segments, _ = BatchedInferencePipeline(model).transcribe(
                samples, batch_size=4, **kw
            )
        else:
            segments, _ = model.transcribe(
                np.ascontiguousarray(samples), condition_on_previous_text=False, **kw
            )
        text = " ".join(s.text.strip() for s in segments)
    elapsed = time.perf_counter() - t0
    return {
        "text": text,
        "elapsed_s": elapsed,
        "model_load_s": t0 - t_load,
        "audio_s": samples.size / 16000,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sets", nargs="*", default=["libri", "lj"])
    ap.add_argument("--only", nargs="*", help="subset of systems")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--system", help=argparse.SUPPRESS)
    ap.add_argument("--set", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.system:
        print(json.dumps(run_system(args.system, args.set, args.threads)))
        return

    import jiwer

    from aural.text.normalizers import get_normalizer

    norm = get_normalizer("whisper")
    previous = RESULTS / "long_form.json"
    rows: dict[str, dict] = {}
    if args.only and previous.exists():  # re-measure some systems, keep the other rows
        rows = json.loads(previous.read_text())["rows"]
    for name in args.sets:
        ref = norm(" ".join(text for _, text in corpus(name)))
        for system, label in SYSTEMS.items():
            if args.only and system not in args.only:
                continue
            print(f"{name}: {label} ...", file=sys.stderr, flush=True)
            cmd = [
                sys.executable,
                __file__,
                "--system",
                system,
                "--set",
                name,
                "--threads",
                str(args.threads),
            ]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            m = jiwer.process_words(ref, norm(r["text"]))
            rows[f"{name}/{system}"] = {
                "set": name,
                "system": system,
                "label": label,
                "wer": round(m.wer, 4),
                "substitutions": m.substitutions,
                "deletions": m.deletions,
                "insertions": m.insertions,
                "audio_s": round(r["audio_s"], 1),
                "elapsed_s": round(r["elapsed_s"], 1),
                "rtf": round(r["elapsed_s"] / r["audio_s"], 4),
                "peak_rss_mb": round(r["peak_rss_mb"]),
            }
            print(
                f"  WER {m.wer:.4f}  RTF {rows[f'{name}/{system}']['rtf']}",
                file=sys.stderr,
            )
    ratios = {}
    pairs = [
        ("aural_chunked", "fw_sequential", "1 decode x 2 threads each"),
        ("aural_chunked", "aural_sequential", "1 decode x 2 threads each"),
        (
            "aural_chunked_parallel",
            "aural_sequential_parallel",
            "2 decodes x 1 thread each",
        ),
        (
            "aural_chunked_parallel",
            "fw_batched",
            "aural 2 x 1 thread, faster-whisper 1 x 2",
        ),
    ]
    for name in args.sets:
        for ours, peer, how in pairs:
            a, b = rows.get(f"{name}/{ours}"), rows.get(f"{name}/{peer}")
            if a and b:
                ratios[f"{name}: speed of {ours} over {peer} ({how})"] = round(
                    b["elapsed_s"] / a["elapsed_s"], 2
                )
    result = {
        "command": " ".join(["python", "benchmarks/long_form.py"] + sys.argv[1:]),
        "commit": git_commit(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
        "rows": rows,
        "ratios": ratios,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "long_form.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Long recordings (whisper tiny.en)",
        "",
        (
            "LibriSpeech: the 263 shared utterances end to end (a new speaker every ~12 s); "
            "LJSpeech: the 200 shared clips end to end (one speaker). 0.5 s of silence between "
            "recordings. One transcript per input, scored whole (Whisper English normaliser)."
        ),
        "",
        (
            f"Command: `{result['command']}` at {result['commit']}; {result['machine']}; "
            f"finished {result['finished']}."
        ),
        "",
        "| input | system | WER | S / D / I | seconds | RTF | peak RSS (MB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows.values():
        lines.append(
            f"| {r['set']} ({r['audio_s'] / 60:.1f} min) | {r['label']} | "
            f"{r['wer'] * 100:.2f} % | {r['substitutions']} / {r['deletions']} / "
            f"{r['insertions']} | {r['elapsed_s']} | {r['rtf']:.4f} | "
            f"{r['peak_rss_mb']} |"
        )
    lines += [""] + [f"- {k}: {v}x" for k, v in ratios.items()]
    (RESULTS / "long_form.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
