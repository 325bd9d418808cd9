"""Batch transcription: many inputs, audio decoding overlapped with recognition.

Short inputs are grouped so that an engine with a batched path (Whisper) decodes them in
shared calls; a background thread decodes the next files while the engine works.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from aural.audio.load import load
from aural.audio.waveform import Waveform
from aural.decoding.options import DecodeOptions
from aural.engines.base import Engine
from aural.errors import AuralError
from aural.types import Transcript

logger = logging.getLogger(__name__)

AUDIO_SUFFIXES = (
    ".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".webm", ".mp4", ".mka",
    ".wma", ".aiff", ".aif", ".raw", ".pcm", ".sph",
)
BATCH_MAX_S = 30.0  # inputs up to this long are packed into shared decoder calls


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One input's outcome: a transcript or the error that stopped it."""

    source: Path
    transcript: Transcript | None = None
    error: AuralError | None = None
    duration: float = 0.0


def expand_inputs(inputs: Sequence[str]) -> list[Path]:
    """Files, directories (searched recursively for audio) and globs -> ordered paths.

    A name that matches nothing is kept, so that it is reported as missing.
    """
    out: list[Path] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        key = p.resolve() if p.exists() else p
        if key not in seen:
            seen.add(key)
            out.append(p)

    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.is_file() and f.suffix.lower() in AUDIO_SUFFIXES:
                    add(f)
        elif not path.exists() and glob.has_magic(item):
            matches = sorted(glob.glob(os.path.expanduser(item), recursive=True))
            for m in matches:
                if Path(m).is_file():
                    add(Path(m))
            if not matches:
                add(path)
        else:
            add(path)
    return out


def _load(path: Path, sample_rate: int, raw_sample_rate: int | None, raw_encoding: str
          ) -> Waveform | AuralError:
    try:
        return load(path, sample_rate, raw_sample_rate=raw_sample_rate, raw_encoding=raw_encoding)
    except AuralError as err:
        return err


def transcribe_many(
    engine: Engine,
    paths: Iterable[Path],
    options: DecodeOptions,
    *,
    batch_size: int = 8,
    prefetch: int = 2,
    raw_sample_rate: int | None = None,
    raw_encoding: str = "pcm_s16le",
) -> Iterator[BatchItem]:
    """Transcribe ``paths`` in order, yielding one :class:`BatchItem` per input.

    Args:
        engine: a loaded engine.
        paths: inputs, in the order results are yielded.
        options: decoding options for every input.
        batch_size: short inputs packed into one engine call (1 = one by one).
        prefetch: audio decoding threads running ahead of the engine.
    """
    paths = list(paths)
    with ThreadPoolExecutor(max_workers=max(1, prefetch)) as pool:
        futures: list[Future[Waveform | AuralError]] = [
            pool.submit(_load, p, engine.sample_rate, raw_sample_rate, raw_encoding)
            for p in paths
        ]
        pending: list[tuple[Path, Waveform]] = []
        for path, fut in zip(paths, futures):
            loaded = fut.result()
            if isinstance(loaded, AuralError):
                yield from _flush(engine, pending, options)
                pending = []
                yield BatchItem(path, error=loaded)
                continue
            if loaded.duration > BATCH_MAX_S or batch_size <= 1:
                yield from _flush(engine, pending, options)
                pending = []
                yield _one(engine, path, loaded, options)
                continue
            pending.append((path, loaded))
            if len(pending) >= batch_size:
                yield from _flush(engine, pending, options)
                pending = []
        yield from _flush(engine, pending, options)


def _one(engine: Engine, path: Path, w: Waveform, options: DecodeOptions) -> BatchItem:
    try:
        return BatchItem(path, engine.transcribe(w, options), duration=w.duration)
    except AuralError as err:
        return BatchItem(path, error=err, duration=w.duration)


def _flush(
    engine: Engine, pending: list[tuple[Path, Waveform]], options: DecodeOptions
) -> Iterator[BatchItem]:
    if not pending:
        return
    if len(pending) == 1:
        yield _one(engine, *pending[0], options)
        return
    try:
        results = engine.transcribe_batch([w for _, w in pending], options)
    except AuralError:
        # One bad input must not sink the batch: fall back to one by one.
        for path, w in pending:
            yield _one(engine, path, w, options)
        return
    for (path, w), t in zip(pending, results):
        yield BatchItem(path, t, duration=w.duration)


__all__ = ["BatchItem", "expand_inputs", "transcribe_many"]
