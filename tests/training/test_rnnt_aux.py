"""The transducer's auxiliary CTC loss settings: model.ctc_aux_weight and the RNN-T
loss's warm-up (model.rnnt_warmup_steps)."""

from __future__ import annotations

from typing import Any

import pytest

from aural.errors import ConfigError
from aural.training.config import ModelConfig, parse_config


def _recipe(model: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "aux",
        "output_dir": "runs/aux",
        "data": {"train": [{"path": "x", "kind": "fsdd"}]},
        "model": model,
    }


def test_rnnt_weight_is_zero_then_rises_linearly() -> None:
    model = ModelConfig(type="transducer", ctc_aux_weight=0.3, rnnt_warmup_steps=120)
    weights = [model.rnnt_weight(s) for s in (0, 30, 60, 75, 90, 119, 120, 500)]
    assert weights == pytest.approx([0, 0, 0, 0.25, 0.5, 59 / 60, 1, 1])
    plain = ModelConfig(type="transducer", ctc_aux_weight=0.3)
    assert {plain.rnnt_weight(s) for s in (0, 1, 1000)} == {1.0}


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ({"type": "ctc", "ctc_aux_weight": 0.3}, "transducer only"),
        ({"type": "transducer", "rnnt_warmup_steps": 10}, "needs model.ctc_aux_weight"),
        ({"type": "transducer", "ctc_aux_weight": -1}, "ctc_aux_weight"),
    ],
)
def test_inconsistent_aux_settings_are_config_errors(
    model: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(_recipe(model), "<aux test recipe>")
