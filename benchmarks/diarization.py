"""Speaker diarization (issue 21): DER, speaker counts, word attribution and speed.

Simulated conversations of 2, 3 and 4 speakers (clean, 10 % overlap, noise at 15 dB)
are built from the LibriSpeech train-clean-100 speakers of the *test* half (the
tuning half never appears here; ``--split tune`` measures that half, for tuning), and
the 10 real AMI excerpts. Every system in the table uses the same VAD and the same
resemblyzer embeddings:

- ``aural`` - the speaker count unknown (average linkage, then merging with a bar
  that rises with the smaller cluster's size);
- ``aural, told the count``;
- ``k-means, true count`` - the plain baseline, no resegmentation;
- ``k-means, true count, + overlap step`` - the baseline with aural's overlap step
  (turns extended across changes without a pause), to separate the two gains;
- ``one speaker`` - every VAD region given to one speaker.

DER is NIST md-eval's (aural.evaluation.diarization), summed over files, at collar
0.25 s and 0, overlap scored. RTF is the diarizer's wall time (VAD, embeddings,
clustering; models loaded beforehand) over the audio duration.

Usage:
    python benchmarks/diarization.py [--num 10] [--split test] [--wder N]
        [--output benchmarks/results/diarization]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from _common import git_commit, shared_data

from aural.audio import load
from aural.data import load_dataset
from aural.diarization import DiarizationOptions, Diarizer, read_rttm, read_uem
from aural.diarization.pipeline import label_windows
from aural.diarization.simulate import (
    ConversationOptions,
    simulate_conversation,
    speakers_of,
    split_speakers,
)
from aural.evaluation.diarization import (
    diarization_error_rate,
    speaker_count_accuracy,
    word_speaker_error,
)
from aural.types import Turn

CONDITIONS = {
    "clean": {},
    "overlap 10 %": {"overlap": 0.1},
    "noise 15 dB": {"snr_db": 15.0},
}
SYSTEMS = (
    "aural",
    "aural, told the count",
    "k-means, true count",
    "k-means, true count, + overlap step",
    "one speaker",
)
TARGETS = {  # issue 21, speaker count unknown
    "clean": "DER(0.25) <= 6 %, count right >= 80 %",
    "overlap 10 %": "DER(0.25) <= 12 %",
    "noise 15 dB": "DER(0.25) <= 12 %",
}


def _noises(root: Path) -> list[np.ndarray]:
    out = []
    for p in sorted((root / "noise").glob("*.wav")):
        try:
            out.append(np.asarray(load(p).samples, dtype=np.float32))
        except Exception:  # noqa: BLE001 - a benchmark skips unreadable noise files
            continue
    return out


def _systems(trace, k: int, options: DiarizationOptions) -> dict[str, list[Turn]]:
    told = label_windows(
        trace.regions,
        trace.windows,
        trace.embeddings,
        replace(options, num_speakers=k),
        levels=trace.levels,
    )[2]
    baseline = replace(options, num_speakers=k, clustering="kmeans")
    kmeans = label_windows(trace.regions, trace.windows, trace.embeddings, baseline)[2]
    kmeans_overlap = label_windows(
        trace.regions, trace.windows, trace.embeddings, baseline, levels=trace.levels
    )[2]
    one = [Turn(s, e, "S1") for s, e in trace.regions]
    return {
        "aural": list(trace.turns),
        "aural, told the count": told,
        "k-means, true count": kmeans,
        "k-means, true count, + overlap step": kmeans_overlap,
        "one speaker": one,
    }


def _score(refs, hyps, uem=None) -> dict[str, float]:
    c25, _ = diarization_error_rate(refs, hyps, uem=uem, collar=0.25)
    c0, _ = diarization_error_rate(refs, hyps, uem=uem, collar=0.0)
    return {
        "der_c025": c25.der,
        "der_c0": c0.der,
        "miss_c025": c25.miss / c25.total,
        "fa_c025": c25.false_alarm / c25.total,
        "conf_c025": c25.confusion / c25.total,
        "count_acc": speaker_count_accuracy(refs, hyps),
    }


def _simulated(args, diarizer: Diarizer, root: Path) -> tuple[dict, dict]:
    manifest = load_dataset(root / "LibriSpeech" / "train-clean-100")
    tune, test = split_speakers(sorted(speakers_of(manifest)))
    pool = test if args.split == "test" else tune
    noises = _noises(root)
    results, conversations = {}, {}
    for condition, changes in CONDITIONS.items():
        for k in args.speakers:
            refs, hyps = {}, {s: {} for s in SYSTEMS}
            audio_s = wall_s = 0.0
            for i in range(args.num):
                rng = np.random.default_rng([args.seed, k, i, len(condition)])
                chosen = [pool[j] for j in rng.choice(len(pool), k, replace=False)]
                conv = simulate_conversation(
                    manifest,
                    chosen,
                    ConversationOptions(num_speakers=k, max_turn_s=4.0, **changes),
                    rng,
                    noises=noises,
                )
                name = f"{condition}/{k}/{i}"
                t0 = time.perf_counter()
                trace = diarizer.trace(conv.waveform)
                wall_s += time.perf_counter() - t0
                audio_s += trace.duration
                refs[name] = list(conv.reference)
                for system, turns in _systems(trace, k, diarizer.options).items():
                    hyps[system][name] = turns
                conversations[name] = (conv, trace)
            for system in SYSTEMS:
                row = _score(refs, hyps[system])
                if system == "aural":
                    row["rtf"] = wall_s / audio_s
                    row["audio_s"] = audio_s
                results[(condition, k, system)] = row
            sys.stderr.write(
                f"{condition:13s} {k} spk: DER(0.25) "
                + ", ".join(
                    f"{s} {results[(condition, k, s)]['der_c025']:.3f}" for s in SYSTEMS
                )
                + f"; count {results[(condition, k, 'aural')]['count_acc']:.2f}"
                f"; RTF {wall_s / audio_s:.4f}\n"
            )
    return results, conversations


def _ami(diarizer: Diarizer, root: Path) -> dict[str, dict[str, float]]:
    folder = root / "diarization"
    rows = [
        json.loads(line)
        for line in (folder / "manifest.jsonl").read_text().splitlines()
        if line
    ]
    refs, uems, hyps = {}, {}, {s: {} for s in SYSTEMS}
    audio_s = wall_s = 0.0
    for row in rows:
        ref = read_rttm(folder / row["rttm"])
        (name,) = ref
        refs[name] = ref[name]
        uems[name] = read_uem(folder / row["uem"])[name]
        t0 = time.perf_counter()
        trace = diarizer.trace(folder / row["audio"])
        wall_s += time.perf_counter() - t0
        audio_s += trace.duration
        for system, turns in _systems(
            trace, row["num_speakers"], diarizer.options
        ).items():
            hyps[system][name] = turns
    out = {s: _score(refs, hyps[s], uems) for s in SYSTEMS}
    out["aural"]["rtf"] = wall_s / audio_s
    # the labels' own noise floor: the second human reference scored against the first
    alt = {}
    for row in rows:
        alt.update(read_rttm(folder / row["rttm_alt"]))
    out["second human reference"] = _score(refs, alt, uems)
    return out


def _wder(conversations: dict, limit: int, model: str) -> dict[str, float]:
    """Share of recognised words given the right speaker on clean conversations."""
    from aural import Recognizer
    from aural.decoding.options import DecodeOptions
    from aural.diarization import assign_speakers

    rec = Recognizer("whisper", model, DecodeOptions(word_timestamps=True, beam_size=1))
    errors, words = 0.0, 0
    per_k: dict[str, list[float]] = {}
    for name, (conv, trace) in conversations.items():
        if not name.startswith("clean/") or int(name.split("/")[2]) >= limit:
            continue
        transcript = assign_speakers(rec.transcribe(conv.waveform), trace.turns)
        n = len(transcript.words)
        e = word_speaker_error(transcript.words, conv.reference)
        errors += e * n
        words += n
        per_k.setdefault(name.split("/")[1], []).append(e)
    return {
        "words": words,
        "word_speaker_accuracy": 1.0 - errors / max(words, 1),
        "files": sum(len(v) for v in per_k.values()),
    }


def _markdown(results, ami, wder, meta) -> str:
    lines = [
        "# Speaker diarization (issue 21)",
        "",
        f"Command: `{meta['command']}`  ",
        f"Commit {meta['commit']}; {meta['machine']}; the LSTM runs on 1 torch "
        f"thread (process default {meta['torch_threads']}); {meta['date']}; "
        f"load average (1 / 5 / 15 min) {meta['load_start']} at the start, "
        f"{meta['load_end']} at the end (other jobs share the cores: compare RTF "
        "within this run, not across runs).  ",
        "Embeddings: resemblyzer GE2E d-vectors, 1.5 s windows every 0.5 s; VAD: "
        "Silero. DER: NIST md-eval-22 rules, summed over files, overlap scored. "
        f"Simulated: {meta['num']} conversations per cell from LibriSpeech "
        f"train-clean-100 speakers of the `{meta['split']}` half (tuning used the "
        "other half), turns cut at pauses (max 4 s), references from Silero VAD on "
        "each clean turn (split at pauses >= 0.5 s).",
        "",
        "## Simulated conversations",
        "",
        "| condition | speakers | system | DER c0.25 | DER c0 | miss / FA / conf "
        "(c0.25) | count right | RTF | target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (condition, k, system), r in results.items():
        rtf = f"{r['rtf']:.4f}" if "rtf" in r else ""
        target = TARGETS[condition] if system == "aural" else ""
        lines.append(
            f"| {condition} | {k} | {system} | {100 * r['der_c025']:.1f} % | "
            f"{100 * r['der_c0']:.1f} % | {100 * r['miss_c025']:.1f} / "
            f"{100 * r['fa_c025']:.1f} / {100 * r['conf_c025']:.1f} | "
            f"{100 * r['count_acc']:.0f} % | {rtf} | {target} |"
        )
    lines += [
        "",
        "### Over 2, 3 and 4 speakers (DER weighted by audio time; count: share of "
        "conversations)",
        "",
    ]
    lines += [
        "| condition | system | DER c0.25 | DER c0 | count right |",
        "|---|---|---|---|---|",
    ]
    for (condition, system), r in meta["pooled"].items():
        lines.append(
            f"| {condition} | {system} | {100 * r['der_c025']:.1f} % | "
            f"{100 * r['der_c0']:.1f} % | {100 * r['count_acc']:.0f} % |"
        )
    if ami:
        lines += [
            "",
            "## AMI excerpts (10 x 30 s, real meetings, UEM 0-30 s)",
            "",
            "| system | DER c0.25 | DER c0 | miss / FA / conf (c0.25) | count right | "
            "RTF |",
            "|---|---|---|---|---|---|",
        ]
        for system, r in ami.items():
            rtf = f"{r['rtf']:.4f}" if "rtf" in r else ""
            lines.append(
                f"| {system} | {100 * r['der_c025']:.1f} % | {100 * r['der_c0']:.1f} % "
                f"| {100 * r['miss_c025']:.1f} / {100 * r['fa_c025']:.1f} / "
                f"{100 * r['conf_c025']:.1f} | {100 * r['count_acc']:.0f} % | {rtf} |"
            )
    if wder:
        lines += [
            "",
            "## Words given the right speaker (clean, Whisper "
            f"{meta['wder_model']}, `aural transcribe --diarize` rules)",
            "",
            f"{100 * wder['word_speaker_accuracy']:.1f} % of {wder['words']} words in "
            f"{wder['files']} conversations (target >= 90 %).",
        ]
    return "\n".join(lines) + "\n"


def _pooled(results, args) -> dict:
    # time-weighted pooling is what the per-cell sums give; recompute from cells
    # weighted by their audio length as an approximation of the total-time DER
    pooled = {}
    for condition in CONDITIONS:
        for system in SYSTEMS:
            cells = [results[(condition, k, system)] for k in args.speakers]
            weights = [
                results[(condition, k, "aural")]["audio_s"] for k in args.speakers
            ]
            pooled[(condition, system)] = {
                key: float(np.average([c[key] for c in cells], weights=weights))
                for key in ("der_c025", "der_c0")
            }
            # every cell has --num conversations: the share of conversations
            pooled[(condition, system)]["count_acc"] = float(
                np.mean([c["count_acc"] for c in cells])
            )
    return pooled


TUNE_GRID = {
    "merge_threshold": (0.85, 0.88, 0.92),
    "small_merge_threshold": (0.54, 0.57, 0.6),
    "merge_size_slope": (0.09, 0.117, 0.14),
}


def _tune(conversations: dict, base: DiarizationOptions) -> list[dict]:
    """DER (c0.25, pooled over every condition) and count accuracy for each point of
    the grid, reusing the embeddings; best first."""
    import itertools

    rows = []
    refs = {name: list(conv.reference) for name, (conv, _) in conversations.items()}
    for values in itertools.product(*TUNE_GRID.values()):
        changes = dict(zip(TUNE_GRID, values))
        o = replace(base, **changes)
        hyps = {
            name: label_windows(t.regions, t.windows, t.embeddings, o, levels=t.levels)[
                2
            ]
            for name, (_, t) in conversations.items()
        }
        row = _score(refs, hyps)
        row.update(changes)
        rows.append(row)
    rows.sort(key=lambda r: r["der_c025"] + 0.02 * (1 - r["count_acc"]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=10)
    parser.add_argument("--speakers", default="2,3,4")
    parser.add_argument("--split", choices=("test", "tune"), default="test")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--no-ami", action="store_true")
    parser.add_argument("--wder", type=int, default=0, help="clean files per count")
    parser.add_argument("--wder-model", default="tiny.en")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument(
        "--tune", action="store_true", help="grid-search the clustering settings"
    )
    args = parser.parse_args()
    args.speakers = [int(x) for x in args.speakers.split(",")]
    root = shared_data()
    load_start = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    diarizer = Diarizer(DiarizationOptions())
    diarizer.diarize(load(root / "diarization" / "ami" / "audio" / "trn00.wav"))  # warm
    results, conversations = _simulated(args, diarizer, root)
    if args.tune:
        rows = _tune(conversations, diarizer.options)
        for r in rows[:15]:
            sys.stdout.write(json.dumps(r) + "\n")
        if args.output:
            args.output.with_suffix(".tune.json").write_text(
                json.dumps(rows, indent=1) + "\n"
            )
        return
    ami = {} if args.no_ami else _ami(diarizer, root)
    wder = _wder(conversations, args.wder, args.wder_model) if args.wder else {}
    import torch

    meta = {
        "command": "python " + " ".join(sys.argv),
        "commit": git_commit(),
        "machine": f"{platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPU cores (shared)",
        "torch_threads": torch.get_num_threads(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "num": args.num,
        "split": args.split,
        "wder_model": args.wder_model,
        "pooled": _pooled(results, args),
        "load_start": load_start,
        "load_end": " / ".join(f"{x:.1f}" for x in os.getloadavg()),
    }
    md = _markdown(results, ami, wder, meta)
    sys.stdout.write(md)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.with_suffix(".md").write_text(md)
        doc = {
            **{k: v for k, v in meta.items() if k != "pooled"},
            "pooled": {f"{c} | {s}": r for (c, s), r in meta["pooled"].items()},
            "simulated": {f"{c} | {k} | {s}": r for (c, k, s), r in results.items()},
            "ami": ami,
            "wder": wder,
            "options": repr(diarizer.options),
        }
        args.output.with_suffix(".json").write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
