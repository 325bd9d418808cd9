"""Forced alignment: word (and character) times for a known transcript.

Aligners: ``whisper`` (cross-attention DTW, the default), ``ctc`` (Viterbi over a CTC
model's posteriors; also gives character spans) and ``sphinx`` (PocketSphinx HMM-GMM,
an independent cross-check).

Example:
    >>> result = aural.align.align("clip.flac", "the known words", engine="whisper")
    >>> print(render_alignment(result, "srt"))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from aural.align.result import FORMATS, Alignment, render_alignment
from aural.decoding.alignment import AlignmentError
from aural.errors import EngineNotFoundError

if TYPE_CHECKING:
    from aural.align.ctc import AuralAligner, CtcAligner
    from aural.align.sphinx import SphinxAligner
    from aural.align.whisper import WhisperAligner

__all__ = [
    "ALIGNERS",
    "FORMATS",
    "Alignment",
    "AlignmentError",
    "align",
    "create_aligner",
    "render_alignment",
]

AlignerName = Literal["whisper", "ctc", "aural", "sphinx"]
ALIGNERS: tuple[str, ...] = ("whisper", "ctc", "aural", "sphinx")


def create_aligner(
    engine: str = "whisper", model: str | None = None, **settings: Any
) -> WhisperAligner | CtcAligner | AuralAligner | SphinxAligner:
    """Load an aligner by name (models load once; reuse it for many files).

    Raises:
        EngineNotFoundError: an unknown aligner name.
        ModelNotFoundError: the model cannot be found on this machine.
    """
    if engine == "whisper":
        from aural.align.whisper import WhisperAligner

        return WhisperAligner(model, **settings)
    if engine == "ctc":
        from aural.align.ctc import CtcAligner

        return CtcAligner(model, **settings)
    if engine == "aural":
        from aural.align.ctc import AuralAligner

        return AuralAligner(model, **settings)
    if engine == "sphinx":
        from aural.align.sphinx import SphinxAligner

        if settings:
            raise EngineNotFoundError(
                f"the sphinx aligner takes no settings, got {sorted(settings)}"
            )
        return SphinxAligner(model)
    raise EngineNotFoundError(
        f"unknown aligner {engine!r}; choose one of {', '.join(ALIGNERS)}"
    )


def align(
    source: Any, transcript: str, *, engine: str = "whisper", model: str | None = None
) -> Alignment:
    """Align ``transcript`` to the audio ``source`` (path, bytes, file object or
    Waveform).

    Raises:
        AudioDecodeError: the audio cannot be read.
        AlignmentError: the transcript cannot be aligned to this audio.
    """
    from aural.audio import load

    return create_aligner(engine, model).align(load(source), transcript)
