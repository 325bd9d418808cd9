"""Wrapper overhead: aural's Whisper engine vs the same faster-whisper model, same options.

aural runs with ``trimmed_windows=False`` (faster-whisper's padded 30 s window): the short-form
path has no faster-whisper equivalent, its speed-up is measured by transcribe_librispeech.py.

Both share one loaded model in one process and run in alternating order after a warm-up, so
that order, warm-up and machine load hit both alike (separate processes run one after the
other showed a spurious +7 %). Writes benchmarks/results/transcribe_overhead.json.

    python benchmarks/transcribe_overhead.py [--limit 20] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
from transcribe_librispeech import RESULTS, corpus

from aural.audio import load
from aural.decoding.options import DecodeOptions
from aural.engines import create_engine


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--limit", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    waves = [load(p) for _, p, _ in corpus(args.limit)]
    engine = create_engine("whisper", cpu_threads=2)
    model = engine.faster_whisper_model
    vad = DecodeOptions().vad_options
    kw = dict(
        beam_size=5,
        vad_filter=True,
        word_timestamps=True,
        condition_on_previous_text=False,
        vad_parameters={
            "threshold": vad.threshold,
            "min_speech_duration_ms": vad.min_speech_duration_ms,
            "min_silence_duration_ms": vad.min_silence_duration_ms,
            "speech_pad_ms": vad.speech_pad_ms,
        },
    )

    def raw() -> None:
        for w in waves:
            segments, _ = model.transcribe(
                np.ascontiguousarray(w.samples), language="en", **kw
            )
            list(segments)

    def wrapped() -> None:
        for w in waves:
            engine.transcribe(w, DecodeOptions(trimmed_windows=False))

    raw()  # warm-up
    seconds = {"faster-whisper": 0.0, "aural": 0.0}
    for r in range(args.rounds):
        order = [("aural", wrapped), ("faster-whisper", raw)]
        for name, fn in order if r % 2 == 0 else order[::-1]:
            t0 = time.perf_counter()
            fn()
            seconds[name] += time.perf_counter() - t0
    result = {
        "command": f"python benchmarks/transcribe_overhead.py --limit {args.limit} "
        f"--rounds {args.rounds}",
        "utterances": len(waves),
        "audio_s": round(sum(w.duration for w in waves) * args.rounds, 1),
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "overhead": round(seconds["aural"] / seconds["faster-whisper"] - 1, 4),
        "machine": f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} at end",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "transcribe_overhead.json").write_text(
        json.dumps(result, indent=2) + "\n"
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
