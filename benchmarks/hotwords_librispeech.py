"""Contextual biasing with hotword lists: WER, B-WER and U-WER on LibriSpeech (issue
18).

The protocol of the contextual-biasing literature (Le et al. 2021, "Contextualized
streaming end-to-end speech recognition with trie-based deep biasing and shallow
fusion"; arXiv 2508.17796 for Whisper), on the shared LibriSpeech utterances
(dev-clean + train-clean-100 under ../shared/data, 263 utterances):

* Rare words: words (after aural's Whisper English normaliser, letters and apostrophes,
  longer than two letters) outside the ``--common`` (5000) most probable unigrams of
  CMU Sphinx's general English 3-gram LM (``pocketsphinx/model/en-us/en-us.lm.bin``,
  queried for every word of ``cmudict-en-us.dict``); a word the dictionary lacks is
  rare.
* Each utterance's list has ``--list-size`` (100) entries: the utterance's own rare
  words plus distractors drawn (seeded per utterance) from the rare words of the other
  utterances, in a seeded random order.
* WER = all errors / reference words. B-WER = errors on listed words / reference words
  in the list; U-WER = errors on the other words / reference words not in the list. A
  substitution or deletion counts for the reference word's side; an insertion counts
  for B when the inserted word is in the list, else for U. So B and U errors add up to
  the WER's errors.
* Speakers are split (seeded) into a tuning half and a test half with about as many
  utterances each; the hotword weight is chosen on the tuning half (lowest WER, then
  lowest B-WER, then the smaller weight) and every condition is reported on the test
  half and on all utterances.

Conditions of the ``whisper`` part (Whisper ``--model`` tiny.en, int8, beam
``--beam-size`` 5, English, no VAD, no word times, temperature fallback 0.0-1.0; each in
its own process, one after the other, with ``--threads`` threads per decode):

* ``none``: aural without a list (the CTranslate2 decoder).
* ``torch-none``: aural without a list on its PyTorch decoder (``decoder="torch"``):
  what the decoder alone costs.
* ``fw-none`` / ``fw``: ``faster_whisper.WhisperModel.transcribe`` directly, without a
  list and with ``hotwords=`` (the entries joined with ", "; faster-whisper puts them in
  the prompt and keeps its first 223 tokens).
* ``aural:W``: aural's trie shallow fusion with ``WhisperSettings(hotword_weight=W)``
  for each W of ``--weights``.

Time per utterance is the wall time of the transcribe call (audio already loaded; the
model load and one warm-up decode are not counted; the list is compiled on every call,
as each utterance has its own list).

The ``ctc`` part is aural's CTC prefix beam search on CONSTRUCTED posteriors (no real
CTC acoustic model is available offline): every character gets a few frames of peaked
posteriors, and characters of rare words are confused with another letter with
probability 0.35 (0.03 for common words), mimicking an acoustic model weakest on rare
words. It measures the search with the same lists, not a model.
(``benchmarks/ctc_decoding.py`` measures the CTC decoders' speed, not B-WER / U-WER.)

    python benchmarks/hotwords_librispeech.py [--part all|whisper|ctc]
        [--conditions none,torch-none,fw-none,fw,aural] [--weights 0.5,1,1.5,2,3]
        [--limit N] [--threads 1] [--output-dir benchmarks/results]
        -> benchmarks/results/hotwords.{json,md}
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jiwer
import numpy as np
from _common import REPO, git_commit, shared_data

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
LETTERS = "abcdefghijklmnopqrstuvwxyz'"
RESULT_FORMAT = 2  # results written by an older protocol are not merged with these
BASE_CONDITIONS = ("none", "torch-none", "fw-none", "fw")
TARGETS = {
    "b_wer_cut": 0.40,  # relative to no list, at least
    "u_wer_rise": 0.005,  # absolute (0.5 points), at most
    "time_ratio": 2.0,  # with a list / without, at most
}
SPLITS = ("test", "all", "tune")


def say(message: str) -> None:
    """Progress and summaries, on stderr."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


