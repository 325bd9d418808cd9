"""Features against librosa on real speech, plus batching, CMVN and option checks.

Tolerances (float32 torch vs librosa float32/float64):
- mel power: relative error < 1e-3 where the energy is above 1e-6;
- log-mel: absolute error < 1e-3 (natural log);
- MFCC: absolute error < 5e-3 (values span about +-600);
- deltas: absolute error < 1e-4.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from aural.audio.features import (
    FeatureOptions,
    GlobalCmvn,
    add_deltas,
    extract,
    log_mel,
    mel_filterbank,
    mfcc,
    utterance_cmvn,
)
from aural.errors import ConfigError

librosa = pytest.importorskip("librosa")


@pytest.fixture(scope="module")
def speech(dev_clean: Path) -> list[np.ndarray]:
    files = sorted(dev_clean.rglob("*.flac"))[:3]
    out = []
    for f in files:
        y, sample_rate = sf.read(f, dtype="float32")
        assert sample_rate == 16_000
        out.append(y[: 16_000 * 4])
    return out


def test_mel_filterbank_matches_librosa() -> None:
    ours = mel_filterbank(80, 400, 16_000).numpy()
    ref = librosa.filters.mel(sr=16_000, n_fft=400, n_mels=80)
    np.testing.assert_allclose(ours, ref, atol=1e-6, rtol=1e-4)


def test_log_mel_matches_librosa(speech: list[np.ndarray]) -> None:
    y = speech[0]
    feats, frame_lengths = log_mel(
        torch.from_numpy(y), None, FeatureOptions(cmvn="none")
    )
    ref = librosa.feature.melspectrogram(
        y=y, sr=16_000, n_fft=400, hop_length=160, n_mels=80
    )
    assert feats.shape == (1, ref.shape[1], 80)
    assert int(frame_lengths[0]) == ref.shape[1]
    ours = feats[0].numpy().T
    np.testing.assert_allclose(ours, np.log(np.maximum(ref, 1e-10)), atol=1e-3)
    big = ref > 1e-6
    rel = np.abs(np.exp(ours[big]) - ref[big]) / ref[big]
    assert rel.max() < 1e-3


def test_mfcc_matches_librosa(speech: list[np.ndarray]) -> None:
    y = speech[1]
    feats, _ = mfcc(torch.from_numpy(y), None, FeatureOptions(kind="mfcc", cmvn="none"))
    ref = librosa.feature.mfcc(
        y=y, sr=16_000, n_mfcc=13, n_fft=400, hop_length=160, n_mels=80
    )
    np.testing.assert_allclose(feats[0].numpy().T, ref, atol=5e-3)


def test_deltas_match_librosa(speech: list[np.ndarray]) -> None:
    ref = librosa.feature.mfcc(
        y=speech[2], sr=16_000, n_mfcc=13, n_fft=400, hop_length=160
    )
    out = add_deltas(torch.from_numpy(np.ascontiguousarray(ref.T))[None])[0].numpy().T
    d1 = librosa.feature.delta(ref, mode="nearest")
    d2 = librosa.feature.delta(d1, mode="nearest")
    np.testing.assert_allclose(out[:13], ref, atol=1e-6)
    np.testing.assert_allclose(out[13:26], d1, atol=1e-4)
    np.testing.assert_allclose(out[26:], d2, atol=1e-4)


@pytest.mark.parametrize("kind", ["fbank", "mfcc"])
def test_extract_batch_equals_one_by_one(speech: list[np.ndarray], kind: str) -> None:
    """Padding a batch must not change any utterance's valid frames."""
    opts = FeatureOptions(kind=kind, deltas=True, cmvn="utterance")
    clips = [speech[0][:20_000], speech[1][:35_000], speech[2][:11_111]]
    lengths = torch.tensor([len(c) for c in clips])
    batch = torch.zeros(3, int(lengths.max()))
    for i, c in enumerate(clips):
        batch[i, : len(c)] = torch.from_numpy(c)
    feats, frame_lengths = extract(batch, lengths, opts)
    assert feats.shape[2] == opts.num_features == (13 if kind == "mfcc" else 80) * 3
    for i, c in enumerate(clips):
        single, n = extract(torch.from_numpy(c)[None], None, opts)
        assert int(n[0]) == int(frame_lengths[i]) == 1 + len(c) // 160
        np.testing.assert_allclose(
            feats[i, : int(n[0])].numpy(), single[0].numpy(), atol=2e-3
        )
        assert torch.all(feats[i, int(n[0]) :] == 0)


def test_utterance_cmvn_gives_zero_mean_unit_variance(speech: list[np.ndarray]) -> None:
    feats, n = log_mel(torch.from_numpy(speech[0]), None, FeatureOptions())
    normed = utterance_cmvn(feats, n)[0]
    assert torch.allclose(normed.mean(0), torch.zeros(80), atol=1e-4)
    assert torch.allclose(normed.std(0, unbiased=False), torch.ones(80), atol=1e-2)


def test_global_cmvn_round_trip(speech: list[np.ndarray]) -> None:
    opts = FeatureOptions(cmvn="none")
    batches = [log_mel(torch.from_numpy(y), None, opts) for y in speech]
    stats = GlobalCmvn.from_batches(batches)
    restored = GlobalCmvn.from_dict(stats.to_dict())
    allf = torch.cat([b[0][0] for b in batches])
    normed = restored.apply(allf[None])[0]
    assert torch.allclose(normed.mean(0), torch.zeros(80), atol=1e-3)
    assert torch.allclose(normed.std(0, unbiased=False), torch.ones(80), atol=1e-2)
    opts_g = FeatureOptions(cmvn="global")
    with pytest.raises(ConfigError, match="global"):
        extract(torch.from_numpy(speech[0]), None, opts_g)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"kind": "plp"}, "plp"),
        ({"cmvn": "speaker"}, "speaker"),
        ({"hop_length": 0}, "hop_length"),
        ({"win_length": 800}, "800"),
        ({"f_max": 9000.0}, "9000"),
        ({"kind": "mfcc", "num_ceps": 100}, "100"),
        ({"delta_width": 4}, "4"),
    ],
)
def test_feature_options_reject_bad_values(changes: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        FeatureOptions(**changes)


def test_bad_audio_shape_is_named() -> None:
    with pytest.raises(ConfigError, match=r"\(2, 3, 4\)"):
        log_mel(torch.zeros(2, 3, 4), None, FeatureOptions())
