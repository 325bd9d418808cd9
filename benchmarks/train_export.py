"""Accuracy and speed of a trained aural model: PyTorch vs ONNX Runtime vs int8 ONNX.

Usage (after `aural train --config recipes/overfit_tiny.yaml`):
    OMP_NUM_THREADS=1 python benchmarks/train_export.py --model runs/overfit_tiny \
        [--threads 1] [--held-out 200]

Decodes FSDD digits with the ``aural`` engine in each runtime: the 50 training
utterances and ``--held-out`` other takes of the same five speakers (unseen recordings).
Writes benchmarks/results/train_export.json and .md (WER, real-time factor, model size).
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import time
from pathlib import Path

import torch
from _common import git_commit, shared_data

from aural.audio import load
from aural.data import load_dataset
from aural.decoding.options import DecodeOptions
from aural.engines import create_engine
from aural.evaluation.metrics import corpus_wer
from aural.text.tokenizers import normalize_transcript
from aural.training.export import export_onnx, quantize_int8

ROOT = Path(__file__).resolve().parents[1]
FSDD = shared_data() / "fsdd" / "recordings"
TRAIN = re.compile(r"[0-9]_(george|jackson|lucas|nicolas|theo)_0")
HELD_OUT = re.compile(r"[0-9]_(george|jackson|lucas|nicolas|theo)_([1-9]|[1-4][0-9])")


def run(engine, waves, refs, repeats: int = 2) -> dict[str, float]:  # type: ignore[no-untyped-def]
    options = DecodeOptions(beam_size=1, vad=False, word_timestamps=False)
    engine.transcribe_batch(waves[:4], options)  # warm-up
    best = float("inf")
    hyps: list[str] = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        hyps = [engine.transcribe(w, options).text for w in waves]
        best = min(best, time.perf_counter() - t0)
    audio = sum(w.duration for w in waves)
    return {
        "wer": round(corpus_wer(refs, [normalize_transcript(h) for h in hyps]).wer, 4),
        "rtf": round(best / audio, 5),
        "seconds": round(best, 3),
        "audio_seconds": round(audio, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=str(ROOT / "runs" / "overfit_tiny"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--held-out", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out_dir = ROOT / "runs" / "export_benchmark"
    onnx_path = export_onnx(args.model, out_dir)
    int8_path = quantize_int8(onnx_path)
    manifest = load_dataset(FSDD, kind="fsdd")
    sets = {
        "train (50 memorised)": [u for u in manifest if TRAIN.fullmatch(u.id)],
        "held-out takes": [u for u in manifest if HELD_OUT.fullmatch(u.id)][
            : args.held_out
        ],
    }
    engines = {
        "pytorch": create_engine("aural", model=args.model),
        "onnx fp32": create_engine(
            "aural", model=str(out_dir), num_threads=args.threads
        ),
        "onnx int8": create_engine(
            "aural",
            model=str(out_dir),
            onnx_file=int8_path.name,
            num_threads=args.threads,
        ),
    }
    results: dict[str, dict[str, dict[str, float]]] = {}
    for set_name, utts in sets.items():
        waves = [load(u.audio, sample_rate=16_000) for u in utts]
        refs = [normalize_transcript(u.text) for u in utts]
        results[set_name] = {
            name: run(eng, waves, refs) for name, eng in engines.items()
        }
    sizes = {
        "pytorch": (Path(args.model) / "best" / "model.pt").stat().st_size
        if (Path(args.model) / "best").is_dir()
        else None,
        "onnx fp32": onnx_path.stat().st_size,
        "onnx int8": int8_path.stat().st_size,
    }
    commit = git_commit()
    result = {
        "command": f"python benchmarks/train_export.py --model {args.model} --threads "
        f"{args.threads} --held-out {args.held_out}",
        "device": f"cpu ({platform.machine()}), {args.threads} thread(s); shared machine",
        "commit": commit,
        "model": args.model,
        "model_bytes": sizes,
        "decoding": "greedy CTC, one utterance per call",
        "results": results,
    }
    path = ROOT / "benchmarks" / "results" / "train_export.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Exported model: PyTorch vs ONNX Runtime vs int8",
        "",
        f"Command: `{result['command']}`  ",
        f"Device: {result['device']}  ",
        f"Model: {args.model} (commit {commit})",
        "",
        "| set | runtime | WER | RTF | size (bytes) |",
        "|---|---|---|---|---|",
    ]
    for set_name, rows in results.items():
        for name, r in rows.items():
            lines.append(
                f"| {set_name} | {name} | {100 * r['wer']:.1f} % | {r['rtf']:.4f} | "
                f"{sizes[name]} |"
            )
    path.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