@dataclass(frozen=True)
class Utterance:
    uid: str
    speaker: str
    path: Path
    text: str


# -- data and lists --------------------------------------------------------------------


def utterances() -> list[Utterance]:
    """Every shared LibriSpeech utterance (dev-clean, then train-clean-100)."""
    rows = []
    root = shared_data() / "LibriSpeech"
    for split in ("dev-clean", "train-clean-100"):
        for trans in sorted((root / split).rglob("*.trans.txt")):
            for line in trans.read_text().splitlines():
                uid, text = line.split(" ", 1)
                audio = trans.parent / f"{uid}.flac"
                if audio.exists():
                    rows.append(Utterance(uid, uid.split("-")[0], audio, text))
    return rows


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


def rare_words(reference: str, common: set[str]) -> list[str]:
    """The normalised reference's rare words, each once, sorted."""
    return sorted(
        {
            w
            for w in reference.split()
            if w not in common and len(w) > 2 and re.fullmatch(r"[a-z']+", w)
        }
    )


def bias_lists(
    refs: dict[str, str],
    common: set[str],
    list_size: int,
    seed: int,
    absent: bool = False,
) -> dict[str, list[str]]:
    """Per utterance: its rare words plus distractors from the other utterances' rare
    words, ``list_size`` entries in all, in a seeded random order. ``absent``: only
    distractors, none of them a word of the utterance (what a list costs when nothing
    on it is spoken)."""
    own = {uid: rare_words(ref, common) for uid, ref in refs.items()}
    pool = sorted({w for words in own.values() for w in words})
    lists = {}
    for uid, words in own.items():
        rng = random.Random(f"{seed}:{uid}")  # independent of which others are run
        if absent:
            words = []
        spoken = set(refs[uid].split())
        others = [w for w in pool if w not in set(words) and w not in spoken]
        extra = rng.sample(others, min(max(0, list_size - len(words)), len(others)))
        entries = words + extra
        rng.shuffle(entries)
        lists[uid] = entries
    return lists


def split_speakers(utts: Sequence[Utterance], seed: int) -> dict[str, str]:
    """uid -> "tune" or "test": speakers shuffled (seeded), each given to the half with
    fewer utterances so far."""
    per_speaker: dict[str, list[str]] = {}
    for u in utts:
        per_speaker.setdefault(u.speaker, []).append(u.uid)
    speakers = sorted(per_speaker)
    random.Random(seed).shuffle(speakers)
    halves: dict[str, list[str]] = {"tune": [], "test": []}
    for speaker in speakers:
        half = "tune" if len(halves["tune"]) <= len(halves["test"]) else "test"
        halves[half] += per_speaker[speaker]
    return {uid: half for half, uids in halves.items() for uid in uids}


def pick(
    utts: Sequence[Utterance], halves: dict[str, str], limit: int | None, seed: int
) -> list[Utterance]:
    """All utterances, or ``limit`` of them taken in turn from the two halves."""
    if not limit:
        return list(utts)
    rng = random.Random(seed)
    queues = {h: [u for u in utts if halves[u.uid] == h] for h in ("tune", "test")}
    for queue in queues.values():
        rng.shuffle(queue)
    mixed = [u for pair in zip(queues["tune"], queues["test"]) for u in pair]
    mixed += (
        queues["tune"][len(queues["test"]) :] + queues["test"][len(queues["tune"]) :]
    )
    return mixed[:limit]


# -- metrics ---------------------------------------------------------------------------


