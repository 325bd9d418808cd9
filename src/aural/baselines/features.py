"""MFCC + delta + delta-delta features for the classic baselines (numpy only).

The baselines need the textbook front end of HMM-GMM and hybrid DNN systems:
13 mel-frequency cepstral coefficients per 10 ms frame, their first and second
time derivatives (39 values a frame), per-utterance mean and variance
normalisation, and frame splicing for the DNN. It is written with numpy so the
baselines do not depend on torch for features; frame ``i`` covers the samples
around ``i * hop`` so that frame indices agree with PocketSphinx's 100 frames a
second.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.fft import dct

from aural.errors import ConfigError

__all__ = [
    "MfccOptions",
    "mfcc",
    "add_deltas",
    "normalize_cmvn",
    "mfcc_with_deltas",
    "splice_frames",
]


@dataclass(frozen=True, slots=True)
class MfccOptions:
    """How MFCC features are computed.

    Args:
        sample_rate: rate of the input samples (Hz).
        num_ceps: cepstral coefficients kept per frame, c0 included.
        num_mels: triangular mel filters.
        frame_length_ms: analysis window length (milliseconds).
        hop_length_ms: frame shift (milliseconds); 10 gives 100 frames a second.
        low_freq: lowest filter edge (Hz).
        high_freq: highest filter edge (Hz); ``None`` means the Nyquist frequency.
        preemphasis: first-order pre-emphasis coefficient (0 disables it).
        lifter: cepstral liftering coefficient (0 disables it).
        delta_width: half-width (frames) of the delta regression window.
        cmvn: normalise each coefficient to zero mean, unit variance per utterance.
    """

    sample_rate: int = 16_000
    num_ceps: int = 13
    num_mels: int = 26
    frame_length_ms: float = 25.0
    hop_length_ms: float = 10.0
    low_freq: float = 20.0
    high_freq: float | None = None
    preemphasis: float = 0.97
    lifter: float = 22.0
    delta_width: int = 2
    cmvn: bool = True

    def __post_init__(self) -> None:
        if self.sample_rate <= 0:
            raise ConfigError(f"MfccOptions.sample_rate must be positive, got {self.sample_rate}")
        if not 1 <= self.num_ceps <= self.num_mels:
            raise ConfigError(
                f"MfccOptions.num_ceps must be in [1, num_mels={self.num_mels}], "
                f"got {self.num_ceps}"
            )
        if self.hop_length_ms <= 0 or self.frame_length_ms < self.hop_length_ms:
            raise ConfigError(
                "MfccOptions needs 0 < hop_length_ms <= frame_length_ms, got "
                f"hop={self.hop_length_ms}, frame={self.frame_length_ms}"
            )
        nyquist = self.sample_rate / 2
        high = nyquist if self.high_freq is None else self.high_freq
        if not 0 <= self.low_freq < high <= nyquist:
            raise ConfigError(
                f"MfccOptions needs 0 <= low_freq < high_freq <= {nyquist} Hz, got "
                f"low={self.low_freq}, high={self.high_freq}"
            )
        if self.delta_width < 1:
            raise ConfigError(f"MfccOptions.delta_width must be >= 1, got {self.delta_width}")

    @property
    def frame_length_samples(self) -> int:
        return int(round(self.frame_length_ms * self.sample_rate / 1000))

    @property
    def hop_length_samples(self) -> int:
        return int(round(self.hop_length_ms * self.sample_rate / 1000))

    @property
    def num_features(self) -> int:
        """Values per frame after :func:`mfcc_with_deltas` (static + delta + delta-delta)."""
        return 3 * self.num_ceps


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


@functools.lru_cache(maxsize=16)
def _mel_filterbank(
    num_mels: int, n_fft: int, sample_rate: int, low: float, high: float
) -> np.ndarray:
    """Triangular HTK-style filters, shape ``(num_mels, n_fft // 2 + 1)``."""
    mel_points = np.linspace(_hz_to_mel(low), _hz_to_mel(high), num_mels + 2)
    hz_points = _mel_to_hz(mel_points)
    bin_freqs = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    left, center, right = hz_points[:-2, None], hz_points[1:-1, None], hz_points[2:, None]
    rising = (bin_freqs[None, :] - left) / (center - left)
    falling = (right - bin_freqs[None, :]) / (right - center)
    bank = np.maximum(0.0, np.minimum(rising, falling))
    bank.setflags(write=False)
    return bank


def _frame_signal(samples: np.ndarray, frame_length: int, hop: int) -> np.ndarray:
    """Frames of ``frame_length`` samples centred on ``i * hop + hop / 2``.

    There are ``max(1, num_samples // hop)`` frames; the edges are zero padded.
    """
    num_frames = max(1, len(samples) // hop)
    left = (frame_length - hop) // 2
    needed = (num_frames - 1) * hop + frame_length
    padded = np.zeros(needed, dtype=np.float64)
    chunk = samples[: max(0, needed - left)]
    padded[left : left + len(chunk)] = chunk
    index = np.arange(frame_length)[None, :] + hop * np.arange(num_frames)[:, None]
    return padded[index]


def mfcc(samples: np.ndarray, options: MfccOptions | None = None) -> np.ndarray:
    """Static MFCCs of mono samples.

    Args:
        samples: float array, shape ``(num_samples,)``, at ``options.sample_rate``.
        options: feature settings; ``None`` means :class:`MfccOptions` defaults.

    Returns:
        float32 array, shape ``(num_frames, num_ceps)`` with
        ``num_frames = max(1, num_samples // hop_length_samples)``.

    Raises:
        ConfigError: if ``samples`` is not one-dimensional.
    """
    opts = options or MfccOptions()
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 1:
        raise ConfigError(f"mfcc needs mono samples of shape (num_samples,), got {x.shape}")
    if opts.preemphasis > 0 and len(x) > 1:
        x = np.concatenate([x[:1], x[1:] - opts.preemphasis * x[:-1]])
    frame_length = opts.frame_length_samples
    frames = _frame_signal(x, frame_length, opts.hop_length_samples)
    frames = frames * np.hamming(frame_length)[None, :]
    n_fft = 1 << max(0, (frame_length - 1).bit_length())
    power = np.abs(np.fft.rfft(frames, n=n_fft, axis=1)) ** 2
    high = opts.sample_rate / 2 if opts.high_freq is None else opts.high_freq
    bank = _mel_filterbank(opts.num_mels, n_fft, opts.sample_rate, opts.low_freq, high)
    log_mel = np.log(np.maximum(power @ bank.T, 1e-10))
    ceps = dct(log_mel, type=2, axis=1, norm="ortho")[:, : opts.num_ceps]
    if opts.lifter > 0:
        n = np.arange(opts.num_ceps)
        ceps = ceps * (1.0 + (opts.lifter / 2.0) * np.sin(np.pi * n / opts.lifter))
    return ceps.astype(np.float32)


def add_deltas(features: np.ndarray, width: int = 2) -> np.ndarray:
    """Append first and second regression derivatives along time.

    Args:
        features: shape ``(num_frames, num_values)``.
        width: half-width ``N`` of the regression window
            ``d_t = sum_n n (c_{t+n} - c_{t-n}) / (2 sum_n n^2)``; edges repeat.

    Returns:
        shape ``(num_frames, 3 * num_values)``: static, delta, delta-delta.
    """

    def _delta(x: np.ndarray) -> np.ndarray:
        padded = np.pad(x, ((width, width), (0, 0)), mode="edge")
        total = np.zeros_like(x)
        for n in range(1, width + 1):
            total += n * (padded[width + n : width + n + len(x)] - padded[width - n : width - n + len(x)])
        return total / (2.0 * sum(n * n for n in range(1, width + 1)))

    first = _delta(features)
    return np.concatenate([features, first, _delta(first)], axis=1).astype(np.float32)


def normalize_cmvn(features: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance per column over the utterance (the variance floor is 1e-8)."""
    mean = features.mean(axis=0, keepdims=True)
    std = np.sqrt(np.maximum(features.var(axis=0, keepdims=True), 1e-8))
    return ((features - mean) / std).astype(np.float32)


def mfcc_with_deltas(samples: np.ndarray, options: MfccOptions | None = None) -> np.ndarray:
    """MFCC + delta + delta-delta, normalised per utterance when ``options.cmvn``.

    Returns:
        float32 array, shape ``(num_frames, 3 * num_ceps)``.
    """
    opts = options or MfccOptions()
    feats = add_deltas(mfcc(samples, opts), opts.delta_width)
    return normalize_cmvn(feats) if opts.cmvn else feats


def splice_frames(features: np.ndarray, context: int) -> np.ndarray:
    """Stack each frame with ``context`` neighbours on each side (edges repeat).

    Args:
        features: shape ``(num_frames, num_values)``.
        context: frames on each side; 0 returns a copy.

    Returns:
        shape ``(num_frames, (2 * context + 1) * num_values)``, ordered from the
        earliest neighbour to the latest.
    """
    if context < 0:
        raise ConfigError(f"splice context must be >= 0, got {context}")
    num_frames = len(features)
    padded = np.pad(features, ((context, context), (0, 0)), mode="edge")
    parts = [padded[offset : offset + num_frames] for offset in range(2 * context + 1)]
    return np.concatenate(parts, axis=1)
