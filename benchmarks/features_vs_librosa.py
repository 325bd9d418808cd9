"""Feature extraction speed: aural.audio.features (torch) vs librosa on real speech.

Usage:
    OMP_NUM_THREADS=1 python benchmarks/features_vs_librosa.py [--num-files 40] [--threads 1]

Writes benchmarks/results/features.json and features.md. Times are the best of
``--repeats`` runs over the same LibriSpeech train-clean-100 files (16 kHz).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf
import torch
from _common import git_commit, shared_data

from aural.audio.features import FeatureOptions, add_deltas, log_mel, mfcc

ROOT = Path(__file__).resolve().parents[1]
DATA = shared_data() / "LibriSpeech" / "train-clean-100"


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--num-files", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    files = sorted(DATA.rglob("*.flac"))[: args.num_files]
    clips = [sf.read(f, dtype="float32")[0] for f in files]
    audio_s = sum(len(c) for c in clips) / 16_000
    fb_opts = FeatureOptions(cmvn="none")
    mf_opts = FeatureOptions(kind="mfcc", cmvn="none")
    tensors = [torch.from_numpy(c) for c in clips]
    lengths = torch.tensor([len(c) for c in clips])
    batch = torch.nn.utils.rnn.pad_sequence(tensors, batch_first=True)

    def lib_fbank() -> None:
        for c in clips:
            np.log(
                np.maximum(
                    librosa.feature.melspectrogram(
                        y=c, sr=16_000, n_fft=400, hop_length=160, n_mels=80
                    ),
                    1e-10,
                )
            )

    def lib_mfcc() -> None:
        for c in clips:
            m = librosa.feature.mfcc(
                y=c, sr=16_000, n_mfcc=13, n_fft=400, hop_length=160
            )
            d1 = librosa.feature.delta(m, mode="nearest")
            librosa.feature.delta(d1, mode="nearest")

    def ours_fbank_each() -> None:
        with torch.inference_mode():
            for t in tensors:
                log_mel(t, None, fb_opts)

    def ours_fbank_batch() -> None:
        with torch.inference_mode():
            log_mel(batch, lengths, fb_opts)

    def ours_mfcc_each() -> None:
        with torch.inference_mode():
            for t in tensors:
                f, n = mfcc(t, None, mf_opts)
                add_deltas(f, n)

    def ours_mfcc_batch() -> None:
        with torch.inference_mode():
            f, n = mfcc(batch, lengths, mf_opts)
            add_deltas(f, n)

    lib_fbank()
    ours_fbank_each()  # warm caches
    rows = {}
    for name, fn in [
        ("librosa log-mel (per file)", lib_fbank),
        ("aural log-mel (per file)", ours_fbank_each),
        ("aural log-mel (one padded batch)", ours_fbank_batch),
        ("librosa MFCC+deltas (per file)", lib_mfcc),
        ("aural MFCC+deltas (per file)", ours_mfcc_each),
        ("aural MFCC+deltas (one padded batch)", ours_mfcc_batch),
    ]:
        sec = best_of(fn, args.repeats)
        rows[name] = {
            "seconds": round(sec, 4),
            "audio_seconds_per_second": round(audio_s / sec, 1),
        }
    commit = git_commit()
    result = {
        "command": f"python benchmarks/features_vs_librosa.py --num-files {args.num_files} "
        f"--threads {args.threads} --repeats {args.repeats}",
        "device": f"cpu ({platform.processor() or platform.machine()}), torch threads={args.threads}",
        "commit": commit,
        "torch": torch.__version__,
        "librosa": librosa.__version__,
        "audio": f"{len(files)} LibriSpeech train-clean-100 files, {audio_s:.1f} s",
        "results": rows,
        "speedup_log_mel_per_file": round(
            rows["librosa log-mel (per file)"]["seconds"]
            / rows["aural log-mel (per file)"]["seconds"],
            2,
        ),
        "speedup_mfcc_per_file": round(
            rows["librosa MFCC+deltas (per file)"]["seconds"]
            / rows["aural MFCC+deltas (per file)"]["seconds"],
            2,
        ),
    }
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "features.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Feature extraction: aural (torch) vs librosa",
        "",
        f"Command: `{result['command']}`  ",
        f"Device: {result['device']}  ",
        f"Audio: {result['audio']}  ",
        f"Commit: {commit}",
        "",
        "| pipeline | seconds | audio s / s |",
        "|---|---|---|",
    ]
    lines += [
        f"| {k} | {v['seconds']} | {v['audio_seconds_per_second']} |"
        for k, v in rows.items()
    ]
    speedup = (
        f"Speed-up per file: log-mel x{result['speedup_log_mel_per_file']}, "
        f"MFCC+deltas x{result['speedup_mfcc_per_file']}."
    )
    lines += ["", speedup, ""]
    (out / "features.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
