"""Effect of hotword lists on rare-word recognition (biased vs unbiased WER).

Lists come from the shared LibriSpeech utterances (train-clean-100 + dev-clean):

* Word frequency: the unigram probabilities of CMU Sphinx's general English 3-gram LM
  (``pocketsphinx/model/en-us/en-us.lm.bin``), queried for every word of its dictionary
  (``cmudict-en-us.dict``). "Common" = the ``--common`` (5000) most probable words;
  every other word (or one the LM lacks) is rare.
* Each utterance's list = the rare words of its own reference plus ``--distractors``
  (10) rare words drawn from other utterances (seeded), as in the LibriSpeech biasing
  lists of Le et al. (2021), so a list also tempts the decoder with absent words.
* B-WER = errors on reference words in the list (substitutions, deletions, and
  insertions of list words) / reference words in the list; U-WER the same for the rest.
  Text is normalised with aural's Whisper English normaliser.

Two parts:

* ``whisper``: real recordings, aural's whisper engine (tiny.en, beam 5), with and without
  ``DecodeOptions.hotwords`` (faster-whisper's ``hotwords`` prompt).
* ``ctc``: aural's CTC prefix beam search with hotword boosting. No real CTC acoustic model
  exists offline, so the posteriors are CONSTRUCTED from each reference: every character
  gets a few frames of peaked posteriors; characters of rare words are confused with a
  random other letter with probability 0.35 (0.03 for common words), mimicking an acoustic
  model that is weakest on rare words. This measures the search, not a real model.

    python benchmarks/hotwords_librispeech.py [--part all|whisper|ctc] [--limit N]
        -> benchmarks/results/hotwords.{json,md}
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re
import time
from pathlib import Path
from typing import Any

import jiwer
import numpy as np
from _common import git_commit, shared_data

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
LETTERS = "abcdefghijklmnopqrstuvwxyz'"


def utterances(limit: int | None) -> list[tuple[str, Path, str]]:
    rows = []
    root = shared_data() / "LibriSpeech"
    for split in ("dev-clean", "train-clean-100"):
        for trans in sorted((root / split).rglob("*.trans.txt")):
            for line in trans.read_text().splitlines():
                uid, text = line.split(" ", 1)
                audio = trans.parent / f"{uid}.flac"
                if audio.exists():
                    rows.append((uid, audio, text))
    return rows[:limit] if limit else rows


def common_words(n: int) -> set[str]:
    """The n most probable unigrams of CMU Sphinx's en-us LM over its dictionary."""
    import pocketsphinx as ps

    model_dir = Path(ps.get_model_path()) / "en-us"
    lm = ps.NGramModel.readfile(str(model_dir / "en-us.lm.bin"))
    words = set()
    for line in (
        (model_dir / "cmudict-en-us.dict").read_text(errors="replace").splitlines()
    ):
        if line:
            words.add(re.sub(r"\(\d+\)$", "", line.split(" ", 1)[0]))
    scored = sorted(((lm.prob([w]), w) for w in words), reverse=True)
    return {w for _, w in scored[:n]}


def bias_lists(
    utts: list[tuple[str, Path, str]],
    common: set[str],
    distractors: int,
    normalize: Any,
    seed: int = 0,
) -> dict[str, list[str]]:
    rare_per_utt = {}
    for uid, _, text in utts:
        words = normalize(text).split()
        rare_per_utt[uid] = sorted({w for w in words if w not in common and len(w) > 2})
    pool = sorted({w for ws in rare_per_utt.values() for w in ws})
    rng = random.Random(seed)
    lists = {}
    for uid, own in rare_per_utt.items():
        others = [w for w in pool if w not in own]
        lists[uid] = own + rng.sample(others, min(distractors, len(others)))
    return lists


def biased_errors(ref: str, hyp: str, biased: set[str]) -> dict[str, int]:
    """Error counts split by whether the reference (or inserted) word is in the list."""
    counts = {"b_ref": 0, "b_err": 0, "u_ref": 0, "u_err": 0}
    ref_words, hyp_words = ref.split(), hyp.split()
    for w in ref_words:
        counts["b_ref" if w in biased else "u_ref"] += 1
    if not ref_words:
        return counts
    out = jiwer.process_words(ref, hyp if hyp_words else "<empty>")
    for chunk in out.alignments[0]:
        if chunk.type in ("substitute", "delete"):
            for w in ref_words[chunk.ref_start_idx : chunk.ref_end_idx]:
                counts["b_err" if w in biased else "u_err"] += 1
        elif chunk.type == "insert":
            for w in (hyp_words or ["<empty>"])[
                chunk.hyp_start_idx : chunk.hyp_end_idx
            ]:
                counts["b_err" if w in biased else "u_err"] += 1
    return counts


