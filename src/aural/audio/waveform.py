"""The in-memory audio type: mono float32 samples that always carry their rate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aural.errors import ConfigError

SAMPLE_RATE = 16_000
"""The rate (Hz) every engine consumes; :func:`aural.audio.load` resamples to it."""


def pcm_to_float(samples: np.ndarray) -> np.ndarray:
    """Integer PCM (int16, int32, uint8...) as float32 in [-1, 1); floats as they
    are."""
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
            int32, uint8...) is converted to that scale. The layout is never guessed: a
            2-D array with more channels than samples (the
            ``(num_channels, num_samples)`` layout of torchaudio and librosa) is
            refused; pass ``samples.T``.
        sample_rate: samples per second (Hz), an integer in the range
            :func:`aural.audio.load` reads (2 kHz to 768 kHz).

    Raises:
        ConfigError: samples that are not a 1-D or 2-D numeric array, a 2-D array in
            ``(num_channels, num_samples)`` layout, or a sample rate that is not an
            integer in range.
    """

    samples: np.ndarray
    sample_rate: int

    def __post_init__(self) -> None:
        if not isinstance(self.samples, np.ndarray):
            raise ConfigError(
                "Waveform samples must be a numpy array, got "
                f"{type(self.samples).__name__}"
            )
        kind = self.samples.dtype.kind
        if (
            kind in "iu"
        ):  # integer PCM: to floats in [-1, 1), the scale the engines expect
            object.__setattr__(self, "samples", pcm_to_float(self.samples))
        elif kind != "f":
            raise ConfigError(
                "Waveform samples must be float or integer PCM, got dtype "
                f"{self.samples.dtype}"
            )
        if self.samples.ndim not in (1, 2):
            raise ConfigError(
                f"Waveform samples must have shape (num_samples,) or "
                f"(num_samples, num_channels), got {self.samples.shape}"
            )
        if self.samples.ndim == 2 and self.samples.shape[1] > self.samples.shape[0] > 0:
            channels, frames = self.samples.shape
            raise ConfigError(
                f"Waveform samples of shape {self.samples.shape} would be {channels} "
                f"sample(s) of {frames} channels; aural takes (num_samples, "
                f"num_channels). For {channels}-channel audio in (num_channels, "
                "num_samples) layout pass samples.T"
            )
        self._check_rate()

    def _check_rate(self) -> None:
        from aural.audio.load import (
            MAX_SAMPLE_RATE,
            MIN_SAMPLE_RATE,
        )  # late: load imports us

        rate: object = self.sample_rate  # annotated int, but callers may pass anything
        if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)):
            hint = ""
            if (
                isinstance(rate, float)
                and rate.is_integer()
                and MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE
            ):
                hint = f"; pass {int(rate)}"
            raise ConfigError(
                "Waveform sample_rate must be an integer number of Hz, got "
                f"{rate!r}{hint}"
            )
        if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
            raise ConfigError(
                f"Waveform sample_rate {rate} Hz is outside {MIN_SAMPLE_RATE}-"
                f"{MAX_SAMPLE_RATE} Hz; pass the rate the samples were recorded at "
                "(e.g. 16000)"
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
        return Waveform(self.samples[a : max(a, b)], self.sample_rate)