def biased_errors(ref: str, hyp: str, biased: set[str]) -> dict[str, int]:
    """Error counts split by whether the reference (or inserted) word is in the list."""
    counts = {"b_ref": 0, "b_err": 0, "u_ref": 0, "u_err": 0}
    ref_words, hyp_words = ref.split(), hyp.split()
    for w in ref_words:
        counts["b_ref" if w in biased else "u_ref"] += 1
    if not ref_words:
        counts["u_err"] += sum(w not in biased for w in hyp_words)
        counts["b_err"] += sum(w in biased for w in hyp_words)
        return counts
    if not hyp_words:
        counts["b_err"], counts["u_err"] = counts["b_ref"], counts["u_ref"]
        return counts
    out = jiwer.process_words(ref, hyp)
    for chunk in out.alignments[0]:
        if chunk.type in ("substitute", "delete"):
            for w in ref_words[chunk.ref_start_idx : chunk.ref_end_idx]:
                counts["b_err" if w in biased else "u_err"] += 1
        elif chunk.type == "insert":
            for w in hyp_words[chunk.hyp_start_idx : chunk.hyp_end_idx]:
                counts["b_err" if w in biased else "u_err"] += 1
    return counts


def summarize(rows: Sequence[dict[str, int]]) -> dict[str, float]:
    tot = {k: sum(r[k] for r in rows) for k in ("b_ref", "b_err", "u_ref", "u_err")}
    return {
        "wer": (tot["b_err"] + tot["u_err"]) / max(tot["b_ref"] + tot["u_ref"], 1),
        "b_wer": tot["b_err"] / max(tot["b_ref"], 1),
        "u_wer": tot["u_err"] / max(tot["u_ref"], 1),
        "biased_ref_words": tot["b_ref"],
        "unbiased_ref_words": tot["u_ref"],
    }


# -- whisper conditions, each in its own process ---------------------------------------


def _aural_decoder(spec: str, job: dict[str, Any]) -> Callable[[Any, list[str]], str]:
    from aural.decoding.options import DecodeOptions
    from aural.engines import create_engine

    settings: dict[str, Any] = {"cpu_threads": job["threads"], "num_workers": 1}
    if spec == "torch-none":
        settings["decoder"] = "torch"
    if spec.startswith("aural:"):
        settings["hotword_weight"] = float(spec.split(":", 1)[1])
    engine = create_engine("whisper", job["model"], **settings)
    options = DecodeOptions(
        language="en", beam_size=job["beam_size"], vad=False, word_timestamps=False
    )
    biased = spec.startswith("aural:")

    def decode(wave: Any, entries: list[str]) -> str:
        hotwords = tuple(entries) if biased else ()
        return engine.transcribe(wave, options.with_(hotwords=hotwords)).text

    return decode


def _faster_whisper_decoder(
    spec: str, job: dict[str, Any]
) -> Callable[[Any, list[str]], str]:
    from faster_whisper import WhisperModel

    from aural.engines.whisper import resolve_whisper_model

    model = WhisperModel(
        str(resolve_whisper_model(job["model"])),
        device="cpu",
        compute_type="int8",
        cpu_threads=job["threads"],
        num_workers=1,
    )

    def decode(wave: Any, entries: list[str]) -> str:
        segments, _ = model.transcribe(
            wave.samples,
            language="en",
            beam_size=job["beam_size"],
            hotwords=", ".join(entries) if spec == "fw" and entries else None,
            vad_filter=False,
            word_timestamps=False,
            condition_on_previous_text=False,
            temperature=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
        )
        return " ".join(s.text.strip() for s in segments)

    return decode


def run_condition(spec: str, job: dict[str, Any]) -> dict[str, Any]:
    """Decode every utterance of ``job`` under ``spec`` (inside the worker process)."""
    if job["threads"]:
        try:
            import torch

            torch.set_num_threads(job["threads"])
        except ImportError:
            pass
    from aural.audio import load

    t0 = time.perf_counter()
    make = _faster_whisper_decoder if spec.startswith("fw") else _aural_decoder
    decode = make(spec, job)
    items = job["utterances"]
    warm = load(items[0]["path"], 16_000)
    decode(warm, list(reversed(items[0]["list"])))  # not the timed list: no cache hit
    load_s = time.perf_counter() - t0
    out: dict[str, Any] = {}
    for i, item in enumerate(items, 1):
        wave = load(item["path"], 16_000)
        t = time.perf_counter()
        text = decode(wave, item["list"])
        out[item["uid"]] = {
            "text": text,
            "seconds": time.perf_counter() - t,
            "audio_s": wave.duration,
        }
        if i % 25 == 0 or i == len(items):
            say(f"  [{spec}] {i}/{len(items)}")
    return {"spec": spec, "load_s": round(load_s, 2), "utterances": out}


