"""Waveform augmentation and SpecAugment on real speech, noise and room responses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from aural.audio import load
from aural.audio.effects import measure_snr_db
from aural.training.augment import (
    WaveformAugmenter,
    pitch_shift,
    spec_augment,
    speed_perturb,
    time_stretch,
)
from aural.training.config import AugmentConfig, SpecAugmentConfig


@pytest.fixture(scope="module")
def speech(dev_clean: Path) -> np.ndarray:
    path = min(dev_clean.rglob("*.flac"))
    return load(path, sample_rate=16_000).samples[: 16_000 * 3]


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_speed_perturb_changes_length_by_factor(
    speech: np.ndarray, factor: float
) -> None:
    out = speed_perturb(speech, factor, 16_000)
    assert abs(len(out) - len(speech) / factor) <= 2
    assert speed_perturb(speech, 1.0, 16_000) is speech


def _peak_hz(x: np.ndarray, sample_rate: int = 16_000) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * sample_rate / len(x))


@pytest.mark.parametrize(("semitones", "expected_hz"), [(12.0, 880.0), (-2.0, 392.0)])
def test_pitch_shift_moves_a_tone_and_keeps_length(
    semitones: float, expected_hz: float
) -> None:
    t = np.arange(16_000) / 16_000
    tone = (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    out = pitch_shift(tone, semitones, 16_000)
    assert out.shape == tone.shape and out.dtype == np.float32
    assert _peak_hz(out[2000:14000]) == pytest.approx(expected_hz, abs=3.0)


def test_time_stretch_keeps_pitch() -> None:
    t = np.arange(16_000) / 16_000
    tone = (0.5 * np.sin(2 * np.pi * 300.0 * t)).astype(np.float32)
    out = time_stretch(tone, 1.5)
    assert len(out) == 24_000
    assert _peak_hz(out[2000:22000]) == pytest.approx(300.0, abs=3.0)


def test_pitch_shift_on_speech(speech: np.ndarray) -> None:
    out = pitch_shift(speech, 2.0, 16_000)
    assert out.shape == speech.shape and np.isfinite(out).all()
    assert not np.allclose(out, speech, atol=1e-3)


def test_augmenter_is_seeded_and_switchable(
    shared_data: Path, speech: np.ndarray
) -> None:
    cfg = AugmentConfig.model_validate(
        {
            "noise": {
                "enabled": True,
                "directory": str(shared_data / "noise"),
                "probability": 1.0,
                "snr_db": [10.0, 10.0],
            },
            "rir": {"enabled": False},
            "speed": {"enabled": False},
        }
    )
    aug = WaveformAugmenter(cfg, 16_000)
    a = aug(speech, np.random.default_rng([1, 2, 3]))
    b = aug(speech, np.random.default_rng([1, 2, 3]))
    c = aug(speech, np.random.default_rng([1, 2, 4]))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    scale = 1.0 / max(
        1.0, float(np.abs(a).max())
    )  # undo the peak normalisation, if any
    assert measure_snr_db(speech * scale, a - speech * scale) == pytest.approx(
        10.0, abs=0.1
    )
    off = WaveformAugmenter(AugmentConfig(), 16_000)
    assert not off.is_active


def test_augmenter_reverb_and_speed(shared_data: Path, speech: np.ndarray) -> None:
    cfg = AugmentConfig.model_validate(
        {
            "rir": {
                "enabled": True,
                "directory": str(shared_data / "rir"),
                "probability": 1.0,
            },
            "speed": {"enabled": True, "factors": [1.1]},
            "pitch": {"enabled": True, "probability": 1.0},
        }
    )
    out = WaveformAugmenter(cfg, 16_000)(speech, np.random.default_rng(0))
    assert abs(len(out) - len(speech) / 1.1) <= 2
    assert np.isfinite(out).all() and np.abs(out).max() <= 1.0 + 1e-6


def test_spec_augment_masks_bands_and_stretches() -> None:
    feats = torch.ones(2, 100, 40)
    lengths = torch.tensor([100, 60])
    cfg = SpecAugmentConfig(
        enabled=True, freq_masks=2, freq_width=8, time_masks=2, time_width=0.2
    )
    a = spec_augment(feats, lengths, cfg, torch.Generator().manual_seed(0))
    b = spec_augment(feats, lengths, cfg, torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    zero_cols = (a[0] == 0).all(dim=0).sum()  # masked mel bins
    zero_rows = (a[0] == 0).all(dim=1).sum()  # masked frames
    assert 0 < zero_cols <= 16 and 0 < zero_rows <= 40
    # padding frames untouched by time masks
    assert (a[1, 60:] == 1).all() or (a[1, 60:] == 0).any()
    assert torch.equal(spec_augment(feats, lengths, SpecAugmentConfig(), None), feats)  # type: ignore[arg-type]
