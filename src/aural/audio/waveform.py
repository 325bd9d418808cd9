"""The in-memory audio type: mono float32 samples that always carry their rate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aural.errors import ConfigError

SAMPLE_RATE = 16_000
"""The rate (Hz) every engine consumes; :func:`aural.audio.load` resamples to it."""


def pcm_to_float(samples: np.ndarray) -> np.ndarray:
    """Integer PCM (int16, int32, uint8...) as float32 in [-1, 1); floats as they are."""
    if samples.dtype.kind not in "iu":
        return samples
    info = np.iinfo(samples.dtype)
    middle = (int(info.max) + int(info.min) + 1) / 2  # 0, or 128 for uint8
    scale = (int(info.max) - int(info.min) + 1) / 2
    return ((samples.astype(np.float64) - middle) / scale).astype(np.float32)


@dataclass(frozen=True, slots=True, eq=False)
class Waveform:
    """Audio samples with their sample rate.

    Args:
        samples: float32 array, shape ``(num_samples,)`` (mono) or
            ``(num_samples, num_channels)``, values in [-1, 1]. Integer PCM (int16,
            int32, uint8...) is converted to that scale.
        sample_rate: samples per second (Hz).
    """

    samples: np.ndarray
    sample_rate: int

    def __post_init__(self) -> None:
        if not isinstance(self.samples, np.ndarray):
            raise ConfigError(
                f"Waveform samples must be a numpy array, got {type(self.samples).__name__}"
            )
        kind = self.samples.dtype.kind
        if kind in "iu":  # integer PCM: to floats in [-1, 1), the scale the engines expect
            object.__setattr__(self, "samples", pcm_to_float(self.samples))
        elif kind != "f":
            raise ConfigError(
                f"Waveform samples must be float or integer PCM, got dtype {self.samples.dtype}"
            )
        if self.samples.ndim not in (1, 2):
            raise ConfigError(
                f"Waveform samples must have shape (num_samples,) or "
                f"(num_samples, num_channels), got {self.samples.shape}"
            )
        if isinstance(self.sample_rate, bool) or not isinstance(
            self.sample_rate, (int, np.integer)
        ) or self.sample_rate <= 0:
            raise ConfigError(
                f"Waveform sample_rate must be a positive integer (Hz), got {self.sample_rate!r}"
            )

    @property
    def num_samples(self) -> int:
        return int(self.samples.shape[0])

    @property
    def num_channels(self) -> int:
        return 1 if self.samples.ndim == 1 else int(self.samples.shape[1])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.num_samples / float(self.sample_rate)

    def slice(self, start: float, end: float) -> Waveform:
        """The part between ``start`` and ``end`` seconds, as a new waveform."""
        a = max(0, int(round(start * self.sample_rate)))
        b = min(self.num_samples, int(round(end * self.sample_rate)))
        return Waveform(self.samples[a:max(a, b)], self.sample_rate)
