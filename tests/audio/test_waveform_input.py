"""Hostile in-memory input to :class:`Waveform`: layouts, dtypes and sample rates."""

from __future__ import annotations

import numpy as np
import pytest

from aural.audio import load
from aural.audio.load import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
from aural.audio.waveform import Waveform
from aural.errors import ConfigError


@pytest.fixture(scope="module")
def jfk(jfk_flac) -> np.ndarray:
    return load(jfk_flac).samples


def test_channels_first_stereo_is_refused_with_the_fix(jfk):
    stereo = np.stack([jfk, 0.5 * jfk])  # (2, N): torchaudio / librosa layout
    with pytest.raises(ConfigError, match=r"\(2, \d+\).*pass samples\.T"):
        Waveform(stereo, 16000)
    w = Waveform(stereo.T, 16000)  # (N, 2) is the documented layout
    assert (w.num_samples, w.num_channels) == (jfk.size, 2)


def test_channels_first_mono_row_is_refused(jfk):
    with pytest.raises(ConfigError, match="num_samples, num_channels"):
        Waveform(jfk[None, :], 16000)
    assert Waveform(jfk[:, None], 16000).num_channels == 1


def test_empty_two_d_array_is_not_mistaken_for_channels_first():
    assert Waveform(np.zeros((0, 2), np.float32), 16000).num_channels == 2


@pytest.mark.parametrize("shape", [(), (2, 3, 4)])
def test_zero_and_three_d_arrays_are_refused(shape):
    with pytest.raises(ConfigError, match="shape"):
        Waveform(np.zeros(shape, np.float32), 16000)


@pytest.mark.parametrize("dtype", [np.complex64, np.bool_, object])
def test_non_audio_dtypes_are_refused(dtype):
    with pytest.raises(ConfigError, match="dtype"):
        Waveform(np.zeros(100, dtype=dtype), 16000)


def test_non_contiguous_view_loads_like_a_copy(jfk):
    view = np.stack([jfk, jfk], axis=1)[:, 0]  # strided
    assert not view.flags.c_contiguous
    np.testing.assert_array_equal(load(Waveform(view, 16000)).samples, jfk)


@pytest.mark.parametrize(
    ("rate", "message"),
    [
        (0, "outside"),
        (-16000, "outside"),
        (1, "outside"),
        (10**9, "outside"),
        (16000.0, r"integer.*pass 16000$"),
        (1e9, r"integer number of Hz, got 1000000000\.0$"),
        ("16000", "integer"),
        (True, "integer"),
        (None, "integer"),
    ],
)
def test_bad_sample_rates_are_refused(jfk, rate, message):
    with pytest.raises(ConfigError, match=message):
        Waveform(jfk, rate)


def test_sample_rate_range_matches_the_loader(jfk):
    assert Waveform(jfk, MIN_SAMPLE_RATE).sample_rate == MIN_SAMPLE_RATE
    assert Waveform(jfk, np.int64(MAX_SAMPLE_RATE)).sample_rate == MAX_SAMPLE_RATE
    with pytest.raises(ConfigError):
        Waveform(jfk, MIN_SAMPLE_RATE - 1)