def summarize(rows: list[dict[str, int]]) -> dict[str, float]:
    tot = {k: sum(r[k] for r in rows) for k in ("b_ref", "b_err", "u_ref", "u_err")}
    return {
        "wer": (tot["b_err"] + tot["u_err"]) / max(tot["b_ref"] + tot["u_ref"], 1),
        "b_wer": tot["b_err"] / max(tot["b_ref"], 1),
        "u_wer": tot["u_err"] / max(tot["u_ref"], 1),
        "biased_ref_words": tot["b_ref"],
        "unbiased_ref_words": tot["u_ref"],
    }


def run_whisper(utts, lists, normalize) -> dict[str, Any]:
    from aural.audio import load
    from aural.decoding.options import DecodeOptions
    from aural.engines import create_engine

    engine = create_engine("whisper", cpu_threads=2)
    rows: dict[str, list[dict[str, int]]] = {"without list": [], "with list": []}
    audio_s, t0 = 0.0, time.time()
    examples = []
    for uid, path, text in utts:
        w = load(path)
        audio_s += w.duration
        ref = normalize(text)
        biased = set(lists[uid])
        for cond, hot in (("without list", ()), ("with list", tuple(lists[uid]))):
            hyp = normalize(engine.transcribe(w, DecodeOptions(hotwords=hot)).text)
            rows[cond].append(biased_errors(ref, hyp, biased))
            if (
                len(examples) < 6
                and cond == "with list"
                and rows[cond][-1]["b_err"] != rows["without list"][-1]["b_err"]
            ):
                examples.append(
                    {"utt": uid, "list": lists[uid], "ref": ref, "hyp_with": hyp}
                )
    return {
        "conditions": {k: summarize(v) for k, v in rows.items()},
        "utterances": len(utts),
        "audio_s": round(audio_s, 1),
        "seconds": round(time.time() - t0, 1),
        "examples": examples,
    }


def constructed_posteriors(
    ref: str, common: set[str], vocab: list[str], rng: np.random.Generator
) -> np.ndarray:
    """Peaked CTC posteriors spelling ``ref``; rare words' letters are often confused."""
    index = {c: i for i, c in enumerate(vocab)}
    rows = []

    def frame(
        best: int, p: float, second: int | None = None, q: float = 0.0
    ) -> np.ndarray:
        row = np.full(len(vocab), 2e-5)  # other tokens far below the pruning threshold
        row[best] = p
        if second is not None:
            row[second] = q
        row[0 if best else 1] += 1.0 - row.sum()  # the rest of the mass: blank (or "|")
        return row

    for k, word in enumerate(ref.split()):
        if k:
            rows.append(frame(index["|"], 0.8))
        confuse = 0.03 if word in common else 0.35
        for ch in word:
            right = index[ch]
            n = int(rng.integers(1, 3))
            if rng.random() < confuse:
                wrong = index[LETTERS[int(rng.integers(0, 26))]]
                while wrong == right:
                    wrong = index[LETTERS[int(rng.integers(0, 26))]]
                rows += [frame(wrong, 0.5, right, 0.35) for _ in range(n)]
            else:
                rows += [frame(right, 0.8) for _ in range(n)]
            rows += [frame(0, 0.85) for _ in range(int(rng.integers(0, 3)))]
    return np.log(np.array(rows))


