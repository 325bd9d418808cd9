"""Streaming recognition: feed audio chunks, receive partial and final events.

>>> from aural.engines import create_engine
>>> session = create_engine("whisper").stream(sample_rate=16000)  # doctest: +SKIP
>>> for chunk in chunks:                                           # doctest: +SKIP
...     for event in session.feed(chunk):
...         print(event)
>>> events = session.finish()  # the last event is EndOfStream        # doctest: +SKIP

Engines that decode incrementally (PocketSphinx) stream natively; every other engine
(Whisper, CTC) streams by re-decoding a VAD-bounded buffer with local agreement.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from aural.audio.waveform import SAMPLE_RATE
from aural.decoding.options import DecodeOptions
from aural.streaming.options import StreamingOptions
from aural.streaming.session import StreamingSession, StreamingStats

if TYPE_CHECKING:
    from aural.engines.base import Engine

__all__ = ["StreamingOptions", "StreamingSession", "StreamingStats", "open_session"]


def open_session(
    engine: Engine,
    options: DecodeOptions | None = None,
    *,
    sample_rate: int = SAMPLE_RATE,
    encoding: str = "pcm_s16le",
    streaming: StreamingOptions | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> StreamingSession:
    """Open a streaming session on a loaded engine.

    Args:
        engine: the engine to decode with (``Engine.stream`` calls this).
        options: decoding options (None = defaults).
        sample_rate: rate of the PCM the caller will feed (Hz).
        encoding: ``pcm_s16le`` or ``pcm_f32le`` for bytes chunks.
        streaming: latency policy (None = :class:`StreamingOptions` defaults).
        clock: wall clock in seconds for compute accounting (tests may inject one).

    Returns:
        A session: ``feed(chunk) -> events``, ``finish() -> events``, ``stats``.

    Raises:
        ConfigError: unsupported rate, encoding or options.
    """
    options = options or DecodeOptions()
    if hasattr(engine, "new_decoder"):
        from aural.streaming.sphinx import SphinxSession

        return SphinxSession(
            engine, options, sample_rate=sample_rate, encoding=encoding,
            streaming=streaming, clock=clock,
        )
    from aural.streaming.redecode import ReDecodeSession

    return ReDecodeSession(
        engine, options, sample_rate=sample_rate, encoding=encoding,
        streaming=streaming, clock=clock,
    )
