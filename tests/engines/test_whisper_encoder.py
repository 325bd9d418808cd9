"""Whisper encoder frames as features, on real speech with the packaged tiny.en."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from aural.audio import load
from aural.audio.features import FeatureOptions, extract
from aural.engines.whisper.encoder import HOP_LENGTH, WhisperEncoderFrontend, frontend
from aural.errors import ConfigError

pytest.importorskip("faster_whisper")


@pytest.fixture(scope="module")
def speech(dev_clean: Path) -> np.ndarray:
    return load(sorted(dev_clean.rglob("*.flac"))[1], sample_rate=16_000).samples


@pytest.fixture(scope="module")
def options() -> FeatureOptions:
    return FeatureOptions(
        kind="whisper", hop_length=HOP_LENGTH, encoder="tiny.en", cmvn="none"
    )


def test_frames_and_width(speech: np.ndarray, options: FeatureOptions) -> None:
    out = frontend("tiny.en").encode(speech)
    assert out.shape == (speech.size // HOP_LENGTH, 384) and out.dtype == np.float32
    assert np.isfinite(out).all() and out.std() > 0.1
    assert options.num_features == 384
    assert frontend("tiny.en").encode(speech[: HOP_LENGTH - 1]).shape == (0, 384)


def test_rows_do_not_depend_on_the_batch(
    speech: np.ndarray, options: FeatureOptions
) -> None:
    """Each row is encoded on its own frames: padding beside a longer row changes
    nothing."""
    short = speech[: 3 * 16_000]
    alone, n_alone = extract(torch.from_numpy(short)[None], None, options)
    batch = torch.zeros(2, speech.size)
    batch[0], batch[1, : short.size] = torch.from_numpy(speech), torch.from_numpy(short)
    feats, lengths = extract(batch, torch.tensor([speech.size, short.size]), options)
    assert lengths.tolist() == [speech.size // HOP_LENGTH, short.size // HOP_LENGTH]
    assert n_alone.tolist() == [lengths[1]]
    torch.testing.assert_close(feats[1, : int(lengths[1])], alone[0])
    assert float(feats[1, int(lengths[1]) :].abs().sum()) == 0.0  # padding stays zero


def test_long_input_is_encoded_in_30_s_pieces(speech: np.ndarray) -> None:
    long = np.concatenate([speech] * (1 + int(35 * 16_000 // speech.size)))[
        : 35 * 16_000
    ]
    out = frontend("tiny.en").encode(long)
    assert out.shape == (35 * 16_000 // HOP_LENGTH, 384)
    head = frontend("tiny.en").encode(long[: 30 * 16_000])
    np.testing.assert_allclose(out[: head.shape[0]], head, atol=1e-5)


def test_cache_returns_the_same_frames_and_stays_bounded(speech: np.ndarray) -> None:
    front = WhisperEncoderFrontend("tiny.en")
    first = front.encode(speech)
    assert front.encode(speech) is not first  # no cache by default
    front.cache_bytes = first.nbytes + 1
    cached = front.encode(speech)
    assert front.encode(speech) is cached
    front.encode(speech[: speech.size // 2])  # over the budget: evicts the first entry
    again = front.encode(speech)
    assert again is not cached
    np.testing.assert_array_equal(again, cached)
    assert sum(v.nbytes for v in front._cache.values()) <= front.cache_bytes


def test_bad_options() -> None:
    with pytest.raises(ConfigError, match="encoder"):
        FeatureOptions(kind="whisper", hop_length=HOP_LENGTH)
    with pytest.raises(ConfigError, match="hop_length"):
        FeatureOptions(kind="whisper", encoder="tiny.en")
    with pytest.raises(ConfigError, match="kind"):
        FeatureOptions(kind="wav2vec")  # type: ignore[arg-type]
