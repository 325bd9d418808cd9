"""Seeded data augmentation: speed, pitch, reverberation, additive noise and
SpecAugment.

Waveform effects run per utterance with a ``numpy.random.Generator`` that the trainer
derives from ``(seed, epoch, utterance index)``, so an utterance is augmented the same
way whether a run was interrupted or not. SpecAugment runs on a batch of features with a
``torch.Generator`` derived from ``(seed, step)``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from aural.audio import resample
from aural.audio.effects import NoiseBank, convolve_rir, mix_at_snr
from aural.training.config import AugmentConfig, SpecAugmentConfig

__all__ = [
    "WaveformAugmenter",
    "pitch_shift",
    "spec_augment",
    "speed_perturb",
    "time_stretch",
]

logger = logging.getLogger(__name__)


def speed_perturb(samples: np.ndarray, factor: float, sample_rate: int) -> np.ndarray:
    """Play ``samples`` ``factor`` times faster (tempo and pitch change together).

    Done as Kaldi does: resample from ``sample_rate * factor`` to ``sample_rate``, so
    the output has ``len / factor`` samples.
    """
    if factor == 1.0:
        return samples
    return resample(samples, round(sample_rate * factor), sample_rate).astype(
        np.float32
    )


def time_stretch(
    samples: np.ndarray, length_factor: float, n_fft: int = 512, hop_length: int = 128
) -> np.ndarray:
    """Make audio ``length_factor`` times longer without changing its pitch (phase
    vocoder).

    Magnitudes are interpolated between STFT frames; phases advance by each bin's
    measured instantaneous frequency, so partials stay continuous.
    """
    x = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
    window = torch.hann_window(n_fft)
    spec = torch.stft(x, n_fft, hop_length, window=window, return_complex=True)
    spec = torch.cat([spec, torch.zeros_like(spec[:, :1])], dim=1)  # (bins, frames + 1)
    steps = torch.arange(0, spec.shape[1] - 1, 1.0 / length_factor, dtype=torch.float64)
    idx = steps.floor().long()
    alpha = (steps - idx).float()[None, :]
    left, right = spec[:, idx], spec[:, idx + 1]
    magnitude = (1 - alpha) * left.abs() + alpha * right.abs()
    expected = torch.linspace(0, np.pi * hop_length, spec.shape[0])[:, None]
    delta = right.angle() - left.angle() - expected
    delta = delta - 2 * np.pi * torch.round(delta / (2 * np.pi))
    advance = torch.cumsum(expected + delta, dim=1)
    phase = spec[:, :1].angle() + torch.cat(
        [torch.zeros_like(advance[:, :1]), advance[:, :-1]], dim=1
    )
    out = torch.istft(
        torch.polar(magnitude, phase),
        n_fft,
        hop_length,
        window=window,
        length=round(len(samples) * length_factor),
    )
    return out.numpy().astype(np.float32)


def pitch_shift(samples: np.ndarray, semitones: float, sample_rate: int) -> np.ndarray:
    """Shift the pitch by ``semitones`` keeping the number of samples.

    Stretch by the pitch ratio (phase vocoder), then resample back to the original
    length.
    """
    ratio = 2.0 ** (semitones / 12.0)
    if len(samples) < 1024 or semitones == 0:
        return np.asarray(samples, dtype=np.float32)
    stretched = time_stretch(samples, ratio)
    out = resample(stretched, round(sample_rate * ratio), sample_rate)
    fixed = np.zeros(len(samples), dtype=np.float32)
    fixed[: min(len(out), len(samples))] = out[: len(samples)]
    return fixed


class WaveformAugmenter:
    """Applies the enabled waveform effects of an :class:`AugmentConfig`.

    Order: speed, pitch, reverberation, noise (noise is added after the room, as a
    microphone would pick it up). The noise and RIR folders are loaded once here.

    Args:
        config: what to apply and with which probabilities.
        sample_rate: rate of the audio that will be passed in (Hz).
    """

    def __init__(self, config: AugmentConfig, sample_rate: int) -> None:
        self.config = config
        self.sample_rate = sample_rate
        self.noise = (
            NoiseBank(Path(config.noise.directory), sample_rate)
            if config.noise.enabled
            else None
        )
        self.rirs = (
            NoiseBank(
                Path(config.rir.directory), sample_rate, label="room-response folder"
            )
            if config.rir.enabled
            else None
        )

    @property
    def is_active(self) -> bool:
        c = self.config
        return c.speed.enabled or c.pitch.enabled or c.rir.enabled or c.noise.enabled

    def __call__(self, samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """An augmented copy of mono float32 ``samples`` (the same ``rng`` state gives
        the same result)."""
        c = self.config
        out = samples
        if c.speed.enabled and c.speed.factors:
            out = speed_perturb(
                out, float(rng.choice(c.speed.factors)), self.sample_rate
            )
        if c.pitch.enabled and rng.random() < c.pitch.probability:
            out = pitch_shift(
                out, float(rng.uniform(*c.pitch.semitones)), self.sample_rate
            )
        if self.rirs is not None and rng.random() < c.rir.probability:
            _, rir = self.rirs.pick(rng)
            out = convolve_rir(out, rir)
        if self.noise is not None and rng.random() < c.noise.probability:
            _, noise = self.noise.pick(rng)
            out = mix_at_snr(out, noise, float(rng.uniform(*c.noise.snr_db)), rng)
            peak = float(np.abs(out).max()) if out.size else 0.0
            if peak > 1.0:  # scaling the whole mixture keeps the SNR
                out = out / peak
        return np.asarray(out, dtype=np.float32)


def spec_augment(
    features: torch.Tensor,
    frame_lengths: torch.Tensor,
    config: SpecAugmentConfig,
    generator: torch.Generator,
) -> torch.Tensor:
    """Zero random frequency bands and time stretches of each utterance (a copy).

    Args:
        features: ``(batch, num_frames, num_features)`` (normalised, so 0 is the mean).
        frame_lengths: valid frames per row.
        config: mask counts and widths (time width as a fraction of each utterance).
        generator: a CPU generator; the same state gives the same masks.
    """
    if not config.enabled:
        return features
    batch, total, dim = features.shape
    keep = torch.ones(batch, total, dim, dtype=torch.bool)
    freq_axis = torch.arange(dim)
    time_axis = torch.arange(total)
    for b in range(batch):
        n = int(frame_lengths[b])
        for _ in range(config.freq_masks):
            width = int(
                torch.randint(0, config.freq_width + 1, (1,), generator=generator)
            )
            start = int(
                torch.randint(0, max(1, dim - width), (1,), generator=generator)
            )
            keep[b, :, (freq_axis >= start) & (freq_axis < start + width)] = False
        max_t = int(config.time_width * n)
        for _ in range(config.time_masks):
            width = int(torch.randint(0, max_t + 1, (1,), generator=generator))
            start = int(torch.randint(0, max(1, n - width), (1,), generator=generator))
            keep[b, (time_axis >= start) & (time_axis < start + width), :] = False
    return features * keep.to(features.device, features.dtype)