def run_ctc(
    utts, lists, common, normalize, beam_size: int, weight: float
) -> dict[str, Any]:
    from aural.decoding.ctc import CtcGreedyDecoder, CtcPrefixBeamSearch

    vocab = ["<pad>", "|", *LETTERS]
    rng = np.random.default_rng(0)
    greedy = CtcGreedyDecoder(vocab)
    rows: dict[str, list[dict[str, int]]] = {
        "greedy": [],
        "beam without list": [],
        "beam with list": [],
    }
    frames, timing = 0, {"beam without list": 0.0, "beam with list": 0.0}
    for uid, _, text in utts:
        ref = " ".join(
            w for w in normalize(text).split() if all(c in LETTERS for c in w)
        )
        if not ref:
            continue
        lp = constructed_posteriors(ref, common, vocab, rng)
        frames += lp.shape[0]
        biased = set(lists[uid])
        rows["greedy"].append(biased_errors(ref, greedy.decode(lp)[0].text, biased))
        for cond, hot in (("beam without list", None), ("beam with list", lists[uid])):
            dec = CtcPrefixBeamSearch(
                vocab, beam_size=beam_size, hotwords=hot, hotword_weight=weight
            )
            t = time.perf_counter()
            hyp = dec.decode(lp)[0].text
            timing[cond] += time.perf_counter() - t
            rows[cond].append(biased_errors(ref, hyp, biased))
    return {
        "conditions": {k: summarize(v) for k, v in rows.items()},
        "utterances": len(utts),
        "frames": frames,
        "beam_size": beam_size,
        "hotword_weight": weight,
        "decode_seconds": {k: round(v, 2) for k, v in timing.items()},
    }


def write_markdown(result: dict[str, Any]) -> None:
    lines = [
        "# Hotwords: rare-word WER with and without a biasing list",
        "",
        f"Command: `{result['command']}` (commit {result['commit']}, {result['device']}).",
        "",
        (
            f"{result['utterances']} LibriSpeech utterances (dev-clean + train-clean-100 "
            "from ../shared/data); lists = each utterance's rare words (not among the "
            f"{result['common_words']} most probable words of CMU Sphinx's en-us LM) + "
            f"{result['distractors']} rare distractors. Mean list length "
            f"{result['mean_list_length']:.1f}."
        ),
        "",
    ]
    for part, title in (
        ("whisper", "Whisper tiny.en (real recordings, faster-whisper hotwords)"),
        ("ctc", "CTC prefix beam search (CONSTRUCTED posteriors, see script)"),
    ):
        if part not in result:
            continue
        lines += [
            f"## {title}",
            "",
            "| condition | WER | B-WER (listed words) | U-WER (rest) |",
            "|---|---|---|---|",
        ]
        for cond, s in result[part]["conditions"].items():
            lines.append(
                f"| {cond} | {s['wer']:.1%} | {s['b_wer']:.1%} | {s['u_wer']:.1%} |"
            )
        first = next(iter(result[part]["conditions"].values()))
        lines += [
            "",
            (
                f"{first['biased_ref_words']} biased and {first['unbiased_ref_words']} "
                "unbiased reference words."
            ),
            "",
        ]
    (RESULTS / "hotwords.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=("all", "whisper", "ctc"), default="all")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--common", type=int, default=5000)
    parser.add_argument("--distractors", type=int, default=10)
    parser.add_argument("--beam-size", type=int, default=16)
    parser.add_argument("--hotword-weight", type=float, default=1.0)
    args = parser.parse_args()
    from aural.text.normalizers import get_normalizer

    normalize = get_normalizer("whisper")
    utts = utterances(args.limit)
    common = common_words(args.common)
    lists = bias_lists(utts, common, args.distractors, normalize)
    path = RESULTS / "hotwords.json"
    result: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    result.update(
        {
            "command": "python benchmarks/hotwords_librispeech.py "
            + " ".join(
                f"--{k.replace('_', '-')} {v}"
                for k, v in vars(args).items()
                if v is not None
            ),
            "commit": git_commit(),
            "device": f"CPU {platform.machine()}, 2 cores shared",
            "utterances": len(utts),
            "common_words": args.common,
            "distractors": args.distractors,
            "mean_list_length": float(np.mean([len(v) for v in lists.values()])),
        }
    )
    if args.part in ("all", "ctc"):
        result["ctc"] = run_ctc(
            utts, lists, common, normalize, args.beam_size, args.hotword_weight
        )
        result["ctc"]["command"] = result["command"]
        print("ctc", json.dumps(result["ctc"]["conditions"], indent=1))
    if args.part in ("all", "whisper"):
        result["whisper"] = run_whisper(utts, lists, normalize)
        result["whisper"]["command"] = result["command"]
        print("whisper", json.dumps(result["whisper"]["conditions"], indent=1))
    RESULTS.mkdir(exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    write_markdown(result)


if __name__ == "__main__":
    main()