def spawn(spec: str, job_path: Path, work: Path, threads: int) -> dict[str, Any]:
    """Run one condition in a fresh process (its progress relayed); its result, or its
    error."""
    out = work / f"{spec.replace(':', '_')}.json"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if threads:
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[name] = str(threads)
    command = [sys.executable, __file__, "--worker", spec, "--job", str(job_path)]
    say(f"condition {spec}")
    started = time.perf_counter()
    tail: deque[str] = deque(maxlen=3)
    with subprocess.Popen(
        [*command, "--out", str(out)], stderr=subprocess.PIPE, text=True, env=env
    ) as p:
        assert p.stderr is not None
        for line in p.stderr:
            tail.append(line.rstrip())
            sys.stderr.write(line)
    if p.returncode != 0 or not out.exists():
        say(f"  [{spec}] failed (exit {p.returncode})")
        return {"spec": spec, "error": " | ".join(tail)}
    result = json.loads(out.read_text())
    result["process_s"] = round(time.perf_counter() - started, 1)
    return result


def conditions_to_run(names: Sequence[str], weights: Sequence[float]) -> list[str]:
    """The condition specs in run order; aural's only where the engine has biasing."""
    specs = [n for n in BASE_CONDITIONS if n in names]
    if "aural" in names:
        if has_whisper_biasing():
            specs += [f"aural:{w:g}" for w in weights]
        else:
            say("aural biasing skipped: WhisperSettings has no hotword_weight here")
    if "torch-none" in specs and not has_whisper_biasing():
        specs.remove("torch-none")
    return specs


def has_whisper_biasing() -> bool:
    import dataclasses

    from aural.engines.whisper import WhisperSettings

    return "hotword_weight" in {f.name for f in dataclasses.fields(WhisperSettings)}


# -- scoring ---------------------------------------------------------------------------


def score_condition(
    run: dict[str, Any],
    refs: dict[str, str],
    lists: dict[str, list[str]],
    halves: dict[str, str],
    normalize: Callable[[str], str],
) -> dict[str, Any]:
    """WER, B-WER, U-WER and time per utterance of one condition, per split."""
    per_utt = {}
    for uid, item in run["utterances"].items():
        hyp = normalize(item["text"])
        per_utt[uid] = (biased_errors(refs[uid], hyp, set(lists[uid])), item, hyp)
    scores: dict[str, Any] = {}
    for split in SPLITS:
        chosen = [v for uid, v in per_utt.items() if split in ("all", halves[uid])]
        if not chosen:
            continue
        seconds = [item["seconds"] for _, item, _ in chosen]
        audio_s = sum(item["audio_s"] for _, item, _ in chosen)
        scores[split] = summarize([c for c, _, _ in chosen]) | {
            "utterances": len(chosen),
            "seconds_per_utterance": float(np.mean(seconds)),
            "rtf": sum(seconds) / audio_s if audio_s else 0.0,
        }
    return {"scores": scores, "hyps": {uid: v[2] for uid, v in per_utt.items()}}


def add_ratios(scored: dict[str, dict[str, Any]]) -> None:
    """Changes against ``none`` on each split: B-WER cut, U-WER rise, time ratio."""
    if "none" not in scored:
        return
    for cond in scored.values():
        for split, s in cond["scores"].items():
            base = scored["none"]["scores"].get(split)
            if base is None:
                continue
            s["b_wer_cut"] = (
                (base["b_wer"] - s["b_wer"]) / base["b_wer"] if base["b_wer"] else 0.0
            )
            s["u_wer_rise"] = s["u_wer"] - base["u_wer"]
            s["wer_change"] = s["wer"] - base["wer"]
            s["time_ratio"] = s["seconds_per_utterance"] / max(
                base["seconds_per_utterance"], 1e-9
            )


