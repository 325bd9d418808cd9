"""Speaker diarization: who spoke when.

VAD, speaker embeddings on sliding windows, clustering with automatic speaker counting,
resegmentation, and the attribution of recognised words to speakers. A diarization
is a list of :class:`aural.types.Turn`.

Example:
    >>> from aural.diarization import assign_speakers, diarize
    >>> turns = diarize("meeting.wav", max_speakers=4)  # doctest: +SKIP
    >>> transcript = assign_speakers(transcript, turns)  # doctest: +SKIP
"""

from aural.diarization.attribution import assign_speakers, word_speakers
from aural.diarization.embedders import EMBEDDERS, Embedder, load_embedder
from aural.diarization.options import DiarizationOptions
from aural.diarization.pipeline import DiarizationTrace, Diarizer, diarize
from aural.diarization.rttm import parse_rttm, parse_uem, read_rttm, read_uem

__all__ = [
    "DiarizationOptions",
    "DiarizationTrace",
    "Diarizer",
    "EMBEDDERS",
    "Embedder",
    "assign_speakers",
    "diarize",
    "load_embedder",
    "parse_rttm",
    "parse_uem",
    "read_rttm",
    "read_uem",
    "word_speakers",
]
