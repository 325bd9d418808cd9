"""Language identification, auto-language transcription and code-switching on the
shared multilingual clips (issue 20): aural against faster-whisper, same model, same
clips, one run.

Data: the 86 clips of ``../shared/data/multilingual`` (18 languages plus English,
FLEURS, Common Voice, MLS, CSS10, AISHELL-1, the Arabic Speech Corpus, NST Swedish),
loaded once at 16 kHz. Nothing in aural was tuned on them: the detection rules
(:mod:`aural.engines.whisper.language`: VAD speech, the trimmed window, the vote
weights, the hysteresis thresholds) were fixed before this script ran.

Model: Whisper base (the ``aural[base]`` registry package), int8 on the CPU, the same
folder for both systems, ``--threads`` threads each, one decode at a time; the systems
take turns clip by clip, so both see the same machine load (the machine is shared with
other work: compare the systems' ratios, not absolute times).

1. Language ID, per clip, in three conditions: ``plain``; ``silence`` (35 s of digital
   silence before the clip); ``noise`` (35 s of recorded noise before it, at the clip's
   own RMS level, i.e. 0 dB; the noise files of ``../shared/data/noise`` longer than
   8 s and not from ESC-50, in turn, looped to length).
   * aural: ``Recognizer(model="base").detect_language(waveform)`` (VAD on, the
     default).
   * faster-whisper: ``WhisperModel.detect_language(audio, vad_filter=True)`` (with
     VAD, the target's reference) and ``vad_filter=False`` (its default).
   Whisper base has no Cantonese token (large-v3 added ``yue``): for the one ``yue``
   clip, ``zh`` counts as right for every system.
2. Transcription of the plain clips (beam 5, temperature fallback): aural with the
   language detected (``language=None``), aural told the language, faster-whisper
   (``WhisperModel.transcribe``, its defaults, VAD off) told the language. Scored per
   language with aural's multilingual normaliser (``aural.text.normalizer_for``: the
   English one for ``en``; Arabic vowel points removed), by words, or by characters for
   zh, ja, th, yue (``aural.text.multilingual.scoring_units``). The yue clip is given
   ``zh`` where a language is given. RTF = decode wall time / audio seconds.
3. Code-switching: ``--switch-recordings`` recordings of three FLEURS clips A, B, A'
   (two languages, each clip scaled to the same peak level, 1 s of silence between
   them), pairs drawn with a fixed seed. aural with ``language_per_segment=True``; a
   switch is found when the first segment in the new language starts within 1 s of
   where that clip's speech starts (its first VAD region); the table counts found
   switches, the mean distance, and segments in the wrong language.

4. ``--unsure``: only the inputs whose detection is unsure (top probability below
   :data:`aural.engines.whisper.language.UNSURE`, found by one ``detect_language`` pass
   over every clip, and with ``--cut-s S`` also over each clip's first S seconds).
   Each is transcribed by aural auto (which settles an unsure detection by decoding
   the candidate languages), by aural in the head's top language (what auto did before
   the settling: the previous behaviour), by aural given the language, and by
   faster-whisper given it; the section "Unsure detections" of ``--output`` is
   replaced (the rest of the file is kept). Confident inputs are not re-run: their
   path does not change (no candidate decode when the top probability is 0.5 or more).

    python benchmarks/multilingual_lid.py [--threads 2] [--limit N]
        [--switch-recordings 8] [--output benchmarks/results/multilingual_lid.md]
    python benchmarks/multilingual_lid.py --unsure [--cut-s 2]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from _common import REPO, git_commit, shared_data

from aural import Recognizer
from aural.audio.load import load
from aural.audio.vad import speech_regions
from aural.audio.waveform import SAMPLE_RATE, Waveform
from aural.decoding.options import DecodeOptions
from aural.engines.whisper.models import resolve_whisper_model
from aural.evaluation.metrics import align_words
from aural.text.multilingual import normalizer_for, scoring_units, uses_cer

LEAD_S = 35.0
NOISE_MIN_S = 8.0
CONDITIONS = ("plain", "silence", "noise")
SYSTEMS_LID = ("aural", "fw_vad", "fw")
LABELS = {"aural": "aural", "fw_vad": "fw+VAD", "fw": "fw"}
SYSTEMS_ASR = ("aural_auto", "aural_given", "fw_given")
SWITCH_TOLERANCE_S = 1.0
GAP_S = 1.0


@dataclass
class Clip:
    audio: str
    language: str
    text: str
    samples: np.ndarray

    @property
    def duration(self) -> float:
        return self.samples.size / SAMPLE_RATE

    @property
    def model_language(self) -> str:
        """The language to give Whisper base (no ``yue`` token)."""
        return "zh" if self.language == "yue" else self.language


@dataclass
class Tally:
    right: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    seconds: float = 0.0
    audio: float = 0.0


def lid_right(clip: Clip, detected: str | None) -> bool:
    return detected == clip.model_language or detected == clip.language


def read_clips(folder: Path, limit: int | None) -> list[Clip]:
    rows = [json.loads(x) for x in (folder / "manifest.jsonl").read_text().splitlines()]
    if limit:
        rows = rows[:: max(1, len(rows) // limit)][:limit]
    return [
        Clip(
            r["audio"],
            r["language"],
            r["text"],
            load(folder / r["audio"], SAMPLE_RATE).samples,
        )
        for r in rows
    ]


def noise_bank(folder: Path) -> list[np.ndarray]:
    out = []
    for line in (folder / "files.tsv").read_text().splitlines()[1:]:
        name, duration, *_ = line.split("\t")
        source = line.split("\t")[-1]
        if float(duration) < NOISE_MIN_S or "ESC50" in source:
            continue
        out.append(load(folder / name, SAMPLE_RATE).samples)
    return out


def with_lead(clip: Clip, condition: str, noise: np.ndarray) -> np.ndarray:
    n = int(LEAD_S * SAMPLE_RATE)
    if condition == "plain":
        return clip.samples
    if condition == "silence":
        lead = np.zeros(n, np.float32)
    else:
        lead = np.resize(noise, n).astype(np.float32)
        rms = float(np.sqrt(np.mean(np.square(clip.samples, dtype=np.float64))))
        lead_rms = float(np.sqrt(np.mean(np.square(lead, dtype=np.float64)))) or 1.0
        lead = lead * (rms / lead_rms)
    return np.concatenate([lead, clip.samples]).astype(np.float32)


def timed(fn: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def lid_clip(
    rec: Recognizer,
    fw: Any,
    clip: Clip,
    noise: np.ndarray,
    tallies: dict[str, dict[str, Tally]],
    systems: tuple[str, ...],
) -> None:
    """Detect ``clip``'s language in every condition with every system."""
    for condition in CONDITIONS:
        audio = with_lead(clip, condition, noise)
        wave = Waveform(audio, SAMPLE_RATE)
        runs = {
            "aural": lambda wave=wave: _top(rec.detect_language(wave, top_k=1)),
            "fw_vad": lambda audio=audio: fw.detect_language(audio, vad_filter=True)[0],
            "fw": lambda audio=audio: fw.detect_language(audio)[0],
        }
        for system in systems:
            detected, seconds = timed(runs[system])
            tally = tallies[condition][system]
            tally.right[clip.language].append(lid_right(clip, detected))
            tally.seconds += seconds
            tally.audio += audio.size / SAMPLE_RATE


