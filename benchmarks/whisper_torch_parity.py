"""aural's PyTorch Whisper decoder against CTranslate2's, with nothing biased.

Hotwords run Whisper's decoder in PyTorch (aural steps it and fuses the hotword trie).
Without hotwords it must give CTranslate2's transcripts: this script decodes the shared
LibriSpeech utterances (dev-clean + train-clean-100) with the engine's default path
(CTranslate2 generate) and with ``WhisperSettings(decoder="torch")`` (CTranslate2's
encoder output, aural's decoder and beam search), at CTranslate2 compute types int8 (the
default) and float32, each system in its own child process, and writes the
identical-transcript rate, WER and time per utterance to
benchmarks/results/whisper_torch_parity.{json,md}.

    python benchmarks/whisper_torch_parity.py [--limit N]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

from _common import git_commit, shared_data

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SYSTEMS = {
    "ct2_int8": ("auto", "int8"),
    "torch_int8": ("torch", "int8"),
    "ct2_float32": ("auto", "float32"),
    "torch_float32": ("torch", "float32"),
}


def corpus(limit: int | None) -> list[tuple[str, Path, str]]:
    rows = []
    for split in ("dev-clean", "train-clean-100"):
        root = shared_data() / "LibriSpeech" / split
        for trans in sorted(root.rglob("*.trans.txt")):
            for line in trans.read_text().splitlines():
                uid, text = line.split(" ", 1)
                rows.append((uid, trans.parent / f"{uid}.flac", text))
    return rows[:limit] if limit else rows


def run_system(name: str, limit: int | None) -> dict:
    from aural import Recognizer
    from aural.audio import load
    from aural.decoding.options import DecodeOptions

    decoder, compute_type = SYSTEMS[name]
    items = corpus(limit)
    waves = [load(p) for _, p, _ in items]
    rec = Recognizer(
        "whisper",
        "tiny.en",
        DecodeOptions(),
        decoder=decoder,
        compute_type=compute_type,
        cpu_threads=1,
    )
    rec.transcribe(waves[0])  # load everything before timing
    hyps, seconds = [], []
    for wave in waves:
        t0 = time.perf_counter()
        hyps.append(rec.transcribe(wave).text)
        seconds.append(time.perf_counter() - t0)
    return {
        "hyps": hyps,
        "seconds": seconds,
        "audio_s": sum(w.duration for w in waves),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--system", choices=sorted(SYSTEMS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.system:
        json.dump(run_system(args.system, args.limit), sys.stdout)
        return

    import jiwer

    from aural.text.normalizers import get_normalizer

    norm = get_normalizer("whisper")
    items = corpus(args.limit)
    refs = [norm(text) for _, _, text in items]
    runs = {}
    for name in SYSTEMS:
        cmd = [sys.executable, __file__, "--system", name]
        if args.limit:
            cmd += ["--limit", str(args.limit)]
        print(f"running {name} ...", file=sys.stderr)
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        runs[name] = json.loads(out.stdout)
    rows = {}
    for name, run in runs.items():
        hyps = [norm(h) for h in run["hyps"]]
        total = sum(run["seconds"])
        rows[name] = {
            "wer": jiwer.wer(refs, hyps),
            "rtf": total / run["audio_s"],
            "ms_per_utt": 1000 * total / len(hyps),
        }
    pairs = {}
    for compute in ("int8", "float32"):
        a, b = runs[f"ct2_{compute}"]["hyps"], runs[f"torch_{compute}"]["hyps"]
        same = sum(x == y for x, y in zip(a, b, strict=True))
        pairs[compute] = {
            "identical": same,
            "utterances": len(a),
            "rate": same / len(a),
            "differ": [
                {"id": items[i][0], "ct2": x, "torch": y}
                for i, (x, y) in enumerate(zip(a, b, strict=True))
                if x != y
            ],
        }
    command = "python benchmarks/whisper_torch_parity.py" + (
        f" --limit {args.limit}" if args.limit else ""
    )
    result = {
        "command": command,
        "commit": git_commit(),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
        "utterances": len(items),
        "systems": rows,
        "parity": pairs,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "whisper_torch_parity.json").write_text(json.dumps(result, indent=2))
    lines = [
        "# aural's PyTorch Whisper decoder vs CTranslate2's (nothing biased)",
        "",
        f"Command: `{command}` (commit {result['commit']}, one thread per decode).",
        "",
        f"{len(items)} LibriSpeech utterances (dev-clean + train-clean-100), Whisper "
        "tiny.en, beam 5, the engine's default path otherwise. `torch`: "
        "`WhisperSettings(decoder='torch')` (CTranslate2's encoder output, aural's "
        "decoder and beam search); `ct2`: CTranslate2's generate.",
        "",
        "| compute type | identical transcripts | WER ct2 | WER torch | ms/utt ct2 "
        "| ms/utt torch |",
        "|---|---|---|---|---|---|",
    ]
    for compute, pair in pairs.items():
        c, t = rows[f"ct2_{compute}"], rows[f"torch_{compute}"]
        lines.append(
            f"| {compute} | {pair['identical']}/{pair['utterances']} "
            f"({100 * pair['rate']:.1f} %) | {100 * c['wer']:.2f} % | "
            f"{100 * t['wer']:.2f} % | {c['ms_per_utt']:.0f} | {t['ms_per_utt']:.0f} |"
        )
    lines += ["", "Transcripts that differ:", ""]
    for compute, pair in pairs.items():
        for d in pair["differ"][:10]:
            lines.append(
                f"- {compute} {d['id']}: ct2 `{d['ct2']}` / torch `{d['torch']}`"
            )
    (RESULTS / "whisper_torch_parity.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
