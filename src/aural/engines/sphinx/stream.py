"""Native incremental streaming for PocketSphinx.

PocketSphinx searches frame by frame, so a stream needs no re-decoding: audio goes
through PocketSphinx's own ``Endpointer`` (WebRTC-style VAD with a decision window);
speech frames go straight into ``Decoder.process_raw`` between ``start_utt`` and
``end_utt``. Partials come from ``Decoder.hyp()``; a final is emitted when the
endpointer says the speech ended (or at the end of the stream).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aural.audio.waveform import SAMPLE_RATE
from aural.decoding.options import DecodeOptions
from aural.engines.sphinx.engine import FRAMES_PER_SECOND, decoder_segment
from aural.streaming.pcm import to_pcm16
from aural.streaming.session import StreamingSession
from aural.types import Final, Partial, Segment, StreamEvent

__all__ = ["SphinxSession"]

ENDPOINT_RATIO = 0.9  # fraction of the window that must agree to switch speech state


class SphinxSession(StreamingSession):
    """Streaming with PocketSphinx's incremental search.

    Args:
        decoder: a fresh ``pocketsphinx.Decoder`` of its own
            (:meth:`~aural.engines.sphinx.SphinxEngine.new_decoder`).
        options: decoding options, already checked by the engine.
        **session: ``sample_rate``, ``encoding``, ``streaming``, ``clock`` of
            :class:`StreamingSession`;
            ``streaming.endpoint_silence_s`` is the endpointer's decision window.
    """

    def __init__(self, decoder: Any, options: DecodeOptions, **session: Any) -> None:
        super().__init__(options, **session)
        from pocketsphinx import Endpointer

        self._decoder: Any = decoder
        self._endpointer = Endpointer(
            window=self.streaming.endpoint_silence_s,
            ratio=ENDPOINT_RATIO,
            sample_rate=SAMPLE_RATE,
        )
        self._frame_bytes = int(self._endpointer.frame_bytes)
        self._pending = b""
        self._in_utt = False
        self._utt_start = 0.0
        self._last_partial_frame = 0
        self._shown = ""
        self._last_final_end = 0.0

    def _process(self, samples: np.ndarray) -> list[StreamEvent]:
        data = self._pending + to_pcm16(samples)
        usable = len(data) - len(data) % self._frame_bytes
        self._pending = data[usable:]
        events: list[StreamEvent] = []
        for i in range(0, usable, self._frame_bytes):
            speech = self._endpointer.process(data[i : i + self._frame_bytes])
            events += self._consume(speech)
        events += self._maybe_partial()
        return events

    def _flush(self) -> list[StreamEvent]:
        # end_stream needs a non-empty last frame; one silent sample stands in for none
        speech = self._endpointer.end_stream(self._pending or b"\x00\x00")
        self._pending = b""
        events = self._consume(speech) if speech is not None else []
        if self._in_utt:
            events += self._end_utterance()
        return events

    def _consume(self, speech: bytes | None) -> list[StreamEvent]:
        if speech is None:
            return []
        if not self._in_utt and self.degrade_level >= 3:
            self.skipped_s += (
                len(speech) / 2 / SAMPLE_RATE
            )  # skip ahead: drop this speech
            return []
        if not self._in_utt:
            self._decoder.start_utt()
            self._in_utt = True
            self._utt_start = max(
                float(self._endpointer.speech_start), self._last_final_end
            )
            self._last_partial_frame = 0
        self._decoder.process_raw(speech, False, False)
        if not self._endpointer.in_speech:
            return self._end_utterance()
        return []

    def _maybe_partial(self) -> list[StreamEvent]:
        if not (self._in_utt and self.streaming.partials):
            return []
        frames = self._decoder.n_frames()
        interval = self.streaming.partial_interval_s * (2 if self.degrade_level else 1)
        if frames - self._last_partial_frame < interval * FRAMES_PER_SECOND:
            return []
        self._last_partial_frame = frames
        if self.degrade_level >= 2:
            self.dropped_partials += 1
            return []
        self.partial_decodes += 1
        hyp = self._decoder.hyp()
        text = hyp.hypstr.strip() if hyp is not None else ""
        if not text or text == self._shown:
            return []
        self._shown = text
        end = self._utt_start + frames / FRAMES_PER_SECOND
        return [Partial(text, round(self._utt_start, 3), round(end, 3))]

    def _end_utterance(self) -> list[StreamEvent]:
        self._decoder.end_utt()
        self._in_utt = False
        self.final_decodes += 1
        segment = self._segment()
        events: list[StreamEvent] = []
        if segment is not None:
            self._last_final_end = segment.end
            events.append(Final(segment))
        elif self._shown:
            events.append(Partial("", round(self._utt_start, 3), round(self.time, 3)))
        self._shown = ""
        return events

    def _segment(self) -> Segment | None:
        return decoder_segment(
            self._decoder, self._utt_start, floor=self._last_final_end, limit=self.time
        )
