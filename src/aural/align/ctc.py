"""CTC forced alignment (character and word spans) with a transformers CTC model or one
of aural's own CTC checkpoints."""

from __future__ import annotations

from typing import Any

from aural.align.result import Alignment
from aural.audio.waveform import Waveform
from aural.decoding.alignment import ctc_align_text
from aural.types import Word

__all__ = ["AuralAligner", "CtcAligner"]


def _alignment(
    log_probs: Any,
    frame_duration: float,
    waveform: Waveform,
    transcript: str,
    vocabulary: Any,
    blank: int,
    word_delimiter: str | None,
    name: str,
    model_id: str,
) -> Alignment:
    result = ctc_align_text(
        log_probs, transcript, vocabulary, blank=blank, word_delimiter=word_delimiter
    )
    fd = frame_duration
    words = tuple(
        Word(w.start_frame * fd, w.end_frame * fd, w.text, w.probability)
        for w in result.words
    )
    chars = tuple(
        Word(c.start_frame * fd, c.end_frame * fd, c.text, c.probability)
        for c in result.chars
    )
    return Alignment(words, chars, waveform.duration, name, model_id, transcript)


class CtcAligner:
    """Viterbi-align transcripts over a CTC model's posteriors.

    Args:
        model: as for the ``ctc`` engine (local folder or hub id).
        settings: ``device``, ``window_s``, ``overlap_s``, ``local_files_only`` of
            :class:`aural.engines.ctc.CtcEngine`.
    """

    name = "ctc"

    def __init__(
        self,
        model: str | None = None,
        *,
        device: str = "cpu",
        window_s: float = 30.0,
        overlap_s: float = 2.0,
        local_files_only: bool | None = None,
    ) -> None:
        from aural.engines import create_engine

        self._engine: Any = create_engine(
            "ctc",
            model,
            device=device,
            window_s=window_s,
            overlap_s=overlap_s,
            local_files_only=local_files_only,
        )
        self.model_id = self._engine.model_id

    def align(self, waveform: Waveform, transcript: str) -> Alignment:
        """Word and character times of ``transcript`` in ``waveform`` (mono, 16 kHz).

        Raises:
            AlignmentError: nothing of the transcript is in the vocabulary, or the audio
                is too short for it.
        """
        post = self._engine.posteriors(waveform)
        return _alignment(
            post.log_probs,
            post.frame_duration,
            waveform,
            transcript,
            self._engine.vocabulary,
            self._engine.blank,
            self._engine.word_delimiter,
            self.name,
            self.model_id,
        )


class AuralAligner:
    """Viterbi-align transcripts over an aural checkpoint's posteriors
    (``aural train``).

    Args:
        model: as for the ``aural`` engine (run folder, checkpoint, ONNX export).
        settings: the ``aural`` engine's settings (``device``, ``runtime``, ...).
    """

    name = "aural"

    def __init__(self, model: str | None = None, **settings: Any) -> None:
        from aural.engines import create_engine

        self._engine: Any = create_engine("aural", model, **settings)
        self.model_id = self._engine.model_id

    def align(self, waveform: Waveform, transcript: str) -> Alignment:
        """Word and character times of ``transcript`` (see :meth:`CtcAligner.align`)."""
        log_probs = self._engine.posteriors(waveform)
        return _alignment(
            log_probs,
            self._engine.frame_duration,
            waveform,
            transcript,
            self._engine.vocabulary,
            self._engine.blank,
            self._engine.word_delimiter,
            self.name,
            self.model_id,
        )
