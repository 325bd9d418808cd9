"""The training loop on real digits: exact resume, tracking, checkpoints, early
stopping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from aural.models.checkpoint import load_model
from aural.training.checkpoint import find_latest
from aural.training.trainer import Trainer

from .conftest import tiny_recipe

AUGMENTED = {
    "augment": {
        "speed": {"enabled": True},
        "spec_augment": {"enabled": True, "freq_width": 4},
        "noise": {"enabled": True, "probability": 0.5},
    },
    "optim": {"accumulate_steps": 2},
    "training": {"max_steps": 4, "checkpoint_every": 100, "eval_every": 100},
}


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_model(folder).model.state_dict()


def test_resume_after_interruption_matches_uninterrupted_run(
    shared_data: Path, tmp_path: Path
) -> None:
    changes = dict(AUGMENTED)
    changes["augment"] = dict(AUGMENTED["augment"])
    changes["augment"]["noise"] = {
        "enabled": True,
        "probability": 0.5,
        "directory": str(shared_data / "noise"),
    }
    straight = tiny_recipe(shared_data, tmp_path / "straight", changes)
    full = Trainer(straight).run()
    assert full.step == 4

    split = tiny_recipe(shared_data, tmp_path / "split", changes)
    first = Trainer(split, stop_after_steps=2).run()
    assert first.step == 2 and find_latest(tmp_path / "split").name == "step_0000002"
    second = Trainer(split, resume=True).run()
    assert second.step == 4

    a = _weights(find_latest(tmp_path / "straight"))
    b = _weights(find_latest(tmp_path / "split"))
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    # the dev loss after resuming equals the uninterrupted one too
    assert full.last_eval is not None and second.last_eval is not None
    assert full.last_eval.loss == pytest.approx(second.last_eval.loss, rel=1e-6)


def test_run_tracks_to_mlflow_and_keeps_best(shared_data: Path, tmp_path: Path) -> None:
    mlflow = pytest.importorskip("mlflow")
    cfg = tiny_recipe(
        shared_data,
        tmp_path / "run",
        {
            "tracking": {"mlflow": True, "num_sample_predictions": 2},
            "training": {"max_steps": 4, "eval_every": 2, "keep_checkpoints": 1},
        },
    )
    result = Trainer(cfg).run()
    out = tmp_path / "run"
    assert (out / "best" / "model.pt").is_file() and (
        out / "best" / "tokenizer.json"
    ).is_file()
    assert [p.name for p in (out / "checkpoints").glob("step_*")] == ["step_0000004"]
    records = [
        json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()
    ]
    assert [r["step"] for r in records if "loss" in r] == [1, 2, 3, 4]
    assert [r["step"] for r in records if "dev_wer" in r] == [2, 4]
    assert result.best_dev_wer == min(r["dev_wer"] for r in records if "dev_wer" in r)

    client = mlflow.tracking.MlflowClient(f"sqlite:///{out / 'mlruns' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("aural")
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.params["model.d_model"] == "32"
    assert run.data.params["tokenizer.kind"] == "char"
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == [1, 2, 3, 4]
    assert len(client.get_metric_history(run.info.run_id, "dev_wer")) == 2
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert "config.yaml" in artifacts
    preds = {a.path for a in client.list_artifacts(run.info.run_id, "predictions")}
    assert "predictions/step_0000004.txt" in preds


def test_early_stopping_stops_when_dev_wer_stalls(
    shared_data: Path, tmp_path: Path
) -> None:
    cfg = tiny_recipe(
        shared_data,
        tmp_path / "es",
        {
            "optim": {"lr": 1e-7, "warmup_steps": 0},  # nothing improves
            "training": {
                "max_steps": 50,
                "eval_every": 1,
                "early_stopping_patience": 2,
            },
        },
    )
    result = Trainer(cfg).run()
    assert result.stopped_early
    assert result.step == 3 and result.best_step == 1