def choose_weight(scored: dict[str, dict[str, Any]]) -> str | None:
    """The aural weight with the lowest tuning-half WER (then B-WER, then smaller)."""
    candidates = [
        (s["scores"]["tune"]["wer"], s["scores"]["tune"]["b_wer"], float(c[6:]), c)
        for c, s in scored.items()
        if c.startswith("aural:") and "tune" in s["scores"]
    ]
    return min(candidates)[3] if candidates else None


def check_targets(s: dict[str, Any], base: dict[str, Any]) -> list[dict[str, Any]]:
    """Each issue-18 target with the measured value and whether it is met."""
    return [
        {
            "target": "B-WER cut >= 40 % relative to no list",
            "measured": f"{s['b_wer_cut']:.1%} "
            f"({base['b_wer']:.1%} -> {s['b_wer']:.1%})",
            "met": s["b_wer_cut"] >= TARGETS["b_wer_cut"],
        },
        {
            "target": "U-WER at most +0.5 points",
            "measured": f"{100 * s['u_wer_rise']:+.2f} points "
            f"({base['u_wer']:.2%} -> {s['u_wer']:.2%})",
            "met": s["u_wer_rise"] <= TARGETS["u_wer_rise"] + 1e-12,
        },
        {
            "target": "WER below no list",
            "measured": f"{base['wer']:.2%} -> {s['wer']:.2%}",
            "met": s["wer"] < base["wer"],
        },
        {
            "target": "time with a list at most 2x without",
            "measured": f"{s['time_ratio']:.2f}x ({base['seconds_per_utterance']:.3f}"
            f" -> {s['seconds_per_utterance']:.3f} s per utterance)",
            "met": s["time_ratio"] <= TARGETS["time_ratio"],
        },
    ]


def examples(
    scored: dict[str, dict[str, Any]],
    chosen: str,
    refs: dict[str, str],
    lists: dict[str, list[str]],
    limit: int = 6,
) -> list[dict[str, Any]]:
    """Utterances whose listed-word errors changed with the chosen weight."""
    out = []
    for uid, ref in refs.items():
        base, hyp = scored["none"]["hyps"].get(uid), scored[chosen]["hyps"].get(uid)
        if base is None or hyp is None or base == hyp:
            continue
        listed = set(lists[uid])
        before = biased_errors(ref, base, listed)["b_err"]
        after = biased_errors(ref, hyp, listed)["b_err"]
        if before != after:
            own = [w for w in lists[uid] if w in ref.split()]
            out.append(
                {"utt": uid, "own_words": own, "ref": ref, "none": base, chosen: hyp}
            )
        if len(out) >= limit:
            break
    return out


def run_whisper(
    args: argparse.Namespace,
    utts: Sequence[Utterance],
    refs: dict[str, str],
    lists: dict[str, list[str]],
    halves: dict[str, str],
    normalize: Callable[[str], str],
) -> dict[str, Any]:
    specs = conditions_to_run(args.conditions.split(","), args.weights)
    job = {
        "model": args.model,
        "beam_size": args.beam_size,
        "threads": args.threads,
        "utterances": [
            {"uid": u.uid, "path": str(u.path), "list": lists[u.uid]} for u in utts
        ],
    }
    scored: dict[str, dict[str, Any]] = {}
    failed: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="aural-hotwords-") as work:
        job_path = Path(work) / "job.json"
        job_path.write_text(json.dumps(job))
        for spec in specs:
            run = spawn(spec, job_path, Path(work), args.threads)
            if "error" in run:
                failed[spec] = run["error"]
                continue
            scored[spec] = score_condition(run, refs, lists, halves, normalize)
            scored[spec]["process"] = {
                "load_s": run["load_s"],  # model load + one warm-up decode
                "process_s": run["process_s"],
            }
    add_ratios(scored)
    chosen = choose_weight(scored)
    result: dict[str, Any] = {
        "conditions": {
            c: s["scores"] | {"process": s["process"]} for c, s in scored.items()
        },
        "chosen_weight": chosen,
        "failed": failed,
    }
    if "none" in scored:
        base = scored["none"]["scores"]
        for split in ("test", "all"):
            for cond in (chosen, "fw"):
                if cond in scored and split in base:
                    result.setdefault("targets", {}).setdefault(split, {})[cond] = (
                        check_targets(scored[cond]["scores"][split], base[split])
                    )
        if chosen:
            result["examples"] = examples(scored, chosen, refs, lists)
    return result


