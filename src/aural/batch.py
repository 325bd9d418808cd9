"""Batch transcription: many inputs, audio decoding overlapped with recognition.

Short inputs are grouped so that an engine with a batched path (Whisper) decodes them in
shared calls; a background thread decodes the next files while the engine works.
"""

from __future__ import annotations

import glob
import logging
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from aural.audio.load import AUDIO_SUFFIXES, load
from aural.audio.waveform import Waveform
from aural.decoding.options import DecodeOptions
from aural.engines.base import Engine
from aural.errors import AuralError
from aural.types import Transcript

logger = logging.getLogger(__name__)

BATCH_MAX_S = 30.0  # inputs up to this long are packed into shared decoder calls
CHUNK_GROUPS = 4  # batched calls per worker in one chunk: room to sort inputs by length
CHUNK_MAX_S = 1800.0  # audio held for one transcribe_batch call (30 min = 115 MB)


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


def _load(
    path: Path, sample_rate: int, raw_sample_rate: int | None, raw_encoding: str
) -> Waveform | AuralError:
    try:
        return load(
            path,
            sample_rate,
            raw_sample_rate=raw_sample_rate,
            raw_encoding=raw_encoding,
        )
    except AuralError as err:
        return err


def transcribe_many(
    engine: Engine,
    paths: Iterable[Path],
    options: DecodeOptions,
    *,
    prefetch: int = 2,
    raw_sample_rate: int | None = None,
    raw_encoding: str = "pcm_s16le",
) -> Iterator[BatchItem]:
    """Transcribe ``paths`` in order, yielding one :class:`BatchItem` per input.

    Decoded inputs go to the engine's ``transcribe_batch`` in chunks of
    ``options.batch_size`` x
    ``engine.concurrency`` x :data:`CHUNK_GROUPS`, so that an engine with several
    workers has groups of similar length to spread over them; such an engine gets the
    next chunk before the last one is done, so its workers never wait for the slowest
    group. Inputs longer than :data:`BATCH_MAX_S` join a chunk only when the engine runs
    decodes in parallel (else they go alone), and a chunk never holds more than
    :data:`CHUNK_MAX_S` of audio.

    Args:
        engine: a loaded engine.
        paths: inputs, in the order results are yielded.
        options: decoding options for every input (checked by the engine first);
            ``options.batch_size`` short inputs share one engine call (None = the
            engine's choice, :meth:`aural.engines.base.Engine.batch_size`).
        prefetch: audio decoding threads running ahead of the engine.

    Raises:
        ConfigError: options the engine cannot honour (before any input is read).
    """
    engine.check_options(options)
    batch_size = engine.batch_size(options)
    paths = list(paths)
    parallel = engine.concurrency > 1
    chunk = (
        max(1, batch_size) * engine.concurrency * CHUNK_GROUPS
        if batch_size > 1 or parallel
        else 1
    )
    depth = 2 if parallel else 1  # engine calls at once: only engines that allow it
    loader, caller = ThreadPoolExecutor(max(1, prefetch)), ThreadPoolExecutor(depth)
    finished = False
    try:
        in_flight: deque[Future[list[BatchItem]]] = deque()

        def hand_over(work: Callable[[], list[BatchItem]]) -> Iterator[BatchItem]:
            in_flight.append(caller.submit(work))
            while len(in_flight) >= depth:
                yield from in_flight.popleft().result()

        ahead = max(1, prefetch) + chunk  # decoded inputs held at most: bounded memory
        loads: dict[int, Future[Waveform | AuralError]] = {}
        submitted = 0
        pending: list[tuple[Path, Waveform]] = []
        for k, path in enumerate(paths):
            while submitted < min(len(paths), k + ahead):
                loads[submitted] = loader.submit(
                    _load,
                    paths[submitted],
                    engine.sample_rate,
                    raw_sample_rate,
                    raw_encoding,
                )
                submitted += 1
            loaded = loads.pop(k).result()
            alone: BatchItem | tuple[Path, Waveform] | None = None
            if isinstance(loaded, AuralError):
                alone = BatchItem(path, error=loaded)
            elif loaded.duration > BATCH_MAX_S and not parallel:
                alone = (path, loaded)
            else:
                pending.append((path, loaded))
            full = (
                len(pending) >= chunk
                or sum(w.duration for _, w in pending) >= CHUNK_MAX_S
            )
            if pending and (full or alone is not None):
                yield from hand_over(
                    partial(_transcribe_chunk, engine, pending, options)
                )
                pending = []
            if isinstance(alone, BatchItem):
                yield from hand_over(partial(list, [alone]))
            elif alone is not None:
                yield from hand_over(
                    partial(_transcribe_chunk, engine, [alone], options)
                )
        if pending:
            yield from hand_over(partial(_transcribe_chunk, engine, pending, options))
        while in_flight:
            yield from in_flight.popleft().result()
        finished = True
    finally:
        # on an interrupt (Ctrl-C) or a generator closed early, decodes still running in
        # native code are left behind instead of waited for: the caller is leaving
        loader.shutdown(wait=finished, cancel_futures=not finished)
        caller.shutdown(wait=finished, cancel_futures=not finished)


def _one(engine: Engine, path: Path, w: Waveform, options: DecodeOptions) -> BatchItem:
    try:
        return BatchItem(path, engine.transcribe(w, options), duration=w.duration)
    except AuralError as err:
        return BatchItem(path, error=err, duration=w.duration)


def transcribe_decoded(
    engine: Engine, pending: list[tuple[Path, Waveform]], options: DecodeOptions
) -> list[BatchItem]:
    """Transcribe inputs already decoded, as :func:`transcribe_many` does each chunk.

    Several inputs go to one ``transcribe_batch`` call (one by one when it fails), so
    a caller that decodes elsewhere (``aural.distributed``: on other machines) gets the
    local batch's transcripts exactly.
    """
    return _transcribe_chunk(engine, pending, options)


def _transcribe_chunk(
    engine: Engine, pending: list[tuple[Path, Waveform]], options: DecodeOptions
) -> list[BatchItem]:
    if len(pending) == 1:
        return [_one(engine, *pending[0], options)]
    try:
        results = engine.transcribe_batch([w for _, w in pending], options)
    except AuralError:
        # One bad input must not sink the batch: fall back to one by one.
        return [_one(engine, path, w, options) for path, w in pending]
    return [
        BatchItem(path, t, duration=w.duration)
        for (path, w), t in zip(pending, results, strict=True)
    ]


__all__ = ["BatchItem", "expand_inputs", "transcribe_decoded", "transcribe_many"]