def _top(ranked: list[tuple[str, float]]) -> str | None:
    return ranked[0][0] if ranked else None


@dataclass
class AsrResult:
    errors: dict[str, list[tuple[int, int]]] = field(
        default_factory=lambda: defaultdict(list)
    )  # language -> per clip (errors, reference units)
    lid: list[bool] = field(default_factory=list)
    seconds: float = 0.0
    audio: float = 0.0


def score(clip: Clip, hypothesis: str) -> tuple[int, int]:
    norm = normalizer_for(clip.language)
    ref = scoring_units(norm(clip.text), clip.language)
    hyp = scoring_units(norm(hypothesis), clip.language)
    counts = align_words(ref, hyp).counts
    return counts.substitutions + counts.deletions + counts.insertions, len(ref)


def asr_clip(
    rec: Recognizer, fw: Any, clip: Clip, results: dict[str, AsrResult]
) -> None:
    """Transcribe ``clip`` with every system and score it."""
    wave = Waveform(clip.samples, SAMPLE_RATE)
    given = DecodeOptions(language=clip.model_language)
    t_auto, s_auto = timed(lambda: rec.transcribe(wave, DecodeOptions()))
    t_given, s_given = timed(lambda: rec.transcribe(wave, given))

    def faster() -> str:
        segments, _ = fw.transcribe(
            clip.samples, language=clip.model_language, beam_size=5
        )
        return " ".join(s.text.strip() for s in segments)

    fw_text, s_fw = timed(faster)
    for system, text, seconds in (
        ("aural_auto", t_auto.text, s_auto),
        ("aural_given", t_given.text, s_given),
        ("fw_given", fw_text, s_fw),
    ):
        result = results[system]
        result.errors[clip.language].append(score(clip, text))
        result.seconds += seconds
        result.audio += clip.duration
    results["aural_auto"].lid.append(lid_right(clip, t_auto.info.language))