# -- ctc part (constructed posteriors) -------------------------------------------------


def constructed_posteriors(
    ref: str, common: set[str], vocab: list[str], rng: np.random.Generator
) -> np.ndarray:
    """Peaked CTC posteriors spelling ``ref``; rare words' letters are often
    confused."""
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
    utts: Sequence[Utterance],
    refs: dict[str, str],
    lists: dict[str, list[str]],
    common: set[str],
    beam_size: int,
    weight: float,
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
    for u in utts:
        ref = " ".join(w for w in refs[u.uid].split() if all(c in LETTERS for c in w))
        if not ref:
            continue
        lp = constructed_posteriors(ref, common, vocab, rng)
        frames += lp.shape[0]
        biased = set(lists[u.uid])
        rows["greedy"].append(biased_errors(ref, greedy.decode(lp)[0].text, biased))
        for cond, hot in (
            ("beam without list", None),
            ("beam with list", lists[u.uid]),
        ):
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


# -- report ----------------------------------------------------------------------------

CONDITION_NAMES = {
    "none": "no list (aural, CTranslate2)",
    "torch-none": "no list (aural, PyTorch decoder)",
    "fw-none": "no list (faster-whisper)",
    "fw": "faster-whisper `hotwords=`",
}


def _name(cond: str, chosen: str | None) -> str:
    if cond.startswith("aural:"):
        mark = " **(chosen on tune)**" if cond == chosen else ""
        return f"aural biasing, weight {cond[6:]}{mark}"
    return CONDITION_NAMES.get(cond, cond)


