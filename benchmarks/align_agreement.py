"""Agreement of two independent forced aligners on real recordings.

Whisper tiny.en cross-attention DTW alignment (``aural align --engine whisper``) against
PocketSphinx HMM-GMM Viterbi alignment (``--engine sphinx``) of the reference transcripts
of ../shared/data LibriSpeech dev-clean and misc clips (LibriVox, ARCTIC, TIMIT, JFK,
VOiCES, card-game commands). A clip whose reference Whisper does not hear (WER > 50 %)
is reported and left out: its transcript does not belong to the audio.

When a checkpoint of aural's own CTC model exists (``--aural-model``, default the run of
``recipes/librispeech_ljspeech_whisper_ctc.yaml``), its CTC Viterbi alignment
(``--engine aural``) is compared with both as well. That model reads Whisper's encoder
frames, so only its agreement with PocketSphinx is between fully independent methods.

    python benchmarks/align_agreement.py [--aural-model DIR]
        ->  benchmarks/results/align_agreement.{json,md}
"""

from __future__ import annotations

import json
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path

import jiwer
import numpy as np
from _common import git_commit, shared_data

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SKIP_MISC = ("speechcommands_", "goforward.raw")  # one-word clips; headerless PCM


def clips(root: Path) -> list[tuple[str, Path, str]]:
    rows = []
    for trans in sorted((root / "LibriSpeech" / "dev-clean").rglob("*.trans.txt")):
        for line in trans.read_text().splitlines():
            uid, text = line.split(" ", 1)
            rows.append((f"dev-clean/{uid}", trans.parent / f"{uid}.flac", text))
    for line in (root / "misc" / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if not entry["audio"].startswith(SKIP_MISC):
            rows.append(
                (
                    f"misc/{entry['audio']}",
                    root / "misc" / entry["audio"],
                    entry["text"],
                )
            )
    return rows


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--aural-model",
        type=Path,
        default=HERE.parent / "runs" / "librispeech_ljspeech_whisper_ctc",
    )
    args = parser.parse_args()
    from aural.align import create_aligner
    from aural.align.compare import boundary_differences, summarize_differences
    from aural.audio import load
    from aural.engines import create_engine
    from aural.text.normalizers import get_normalizer

    normalize = get_normalizer("whisper")

    whisper = create_aligner("whisper", cpu_threads=2)
    sphinx = create_aligner("sphinx")
    recognizer = create_engine("whisper", cpu_threads=2)
    own = (
        create_aligner("aural", str(args.aural_model))
        if args.aural_model.exists()
        else None
    )
    own_diffs: dict[str, list[np.ndarray]] = {"whisper": [], "sphinx": []}
    per_clip, diffs, skipped, signed_rows = [], [], [], []
    t0 = time.time()
    for name, path, text in clips(shared_data()):
        w = load(path)
        heard = recognizer.transcribe(w).text
        wer = jiwer.wer(normalize(text), normalize(heard) or "<empty>")
        if wer > 0.5:
            skipped.append({"clip": name, "wer": round(wer, 3), "heard": heard})
            continue
        a, b = whisper.align(w, text), sphinx.align(w, text)
        d = boundary_differences(a, b)
        if own is not None:
            c = own.align(w, text)
            own_diffs["whisper"].append(boundary_differences(c, a))
            own_diffs["sphinx"].append(boundary_differences(c, b))
        signed_rows.append(
            np.array(
                [
                    (x.start - y.start, x.end - y.end)
                    for x, y in zip(a.words, b.words)
                    if x.text == y.text
                ]
            )
        )
        diffs.append(d)
        per_clip.append(
            {
                "clip": name,
                "duration": round(w.duration, 2),
                "words": len(d),
                "median_abs_diff_s": round(float(np.median(d)), 3),
                "p95_abs_diff_s": round(float(np.percentile(d, 95)), 3),
                "median_start_diff_s": round(float(np.median(d[:, 0])), 3),
                "median_end_diff_s": round(float(np.median(d[:, 1])), 3),
            }
        )
    overall = summarize_differences(diffs)
    signed = np.vstack([r for r in signed_rows if r.size])
    starts = np.concatenate([d[:, 0] for d in diffs])
    ends = np.concatenate([d[:, 1] for d in diffs])
    commit = git_commit()
    result = {
        "command": "python benchmarks/align_agreement.py",
        "commit": commit,
        "device": f"CPU {platform.processor() or platform.machine()}",
        "methods": [
            "whisper tiny.en cross-attention DTW (aural align --engine whisper)",
            "PocketSphinx en-us HMM-GMM Viterbi (aural align --engine sphinx)",
        ],
        "overall": asdict(overall),
        "median_start_diff_s": float(np.median(starts)),
        "median_end_diff_s": float(np.median(ends)),
        "median_signed_start_s": float(np.median(signed[:, 0])),
        "median_signed_end_s": float(np.median(signed[:, 1])),
        "clips": per_clip,
        "skipped": skipped,
        "seconds": round(time.time() - t0, 1),
    }
    if own is not None:
        result["aural_ctc"] = {
            "model": str(args.aural_model),
            **{
                f"vs_{k}": asdict(summarize_differences(v))
                for k, v in own_diffs.items()
            },
        }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "align_agreement.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Forced alignment agreement: Whisper vs PocketSphinx",
        "",
        f"Command: `{result['command']}` (commit {commit}, {result['device']}).",
        "",
        (
            "Word boundaries (start and end of every word) of the reference transcript, "
            "Whisper tiny.en cross-attention DTW vs PocketSphinx HMM-GMM Viterbi."
        ),
        "",
        "| words | boundaries | median abs diff | mean | p90 | p95 | within 0.1 s | within 0.2 s |",
        "|---|---|---|---|---|---|---|---|",
        (
            f"| {overall.num_words} | {overall.num_boundaries} | {overall.median:.3f} s | "
            f"{overall.mean:.3f} s | {overall.p90:.3f} s | {overall.p95:.3f} s | "
            f"{overall.within_100ms:.0%} | {overall.within_200ms:.0%} |"
        ),
        "",
        (
            f"Median start difference {result['median_start_diff_s']:.3f} s, end "
            f"{result['median_end_diff_s']:.3f} s. Signed (Whisper minus PocketSphinx): "
            f"start {result['median_signed_start_s']:+.3f} s, end {result['median_signed_end_s']:+.3f} s "
            "(Whisper's cross-attention times lag PocketSphinx's by about this much)."
        ),
        "",
        "| clip | s | words | median | p95 |",
        "|---|---|---|---|---|",
    ]
    if own is not None:
        lines[
            lines.index("| clip | s | words | median | p95 |") : lines.index(
                "| clip | s | words | median | p95 |"
            )
        ] = [
            (
                "aural's own CTC model (Conformer-CTC on Whisper tiny.en encoder frames, "
                f"`{args.aural_model.name}`), CTC Viterbi, against each:"
            ),
            "",
            "| pair | boundaries | median | p90 | p95 | within 0.1 s | within 0.2 s |",
            "|---|---|---|---|---|---|---|",
            *[
                (
                    f"| aural CTC vs {k} | {r['num_boundaries']} | {r['median']:.3f} s | "
                    f"{r['p90']:.3f} s | {r['p95']:.3f} s | {r['within_100ms']:.0%} | "
                    f"{r['within_200ms']:.0%} |"
                )
                for k, r in (
                    (k[3:], v) for k, v in result["aural_ctc"].items() if k != "model"
                )
            ],
            "",
        ]
    lines += [
        f"| {c['clip']} | {c['duration']} | {c['words']} | {c['median_abs_diff_s']} | "
        f"{c['p95_abs_diff_s']} |"
        for c in per_clip
    ]
    if skipped:
        lines += [
            "",
            "Left out (the reference does not match the audio: Whisper's WER > 50 %):",
            "",
        ]
        lines += [
            f'- {s["clip"]}: WER {s["wer"]}, Whisper heard "{s["heard"]}"'
            for s in skipped
        ]
    (RESULTS / "align_agreement.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:9]))


if __name__ == "__main__":
    sys.exit(main())