def interleaved(clips: list[Clip]) -> list[Clip]:
    """The clips round-robin over languages, so a run stopped by its time budget
    still covers every language."""
    by: dict[str, list[Clip]] = defaultdict(list)
    for clip in clips:
        by[clip.language].append(clip)
    out: list[Clip] = []
    while any(by.values()):
        for lang in sorted(by):
            if by[lang]:
                out.append(by[lang].pop(0))
    return out


@dataclass
class Switch:
    languages: tuple[str, str]
    expected: list[float]  # where each new language's speech starts
    found: list[float | None]  # first segment start in that language after the last
    wrong_segments: int
    segments: int


def normalised(samples: np.ndarray) -> np.ndarray:
    return (0.5 * samples / max(float(np.abs(samples).max()), 1e-6)).astype(np.float32)


def run_switches(rec: Recognizer, clips: list[Clip], count: int) -> list[Switch]:
    fleurs: dict[str, list[Clip]] = defaultdict(list)
    for clip in clips:
        if clip.audio.startswith("clips/fleurs_") and clip.language != "yue":
            fleurs[clip.language].append(clip)
    pairs = sorted(lang for lang, found in fleurs.items() if len(found) >= 2)
    if len(pairs) < 2:
        return []
    rng = random.Random(20)
    out = []
    gap = np.zeros(int(GAP_S * SAMPLE_RATE), np.float32)
    for k in range(count):
        a, b = rng.sample(pairs, 2)
        first, third = rng.sample(fleurs[a], 2)
        second = rng.choice(fleurs[b])
        parts = [normalised(c.samples) for c in (first, second, third)]
        starts, offset = [], 0.0
        for part in parts:
            regions = speech_regions(Waveform(part, SAMPLE_RATE))
            starts.append(offset + (regions[0][0] if regions else 0.0))
            offset += part.size / SAMPLE_RATE + GAP_S
        audio = np.concatenate([parts[0], gap, parts[1], gap, parts[2]])
        transcript = rec.transcribe(
            Waveform(audio, SAMPLE_RATE), DecodeOptions(language_per_segment=True)
        )
        bounds = [starts[1] - GAP_S, starts[2] - GAP_S]  # the joins
        langs = [(a, 0.0, bounds[0]), (b, bounds[0], bounds[1]), (a, bounds[1], 1e9)]
        wrong = sum(
            1
            for seg in transcript.segments
            for lang, lo, hi in langs
            if lo <= (seg.start + seg.end) / 2 < hi and seg.language != lang
        )
        found: list[float | None] = []
        for lang, expected in ((b, starts[1]), (a, starts[2])):
            after = [
                s.start
                for s in transcript.segments
                if s.language == lang and s.start >= expected - 3.0
            ]
            found.append(min(after) if after else None)
        out.append(Switch((a, b), starts[1:], found, wrong, len(transcript.segments)))
        sys.stderr.write(f"switch {k + 1}/{count} {a}-{b}\n")
    return out