def _whisper_table(part: dict[str, Any], split: str) -> list[str]:
    lines = [
        "| condition | WER | B-WER | U-WER | B-WER cut | U-WER change | s / utterance "
        "| time vs no list |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for cond, by_split in part["conditions"].items():
        s = by_split.get(split)
        if s is None:
            continue
        # no listed word spoken (--absent): B-WER's errors are listed words inserted
        b_wer = (
            f"{s['b_wer']:.1%}"
            if s["biased_ref_words"]
            else f"n/a: {round(s['b_wer'])} listed words inserted"
        )
        lines.append(
            f"| {_name(cond, part['chosen_weight'])} | {s['wer']:.2%} | "
            f"{b_wer} | {s['u_wer']:.2%} | {s.get('b_wer_cut', 0):+.1%} | "
            f"{100 * s.get('u_wer_rise', 0):+.2f} pt | "
            f"{s['seconds_per_utterance']:.3f} | {s.get('time_ratio', 1):.2f}x |"
        )
    first = next((v[split] for v in part["conditions"].values() if split in v), None)
    if first:
        lines += [
            "",
            f"{first['utterances']} utterances; {first['biased_ref_words']} reference "
            f"words in the lists, {first['unbiased_ref_words']} not.",
        ]
    return lines


def _whisper_markdown(result: dict[str, Any]) -> list[str]:
    part = result["whisper"]
    w = part["setup"]
    lines = [
        "## Whisper",
        "",
        f"Model {w['model']} (int8), beam {w['beam_size']}, English, no VAD, no word "
        f"times, {w['threads']} thread(s) per decode, each condition in its own "
        f"process. Speakers split with seed {result['seed']}: {w['speakers']['tune']} "
        f"speakers ({w['utterances']['tune']} utterances) tune the weight, "
        f"{w['speakers']['test']} ({w['utterances']['test']}) test it.",
        "",
    ]
    for split, title in (
        ("test", "Test half (the weight was chosen on the other half)"),
        ("all", "All utterances"),
        ("tune", "Tuning half (where the weight was chosen)"),
    ):
        lines += [f"### {title}", "", *_whisper_table(part, split), ""]
    where = {"test": "the test half", "all": "all utterances"}
    for split, by_condition in part.get("targets", {}).items():
        for cond, rows in by_condition.items():
            lines += _targets_table(
                f"Targets on {where[split]}: {_name(cond, None)}", rows
            )
    if part.get("failed"):
        lines += [f"Failed conditions: {part['failed']}", ""]
    return lines


def _targets_table(title: str, rows: list[dict[str, Any]]) -> list[str]:
    return [
        f"### {title}",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        *(
            f"| {r['target']} | {r['measured']} | {'yes' if r['met'] else 'NO'} |"
            for r in rows
        ),
        "",
    ]


def write_markdown(result: dict[str, Any], out_dir: Path, name: str) -> None:
    absent = result.get("absent", False)
    lines = [
        "# Hotwords: contextual biasing on LibriSpeech (WER, B-WER, U-WER)"
        + (", lists of words not spoken" if absent else ""),
        "",
        f"Command: `{result['command']}` (commit {result['commit']}, "
        f"{result['device']}, {result['date']}).",
        "",
        *(
            [
                "**Absent protocol:** each list holds only distractors, none of them "
                "a word of its utterance, so B-WER is empty and every change is a "
                "cost: what biasing does to speech that contains none of the listed "
                "words.",
                "",
            ]
            if absent
            else []
        ),
        f"{result['utterances']} utterances of the shared LibriSpeech dev-clean + "
        f"train-clean-100. Each has a list of {result['list_size']} entries: its own "
        f"rare words (outside the {result['common_words']} most probable words of CMU "
        "Sphinx's en-us LM; letters only, longer than two letters, after the Whisper "
        "English normaliser) plus distractors drawn (seed "
        f"{result['seed']}) from the rare words of the other utterances.",
        "",
        "Metrics as in the contextual-biasing literature (Le et al. 2021; arXiv "
        "2508.17796): WER over all reference words; B-WER = errors on words in the "
        "list / reference words in the list; U-WER = errors on the other words / "
        "reference words not in the list. A substitution or deletion counts for the "
        "reference word's side, an insertion for B when the inserted word is in the "
        "list, else for U. Text normalised with aural's Whisper English normaliser. "
        "B-WER cut is relative to no list (aural, CTranslate2); U-WER change in "
        "points; time = wall seconds of the transcribe call per utterance (audio "
        "loaded; model load and one warm-up decode not counted; the list compiled on "
        "every call).",
        "",
    ]
    if "whisper" in result:
        lines += _whisper_markdown(result)
    if "ctc" in result:
        ctc = result["ctc"]
        lines += [
            "## CTC prefix beam search (CONSTRUCTED posteriors, see the script)",
            "",
            f"Beam {ctc['beam_size']}, hotword weight {ctc['hotword_weight']} per "
            f"character; {ctc['utterances']} utterances; decode seconds "
            f"{ctc['decode_seconds']}.",
            "",
            "| condition | WER | B-WER | U-WER |",
            "|---|---|---|---|",
            *(
                f"| {c} | {s['wer']:.1%} | {s['b_wer']:.1%} | {s['u_wer']:.1%} |"
                for c, s in ctc["conditions"].items()
            ),
            "",
        ]
    if absent:  # the targets are about listed words that are spoken: none here
        kept, skipping = [], False
        for line in lines:
            if line.startswith("#"):
                skipping = line.startswith("### Targets")
            if not skipping:
                kept.append(line)
        lines = [
            line.replace(
                "its own rare words", "(in the normal protocol) its own rare words"
            )
            for line in kept
        ]
    (out_dir / f"{name}.md").write_text("\n".join(lines))


# -- main ------------------------------------------------------------------------------


def _commit() -> str:
    """The commit, marked when src/aural or benchmarks/ differ from it."""
    commit = git_commit()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "src/aural", "benchmarks"],
        cwd=REPO,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"{commit} + uncommitted changes" if dirty else commit


