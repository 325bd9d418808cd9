"""Fixtures of the fine-tuning tests: a tiny random Whisper saved as a Hugging Face
folder with tiny.en's tokenizer, and recipes over real shared clips."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def tiny_whisper_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded random Whisper (d_model 64, 2 + 2 layers) with tiny.en's tokenizer and
    a feature extractor: a complete Hugging Face folder."""
    pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from tests.engines.tiny_whisper import tiny_whisper

    from aural.engines.whisper import resolve_whisper_model

    folder = tmp_path_factory.mktemp("tiny_whisper_hf")
    tiny_whisper(0).save_pretrained(folder)
    source = resolve_whisper_model("tiny.en")
    transformers.WhisperTokenizer(
        tokenizer_file=str(source / "tokenizer.json")
    ).save_pretrained(folder)
    shutil.copyfile(source / "tokenizer.json", folder / "tokenizer.json")
    transformers.WhisperFeatureExtractor(feature_size=80).save_pretrained(folder)
    return folder


def recipe(
    shared_data: Path,
    model: Path | str,
    output_dir: Path,
    *,
    kind: str = "whisper",
    steps: int = 4,
    **overrides: Any,
) -> Any:
    """A recipe over the two shortest LibriSpeech dev-clean clips (train = dev)."""
    from aural.finetune.config import parse_finetune_config

    clips = {
        "path": str(shared_data / "LibriSpeech" / "dev-clean"),
        "id_pattern": r"3752-4944-000[02]",
    }
    data: dict[str, Any] = {
        "name": "test",
        "kind": kind,
        "model": str(model),
        "output_dir": str(output_dir),
        "data": {"train": [clips], "dev": [clips]},
        "optim": {"lr": 2e-3, "warmup_steps": 0, "schedule": "constant"},
        "training": {
            "max_steps": steps,
            "max_batch_size": 2,
            "batch_seconds": 100,
            "eval_every": 1000,
            "eval_at_start": False,
            "checkpoint_every": 2,
            "log_every": 1,
            "final_engine_eval": False,
        },
        "tracking": {"mlflow": False},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return parse_finetune_config(data, "<test>")


def losses(run_dir: Path) -> dict[int, float]:
    import json

    out = {}
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        if "loss" in record:
            out[int(record["step"])] = float(record["loss"])
    return out
