"""Helpers for training tests: tiny recipes over real FSDD digits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from aural.training.config import TrainConfig, parse_config

FIVE_SPEAKERS = "[0-9]_(george|jackson|lucas|nicolas|theo)_0"


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    """Two OpenMP threads on a shared 2-core machine contend and run several times
    slower."""
    torch.set_num_threads(1)


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in changes.items():
        out[k] = (
            _merge(out[k], v)
            if isinstance(v, dict) and isinstance(out.get(k), dict)
            else v
        )
    return out


def tiny_recipe(
    shared_data: Path, output_dir: Path, changes: dict[str, Any] | None = None
) -> TrainConfig:
    """A very small recipe over the first take of FSDD digits (real speech, 8 kHz)."""
    fsdd = str(shared_data / "fsdd" / "recordings")
    base: dict[str, Any] = {
        "name": "tiny_test",
        "output_dir": str(output_dir),
        "seed": 3,
        "data": {
            "train": [
                {"path": fsdd, "kind": "fsdd", "id_pattern": FIVE_SPEAKERS, "limit": 16}
            ],
            "dev": [
                {"path": fsdd, "kind": "fsdd", "id_pattern": FIVE_SPEAKERS, "limit": 6}
            ],
            "min_duration": 0.1,
        },
        "features": {"num_mels": 23, "cmvn": "global"},
        "tokenizer": {"kind": "char"},
        "model": {
            "size": "tiny",
            "d_model": 32,
            "num_layers": 1,
            "num_heads": 2,
            "subsampling_channels": 8,
            "conv_kernel": 7,
            "dropout": 0.1,
        },
        "optim": {"lr": 0.003, "warmup_steps": 2},
        "training": {
            "max_steps": 4,
            "batch_seconds": 4.0,
            "max_batch_size": 8,
            "eval_every": 2,
            "checkpoint_every": 2,
            "log_every": 1,
        },
        "tracking": {"mlflow": False},
    }
    return parse_config(_merge(base, changes or {}), "<test recipe>")
