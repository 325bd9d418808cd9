"""CTC decoding speed (and accuracy) of aural's decoders on realistic-size posteriors.

No real CTC acoustic model is available offline, so the posteriors are CONSTRUCTED from
the reference transcripts of the shared LibriSpeech dev-clean utterances at wav2vec2's
geometry (50 frames per second, a 29-token character vocabulary with blank and "|"):
logits are Gaussian noise (sd 1.5) plus a margin for the right token, characters last 1-3
frames with 0-3 blank frames between, and 10 % of characters get a near-tie with a random
wrong letter, so greedy decoding makes errors that search and the LM can fix.

Decoders: greedy, prefix beam search (beam 16), beam + 3-gram modified Kneser-Ney LM
(estimated by aural from the train-clean-100 transcripts, which share no utterance with
dev-clean), beam + LM + hotwords (each utterance's rare words). Speed = decoding seconds
CPU seconds (time.process_time, robust to other jobs on the machine) per second of audio on one thread (lower is better); accuracy = WER on the constructed
posteriors.

    python benchmarks/ctc_decoding.py  ->  benchmarks/results/ctc_decoding.{json,md}
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import jiwer
import numpy as np
from _common import git_commit, shared_data

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
LETTERS = "abcdefghijklmnopqrstuvwxyz'"
VOCAB = ["<pad>", "|", *LETTERS]
FRAME_S = 0.02


def transcripts(split: str) -> list[str]:
    out = []
    for trans in sorted((shared_data() / "LibriSpeech" / split).rglob("*.trans.txt")):
        out += [
            line.split(" ", 1)[1].lower() for line in trans.read_text().splitlines()
        ]
    return out


def posteriors(
    text: str, rng: np.random.Generator, confusion: float = 0.1
) -> np.ndarray:
    index = {c: i for i, c in enumerate(VOCAB)}
    labels: list[tuple[int, int | None]] = []  # (best token, near-tie token)
    for k, word in enumerate(text.split()):
        if k:
            labels.append((index["|"], None))
        for ch in word:
            wrong = None
            if rng.random() < confusion:
                wrong = index[LETTERS[int(rng.integers(0, 26))]]
            labels += [(index[ch], wrong)] * int(rng.integers(1, 4))
            labels += [(0, None)] * int(rng.integers(0, 4))
    logits = rng.normal(0.0, 1.5, size=(len(labels), len(VOCAB)))
    for t, (best, wrong) in enumerate(labels):
        logits[t, best] += 9.0
        if wrong is not None and wrong != best:
            logits[t, wrong] += 9.0 + rng.normal(
                0.3, 0.5
            )  # often beats the right letter
    logits -= logits.max(axis=1, keepdims=True)
    return (logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))).astype(
        np.float32
    )


def main() -> None:
    from aural.decoding.ctc import CtcGreedyDecoder, CtcPrefixBeamSearch
    from aural.decoding.lm import estimate_kneser_ney

    refs = [
        " ".join(w for w in t.split() if all(c in LETTERS for c in w))
        for t in transcripts("dev-clean")
    ]
    train = [t.split() for t in transcripts("train-clean-100")]
    t0 = time.process_time()
    lm = estimate_kneser_ney(train, order=3)
    lm_build_s = time.process_time() - t0
    vocab_counts: dict[str, int] = {}
    for sent in train:
        for w in sent:
            vocab_counts[w] = vocab_counts.get(w, 0) + 1
    rng = np.random.default_rng(0)
    posts = [posteriors(r, rng) for r in refs]
    audio_s = sum(p.shape[0] for p in posts) * FRAME_S
    decoders = {
        "greedy": lambda ref: CtcGreedyDecoder(VOCAB),
        "beam 16": lambda ref: CtcPrefixBeamSearch(VOCAB, beam_size=16),
        "beam 16 + 3-gram LM": lambda ref: CtcPrefixBeamSearch(
            VOCAB, beam_size=16, lm=lm, lm_weight=0.5
        ),
        "beam 16 + 3-gram LM + hotwords": lambda ref: CtcPrefixBeamSearch(
            VOCAB,
            beam_size=16,
            lm=lm,
            lm_weight=0.5,
            hotwords=[w for w in set(ref.split()) if vocab_counts.get(w, 0) <= 1]
            or None,
        ),
        "beam 64 + 3-gram LM": lambda ref: CtcPrefixBeamSearch(
            VOCAB, beam_size=64, lm=lm, lm_weight=0.5
        ),
    }
    rows = {}
    for name, make in decoders.items():
        hyps, elapsed = [], 0.0
        for ref, lp in zip(refs, posts):
            decoder = make(ref)
            start = time.process_time()
            hyps.append(decoder.decode(lp)[0].text)
            elapsed += time.process_time() - start
        rows[name] = {
            "seconds": round(elapsed, 3),
            "seconds_per_audio_second": round(elapsed / audio_s, 5),
            "wer": round(jiwer.wer(refs, [h or "<empty>" for h in hyps]), 4),
        }
        print(name, rows[name])
    commit = git_commit()
    result = {
        "command": "OMP_NUM_THREADS=1 python benchmarks/ctc_decoding.py",
        "commit": commit,
        "device": f"CPU {platform.machine()} (1 thread; 2 cores shared with other jobs)",
        "utterances": len(refs),
        "audio_seconds": round(audio_s, 1),
        "frames": int(sum(p.shape[0] for p in posts)),
        "vocab_size": len(VOCAB),
        "lm": {
            "order": 3,
            "words": len(lm.vocabulary),
            "build_seconds": round(lm_build_s, 2),
        },
        "decoders": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ctc_decoding.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# CTC decoding speed",
        "",
        f"Command: `{result['command']}` (commit {commit}, {result['device']}).",
        "",
        (
            f"{len(refs)} LibriSpeech dev-clean transcripts as CONSTRUCTED posteriors "
            f"({result['audio_seconds']} s of audio at 50 frames/s, vocabulary {len(VOCAB)}; "
            "see the script). The LM is aural's own 3-gram modified Kneser-Ney estimate from "
            f"the train-clean-100 transcripts ({len(lm.vocabulary)} words, built in "
            f"{lm_build_s:.1f} s)."
        ),
        "",
        "| decoder | CPU s per audio second | x real time (1 core) | WER (constructed) |",
        "|---|---|---|---|",
    ]
    for name, r in rows.items():
        speed = (
            1.0 / r["seconds_per_audio_second"] if r["seconds_per_audio_second"] else 0
        )
        lines.append(
            f"| {name} | {r['seconds_per_audio_second']:.4f} | {speed:.0f}x | "
            f"{r['wer']:.1%} |"
        )
    (RESULTS / "ctc_decoding.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
