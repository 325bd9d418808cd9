"""Incremental voice activity detection and utterance endpointing for streams.

The offline VAD (:mod:`aural.audio.vad`) scores a whole waveform at once; a stream needs
the same Silero model scored frame by frame as audio arrives, with its recurrent state
carried between calls, plus a small state machine that turns frame scores into
utterance starts and ends.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FRAME_SAMPLES", "Endpointer", "SileroStream", "SpeechEnd", "SpeechStart"]

FRAME_SAMPLES = 512  # Silero VAD v5/v6 frame at 16 kHz (32 ms)
_CONTEXT_SAMPLES = 64  # samples of the previous frame the model sees with each frame


class SileroStream:
    """Silero VAD (the ONNX model shipped with faster-whisper) scored incrementally.

    Feeding audio in pieces gives the same frame probabilities as scoring it at once:
    each 512-sample frame is scored with the last 64 samples of the frame before it and
    the LSTM state is carried across calls.
    """

    def __init__(self) -> None:
        from faster_whisper.vad import (
            get_vad_model,
        )  # cached: one ONNX session per process

        self._session = get_vad_model().session
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT_SAMPLES, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Score the complete frames now available; returns one probability per
        frame."""
        data = (
            np.concatenate([self._pending, samples]) if self._pending.size else samples
        )
        num_frames = data.size // FRAME_SAMPLES
        self._pending = data[num_frames * FRAME_SAMPLES :].copy()
        if num_frames == 0:
            return np.zeros(0, dtype=np.float32)
        frames = data[: num_frames * FRAME_SAMPLES].reshape(num_frames, FRAME_SAMPLES)
        contexts = np.empty((num_frames, _CONTEXT_SAMPLES), dtype=np.float32)
        contexts[0] = self._context
        contexts[1:] = frames[:-1, -_CONTEXT_SAMPLES:]
        self._context = frames[-1, -_CONTEXT_SAMPLES:].copy()
        batch = np.ascontiguousarray(
            np.concatenate([contexts, frames], axis=1), np.float32
        )
        probs, self._h, self._c = self._session.run(
            None, {"input": batch, "h": self._h, "c": self._c}
        )
        return np.asarray(probs, dtype=np.float32).reshape(-1)


@dataclass(frozen=True, slots=True)
class SpeechStart:
    """Speech began at ``sample`` (16 kHz samples from the start of the stream)."""

    sample: int


@dataclass(frozen=True, slots=True)
class SpeechEnd:
    """Speech that began at ``start`` ended at ``sample``.

    ``is_speech`` is False when the region was shorter than the minimum speech duration
    (a click or a cough): the session drops it instead of decoding it.
    """

    start: int
    sample: int
    is_speech: bool


class Endpointer:
    """Turns per-frame speech probabilities into utterance starts and ends.

    Speech starts at the first frame at or above ``threshold``; it continues while
    frames stay at or above ``threshold - 0.15`` (hysteresis, as faster-whisper does)
    and ends once ``endpoint_silence_s`` of frames fall below that.

    Args:
        threshold: speech probability that starts speech.
        endpoint_silence_s: silence (seconds) that ends an utterance.
        min_speech_s: shorter regions are reported with ``is_speech=False``.
        sample_rate: rate of the frames' samples (Hz).
    """

    def __init__(
        self,
        threshold: float,
        endpoint_silence_s: float,
        min_speech_s: float,
        sample_rate: int = 16_000,
    ) -> None:
        self.threshold = threshold
        self._sample_rate = sample_rate
        self.neg_threshold = max(threshold - 0.15, 0.01)
        self._silence_frames = max(
            1, round(endpoint_silence_s * sample_rate / FRAME_SAMPLES)
        )
        self._min_speech = int(min_speech_s * sample_rate)
        self._frame_index = 0
        self.in_speech = False
        self._start = 0
        self._last_speech_end = 0
        self._silent_run = 0

    @property
    def trailing_silence_s(self) -> float:
        """Seconds of silence since the last speech frame of the open region."""
        return self._silent_run * FRAME_SAMPLES / self._sample_rate

    @property
    def last_speech_end(self) -> int:
        """Sample just after the last speech frame of the current (or last) region."""
        return self._last_speech_end

    @property
    def speech_start(self) -> int:
        """Sample where the current (or last) speech region began."""
        return self._start

    def push(self, probs: np.ndarray) -> list[SpeechStart | SpeechEnd]:
        """Advance by one probability per frame; returns the transitions they cause."""
        events: list[SpeechStart | SpeechEnd] = []
        for p in probs:
            begin = self._frame_index * FRAME_SAMPLES
            self._frame_index += 1
            if not self.in_speech:
                if p >= self.threshold:
                    self.in_speech = True
                    self._start = begin
                    self._last_speech_end = begin + FRAME_SAMPLES
                    self._silent_run = 0
                    events.append(SpeechStart(begin))
                continue
            if p >= self.neg_threshold:
                self._silent_run = 0
                self._last_speech_end = begin + FRAME_SAMPLES
                continue
            self._silent_run += 1
            if self._silent_run >= self._silence_frames:
                events.append(self._close())
        return events

    def flush(self) -> list[SpeechStart | SpeechEnd]:
        """End of stream: close an open speech region."""
        return [self._close()] if self.in_speech else []

    def _close(self) -> SpeechEnd:
        self.in_speech = False
        self._silent_run = 0
        length = self._last_speech_end - self._start
        return SpeechEnd(self._start, self._last_speech_end, length >= self._min_speech)
