"""Streaming recognition: feed audio chunks, receive partial and final events.

>>> from aural.engines import create_engine
>>> session = create_engine("whisper").stream(sample_rate=16000)  # doctest: +SKIP
>>> for chunk in chunks:                                           # doctest: +SKIP
...     for event in session.feed(chunk):
...         print(event)
>>> events = session.finish()  # the last event is EndOfStream        # doctest: +SKIP

This package holds the engine-independent pieces (the session bookkeeping, PCM input,
the streaming VAD, local agreement and the re-decode policy). Each engine builds its own
session from them (:meth:`aural.engines.base.Engine.stream`): PocketSphinx streams
natively; Whisper and the CTC engines re-decode a VAD-bounded buffer.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

from aural.audio.waveform import SAMPLE_RATE
from aural.decoding.options import DecodeOptions
from aural.streaming.options import StreamingOptions
from aural.streaming.session import StreamingSession, StreamingStats

__all__ = ["StreamingOptions", "StreamingSession", "StreamingStats", "open_session"]


def open_session(
    engine: Any,
    options: DecodeOptions | None = None,
    *,
    sample_rate: int = SAMPLE_RATE,
    encoding: str = "pcm_s16le",
    streaming: StreamingOptions | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> StreamingSession:
    """Deprecated: call ``engine.stream(options, sample_rate=..., streaming=...)``."""
    warnings.warn(
        "open_session(engine, ...) is deprecated; use engine.stream(...)",
        DeprecationWarning,
        stacklevel=2,
    )
    session: StreamingSession = engine.stream(
        options,
        sample_rate=sample_rate,
        encoding=encoding,
        streaming=streaming,
        clock=clock,
    )
    return session
