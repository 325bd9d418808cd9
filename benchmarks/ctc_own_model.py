"""Accuracy and decoding speed of aural's own CTC model on held-out real speech.

The model is the one ``recipes/librispeech_ljspeech_whisper_ctc.yaml`` trains (a Conformer-CTC
over Whisper tiny.en encoder frames, trained on the shared train-clean-100 + LJSpeech). It is
scored on ``dev-clean`` (speakers it never heard; the one utterance whose audio does not
match its transcript is left out), with the same decoded posteriors under:

* greedy CTC;
* prefix beam search (``--beam-size``) without an LM;
* beam search + word n-gram LM: CMU Sphinx's general English 3-gram LM that ships with
  pocketsphinx (``en-us.lm.bin``, 72 k words, the LM of the PocketSphinx baseline), read
  by ``aural.decoding.lm.SphinxLM``. Not trained on LibriSpeech transcripts;
* beam search with per-utterance hotword lists (each utterance's rare words + distractors,
  built exactly as in ``hotwords_librispeech.py``), without and with the LM.

Whisper tiny.en (aural's default engine) on the same audio gives the context row. Speed is
decoding time per second of audio, posteriors excluded (they are computed once).

    aural train --config recipes/librispeech_ljspeech_whisper_ctc.yaml
    python benchmarks/ctc_own_model.py [--model runs/librispeech_ljspeech_whisper_ctc]
        -> benchmarks/results/ctc_own_model.{json,md}
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))

from _common import git_commit  # noqa: E402 (sibling modules, after sys.path)
from hotwords_librispeech import (  # a sibling benchmark script
    bias_lists,
    biased_errors,
    common_words,
    shared_data,
    summarize,
)

# its audio is utterance 0001's speech (see the README's known data issue)
MISMATCHED = {"1272-128104-0000"}


def dev_utterances() -> list[tuple[str, Path, str]]:
    rows = []
    for trans in sorted(
        (shared_data() / "LibriSpeech" / "dev-clean").rglob("*.trans.txt")
    ):
        for line in trans.read_text().splitlines():
            uid, text = line.split(" ", 1)
            if uid not in MISMATCHED:
                rows.append((uid, trans.parent / f"{uid}.flac", text))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--model",
        default=str(HERE.parent / "runs" / "librispeech_ljspeech_whisper_ctc"),
    )
    parser.add_argument("--beam-size", type=int, default=16)
    parser.add_argument("--lm-weights", default="0.3,0.5,0.8")
    parser.add_argument("--common", type=int, default=5000)
    parser.add_argument("--distractors", type=int, default=10)
    args = parser.parse_args()

    from aural.audio import load
    from aural.decoding.lm import load_lm
    from aural.decoding.options import DecodeOptions
    from aural.engines import create_engine
    from aural.evaluation.metrics import corpus_cer, corpus_wer
    from aural.text.normalizers import get_normalizer

    normalize = get_normalizer("whisper")
    utts = dev_utterances()
    waves = [load(p) for _, p, _ in utts]
    refs = [normalize(t) for _, _, t in utts]
    audio_s = sum(w.duration for w in waves)
    lists = bias_lists(utts, common_words(args.common), args.distractors, normalize)

    engine = create_engine("aural", model=args.model)
    t0 = time.perf_counter()
    posts = [engine._posteriors([w.samples])[0] for w in waves]
    acoustic_s = time.perf_counter() - t0

    lm = load_lm("sphinx-en-us")

    def run(name: str, lm_weight: float | None, beam: int, hot: bool) -> dict[str, Any]:
        eng = (
            engine
            if lm_weight is None
            else create_engine("aural", model=args.model, lm=lm, lm_weight=lm_weight)
        )
        hyps, rows = [], []
        t = time.perf_counter()  # (a decoder per utterance: the hotword list changes)
        for (uid, _, _), ref, lp in zip(utts, refs, posts, strict=True):
            options = DecodeOptions(
                beam_size=beam, hotwords=tuple(lists[uid]) if hot else ()
            )
            hyp = normalize(eng.decoder(options).decode(lp)[0].text)
            hyps.append(hyp)
            rows.append(biased_errors(ref, hyp, set(lists[uid])))
        seconds = time.perf_counter() - t
        bias = summarize(rows)
        return {
            "condition": name,
            "wer": corpus_wer(refs, hyps).wer,
            "cer": corpus_cer(refs, hyps).wer,
            "b_wer": bias["b_wer"],
            "u_wer": bias["u_wer"],
            "decode_rtf": seconds / audio_s,
            "example": hyps[1],
        }

    rows = [
        run("greedy", None, 1, False),
        run(f"beam {args.beam_size}", None, args.beam_size, False),
    ]
    weights = [float(w) for w in args.lm_weights.split(",")]
    for w in weights:
        rows.append(
            run(f"beam {args.beam_size} + LM (weight {w})", w, args.beam_size, False)
        )
    best = min(rows[2:], key=lambda r: r["wer"])
    best_w = weights[rows[2:].index(best)]
    rows.append(run(f"beam {args.beam_size} + hotwords", None, args.beam_size, True))
    rows.append(
        run(
            f"beam {args.beam_size} + LM (weight {best_w}) + hotwords",
            best_w,
            args.beam_size,
            True,
        )
    )

    # the same model exported: PyTorch vs ONNX Runtime vs int8 ONNX, greedy decoding
    import tempfile

    from aural.training.export import export_onnx, quantize_int8

    runtimes = []
    with tempfile.TemporaryDirectory() as tmp:
        quantize_int8(export_onnx(args.model, tmp))
        for label, kwargs in (
            ("PyTorch", {"model": args.model}),
            ("ONNX", {"model": tmp, "runtime": "onnx"}),
            (
                "ONNX int8",
                {"model": tmp, "runtime": "onnx", "onnx_file": "model.int8.onnx"},
            ),
        ):
            eng = create_engine("aural", **kwargs)
            eng._posteriors([waves[0].samples])  # warm-up
            t = time.perf_counter()
            hyps = [normalize(r.text) for r in eng.transcribe_batch(waves)]
            runtimes.append(
                {
                    "runtime": label,
                    "wer": corpus_wer(refs, hyps).wer,
                    "rtf": (time.perf_counter() - t) / audio_s,
                }
            )
        sizes = {
            f.name: round(f.stat().st_size / 2**20, 2) for f in Path(tmp).glob("*.onnx")
        }

    whisper = create_engine("whisper", cpu_threads=2)
    t = time.perf_counter()
    w_hyps = [normalize(whisper.transcribe(w).text) for w in waves]
    w_s = time.perf_counter() - t
    w_rows = [
        biased_errors(r, h, set(lists[u]))
        for (u, _, _), r, h in zip(utts, refs, w_hyps)
    ]
    wb = summarize(w_rows)
    rows.append(
        {
            "condition": "whisper tiny.en (aural default, beam 5)",
            "wer": corpus_wer(refs, w_hyps).wer,
            "cer": corpus_cer(refs, w_hyps).wer,
            "b_wer": wb["b_wer"],
            "u_wer": wb["u_wer"],
            "decode_rtf": w_s / audio_s,
            "example": w_hyps[1],
        }
    )

    result = {
        "command": "python benchmarks/ctc_own_model.py " + " ".join(sys.argv[1:]),
        "model": args.model,
        "utterances": len(utts),
        "audio_s": round(audio_s, 1),
        "reference_words": sum(len(r.split()) for r in refs),
        "biased_reference_words": wb["biased_ref_words"],
        "acoustic_rtf": acoustic_s / audio_s,
        "lm": f"CMU Sphinx en-us {lm.order}-gram (pocketsphinx)",
        "reference_example": refs[1],
        "rows": rows,
        "runtimes": runtimes,
        "onnx_sizes_mb": sizes,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "commit": git_commit(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ctc_own_model.json").write_text(json.dumps(result, indent=1))
    lines = [
        "# aural's own CTC model (Conformer-CTC on Whisper tiny.en encoder frames)",
        "",
        f"Command: `{result['command']}` (commit {result['commit']}, {result['machine']}).",
        "",
        (
            f"LibriSpeech dev-clean from ../shared/data: {len(utts)} utterances, "
            f"{audio_s / 60:.1f} min, {result['reference_words']} words "
            f"({wb['biased_ref_words']} in the hotword lists), speakers not in training. "
            "Whisper English normaliser. Decode RTF = search time per audio second "
            f"(posteriors excluded; they cost RTF {result['acoustic_rtf']:.3f}, encoder included)."
        ),
        "",
        "| decoding | WER | CER | B-WER (listed words) | U-WER (rest) | decode RTF |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['condition']} | {r['wer']:.1%} | {r['cer']:.1%} | "
            f"{r['b_wer']:.1%} | {r['u_wer']:.1%} | {r['decode_rtf']:.4f} |"
        )
    lines += [
        "",
        (
            "Runtimes (greedy, whole pipeline: Whisper encoder frames + Conformer + search; "
            f"ONNX sizes {sizes} MB):"
        ),
        "",
        "| runtime | WER | RTF |",
        "|---|---|---|",
    ]
    lines += [f"| {r['runtime']} | {r['wer']:.1%} | {r['rtf']:.4f} |" for r in runtimes]
    lines += ["", f"Reference: {refs[1]}", ""]
    lines += [f"- {r['condition']}: {r['example']}" for r in rows]
    (RESULTS / "ctc_own_model.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
