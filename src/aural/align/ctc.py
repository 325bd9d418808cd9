"""CTC forced alignment with a transformers CTC model (character and word spans)."""

from __future__ import annotations

from typing import Any

from aural.align.result import Alignment
from aural.audio.waveform import Waveform
from aural.decoding.alignment import ctc_align_text
from aural.types import Word

__all__ = ["CtcAligner"]


class CtcAligner:
    """Viterbi-align transcripts over a CTC model's posteriors.

    Args:
        model: as for the ``ctc`` engine (local folder or hub id).
        settings: ``device``, ``window_s``, ``overlap_s``, ``local_files_only`` of
            :class:`aural.engines.ctc.CtcEngine`.
    """

    name = "ctc"

    def __init__(self, model: str | None = None, *, device: str = "cpu", window_s: float = 30.0,
                 overlap_s: float = 2.0, local_files_only: bool | None = None) -> None:
        from aural.engines.ctc import CtcEngine

        self._engine: Any = CtcEngine(model, device=device, window_s=window_s,
                                      overlap_s=overlap_s, local_files_only=local_files_only)
        self.model_id = self._engine.model_id

    def align(self, waveform: Waveform, transcript: str) -> Alignment:
        """Word and character times of ``transcript`` in ``waveform`` (mono, 16 kHz).

        Raises:
            AlignmentError: nothing of the transcript is in the vocabulary, or the audio is
                too short for it.
        """
        post = self._engine.posteriors(waveform)
        result = ctc_align_text(post.log_probs, transcript, self._engine.vocabulary,
                                blank=self._engine.blank,
                                word_delimiter=self._engine.word_delimiter)
        fd = post.frame_duration
        words = tuple(Word(w.start_frame * fd, w.end_frame * fd, w.text, w.probability)
                      for w in result.words)
        chars = tuple(Word(c.start_frame * fd, c.end_frame * fd, c.text, c.probability)
                      for c in result.chars)
        return Alignment(words, chars, waveform.duration, self.name, self.model_id, transcript)
