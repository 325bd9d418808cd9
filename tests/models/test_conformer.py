"""Conformer-CTC shapes, sizes, padding invariance and checkpoint round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from aural.audio.features import FeatureOptions
from aural.errors import ConfigError, ModelNotFoundError
from aural.models.checkpoint import load_model, resolve_model_dir, save_model
from aural.models.conformer import (
    ConformerCtc,
    ConformerOptions,
    conformer_preset,
    count_parameters,
    subsampled_lengths,
)


def _tiny(**overrides: object) -> ConformerCtc:
    torch.manual_seed(0)
    return ConformerCtc(
        conformer_preset("tiny", num_features=80, vocab_size=30, **overrides)
    )


@pytest.mark.parametrize(
    ("size", "low", "high"),
    [
        ("tiny", 0.8e6, 1.5e6),
        ("small", 5e6, 8e6),
        ("large", 25e6, 32e6),
    ],
)
def test_preset_sizes(size: str, low: float, high: float) -> None:
    model = ConformerCtc(conformer_preset(size, num_features=80, vocab_size=30))  # type: ignore[arg-type]
    assert low < count_parameters(model) < high


def test_encoder_shapes_and_lengths() -> None:
    model = _tiny().eval()
    lengths = torch.tensor([200, 123, 7])
    log_probs, out_lengths = model(torch.randn(3, 200, 80), lengths)
    assert log_probs.shape == (3, 49, 30)
    assert out_lengths.tolist() == subsampled_lengths(lengths).tolist() == [49, 30, 1]
    assert torch.allclose(log_probs.exp().sum(-1), torch.ones(3, 49), atol=1e-4)
    encoded, enc_lengths = model.encoder(
        torch.randn(2, 100, 80), torch.tensor([100, 60])
    )
    assert encoded.shape == (2, 24, 96) and enc_lengths.tolist() == [24, 14]


def test_no_subsampling_keeps_every_frame() -> None:
    model = _tiny(subsampling=1).eval()
    lengths = torch.tensor([50, 31])
    feats = torch.randn(2, 50, 80)
    with torch.no_grad():
        log_probs, out_lengths = model(feats, lengths)
        alone, _ = model(feats[1:, :31], torch.tensor([31]))
    assert log_probs.shape == (2, 50, 30) and out_lengths.tolist() == [50, 31]
    assert torch.allclose(alone[0], log_probs[1, :31], atol=1e-4)  # padding is masked
    assert subsampled_lengths(lengths, 1).tolist() == [50, 31]
    with pytest.raises(ConfigError, match="subsampling"):
        conformer_preset("tiny", num_features=80, vocab_size=30, subsampling=2)


def test_padding_does_not_change_valid_outputs() -> None:
    model = _tiny().eval()
    torch.manual_seed(1)
    short = torch.randn(1, 90, 80)
    padded = torch.cat([short, torch.randn(1, 70, 80) * 5], dim=1)
    batch = torch.cat([padded, torch.randn(1, 160, 80)])
    with torch.no_grad():
        alone, n = model(short, torch.tensor([90]))
        together, _ = model(batch, torch.tensor([90, 160]))
    assert torch.allclose(alone[0, : int(n[0])], together[0, : int(n[0])], atol=1e-4)


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    model = _tiny().eval()
    model.set_feature_stats(torch.full((80,), 0.5), torch.full((80,), 2.0))
    feats = FeatureOptions(num_mels=80)
    save_model(tmp_path / "run" / "best", model, feats, {"step": 3})
    loaded = load_model(tmp_path / "run")  # a run folder resolves to best/
    assert loaded.feature_options == feats and loaded.info["step"] == 3
    x, n = torch.randn(2, 50, 80), torch.tensor([50, 40])
    with torch.no_grad():
        assert torch.equal(model(x, n)[0], loaded.model(x, n)[0])
    assert (
        resolve_model_dir(tmp_path / "run" / "best" / "model.pt")
        == tmp_path / "run" / "best"
    )


def test_missing_or_foreign_checkpoint_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="no aural model"):
        load_model(tmp_path)
    torch.save({"format": "other"}, tmp_path / "model.pt")
    with pytest.raises(ModelNotFoundError, match="not an aural model"):
        load_model(tmp_path)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"d_model": 100, "num_heads": 3}, "divisible"),
        ({"conv_kernel": 4}, "odd"),
        ({"dropout": 1.5}, "dropout"),
        ({"num_layers": 0}, "num_layers"),
    ],
)
def test_bad_options_are_named(changes: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ConformerOptions(num_features=80, vocab_size=30, **changes)
    with pytest.raises(ConfigError, match="huge"):
        conformer_preset("huge", 80, 30)  # type: ignore[arg-type]
