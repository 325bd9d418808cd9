"""The streaming session: feed PCM chunks, receive partial and final events.

Every session does the same bookkeeping (input decoding and resampling, the stream
clock, compute accounting and the degradation level); subclasses add an engine policy
in :meth:`StreamingSession._process` and :meth:`StreamingSession._flush`.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from aural.audio.level import StreamConditioner
from aural.audio.waveform import SAMPLE_RATE
from aural.decoding.options import DecodeOptions
from aural.errors import ConfigError
from aural.streaming.options import StreamingOptions
from aural.streaming.pcm import PcmInput
from aural.types import EndOfStream, StreamEvent

__all__ = ["SKIP_AHEAD_FACTOR", "StreamingSession", "StreamingStats"]

SKIP_AHEAD_FACTOR = (
    4.0  # backlog (in units of max_lag_s) beyond which speech is dropped
)


@dataclass(frozen=True, slots=True)
class StreamingStats:
    """What a session has done so far and whether it is keeping up.

    Attributes:
        audio_s: seconds of audio received.
        compute_s: wall-clock seconds spent inside ``feed`` / ``finish``.
        lag_s: current compute backlog: how far processing would trail a real-time
            source (every second of audio earns one second of compute; 0 = keeping up).
        max_lag_s: the largest ``lag_s`` seen.
        partial_decodes: decodes made for partial hypotheses.
        final_decodes: decodes made for final segments (speculative ones included).
        speculative_hits: finals whose speculative decode was used as it was (the other
            speculative decodes were wasted on pauses inside an utterance).
        dropped_partials: partial decodes skipped because the session was behind.
        partials: Partial events emitted.
        finals: Final events emitted.
        degraded: True while the session is shedding work to catch up.
        degraded_s: seconds of audio processed while degraded.
        skipped_s: seconds of speech dropped undecoded to catch up (skip-ahead, the
            last resort when even finals cannot keep up).
    """

    audio_s: float
    compute_s: float
    lag_s: float
    max_lag_s: float
    partial_decodes: int
    final_decodes: int
    speculative_hits: int
    dropped_partials: int
    partials: int
    finals: int
    degraded: bool
    degraded_s: float
    skipped_s: float

    @property
    def real_time_factor(self) -> float:
        """Compute seconds per second of audio."""
        return self.compute_s / self.audio_s if self.audio_s > 0 else 0.0

    def to_dict(self) -> dict[str, float | int | bool]:
        return {name: getattr(self, name) for name in self.__slots__} | {
            "real_time_factor": self.real_time_factor
        }


class StreamingSession(abc.ABC):
    """One audio stream turned into :class:`~aural.types.Partial` and
    :class:`~aural.types.Final` events.

    Feed chunks of any size with :meth:`feed`; call :meth:`finish` once at the end.
    Times in events are seconds from the start of the stream. A session is not
    thread-safe: feed it from one thread (many sessions may share one engine).

    Args:
        options: decoding options (beam size, language, VAD threshold and padding).
        sample_rate: rate of the caller's audio (Hz); resampled to 16 kHz.
        encoding: layout of bytes chunks, ``pcm_s16le`` or ``pcm_f32le``.
        streaming: latency policy (None = defaults).
        clock: wall clock in seconds, used for compute accounting.

    Raises:
        ConfigError: unsupported rate, encoding or options.
    """

    def __init__(
        self,
        options: DecodeOptions,
        *,
        sample_rate: int = SAMPLE_RATE,
        encoding: str = "pcm_s16le",
        streaming: StreamingOptions | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if not isinstance(options, DecodeOptions):
            raise ConfigError(
                "streaming options must be a DecodeOptions, got "
                f"{type(options).__name__}"
            )
        if streaming is not None and not isinstance(streaming, StreamingOptions):
            raise ConfigError(
                f"streaming= must be a StreamingOptions, got {type(streaming).__name__}"
            )
        self.options = options
        self.streaming = streaming or StreamingOptions()
        self._input = PcmInput(sample_rate, encoding, SAMPLE_RATE)
        self._condition = StreamConditioner(SAMPLE_RATE)
        self._clock = clock
        self._finished = False
        self.num_samples = 0  # 16 kHz samples received so far
        self._compute_s = 0.0
        self._lag_s = 0.0
        self._max_lag_s = 0.0
        self._degraded_s = 0.0
        self.partial_decodes = 0
        self.final_decodes = 0
        self.speculative_hits = 0
        self.dropped_partials = 0
        self.skipped_s = 0.0
        self._num_partials = 0
        self._num_finals = 0

    # -- public API ------------------------------------------------------------------
    @property
    def sample_rate(self) -> int:
        """Rate of the caller's audio (Hz)."""
        return self._input.sample_rate

    @property
    def time(self) -> float:
        """Seconds of audio received so far (the stream clock)."""
        return self.num_samples / SAMPLE_RATE

    @property
    def is_finished(self) -> bool:
        return self._finished

    @property
    def stats(self) -> StreamingStats:
        """A snapshot of the session's counters (see :class:`StreamingStats`)."""
        return StreamingStats(
            audio_s=round(self.time, 4),
            compute_s=round(self._compute_s, 4),
            lag_s=round(self._lag_s, 4),
            max_lag_s=round(self._max_lag_s, 4),
            partial_decodes=self.partial_decodes,
            final_decodes=self.final_decodes,
            speculative_hits=self.speculative_hits,
            dropped_partials=self.dropped_partials,
            partials=self._num_partials,
            finals=self._num_finals,
            degraded=self.degrade_level > 0,
            degraded_s=round(self._degraded_s, 4),
            skipped_s=round(self.skipped_s, 4),
        )

    @property
    def degrade_level(self) -> int:
        """0 normal, 1 fewer partials, 2 no partials, shorter context, greedy finals,
        3 (backlog over four times the bound) skip ahead: drop speech undecoded."""
        if self._lag_s > SKIP_AHEAD_FACTOR * self.streaming.max_lag_s:
            return 3
        if self._lag_s > self.streaming.max_lag_s:
            return 2
        if self._lag_s > self.streaming.max_lag_s / 2:
            return 1
        return 0

    def feed(
        self, chunk: bytes | bytearray | memoryview | np.ndarray
    ) -> list[StreamEvent]:
        """Add one chunk of audio; returns the events it caused (possibly none).

        Args:
            chunk: PCM bytes in the session's encoding (any length; an incomplete
                trailing sample is kept for the next chunk) or a 1-D float32 array of
                samples at the session's rate.

        Raises:
            ConfigError: wrong chunk type, or the session is already finished.
        """
        if self._finished:
            raise ConfigError(
                "this streaming session is finished; open a new one to feed audio"
            )
        began = self._clock()
        samples = self._condition(self._input.push(chunk))
        events = self._advance(samples) if samples.size else []
        self._account(samples.size / SAMPLE_RATE, self._clock() - began)
        return self._count(events)

    def finish(self) -> list[StreamEvent]:
        """End the stream: decode what is pending; the last event is EndOfStream.

        Calling it again returns ``[EndOfStream()]`` only.
        """
        if self._finished:
            return [EndOfStream()]
        began = self._clock()
        tail = self._condition(self._input.flush())
        events = self._advance(tail) if tail.size else []
        events += self._flush()
        self._finished = True
        self._account(tail.size / SAMPLE_RATE, self._clock() - began)
        self._count(events)
        return [*events, EndOfStream()]

    def close(self) -> None:
        """Drop pending audio without decoding it (for aborted streams)."""
        self._finished = True

    # -- subclass hooks --------------------------------------------------------------
    @abc.abstractmethod
    def _process(self, samples: np.ndarray) -> list[StreamEvent]:
        """Consume new 16 kHz samples (already counted in ``num_samples``)."""

    @abc.abstractmethod
    def _flush(self) -> list[StreamEvent]:
        """End of stream: finalise whatever is open."""

    # -- internals -------------------------------------------------------------------
    def _advance(self, samples: np.ndarray) -> list[StreamEvent]:
        self.num_samples += int(samples.size)
        return self._process(samples)

    def _account(self, audio_s: float, compute_s: float) -> None:
        """Leaky bucket: each second of audio pays for one second of compute."""
        if self.degrade_level > 0:
            self._degraded_s += audio_s
        self._compute_s += compute_s
        self._lag_s = max(0.0, self._lag_s + compute_s - audio_s)
        self._max_lag_s = max(self._max_lag_s, self._lag_s)

    def _count(self, events: list[StreamEvent]) -> list[StreamEvent]:
        from aural.types import Final, Partial

        self._num_partials += sum(isinstance(e, Partial) for e in events)
        self._num_finals += sum(isinstance(e, Final) for e in events)
        return events
