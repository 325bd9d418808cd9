"""Speaker diarization: who spoke when.

VAD, speaker embeddings on sliding windows, clustering with automatic speaker counting,
smoothing and resegmentation, and the attribution of recognised words to speakers.
The result is a list of :class:`aural.types.Turn`.
"""

from aural.diarization.rttm import parse_rttm, parse_uem, read_rttm, read_uem

__all__ = ["parse_rttm", "parse_uem", "read_rttm", "read_uem"]
