"""Audio input: decoding, channel mixing, resampling and the :class:`Waveform` type."""

from aural.audio.load import AudioInfo, iter_load, load, probe, resample, to_mono
from aural.audio.waveform import SAMPLE_RATE, Waveform

__all__ = [
    "SAMPLE_RATE",
    "AudioInfo",
    "Waveform",
    "iter_load",
    "load",
    "probe",
    "resample",
    "to_mono",
]