def pct(values: list[bool]) -> str:
    return f"{100 * sum(values) / len(values):.1f}" if values else "-"


def rate(pairs: list[tuple[int, int]]) -> float:
    errors, units = sum(e for e, _ in pairs), sum(n for _, n in pairs)
    return errors / units if units else 0.0


def clip_mean(pairs: list[tuple[int, int]]) -> float:
    return float(np.mean([e / n for e, n in pairs if n])) if pairs else 0.0


def report(
    clips: list[Clip],
    lid: dict[str, dict[str, Tally]],
    asr: dict[str, AsrResult],
    switches: list[Switch],
    command: str,
    threads: int,
    systems: tuple[str, ...],
    total: int,
) -> str:
    languages = sorted({c.language for c in clips})
    counts = defaultdict(int)
    for c in clips:
        counts[c.language] += 1
    lines = [
        "# Language ID, auto-language transcription and code-switching (issue 20)",
        "",
        f"Commit `{git_commit()}`. Command: `{command}`.",
        "",
        f"Whisper base (aural[base] registry package), int8, CPU, {threads} threads "
        "per system, one decode at a time, systems taking turns clip by clip on a "
        "machine shared with other work: compare ratios within this run, not "
        "absolute times. "
        f"{len(clips)} of the {total} clips of ../shared/data/multilingual, "
        f"{sum(c.duration for c in clips) / 60:.1f} min. See the script's docstring "
        "for the protocol.",
        "",
        "## Language ID accuracy (%)",
        "",
        "aural = `Recognizer.detect_language` (VAD on); fw+VAD = faster-whisper "
        "`detect_language(vad_filter=True)`; fw = its default (no VAD). Leading: 35 s "
        "of silence or of recorded noise at the clip's level before the clip.",
        "",
        "| language | clips | "
        + " | ".join(f"{c} {LABELS[s]}" for c in CONDITIONS for s in systems)
        + " |",
        "|---|---:|" + "---:|" * (len(systems) * len(CONDITIONS)),
    ]
    for lang in languages:
        cells = []
        for c in CONDITIONS:
            cells += [pct(lid[c][s].right[lang]) for s in systems]
        lines.append(f"| {lang} | {counts[lang]} | " + " | ".join(cells) + " |")
    cells = []
    for c in CONDITIONS:
        cells += [
            f"**{pct([x for v in lid[c][s].right.values() for x in v])}**"
            for s in systems
        ]
    lines.append(f"| **all** | {len(clips)} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Detection time, RTF (seconds per second of audio, leading audio included):",
        "",
        "| condition | "
        + " | ".join(LABELS[s] for s in systems)
        + " | aural / fw+VAD |",
        "|---|" + "---:|" * (len(systems) + 1),
    ]
    for c in CONDITIONS:
        r = {s: lid[c][s].seconds / max(lid[c][s].audio, 1e-9) for s in systems}
        lines.append(
            f"| {c} | "
            + " | ".join(f"{r[s]:.4f}" for s in systems)
            + f" | {r['aural'] / max(r['fw_vad'], 1e-9):.2f} |"
        )
    lines += [
        "",
        "## WER / CER per language (%), beam 5",
        "",
        "aural auto = language detected (`language=None`); aural given / fw given = "
        "told the language. CER (characters) for zh, ja, th, yue; WER otherwise. "
        "Pooled over the language's clips.",
        "",
        "| language | clips | unit | aural auto | aural given | fw given |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for lang in languages:
        unit = "CER" if uses_cer(lang) else "WER"
        cells = [f"{100 * rate(asr[s].errors[lang]):.1f}" for s in SYSTEMS_ASR]
        lines.append(
            f"| {lang} | {counts[lang]} | {unit} | " + " | ".join(cells) + " |"
        )
    every = {s: [p for v in asr[s].errors.values() for p in v] for s in SYSTEMS_ASR}
    lines.append(
        f"| **all, mean over clips** | {len(clips)} | WER/CER | "
        + " | ".join(f"{100 * clip_mean(every[s]):.1f}" for s in SYSTEMS_ASR)
        + " |"
    )
    rtf = {s: asr[s].seconds / asr[s].audio for s in SYSTEMS_ASR}
    lines += [
        "",
        "| | aural auto | aural given | fw given |",
        "|---|---:|---:|---:|",
        "| RTF | " + " | ".join(f"{rtf[s]:.4f}" for s in SYSTEMS_ASR) + " |",
        "",
        f"aural auto / aural given = **{rtf['aural_auto'] / rtf['aural_given']:.2f}x**"
        f"; aural auto / fw given = **{rtf['aural_auto'] / rtf['fw_given']:.2f}x**. "
        f"Language right in aural auto's transcripts: {pct(asr['aural_auto'].lid)} %. "
        "Clips whose auto and given transcripts differ: "
        f"{differing(asr)} of {len(clips)}.",
        "",
        "## Code-switching (`language_per_segment=True`)",
        "",
        f"{len(switches)} recordings A-B-A' of FLEURS clips (1 s of silence between "
        "them); a switch is found when the first segment in the new language starts "
        f"within {SWITCH_TOLERANCE_S:.0f} s of that clip's speech.",
        "",
        "| recording | languages | switch 1 error (s) | switch 2 error (s) | "
        "segments | in the wrong language |",
        "|---|---|---:|---:|---:|---:|",
    ]
    distances = []
    for k, sw in enumerate(switches, 1):
        cells = []
        for expected, found in zip(sw.expected, sw.found, strict=True):
            if found is None:
                cells.append("missed")
                distances.append(None)
            else:
                cells.append(f"{found - expected:+.2f}")
                distances.append(abs(found - expected))
        lines.append(
            f"| {k} | {sw.languages[0]}-{sw.languages[1]}-{sw.languages[0]} | "
            + " | ".join(cells)
            + f" | {sw.segments} | {sw.wrong_segments} |"
        )
    within = [d is not None and d <= SWITCH_TOLERANCE_S for d in distances]
    found_d = [d for d in distances if d is not None]
    lines += [
        "",
        f"Switches found within {SWITCH_TOLERANCE_S:.0f} s: {sum(within)} of "
        f"{len(within)}; mean distance {np.mean(found_d) if found_d else 0:.2f} s; "
        f"segments in the wrong language: {sum(s.wrong_segments for s in switches)} "
        f"of {sum(s.segments for s in switches)}.",
        "",
    ]
    return "\n".join(lines)


def differing(asr: dict[str, AsrResult]) -> int:
    return sum(
        1
        for lang, pairs in asr["aural_auto"].errors.items()
        for p, q in zip(pairs, asr["aural_given"].errors[lang], strict=True)
        if p != q
    )


UNSURE_HEADING = "## Unsure detections settled by decoding"


def best_of(repeat: int, fn: Any) -> tuple[Any, float]:
    """``fn()`` and its shortest time over ``repeat`` runs (the least disturbed by
    the shared machine's load)."""
    runs = [timed(fn) for _ in range(max(1, repeat))]
    return runs[0][0], min(seconds for _, seconds in runs)


def run_unsure(
    rec: Recognizer, fw: Any, clips: list[Clip], cut_s: float | None, repeat: int
) -> tuple[list[dict[str, Any]], int]:
    """The unsure inputs (see the docstring, 4) and how many inputs were checked."""
    from aural.engines.whisper.language import UNSURE, candidates

    inputs: list[tuple[str, Clip]] = [("whole", c) for c in clips]
    if cut_s:
        n = int(cut_s * SAMPLE_RATE)
        inputs += [
            (f"first {cut_s:g} s", Clip(c.audio, c.language, c.text, c.samples[:n]))
            for c in clips
        ]
    rows = []
    for kind, clip in inputs:
        wave = Waveform(clip.samples, SAMPLE_RATE)
        ranked = rec.detect_language(wave)
        if not ranked or ranked[0][1] >= UNSURE:
            continue
        given = DecodeOptions(language=clip.model_language)
        auto, s_auto = best_of(
            repeat, lambda wave=wave: rec.transcribe(wave, DecodeOptions())
        )
        head = rec.transcribe(wave, DecodeOptions(language=ranked[0][0]))
        told, s_given = best_of(
            repeat, lambda wave=wave, given=given: rec.transcribe(wave, given)
        )

        def faster(clip: Clip = clip) -> str:
            segments, _ = fw.transcribe(
                clip.samples, language=clip.model_language, beam_size=5
            )
            return " ".join(s.text.strip() for s in segments)

        _, s_fw = best_of(repeat, faster)
        rows.append(
            {
                "clip": clip.audio.removeprefix("clips/"),
                "clip_obj": clip,
                "kind": kind,
                "language": clip.language,
                "seconds": clip.duration,
                "head": ranked[0],
                "candidates": candidates(tuple(ranked)),
                "auto": (auto.info.language, auto.info.language_probability),
                "errors": {
                    "before": score(clip, head.text),
                    "auto": score(clip, auto.text),
                    "given": score(clip, told.text),
                },
                "same_before": head.text == told.text,
                "same_auto": auto.text == told.text,
                "time": {"auto": s_auto, "given": s_given, "fw": s_fw},
            }
        )
        sys.stderr.write(f"unsure: {kind} {clip.audio} {ranked[:3]}\n")
    return rows, len(inputs)


def unsure_report(
    rows: list[dict[str, Any]], checked: int, command: str, threads: int
) -> str:
    lines = [
        UNSURE_HEADING,
        "",
        f"Commit `{git_commit()}`. Command: `{command}`.",
        "",
        f"Inputs checked: {checked}; unsure (language head's top probability below "
        f"0.5): {len(rows)}. Only these are re-run: on every other input auto takes "
        "the head's top language exactly as before (no candidate decode runs when the "
        "top probability is 0.5 or more), so its transcript is unchanged by "
        "construction. *before* = decoded in the head's top language (what auto did "
        "before the settling), *auto* = decoded in each candidate language on the same "
        "encoder output and the likeliest (best average log probability per token) "
        "kept; the probability shown is the head's for the language kept. Errors are "
        "WER (CER for zh, ja, th, yue) units against the reference (for a first-"
        "seconds cut the reference is still the whole clip's text, so only the "
        "columns = given mean much there); = given: the transcript equals the "
        f"language-given one. Whisper base int8, {threads} "
        "threads, beam 5, the machine shared with other work (ratios within the run; "
        "each time the shortest of --repeat runs).",
        "",
        "| input | language | head's top | candidates | auto chose | errors before / "
        "auto / given (of ref) | = given before | = given auto |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        e = r["errors"]
        lines.append(
            f"| {r['clip']} ({r['kind']}, {r['seconds']:.1f} s) | {r['language']} "
            f"| {r['head'][0]} {r['head'][1]:.3f} | {', '.join(r['candidates'])} "
            f"| {r['auto'][0]} {r['auto'][1]:.3f} "
            f"| {e['before'][0]} / {e['auto'][0]} / {e['given'][0]} ({e['given'][1]}) "
            f"| {'yes' if r['same_before'] else 'no'} "
            f"| {'yes' if r['same_auto'] else 'no'} |"
        )
    fixed = sum(1 for r in rows if r["same_auto"] and not r["same_before"])
    broken = sum(1 for r in rows if r["same_before"] and not r["same_auto"])
    same_before = sum(r["same_before"] for r in rows)
    same_auto = sum(r["same_auto"] for r in rows)
    lang_before = sum(lid_right(r["clip_obj"], r["head"][0]) for r in rows)
    lang_auto = sum(lid_right(r["clip_obj"], r["auto"][0]) for r in rows)
    audio = sum(r["seconds"] for r in rows) or 1.0
    t = {k: sum(r["time"][k] for r in rows) / audio for k in ("auto", "given", "fw")}
    lines += [
        "",
        f"Equal to the language-given transcript: before {same_before} of "
        f"{len(rows)}, auto {same_auto} of {len(rows)} "
        f"(fixed {fixed}, right before and wrong now **{broken}**). Language "
        f"right: before {lang_before} of {len(rows)}, auto {lang_auto} of "
        f"{len(rows)}.",
        "",
        "| RTF on the unsure inputs | aural auto | aural given | fw given |",
        "|---|---:|---:|---:|",
        f"| | {t['auto']:.4f} | {t['given']:.4f} | {t['fw']:.4f} |",
        "",
        f"aural auto / aural given = **{t['auto'] / max(t['given'], 1e-9):.2f}x** "
        f"(the detection step plus the candidate decodes); aural auto / fw given = "
        f"**{t['auto'] / max(t['fw'], 1e-9):.2f}x**.",
        "",
    ]
    return "\n".join(lines)


def replace_section(path: Path, heading: str, section: str) -> str:
    """``path``'s text with the ``heading`` section (up to the next ``## ``) replaced
    by ``section``, or ``section`` appended."""
    text = path.read_text() if path.exists() else ""
    start = text.find(heading)
    if start < 0:
        return text.rstrip("\n") + "\n\n" + section
    end = text.find("\n## ", start + len(heading))
    rest = text[end + 1 :] if end >= 0 else ""
    return text[:start] + section + ("\n" + rest if rest else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--switch-recordings", type=int, default=8)
    parser.add_argument(
        "--fw-no-vad",
        action="store_true",
        help="also faster-whisper's detect_language without VAD",
    )
    parser.add_argument(
        "--budget-min",
        type=float,
        default=None,
        help="start no new clip after this many minutes (clips go round-robin over "
        "languages, so a cut run still covers each)",
    )
    parser.add_argument(
        "--output", type=Path, default=REPO / "benchmarks/results/multilingual_lid.md"
    )
    parser.add_argument(
        "--unsure",
        action="store_true",
        help="only the inputs whose detection is unsure: replace that section",
    )
    parser.add_argument(
        "--cut-s",
        type=float,
        default=None,
        help="with --unsure: also check each clip's first CUT_S seconds",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="with --unsure: time each decode this many times, keep the shortest",
    )
    args = parser.parse_args()
    from faster_whisper import WhisperModel

    data = shared_data()
    clips = interleaved(read_clips(data / "multilingual", args.limit))
    noises = noise_bank(data / "noise")
    systems = SYSTEMS_LID if args.fw_no_vad else SYSTEMS_LID[:2]
    rec = Recognizer(model="base", cpu_threads=args.threads, num_workers=1)
    fw = WhisperModel(
        str(resolve_whisper_model("base")),
        compute_type="int8",
        cpu_threads=args.threads,
    )
    warm = clips[0].samples
    rec.transcribe(Waveform(warm, SAMPLE_RATE))
    list(fw.transcribe(warm)[0])
    command = "python benchmarks/multilingual_lid.py " + " ".join(sys.argv[1:])
    if args.unsure:
        rows, checked = run_unsure(rec, fw, clips, args.cut_s, args.repeat)
        section = unsure_report(rows, checked, command.strip(), args.threads)
        args.output.write_text(replace_section(args.output, UNSURE_HEADING, section))
        sys.stdout.write(section)
        return
    lid = {c: {s: Tally() for s in systems} for c in CONDITIONS}
    asr = {s: AsrResult() for s in SYSTEMS_ASR}
    done: list[Clip] = []
    t0 = time.perf_counter()
    for i, clip in enumerate(clips):
        if args.budget_min and time.perf_counter() - t0 > 60 * args.budget_min:
            break
        lid_clip(rec, fw, clip, noises[i % len(noises)], lid, systems)
        asr_clip(rec, fw, clip, asr)
        done.append(clip)
        sys.stderr.write(
            f"{i + 1}/{len(clips)} {clip.audio} ({time.perf_counter() - t0:.0f} s)\n"
        )
    switches = run_switches(rec, clips, args.switch_recordings)
    text = report(
        done, lid, asr, switches, command.strip(), args.threads, systems, len(clips)
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
