"""Noise mixing at a chosen SNR and RIR convolution, on the shared noise and RIR
recordings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aural.audio import load
from aural.audio.effects import (
    NoiseBank,
    convolve_rir,
    crop_or_tile,
    measure_snr_db,
    mix_at_snr,
)
from aural.errors import ConfigError, DatasetError

SPEECH = "LibriSpeech/dev-clean/2412/153948/2412-153948-0000.flac"


@pytest.fixture(scope="module")
def speech(shared_data: Path) -> np.ndarray:
    return load(shared_data / SPEECH).samples


@pytest.fixture(scope="module")
def noise_bank(shared_data: Path) -> NoiseBank:
    return NoiseBank(shared_data / "noise")


@pytest.fixture(scope="module")
def rir_bank(shared_data: Path) -> NoiseBank:
    return NoiseBank(shared_data / "rir")


def test_noise_bank_loads_every_recording_mono_16k(
    noise_bank: NoiseBank, shared_data: Path
):
    listed = [
        line.split("\t")[0]
        for line in (shared_data / "noise" / "files.tsv").read_text().splitlines()[1:]
    ]
    assert sorted(noise_bank.names) == sorted(listed)
    assert noise_bank.sample_rate == 16000
    for clip in (noise_bank[i] for i in range(len(noise_bank))):
        assert clip.dtype == np.float32 and clip.ndim == 1 and clip.size > 0


@pytest.mark.parametrize("snr", [20.0, 10.0, 5.0, 0.0, -5.0])
def test_mix_at_snr_measured_snr_matches_request_on_every_noise(
    speech: np.ndarray, noise_bank: NoiseBank, snr: float
):
    for i, name in enumerate(noise_bank.names):
        rng = np.random.default_rng(i)
        mixed = mix_at_snr(speech, noise_bank[i], snr, rng)
        assert mixed.dtype == np.float32 and mixed.shape == speech.shape
        measured = measure_snr_db(speech, mixed.astype(np.float64) - speech)
        assert abs(measured - snr) < 0.1, (name, measured)


def test_mix_at_snr_is_seeded_and_reproducible(
    speech: np.ndarray, noise_bank: NoiseBank
):
    a = mix_at_snr(
        speech,
        noise_bank.sample(np.random.default_rng(7), len(speech)),
        5.0,
        np.random.default_rng(8),
    )
    b = mix_at_snr(
        speech,
        noise_bank.sample(np.random.default_rng(7), len(speech)),
        5.0,
        np.random.default_rng(8),
    )
    c = mix_at_snr(
        speech,
        noise_bank.sample(np.random.default_rng(9), len(speech)),
        5.0,
        np.random.default_rng(8),
    )
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_mix_at_snr_does_not_modify_inputs(speech: np.ndarray, noise_bank: NoiseBank):
    before_speech, before_noise = speech.copy(), noise_bank[0].copy()
    mix_at_snr(speech, noise_bank[0], 0.0, np.random.default_rng(0))
    assert np.array_equal(speech, before_speech)
    assert np.array_equal(noise_bank[0], before_noise)


def test_crop_or_tile_tiles_short_noise(noise_bank: NoiseBank):
    short = min(range(len(noise_bank)), key=lambda i: noise_bank[i].size)
    clip = noise_bank[short]
    out = crop_or_tile(clip, clip.size * 3 + 17, np.random.default_rng(1))
    assert out.size == clip.size * 3 + 17
    # a wrapped copy: every sample comes from the clip, in cyclic order
    start = int(np.flatnonzero(clip == out[0])[0])
    assert np.array_equal(out[: clip.size], np.roll(clip, -start))


def test_mix_rejects_silent_noise_and_nonfinite_snr(speech: np.ndarray):
    with pytest.raises(ConfigError, match="silent"):  # everywhere it is sampled
        mix_at_snr(speech, np.zeros(1000, np.float32), 10.0, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="snr_db"):
        mix_at_snr(
            speech, np.ones(1000, np.float32), float("nan"), np.random.default_rng(0)
        )
    with pytest.raises(ConfigError, match="mono"):
        mix_at_snr(
            np.zeros((10, 2), np.float32),
            np.ones(10, np.float32),
            0.0,
            np.random.default_rng(0),
        )


def test_convolve_rir_keeps_length_energy_and_timing(
    speech: np.ndarray, rir_bank: NoiseBank
):
    for i, name in enumerate(rir_bank.names):
        wet = convolve_rir(speech, rir_bank[i])
        assert wet.dtype == np.float32 and wet.shape == speech.shape, name
        assert np.isclose(
            np.mean(wet.astype(np.float64) ** 2),
            np.mean(speech.astype(np.float64) ** 2),
            rtol=1e-3,
        ), name
        # aligned on the direct path: a click stays where it was
        click = np.zeros(4000, np.float32)
        click[1000] = 0.5
        assert int(np.argmax(np.abs(convolve_rir(click, rir_bank[i])))) == 1000, name
        assert not np.allclose(wet, speech, atol=1e-3), name


def test_convolve_rir_with_unit_impulse_is_identity(speech: np.ndarray):
    rir = np.zeros(100, np.float32)
    rir[10] = 0.5
    assert np.allclose(convolve_rir(speech, rir), speech, atol=1e-6)


def test_noise_bank_missing_or_empty_folder(tmp_path: Path):
    with pytest.raises(DatasetError, match="does not exist"):
        NoiseBank(tmp_path / "nope")
    with pytest.raises(DatasetError, match="no usable audio"):
        NoiseBank(tmp_path)


def test_convolve_rir_matches_direct_convolution(
    speech: np.ndarray, rir_bank: NoiseBank
):
    rir = rir_bank[0]
    direct = np.convolve(speech[:4000].astype(np.float64), rir.astype(np.float64))
    peak = int(np.argmax(np.abs(rir)))
    expected = direct[peak : peak + 4000]
    expected *= np.sqrt(
        np.mean(speech[:4000].astype(np.float64) ** 2) / np.mean(expected**2)
    )
    assert np.allclose(convolve_rir(speech[:4000], rir), expected, atol=1e-5)
