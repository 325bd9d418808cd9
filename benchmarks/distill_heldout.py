"""Distilled tiny.en against its teacher and itself before, on every English recording
in ../shared that the distillation never labelled.

``aural distill --config recipes/distill_whisper_base_to_tiny.yaml`` labels all of
the shared LibriSpeech train-clean-100 (one utterance per speaker) and LJSpeech, and
scores on dev-clean (12 utterances). This script widens that test with the other
held-out English speech: dev-clean, the FLEURS English clips of multilingual/, and the
misc/ clips (CMU ARCTIC, TIMIT's sample, JFK, LibriVox, VOiCES, Speech Commands,
pocketsphinx's test recordings), minus any recording of a train-clean-100 speaker (the
distillation labelled one utterance of each) and the headerless PCM file. The three
models decode the same utterances in one process: CTranslate2 int8, beam 5, English,
Whisper normaliser.

    aural distill --config recipes/distill_whisper_base_to_tiny.yaml   # once
    python benchmarks/distill_heldout.py
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from _common import REPO, cpu_name, git_commit, shared_data

NAME = "distill_heldout"


def _train_speakers(data: Path) -> set[str]:
    return {p.name for p in (data / "LibriSpeech" / "train-clean-100").iterdir()}


def manifest(data: Path, out: Path) -> tuple[Path, dict[str, int]]:
    """The held-out English rows, one JSON object per line; counts per source."""
    from aural.data import load_dataset

    labelled = _train_speakers(data)
    rows: list[dict[str, str]] = []
    counts: dict[str, int] = {}

    def add(source: str, uid: str, audio: Path, text: str) -> None:
        rows.append({"id": uid, "audio": str(audio), "text": text})
        counts[source] = counts.get(source, 0) + 1

    for u in load_dataset(data / "LibriSpeech" / "dev-clean"):
        add("LibriSpeech dev-clean", u.id, Path(u.audio), u.text)
    ml = data / "multilingual"
    for line in (ml / "manifest.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r["language"] == "en":
            add("FLEURS en", Path(r["audio"]).stem, ml / r["audio"], r["text"])
    misc = data / "misc"
    for line in (misc / "manifest.jsonl").read_text().splitlines():
        r = json.loads(line)
        name, corpus = r["audio"], str(r.get("corpus", ""))
        if name.endswith(".raw"):
            continue  # headerless PCM: no sample rate to read
        spk = re.search(r"(?:libri-|speaker )(\d+)", f"{name} {corpus}")
        if spk and spk.group(1) in labelled:
            continue  # a train-clean-100 speaker: labelled by the distillation
        add(corpus.split(" (")[0], Path(name).stem, misc / name, r["text"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return out, counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--student",
        type=Path,
        default=REPO / "runs" / "distill_base_to_tiny" / "student",
    )
    ap.add_argument("--teacher", default="base")
    ap.add_argument("--before", default="tiny.en")
    args = ap.parse_args(argv)
    if not (args.student / "model.bin").is_file():
        print(  # noqa: T201
            f"no student in {args.student}: run aural distill --config "
            "recipes/distill_whisper_base_to_tiny.yaml first",
            file=sys.stderr,
        )
        return 2

    from aural.data import load_dataset
    from aural.decoding.options import DecodeOptions
    from aural.engines import create_engine
    from aural.evaluation import EvalOptions, evaluate

    data = shared_data()
    work = args.student.parent / NAME
    path, counts = manifest(data, work / "manifest.jsonl")
    utts = list(load_dataset(path))
    models = {
        f"teacher: Whisper {args.teacher}": args.teacher,
        f"student before: {args.before}": args.before,
        "student after: distilled": str(args.student),
    }
    engines = [
        ("whisper", create_engine("whisper", m, cpu_threads=1)) for m in models.values()
    ]
    res = evaluate(
        utts,
        engines,
        EvalOptions(
            normalizer="whisper", decode=DecodeOptions(beam_size=5, language="en")
        ),
        cache_dir=work,
    )
    rows, table = [], {}
    for label, e in zip(models, res.engines, strict=True):
        c = e.conditions[0]
        table[label] = {
            "wer": c.counts.wer,
            "errors": c.counts.errors,
            "words": c.counts.ref_len,
            "rtf": c.rtf,
        }
        wer = f"{100 * c.counts.wer:.2f} %"
        rows.append(f"| {label} | {wer} | {c.counts.errors} | {c.rtf:.3f} |")
    words = next(iter(table.values()))["words"]
    sources = ", ".join(f"{k} {v}" for k, v in counts.items())
    text = f"""# Distilled tiny.en on every held-out English recording in ../shared

`python benchmarks/distill_heldout.py` at commit `{git_commit()}`,
{time.strftime("%Y-%m-%d", time.gmtime())}, {cpu_name()} (2 cores shared with other
jobs: RTF compares the rows, not machines). Student: `{args.student.relative_to(REPO)}`
from `aural distill --config recipes/distill_whisper_base_to_tiny.yaml`.

Test: {len(utts)} utterances, {words} reference words, none of them labelled or trained
on: {sources}. CTranslate2 int8, beam 5, English, Whisper normaliser.

| model | WER | word errors | RTF |
|---|---|---|---|
{chr(10).join(rows)}
"""
    out = REPO / "benchmarks" / "results" / f"{NAME}.md"
    out.write_text(text)
    (REPO / "benchmarks" / "results" / f"{NAME}.json").write_text(
        json.dumps({"table": table, "sources": counts}, indent=2) + "\n"
    )
    print(text)  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
