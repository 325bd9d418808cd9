"""What a Whisper stream decodes its buffer with: trimmed windows, then the engine's
full path when a window looks degenerate (never the public, conditioning entry
point)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from aural.audio.waveform import SAMPLE_RATE, Waveform
from aural.decoding.options import DecodeOptions
from aural.engines.whisper.language import UNSURE
from aural.engines.whisper.window import FINAL_PAD_FRAMES, WhisperWindowDecoder
from aural.types import Segment

if TYPE_CHECKING:
    from aural.engines.whisper.engine import WhisperEngine

__all__ = ["WhisperBufferDecoder"]

logger = logging.getLogger(__name__)


class WhisperBufferDecoder:
    """A :class:`aural.streaming.redecode.BufferDecoder` for Whisper.

    Args:
        engine: the loaded engine (its full path is the fallback).
        window: the engine's shared trimmed-window decoder for the stream's language and
            task (None: sampling, which only the full path does).
        generator: who runs the window decodes' search: None for CTranslate2, or
            aural's PyTorch decoder with the stream's hotwords fused
            (:class:`~aural.engines.whisper.torch_decoder.TorchWhisper`).
        per_segment: detect each final's language on its own
            (``DecodeOptions.language_per_segment``) and set ``Segment.language``.

    Without a language, each decode detects it from its own window (one decoder step)
    until a final is detected with probability at least :data:`.language.UNSURE`;
    the stream then keeps that language (unless ``per_segment``), so partials do not
    flicker between languages.
    """

    def __init__(
        self,
        engine: WhisperEngine,
        window: WhisperWindowDecoder | None,
        generator: Any = None,
        per_segment: bool = False,
    ) -> None:
        self._engine = engine
        self._window = window
        self._generator = generator
        self._per_segment = per_segment
        self.language: str | None = None  # the language kept once found

    @property
    def biasing(self) -> Any:
        """The compiled hotwords the window decodes fuse (None without hotwords)."""
        return getattr(self._generator, "biasing", None)

    def partial(self, audio: np.ndarray, options: DecodeOptions) -> str | None:
        if self._window is None:
            return self._full(audio, options).to_transcript().text
        result = self._window.decode(
            audio,
            beam_size=options.beam_size,
            prompt=options.initial_prompt,
            generator=self._generator,
            language=self.language,
            settle=False,  # an unsure partial takes the top language (no extra decode)
        )
        if result.is_suspect:  # a repetition loop on a cut-off word
            return None
        return "" if result.is_no_speech else result.text

    def final(self, audio: np.ndarray, options: DecodeOptions) -> tuple[Segment, ...]:
        if self._window is not None:
            result = self._window.decode(
                audio,
                beam_size=options.beam_size,
                prompt=options.initial_prompt,
                generator=self._generator,
                word_timestamps=options.word_timestamps,
                pad_frames=FINAL_PAD_FRAMES,
                language=self.language,
            )
            if result.is_no_speech or not result.text:
                return ()
            if (
                not self._per_segment
                and self.language is None
                and result.language_probability is not None
                and result.language_probability >= UNSURE
            ):
                self.language = result.language
            if not result.is_suspect:
                words = result.words
                start = words[0].start if words else 0.0
                end = words[-1].end if words else audio.size / SAMPLE_RATE
                return (
                    Segment(
                        start,
                        end,
                        result.text,
                        words,
                        result.avg_log_prob,
                        result.no_speech_prob,
                        language=result.language if self._per_segment else None,
                    ),
                )
            logger.debug("short-window decode looks degenerate; using the full decoder")
        return self._full(audio, options).to_transcript().segments

    def _full(self, audio: np.ndarray, options: DecodeOptions):  # type: ignore[no-untyped-def]
        # the buffer was conditioned by the stream; decode() does not condition it again
        if self.language is not None:
            options = options.with_(language=self.language)
        return self._engine.decode(Waveform(audio, SAMPLE_RATE), options)
