"""`aural baseline gmm-hmm|dnn` as a user runs them: exit codes, one-line errors,
reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aural.cli import app


def invoke(*args: str):
    return CliRunner().invoke(app, ["baseline", *args])


def assert_one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("error:")
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in err, (needle, err)


@pytest.mark.parametrize("command", ["gmm-hmm", "dnn"])
def test_missing_data_folder_is_one_line_and_exit_2(command: str, tmp_path: Path):
    missing = tmp_path / "no-such-corpus"
    result = invoke(
        command, "--data", str(missing), "--output-dir", str(tmp_path / "out")
    )
    assert_one_line_error(result, "no-such-corpus")
    assert not (tmp_path / "out").exists()


def test_folder_without_digit_recordings_is_a_usage_error(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("not audio")
    result = invoke(
        "gmm-hmm", "--data", str(tmp_path), "--output-dir", str(tmp_path / "o")
    )
    assert_one_line_error(result, str(tmp_path))


def test_folder_without_librispeech_is_a_usage_error(tmp_path: Path):
    result = invoke("dnn", "--data", str(tmp_path), "--output-dir", str(tmp_path / "o"))
    assert_one_line_error(result, "LibriSpeech")


def test_bad_option_value_is_a_usage_error(fsdd_dir: Path, tmp_path: Path):
    result = invoke(
        "gmm-hmm",
        "--data",
        str(fsdd_dir),
        "--output-dir",
        str(tmp_path),
        "--states",
        "0",
    )
    assert_one_line_error(result, "num_states", "0")


def test_unknown_held_out_speaker_is_named(fsdd_dir: Path, tmp_path: Path):
    result = invoke(
        "gmm-hmm",
        "--data",
        str(fsdd_dir),
        "--output-dir",
        str(tmp_path),
        "--speakers",
        "nobody",
        "--per-speaker-limit",
        "1",
    )
    assert_one_line_error(result, "nobody", "theo")


def test_output_dir_that_is_a_file_is_a_usage_error(fsdd_dir: Path, tmp_path: Path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    result = invoke("gmm-hmm", "--data", str(fsdd_dir), "--output-dir", str(target))
    assert_one_line_error(result, "file.txt")


@pytest.mark.slow
def test_gmm_hmm_quick_run_writes_results_report_and_plots(
    fsdd_dir: Path, tmp_path: Path
):
    out = tmp_path / "report"
    result = invoke(
        "gmm-hmm",
        "--data",
        str(fsdd_dir),
        "--output-dir",
        str(out),
        "--speakers",
        "jackson",
        "--per-speaker-limit",
        "3",
        "--states",
        "3",
        "--mixtures",
        "1",
        "--iterations",
        "2",
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "results.json").read_text())
    assert doc["baseline"] == "gmm-hmm" and "schema_version" in doc
    fold = doc["by_speaker"]["jackson"]
    assert fold["num_test"] == 30 and fold["num_train"] == 150
    assert doc["accuracy"] > 0.3  # chance is 0.1
    assert doc["wer"] == pytest.approx(1 - doc["accuracy"])
    assert "jackson" in result.stdout and "overall" in result.stdout
    report = (out / "report.md").read_text()
    assert "| jackson | 150 | 30 |" in report
    for png in ("confusion.png", "by_speaker.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_dnn_quick_run_reuses_cached_alignments(
    dev_clean: Path, dev_alignments, tmp_path: Path
):
    _, failed, cache = dev_alignments
    out = tmp_path / "dnn"
    result = invoke(
        "dnn",
        "--data",
        str(dev_clean),
        "--output-dir",
        str(out),
        "--alignment-cache",
        str(cache),
        "--test-speakers",
        "3752",
        "--context",
        "2",
        "--hidden-size",
        "32",
        "--layers",
        "1",
        "--epochs",
        "2",
        "--save-model",
        str(tmp_path / "model"),
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "results.json").read_text())
    assert doc["baseline"] == "dnn"
    assert list(doc["test"]["by_speaker"]) == ["3752"]
    assert doc["data"]["alignment_failures"] == failed
    assert len(doc["history"]) == 2
    assert not (out / "alignments").exists()  # the given cache was used
    assert (tmp_path / "model" / "weights.pt").is_file()
    assert "3752" in result.stdout and "majority class" in result.stdout
    for png in ("phone_confusion.png", "by_speaker.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