def _parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--part", choices=("all", "whisper", "ctc"), default="all")
    parser.add_argument(
        "--conditions",
        default="none,torch-none,fw-none,fw,aural",
        help="whisper conditions: none, torch-none, fw-none, fw, aural",
    )
    parser.add_argument(
        "--weights",
        type=lambda s: [float(w) for w in s.split(",") if w.strip()],
        default=[0.5, 1.0, 1.5, 2.0, 3.0],
        help="aural's hotword_weight values (natural log per token)",
    )
    parser.add_argument("--limit", type=int, default=None, help="utterances to run")
    parser.add_argument("--list-size", type=int, default=100)
    parser.add_argument("--common", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--beam-size", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="threads per decode")
    parser.add_argument("--ctc-beam-size", type=int, default=16)
    parser.add_argument("--ctc-hotword-weight", type=float, default=1.0)
    parser.add_argument("--output-dir", type=Path, default=RESULTS)
    parser.add_argument(
        "--absent",
        action="store_true",
        help="lists of distractors only (none spoken) -> hotwords_absent.{json,md}",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--job", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _previous(path: Path) -> dict[str, Any]:
    """The parts of an earlier run of this protocol (kept when only one part runs)."""
    if not path.exists():
        return {}
    old = json.loads(path.read_text())
    if old.get("format") != RESULT_FORMAT:
        return {}
    return {k: old[k] for k in ("whisper", "ctc") if k in old}


def main() -> None:
    args = _parse_args()
    if args.worker:  # one whisper condition, in its own process
        job = json.loads(args.job.read_text())
        args.out.write_text(json.dumps(run_condition(args.worker, job)))
        return
    from aural.text.normalizers import get_normalizer

    normalize = get_normalizer("whisper")
    every = utterances()
    refs = {u.uid: normalize(u.text) for u in every}
    common = common_words(args.common)
    lists = bias_lists(refs, common, args.list_size, args.seed, args.absent)
    name = "hotwords_absent" if args.absent else "hotwords"
    halves = split_speakers(every, args.seed)
    utts = pick(every, halves, args.limit, args.seed)
    out_dir = args.output_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = _previous(out_dir / f"{name}.json") | {
        "absent": args.absent,
        "format": RESULT_FORMAT,
        "command": "python benchmarks/hotwords_librispeech.py "
        + " ".join(sys.argv[1:]),
        "commit": _commit(),
        "device": f"{platform.machine()} CPU, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"),
        "utterances": len(utts),
        "list_size": args.list_size,
        "common_words": args.common,
        "seed": args.seed,
        "mean_own_rare_words": float(
            np.mean([len(rare_words(refs[u.uid], common)) for u in utts])
        ),
    }
    if args.part in ("all", "ctc"):
        result["ctc"] = run_ctc(
            utts, refs, lists, common, args.ctc_beam_size, args.ctc_hotword_weight
        )
        say("ctc " + json.dumps(result["ctc"]["conditions"], indent=1))
    if args.part in ("all", "whisper"):
        result["whisper"] = run_whisper(args, utts, refs, lists, halves, normalize)
        result["whisper"]["setup"] = _setup(args, utts, halves)
        say("whisper " + json.dumps(result["whisper"]["conditions"], indent=1))
    (out_dir / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    write_markdown(result, out_dir, name)


def _setup(
    args: argparse.Namespace, utts: Sequence[Utterance], halves: dict[str, str]
) -> dict[str, Any]:
    import ctranslate2
    import faster_whisper

    count = {h: [u for u in utts if halves[u.uid] == h] for h in ("tune", "test")}
    return {
        "model": args.model,
        "beam_size": args.beam_size,
        "threads": args.threads,
        "weights": args.weights,
        "speakers": {h: len({u.speaker for u in us}) for h, us in count.items()},
        "utterances": {h: len(us) for h, us in count.items()},
        "versions": {
            "python": platform.python_version(),
            "ctranslate2": ctranslate2.__version__,
            "faster_whisper": faster_whisper.__version__,
        },
    }


if __name__ == "__main__":
    main()
