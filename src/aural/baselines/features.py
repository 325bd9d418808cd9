"""MFCC + delta + delta-delta frames for the classic baselines, and frame splicing.

The features themselves come from :mod:`aural.audio.features` (the one owner of
feature extraction); this module fixes the textbook settings the baselines use
(13 cepstra, deltas over 5 frames, per-utterance mean and variance normalisation,
25 ms windows every 10 ms) and adapts numpy in, numpy out for one utterance at a time.
"""

from __future__ import annotations

import numpy as np

from aural.audio.features import FeatureOptions, extract
from aural.errors import ConfigError

__all__ = [
    "digit_feature_options",
    "mfcc_with_deltas",
    "speech_feature_options",
    "splice_frames",
]


def _mfcc_options(sample_rate: int, num_mels: int) -> FeatureOptions:
    """13 MFCC + deltas with utterance CMVN: 25 ms windows every 10 ms at
    ``sample_rate``."""
    win_length = sample_rate // 40
    return FeatureOptions(
        kind="mfcc",
        sample_rate=sample_rate,
        n_fft=1 << (win_length - 1).bit_length(),
        win_length=win_length,
        hop_length=sample_rate // 100,
        num_mels=num_mels,
        f_min=20.0,
        num_ceps=13,
        deltas=True,
        delta_width=5,
        cmvn="utterance",
    )


def digit_feature_options() -> FeatureOptions:
    """MFCC + deltas for 8 kHz recordings: 25 ms windows every 10 ms, 23 mel bands."""
    return _mfcc_options(8000, 23)


def speech_feature_options() -> FeatureOptions:
    """MFCC + deltas for 16 kHz speech: 25 ms windows every 10 ms, 40 mel bands."""
    return _mfcc_options(16_000, 40)


def mfcc_with_deltas(samples: np.ndarray, options: FeatureOptions) -> np.ndarray:
    """Features of one utterance.

    Args:
        samples: mono float samples, shape ``(num_samples,)``, at
            ``options.sample_rate``.
        options: the feature definition (see :func:`digit_feature_options`).

    Returns:
        float32 array, shape ``(1 + num_samples // hop_length, options.num_features)``.

    Raises:
        ConfigError: if ``samples`` is not one-dimensional.
    """
    import torch

    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise ConfigError(
            f"features need mono samples of shape (num_samples,), got {x.shape}"
        )
    with torch.no_grad():
        feats, _ = extract(torch.from_numpy(x)[None], None, options)
    return feats[0].numpy().astype(np.float32, copy=False)


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
