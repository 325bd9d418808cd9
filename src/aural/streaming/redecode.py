"""Streaming for engines that only decode whole waveforms (Whisper, CTC, aural models).

Policy (per utterance found by the streaming VAD):

1. While speech continues, the utterance's audio buffer is re-decoded greedily every
   ``partial_interval_s`` of new audio. Words on which two consecutive hypotheses agree
   are committed (local agreement) and shown as the stable start of each
   :class:`~aural.types.Partial`; the rest is the unstable tail.
2. When ``endpoint_silence_s`` of silence ends the utterance, the buffer is decoded once
   more with the caller's options (beam, word timestamps) and emitted as
   :class:`~aural.types.Final` events, which never change.
3. A buffer longer than ``max_buffer_s`` (one long run of speech) is decoded with word
   timestamps; the words ending two seconds or more before the buffer's end are
   emitted as finals and trimmed off, and their text prompts the next decodes.
4. When compute falls behind real time (see :class:`StreamingStats.lag_s`) partials
   are thinned, then skipped, the buffer limit is halved and finals decode greedily.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import numpy as np

from aural.audio.waveform import SAMPLE_RATE, Waveform
from aural.decoding.options import DecodeOptions
from aural.streaming.agreement import agreed_prefix, split_words
from aural.streaming.session import StreamingSession
from aural.streaming.vad import (
    FRAME_SAMPLES,
    Endpointer,
    SileroStream,
    SpeechEnd,
    SpeechStart,
)
from aural.types import Final, Partial, Segment, StreamEvent, Word

__all__ = ["BufferDecoder", "EngineBufferDecoder", "ReDecodeSession"]

logger = logging.getLogger(__name__)

STABLE_TAIL_S = 2.0  # words ending this close to the buffer's end are not trimmed off
PROMPT_CHARS = 200  # text of earlier finals used as a prompt (as Whisper does)
MIN_DECODE_S = 0.1  # shorter audio is not worth a decode
FAST_START_INTERVAL_S = 0.1  # partial interval until an utterance shows its first words
PAUSE_S = 0.15  # silence after which a partial re-decode would only repeat the last one


class BufferDecoder(Protocol):
    """What a re-decode session calls on its buffer (float32 at 16 kHz, conditioned by
    the stream, cut by the stream's VAD). Engines provide it
    (:meth:`aural.engines.base.Engine.buffer_decoder`); they must not condition the
    buffer again nor run their own VAD on it."""

    def partial(self, audio: np.ndarray, options: DecodeOptions) -> str | None:
        """A quick hypothesis (greedy options); None when the decode looks broken and
        the last hypothesis should stand."""

    def final(self, audio: np.ndarray, options: DecodeOptions) -> tuple[Segment, ...]:
        """Final segments, times from the start of ``audio``."""


class EngineBufferDecoder:
    """A :class:`BufferDecoder` over an engine's ``decode(waveform, options) ->
    segments`` (the path after option checks and conditioning)."""

    def __init__(
        self, decode: Callable[[Waveform, DecodeOptions], Iterable[Segment]]
    ) -> None:
        self._decode = decode

    def partial(self, audio: np.ndarray, options: DecodeOptions) -> str | None:
        return " ".join(seg.text.strip() for seg in self.final(audio, options)).strip()

    def final(self, audio: np.ndarray, options: DecodeOptions) -> tuple[Segment, ...]:
        return tuple(self._decode(Waveform(audio, SAMPLE_RATE), options))


class ReDecodeSession(StreamingSession):
    """Local-agreement streaming over an engine's :class:`BufferDecoder` (see the module
    docstring). Engines build it in :meth:`aural.engines.base.Engine.stream`, after
    checking the options.

    Args:
        decoder: the engine's buffer decoder; sessions in other threads may share its
            engine when the engine is thread-safe (faster-whisper is).
        options: decoding options; ``beam_size`` and ``word_timestamps`` apply to
            finals, partials are always greedy without word timestamps. The engine's
            own VAD is turned off: the session's VAD already cut the audio.
        **session: ``sample_rate``, ``encoding``, ``streaming``, ``clock`` of
            :class:`StreamingSession`.
    """

    def __init__(
        self, decoder: BufferDecoder, options: DecodeOptions, **session: Any
    ) -> None:
        super().__init__(options, **session)
        self._decoder = decoder
        vad = options.vad_options
        self._vad = SileroStream()
        self._endpointer = Endpointer(
            vad.threshold,
            self.streaming.endpoint_silence_s,
            vad.min_speech_duration_ms / 1000.0,
        )
        self._pad = int(vad.speech_pad_ms * SAMPLE_RATE / 1000)
        self._buffer = np.zeros(0, dtype=np.float32)
        self._buf_start = 0  # stream sample index of self._buffer[0]
        self._utt_open = False
        self._last_decode = 0  # stream sample where the last partial decode ended
        self._committed: list[str] = []  # agreed words of the open buffer
        self._hypothesis: list[str] = []  # the last partial hypothesis
        self._shown: str = ""  # text of the last Partial emitted
        self._final_text: list[str] = []  # texts of the finals so far
        self._utt_prompt: list[str] = []  # finals of the open utterance (after trims)
        self._last_final_end = 0.0
        # (end sample, buffer start, segments) of a final decoded ahead of its endpoint
        self._speculative: tuple[int, int, tuple[Segment, ...]] | None = None

    # -- audio in --------------------------------------------------------------------
    def _process(self, samples: np.ndarray) -> list[StreamEvent]:
        self._buffer = np.concatenate([self._buffer, samples])
        events: list[StreamEvent] = []
        for change in self._endpointer.push(self._vad.push(samples)):
            events += self._on_vad(change)
        if not self._utt_open:
            self._keep_preroll()
            return events
        if self._buffer.size > self._buffer_limit() * SAMPLE_RATE:
            events += self._trim_long_buffer()
        self._maybe_speculate()
        events += self._maybe_partial()
        return events

    def _maybe_speculate(self) -> None:
        """Decode the final of a pause that may be the utterance's end before it is
        sure."""
        silence = self._endpointer.trailing_silence_s
        if (
            not self.streaming.speculative_final
            or self.degrade_level > 0
            or silence
            < max(self._pad / SAMPLE_RATE, self.streaming.endpoint_silence_s / 2)
        ):
            return
        end = min(self._endpointer.last_speech_end + self._pad, self.num_samples)
        if self._speculative is not None and self._speculative[:2] == (
            end,
            self._buf_start,
        ):
            return
        audio = self._buffer[: max(0, end - self._buf_start)]
        if audio.size < MIN_DECODE_S * SAMPLE_RATE:
            return
        self._speculative = (end, self._buf_start, self._decode_final(audio))

    def _flush(self) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for change in self._endpointer.flush():
            events += self._on_vad(change)
        return events

    def _on_vad(self, change: SpeechStart | SpeechEnd) -> list[StreamEvent]:
        if isinstance(change, SpeechStart):
            start = max(self._buf_start, change.sample - self._pad)
            self._drop_before(start)
            self._utt_open = True
            self._last_decode = 0
            self._committed, self._hypothesis, self._utt_prompt = [], [], []
            return []
        self._utt_open = False
        end = min(change.sample + self._pad, self.num_samples)
        if change.is_speech and self.degrade_level >= 3:
            self.skipped_s += (end - self._buf_start) / SAMPLE_RATE
            logger.warning(
                "stream %.1f s behind: skipped %.1f s of speech undecoded",
                self._lag_s,
                (end - self._buf_start) / SAMPLE_RATE,
            )
        events = (
            self._finalize(end) if change.is_speech and self.degrade_level < 3 else []
        )
        if not any(isinstance(e, Final) for e in events) and self._shown:
            events.append(Partial("", self._buf_start / SAMPLE_RATE, end / SAMPLE_RATE))
        self._shown = ""
        self._drop_before(max(self._buf_start, end))
        return events

    def _keep_preroll(self) -> None:
        # pad plus two VAD frames: a speech start found in the next push may lie up to
        # one frame before the samples of that push, and must still get its full pad
        keep = self._pad + 2 * FRAME_SAMPLES
        self._drop_before(max(self._buf_start, self.num_samples - keep))

    def _drop_before(self, sample: int) -> None:
        cut = sample - self._buf_start
        if cut > 0:
            self._buffer = self._buffer[cut:]
            self._buf_start = sample

    def _buffer_limit(self) -> float:
        limit = self.streaming.max_buffer_s
        return max(4.0, limit / 2) if self.degrade_level >= 2 else limit

    # -- partials --------------------------------------------------------------------
    def _maybe_partial(self) -> list[StreamEvent]:
        if not self.streaming.partials:
            return []
        now = self.num_samples
        if self._last_decode == 0:
            speech = now - self._endpointer.speech_start
            due = speech >= self.streaming.first_partial_s * SAMPLE_RATE
        else:
            interval = self.streaming.partial_interval_s * (
                2 if self.degrade_level else 1
            )
            if not self._hypothesis and not self.degrade_level:
                # nothing recognised yet: retry soon, decodes of a short buffer are
                # cheap
                interval = min(interval, FAST_START_INTERVAL_S)
            due = now - self._last_decode >= interval * SAMPLE_RATE
        if not due:
            return []
        if self._endpointer.trailing_silence_s >= PAUSE_S and self._hypothesis:
            return []  # nothing new was said since the last decode; the final is coming
        self._last_decode = now
        if self.degrade_level >= 2:
            self.dropped_partials += 1
            return []
        words = split_words(self._decode_partial())
        self.partial_decodes += 1
        agreed = agreed_prefix(self._hypothesis, words)
        keeps_commit = agreed_prefix(self._committed, words) == len(self._committed)
        if keeps_commit and agreed > len(self._committed):
            self._committed = words[:agreed]
        self._hypothesis = words
        text = " ".join(self._committed + words[len(self._committed) :])
        if not text or text == self._shown:
            return []
        self._shown = text
        start = max(self._buf_start / SAMPLE_RATE, self._last_final_end)
        return [Partial(text, round(start, 3), round(now / SAMPLE_RATE, 3))]

    def _decode_partial(self) -> str:
        options = self.options.with_(
            beam_size=1, word_timestamps=False, vad=False, initial_prompt=self._prompt()
        )
        text = self._decoder.partial(self._buffer, options)
        return " ".join(self._hypothesis) if text is None else text

    # -- finals ----------------------------------------------------------------------
    def _final_options(self) -> DecodeOptions:
        beam = 1 if self.degrade_level >= 2 else self.options.beam_size
        return self.options.with_(
            beam_size=beam, vad=False, initial_prompt=self._prompt()
        )

    def _prompt(self) -> str | None:
        if self._utt_prompt or self.options.condition_on_previous_text:
            source = (
                self._utt_prompt
                if not self.options.condition_on_previous_text
                else (self._final_text)
            )
            text = " ".join(source)[-PROMPT_CHARS:].strip()
            return text or self.options.initial_prompt
        return self.options.initial_prompt

    def _finalize(self, end: int) -> list[StreamEvent]:
        """Decode the buffer up to stream sample ``end`` and emit it as finals."""
        audio = self._buffer[: max(0, end - self._buf_start)]
        speculative, self._speculative = self._speculative, None
        if audio.size < MIN_DECODE_S * SAMPLE_RATE:
            return []
        if speculative is not None and speculative[:2] == (end, self._buf_start):
            self.speculative_hits += 1
            return self._emit(list(speculative[2]), end)
        return self._emit(list(self._decode_final(audio)), end)

    def _decode_final(self, audio: np.ndarray) -> tuple[Segment, ...]:
        """Segments of ``audio`` (times from its start) decoded with the final
        options."""
        self.final_decodes += 1
        return self._decoder.final(audio, self._final_options())

    def _trim_long_buffer(self) -> list[StreamEvent]:
        """Finalise the stable words of an over-long buffer and cut them off."""
        if self.degrade_level >= 3:
            cut = self.num_samples - int(STABLE_TAIL_S * SAMPLE_RATE)
            self.skipped_s += max(0, cut - self._buf_start) / SAMPLE_RATE
            self._drop_before(max(self._buf_start, cut))
            self._committed, self._hypothesis = [], []
            return []
        segments = self._decode_final(self._buffer)
        horizon = self._buffer.size / SAMPLE_RATE - STABLE_TAIL_S
        if not any(seg.words for seg in segments):
            # no word times to cut at: keep the segments that end early enough
            stable = [seg for seg in segments if seg.end <= horizon]
        else:
            stable = _segments_before(segments, horizon)
        cut = stable[-1].end if stable else horizon
        cut_sample = self._buf_start + int(cut * SAMPLE_RATE)
        events = self._emit(stable, cut_sample)
        self._utt_prompt += [e.segment.text for e in events if isinstance(e, Final)]
        self._drop_before(max(self._buf_start, cut_sample))
        self._committed, self._hypothesis = [], []
        return events

    def _emit(self, segments: list[Segment], end: int) -> list[StreamEvent]:
        """Shift the buffer-relative segments to stream time, clamp them and emit."""
        offset = self._buf_start / SAMPLE_RATE
        limit = end / SAMPLE_RATE
        events: list[StreamEvent] = []
        for seg in segments:
            shifted = _shift_segment(seg, offset, self._last_final_end, limit)
            if shifted is None:
                continue
            self._last_final_end = shifted.end
            self._final_text.append(shifted.text)
            events.append(Final(shifted))
        return events


def _segments_before(segments: tuple[Segment, ...], horizon: float) -> list[Segment]:
    """Segments cut to the words that end by ``horizon`` (seconds, buffer time)."""
    kept: list[Segment] = []
    for seg in segments:
        words = tuple(w for w in seg.words if w.end <= horizon)
        if not words:
            break
        if len(words) == len(seg.words):
            kept.append(seg)
            continue
        kept.append(
            Segment(
                words[0].start,
                words[-1].end,
                " ".join(w.text for w in words),
                words,
                seg.avg_log_prob,
                seg.no_speech_prob,
            )
        )
        break
    return kept


def _shift_segment(
    seg: Segment, offset: float, floor: float, limit: float
) -> Segment | None:
    """``seg`` moved by ``offset`` seconds, its times clamped to [floor, limit],
    monotonic."""

    def clamp(t: float) -> float:
        return round(min(max(t + offset, floor), limit), 3)

    words: list[Word] = []
    last = floor
    for w in seg.words:
        start = max(clamp(w.start), last)
        end = max(clamp(w.end), start)
        words.append(Word(start, end, w.text, w.probability))
        last = end
    text = seg.text.strip()
    if not text:
        return None
    start = words[0].start if words else clamp(seg.start)
    end = words[-1].end if words else max(clamp(seg.end), start)
    return Segment(start, end, text, tuple(words), seg.avg_log_prob, seg.no_speech_prob)
