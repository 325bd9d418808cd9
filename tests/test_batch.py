"""`aural.batch.transcribe_many`: order, errors in place, long inputs, parallel
engines."""

from __future__ import annotations

from pathlib import Path

import jiwer
import numpy as np
import pytest
import soundfile as sf

from aural.batch import expand_inputs, transcribe_many
from aural.decoding.options import DecodeOptions
from aural.errors import AuralError


def _pairs(root: Path, limit: int) -> list[tuple[Path, str]]:
    pairs = []
    for trans in sorted(root.rglob("*.trans.txt")):
        for line in trans.read_text().splitlines():
            uid, text = line.split(" ", 1)
            pairs.append((trans.parent / f"{uid}.flac", text))
    return pairs[:limit]


@pytest.mark.parametrize("workers", [1, 2])
def test_transcribe_many_yields_in_order_with_errors_in_place(
    workers: int, tmp_path: Path, shared_data: Path, whisper_engine
) -> None:
    from aural.engines import create_engine
    from aural.text.normalizers import get_normalizer

    norm = get_normalizer("whisper")
    pairs = _pairs(shared_data / "LibriSpeech" / "train-clean-100", 9)
    long_path = (
        tmp_path / "long.flac"
    )  # > 30 s: alone on one worker, or long form in a chunk
    audio = [sf.read(p, dtype="float32")[0] for p, _ in pairs[:3]]
    sf.write(long_path, np.concatenate(audio), 16000)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    missing = tmp_path / "missing.flac"
    paths = [
        pairs[3][0],
        broken,
        long_path,
        *(p for p, _ in pairs[4:7]),
        missing,
        *(p for p, _ in pairs[7:]),
    ]
    refs = [
        pairs[3][1],
        None,
        " ".join(r for _, r in pairs[:3]),
        *(r for _, r in pairs[4:7]),
        None,
        *(r for _, r in pairs[7:]),
    ]
    engine = (
        whisper_engine
        if workers == 1
        else create_engine("whisper", num_workers=workers, cpu_threads=1)
    )
    items = list(
        transcribe_many(engine, paths, DecodeOptions(beam_size=1, batch_size=2))
    )
    assert [i.source for i in items] == paths
    for item, ref in zip(items, refs):
        if ref is None:
            assert isinstance(item.error, AuralError) and item.transcript is None
            assert item.source.name in str(item.error)
        else:
            assert item.error is None and item.duration > 0
            wer = jiwer.wer(norm(ref), norm(item.transcript.text))
            assert wer < 0.5, (
                item.source,
                item.transcript.text,
            )  # not a neighbour's text
    if workers > 1:
        engine.close()


def test_expand_inputs_dirs_globs_and_missing(tmp_path: Path, dev_clean: Path) -> None:
    found = expand_inputs(
        [str(dev_clean), str(dev_clean / "**" / "*.flac"), "nope/*.wav"]
    )
    flacs = sorted(dev_clean.rglob("*.flac"))
    assert found[: len(flacs)] == flacs  # the glob repeats the folder: no duplicates
    assert found[len(flacs) :] == [
        Path("nope/*.wav")
    ]  # kept, so that it is reported missing
