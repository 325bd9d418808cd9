"""Audio input: decoding, channel mixing, resampling and the :class:`Waveform` type."""

from aural.audio.waveform import SAMPLE_RATE, Waveform

__all__ = ["SAMPLE_RATE", "Waveform"]
