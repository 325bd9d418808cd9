"""`aural finetune` input checking, the recipe type and the telephone channel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from aural.cli import app


def test_without_config_needs_data_and_output(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["finetune", "--model", "tiny.en"])
    assert result.exit_code == 2
    assert "--data" in result.output and "--output-dir" in result.output
    assert "Traceback" not in result.output


def test_unknown_recipe_key_is_named(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "name: x\noutput_dir: out\ndata: {train: [{path: d}]}\nwhisper: {rank: 3}\n"
    )
    result = CliRunner().invoke(app, ["finetune", "--config", str(recipe)])
    assert result.exit_code == 2
    assert "whisper.rank" in result.output


def test_missing_data_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "finetune",
            "--data",
            str(tmp_path / "nowhere"),
            "--output-dir",
            str(tmp_path / "run"),
            "--quiet",
        ],
    )
    assert result.exit_code != 0
    assert "error:" in result.output and "Traceback" not in result.output


def test_distill_resume_without_a_run_names_the_flag(tmp_path: Path) -> None:
    recipe = tmp_path / "d.yaml"
    recipe.write_text(
        f"name: d\noutput_dir: {tmp_path / 'run'}\n"
        f"data: {{unlabelled: [{{path: {tmp_path}}}]}}\n"
    )
    result = CliRunner().invoke(
        app, ["distill", "--config", str(recipe), "--resume", "--quiet"]
    )
    assert result.exit_code == 2
    assert "no distillation to continue" in result.output
    assert "--resume" in result.output and "Traceback" not in result.output


def test_whisper_recipe_refuses_clips_over_30_s() -> None:
    from aural.errors import ConfigError
    from aural.finetune import parse_finetune_config

    with pytest.raises(ConfigError, match="30"):
        parse_finetune_config(
            {
                "name": "x",
                "output_dir": "o",
                "data": {"train": [{"path": "d"}], "max_duration": 40},
            }
        )


def test_recipes_parse() -> None:
    from aural.finetune import load_finetune_config

    root = Path(__file__).resolve().parents[2] / "recipes"
    names = sorted(root.glob("finetune_*.yaml"))
    assert names
    for path in names:
        load_finetune_config(path)
    from aural.finetune import load_distill_config

    distill = sorted(root.glob("distill_*.yaml"))
    assert distill
    for path in distill:
        recipe = load_distill_config(path)
        student = recipe.student_config(Path("run"), Path("labels.jsonl"))
        assert student.data.train[0].path == "labels.jsonl"


def test_telephone_channel_narrows_the_band(shared_data: Path) -> None:
    from aural.audio import load
    from aural.finetune import telephone

    wave = load(
        shared_data
        / "LibriSpeech"
        / "dev-clean"
        / "3752"
        / "4944"
        / "3752-4944-0000.flac",
        sample_rate=16000,
    ).samples
    for codec in ("gsm", "mulaw", "none"):
        out = telephone(wave, 16000, codec)  # type: ignore[arg-type]
        assert out.shape == wave.shape and out.dtype == np.float32
        spec_in = np.abs(np.fft.rfft(wave)) ** 2
        spec_out = np.abs(np.fft.rfft(out)) ** 2
        freqs = np.fft.rfftfreq(len(wave), 1 / 16000)
        high = freqs > 4000
        band = (freqs > 500) & (freqs < 3000)
        # above 4 kHz nothing is left; the voice band keeps most of its energy
        assert spec_out[high].sum() < 1e-3 * spec_in[high].sum()
        assert spec_out[band].sum() > 0.3 * spec_in[band].sum()
