"""Accuracy and speed of aural's default engine vs raw faster-whisper vs PocketSphinx.

Every system transcribes the same decoded audio (LibriSpeech from ../shared/data), each in its
own child process so that peak memory is its own; the parent computes WER with the Whisper
English normaliser and writes benchmarks/results/transcribe_librispeech.{json,md}.

    python benchmarks/transcribe_librispeech.py [--limit N] [--threads 2]
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
SYSTEMS = {
    "aural whisper tiny.en (default: beam 5, VAD, words, short form)": "aural_default",
    "aural whisper tiny.en, batch mode (aural transcribe DIR: its layout, 1 per call on a CPU)": "aural_batch",
    "aural whisper tiny.en, padded 30 s window (--full-window)": "aural_full_window",
    "faster-whisper tiny.en beam 5 (same options as aural default)": "fw_beam5_same",
    "faster-whisper tiny.en beam 5 (its defaults)": "fw_beam5_default",
    "faster-whisper tiny.en beam 1 (its defaults)": "fw_beam1_default",
    "PocketSphinx en-us (aural sphinx engine)": "sphinx",
}


def corpus(limit: int | None) -> list[tuple[str, Path, str]]:
    rows = []
    for split in ("dev-clean", "train-clean-100"):
        for trans in sorted(
            (shared_data() / "LibriSpeech" / split).rglob("*.trans.txt")
        ):
            for line in trans.read_text().splitlines():
                uid, text = line.split(" ", 1)
                rows.append((uid, trans.parent / f"{uid}.flac", text))
    return rows[:limit] if limit else rows


def run_system(system: str, limit: int | None, threads: int) -> dict:
    import numpy as np

    from aural.audio import load
    from aural.decoding.options import DecodeOptions

    items = corpus(limit)
    waves = [load(p) for _, p, _ in items]
    audio_s = sum(w.duration for w in waves)
    hyps: list[str] = []
    t_load = time.perf_counter()
    if system.startswith("aural"):
        from aural.engines import create_engine

        if system == "aural_batch":
            from aural.batch import transcribe_many
            from aural.engines.layout import choose_layout
            from aural.engines.whisper import WhisperEngine

            # what `aural transcribe` does with several inputs, files decoded from disk
            # inside the timing (the one-by-one rows get theirs decoded beforehand), with
            # the layout it picks for a batch on this machine
            engine = create_engine(
                "whisper", **WhisperEngine.layout_settings(choose_layout("batch"))
            )
            t0 = time.perf_counter()
            hyps = [
                item.transcript.text
                for item in transcribe_many(
                    engine, [p for _, p, _ in items], DecodeOptions()
                )
            ]
        else:
            # aural's own choice of threads for one input at a time (engines.layout)
            engine = create_engine("whisper")
            options = DecodeOptions(trimmed_windows=system != "aural_full_window")
            t0 = time.perf_counter()
            hyps = [engine.transcribe(w, options).text for w in waves]
    elif system.startswith("fw"):
        from faster_whisper import WhisperModel

        from aural.engines.whisper import resolve_whisper_model

        same = system == "fw_beam5_same"
        model = WhisperModel(
            str(resolve_whisper_model("tiny.en")),
            device="cpu",
            compute_type="int8" if same else "default",
            cpu_threads=threads,
        )
        kw = dict(beam_size=1 if "beam1" in system else 5)
        if same:
            kw.update(
                vad_filter=True,
                word_timestamps=True,
                condition_on_previous_text=False,
                vad_parameters={
                    "threshold": 0.5,
                    "min_speech_duration_ms": 250,
                    "min_silence_duration_ms": 500,
                    "speech_pad_ms": 200,
                },
            )
        t0 = time.perf_counter()
        for w in waves:
            segs, _ = model.transcribe(
                np.ascontiguousarray(w.samples), language="en", **kw
            )
            hyps.append(" ".join(s.text.strip() for s in segs))
    elif system == "sphinx":
        from aural.engines import create_engine

        engine = create_engine("sphinx")
        t0 = time.perf_counter()
        hyps = [engine.transcribe(w, DecodeOptions()).text for w in waves]
    else:
        raise SystemExit(f"unknown system {system}")
    elapsed = time.perf_counter() - t0
    return {
        "hyps": hyps,
        "elapsed_s": elapsed,
        "model_load_s": t0 - t_load,
        "audio_s": audio_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--limit", type=int, default=None, help="first N utterances only")
    ap.add_argument(
        "--threads",
        type=int,
        default=2,
        help="faster-whisper's cpu_threads (aural picks its own layout)",
    )
    ap.add_argument("--system", help=argparse.SUPPRESS)
    ap.add_argument("--only", nargs="*", help="subset of systems (internal names)")
    ap.add_argument(
        "--results",
        default="transcribe_librispeech",
        help="results file stem under benchmarks/results/",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds over the systems, alternating; each keeps its fastest round",
    )
    args = ap.parse_args()
    if args.system:
        print(json.dumps(run_system(args.system, args.limit, args.threads)))
        return

    import jiwer

    from aural.text.normalizers import get_normalizer

    norm = get_normalizer("whisper")
    items = corpus(args.limit)
    refs = [norm(t) for _, _, t in items]
    rows = {}
    previous = RESULTS / f"{args.results}.json"
    if (
        args.only and previous.exists()
    ):  # re-measure some systems, keep the others' rows
        rows = json.loads(previous.read_text())["systems"]
    chosen = {
        label: system
        for label, system in SYSTEMS.items()
        if not args.only or system in args.only
    }
    for round_ in range(args.repeat):
        for label, system in chosen.items():
            cmd = [
                sys.executable,
                __file__,
                "--system",
                system,
                "--threads",
                str(args.threads),
            ]
            if args.limit:
                cmd += ["--limit", str(args.limit)]
            print(
                f"running {label} (round {round_ + 1}) ...", file=sys.stderr, flush=True
            )
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rounds = (rows[system].get("rounds_s", []) if round_ else []) + [
                round(r["elapsed_s"], 2)
            ]
            if round_ and r["elapsed_s"] >= rows[system]["elapsed_s"]:
                rows[system]["rounds_s"] = rounds
                continue
            m = jiwer.process_words(refs, [norm(h) for h in r["hyps"]])
            rows[system] = {
                "label": label,
                "wer": round(m.wer, 4),
                "substitutions": m.substitutions,
                "deletions": m.deletions,
                "insertions": m.insertions,
                "rtf": round(r["elapsed_s"] / r["audio_s"], 4),
                "elapsed_s": round(r["elapsed_s"], 2),
                "rounds_s": rounds,
                "audio_s": round(r["audio_s"], 1),
                "peak_rss_mb": round(r["peak_rss_mb"], 1),
            }
            print(f"  WER {m.wer:.4f}  RTF {rows[system]['rtf']:.4f}", file=sys.stderr)
    ratios = {}
    if "aural_full_window" in rows and "fw_beam5_same" in rows and args.threads == 1:
        # like for like only when faster-whisper also runs one thread per decode, as aural's
        # layout does
        # identical options and path (see also transcribe_overhead.py, one shared model)
        ratios["wrapper_overhead"] = round(
            rows["aural_full_window"]["elapsed_s"] / rows["fw_beam5_same"]["elapsed_s"]
            - 1,
            4,
        )
    if "aural_full_window" in rows and "aural_default" in rows:
        ratios["short_form_speedup"] = round(
            rows["aural_full_window"]["elapsed_s"] / rows["aural_default"]["elapsed_s"],
            3,
        )
    if "aural_batch" in rows and "aural_default" in rows:
        ratios["batch_throughput_vs_one_by_one"] = round(
            rows["aural_default"]["elapsed_s"] / rows["aural_batch"]["elapsed_s"], 3
        )
    result = {
        "command": " ".join(
            ["python", "benchmarks/transcribe_librispeech.py"] + sys.argv[1:]
        ),
        "commit": git_commit(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "audio_set": f"LibriSpeech dev-clean + train-clean-100 from ../shared/data, "
        f"{len(items)} utterances",
        "normaliser": "aural whisper English normaliser",
        "systems": rows,
        "ratios": ratios,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.results}.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# Transcription: accuracy and speed ({result['audio_set']})",
        "",
        f"Command: `{result['command']}` at {result['commit']}; {result['machine']}.",
        "",
        "| system | WER | S / D / I | RTF | peak RSS (MB) |",
        "|---|---|---|---|---|",
    ]
    for r in rows.values():
        lines.append(
            f"| {r['label']} | {r['wer'] * 100:.2f} % | {r['substitutions']} / "
            f"{r['deletions']} / {r['insertions']} | {r['rtf']:.4f} | {r['peak_rss_mb']} |"
        )
    for k, v in ratios.items():
        lines.append(f"\n- {k}: {v}")
    (RESULTS / f"{args.results}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
