"""End to end (slow): recipes/overfit_tiny.yaml memorises 50 real spoken digits, the
checkpoint transcribes through `aural transcribe --engine aural`, and 2-process DDP
runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from aural.training.config import load_config
from aural.training.trainer import Trainer

REPO = Path(__file__).resolve().parents[2]


def _with_data(shared_data: Path, recipe: str, output_dir: Path) -> object:
    cfg = load_config(REPO / "recipes" / recipe)
    fsdd = str(shared_data / "fsdd" / "recordings")
    train = [dict(s.model_dump(), path=fsdd) for s in cfg.data.train]
    dev = [dict(s.model_dump(), path=fsdd) for s in cfg.data.dev]
    return cfg.with_changes(
        {"output_dir": str(output_dir), "data": {"train": train, "dev": dev}}
    )


@pytest.mark.slow
def test_overfit_50_digits_then_transcribe_with_cli(
    shared_data: Path, tmp_path: Path
) -> None:
    # one thread: on a shared 2-core machine two OpenMP threads contend and run ~5x
    # slower
    torch.set_num_threads(1)
    cfg = _with_data(shared_data, "overfit_tiny.yaml", tmp_path / "run")
    result = Trainer(cfg).run()  # type: ignore[arg-type]
    assert result.last_eval is not None and result.last_eval.num_utterances == 50
    assert (
        result.best_dev_wer is not None and result.best_dev_wer < 0.05
    )  # training WER
    records = [
        json.loads(x)
        for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    ]
    losses = [r["loss"] for r in records if "loss" in r]
    assert losses[-1] < 0.1 * losses[0]

    from aural.cli import app

    runner = CliRunner()
    wav = shared_data / "fsdd" / "recordings" / "7_lucas_0.wav"
    out = runner.invoke(
        app,
        [
            "transcribe",
            str(wav),
            "--engine",
            "aural",
            "--model",
            str(tmp_path / "run"),
            "--beam-size",
            "1",
        ],
    )
    assert out.exit_code == 0, out.output
    assert out.stdout.strip() == "seven"
    export = runner.invoke(
        app, ["export", str(tmp_path / "run"), "--output-dir", str(tmp_path / "onnx")]
    )
    assert export.exit_code == 0, export.output
    out = runner.invoke(
        app,
        [
            "transcribe",
            str(wav),
            "--engine",
            "aural",
            "--model",
            str(tmp_path / "onnx"),
            "--beam-size",
            "4",
        ],
    )
    assert out.exit_code == 0 and out.stdout.strip() == "seven", out.output


def test_cli_train_reports_a_bad_key(tmp_path: Path) -> None:
    from aural.cli import app

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\noutput_dir: o\ndata: {train: [{path: d}]}\noptim: {lr_peak: 1}\n"
    )
    out = CliRunner().invoke(app, ["train", "--config", str(bad)])
    assert out.exit_code == 2
    assert "optim.lr_peak" in out.output and "Traceback" not in out.output


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("torchrun", path=str(Path(sys.executable).parent)) is None,
    reason="torchrun is not installed beside this python",
)
def test_ddp_two_cpu_processes_with_gloo(shared_data: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "ddp.yaml"
    fsdd = str(shared_data / "fsdd" / "recordings")
    recipe.write_text(f"""
name: ddp_test
output_dir: {tmp_path / "run"}
data:
  train: [{{path: {fsdd}, kind: fsdd, id_pattern: "[0-9]_theo_0"}}]
  dev: [{{path: {fsdd}, kind: fsdd, id_pattern: "[0-3]_theo_0"}}]
  min_duration: 0.1
features: {{num_mels: 23, cmvn: utterance}}
model: {{size: tiny, d_model: 32, num_layers: 1, num_heads: 2, subsampling_channels: 8}}
optim: {{warmup_steps: 1}}
training: {{max_steps: 2, batch_seconds: 2.0, max_batch_size: 4, eval_every: 2,
           num_threads: 1, log_every: 1}}
tracking: {{mlflow: false}}
""")
    torchrun = str(Path(sys.executable).parent / "torchrun")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [
            torchrun,
            "--nproc_per_node",
            "2",
            "--master_port",
            "29577",
            "-m",
            "aural.cli",
            "train",
            "--config",
            str(recipe),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [
        json.loads(x)
        for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    ]
    assert [r["step"] for r in records if "loss" in r] == [
        1,
        2,
    ]  # rank 0 logs once per step
    assert (tmp_path / "run" / "best" / "model.pt").is_file()
    assert "world size 2" in proc.stderr
