"""`aural evaluate` as a user runs it: exit codes, one-line errors, reports and the
cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aural.cli import app

DEV_UTT = "3752-4944-0002"  # 3.2 s


def invoke(*args: str):
    return CliRunner().invoke(app, ["evaluate", *args])


def assert_one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("error:")
    assert "Traceback" not in result.output
    for n in needles:
        assert n in err, (n, err)


def test_missing_dataset_is_a_usage_error(tmp_path: Path):
    assert_one_line_error(
        invoke(str(tmp_path / "no-such-corpus"), "--engine", "sphinx"), "no-such-corpus"
    )


def test_folder_that_is_no_dataset_is_a_usage_error(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("hello")
    assert_one_line_error(invoke(str(tmp_path), "--engine", "sphinx"), str(tmp_path))


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--engine", "nope"], "'nope'"),
        (["--engine", "sphinx", "--snr", "loud"], "'loud'"),
        (["--engine", "sphinx", "--snr", "10"], "--noise-dir"),
        (["--engine", "sphinx", "--normalizer", "fancy"], "'fancy'"),
        (["--engine", "sphinx", "--vocabulary", "/nonexistent/words.txt"], "words.txt"),
        (
            ["--engine", "sphinx", "--snr", "10", "--noise-dir", "/nonexistent/noise"],
            "noise",
        ),
    ],
)
def test_bad_options_are_usage_errors(dev_clean: Path, args: list[str], needle: str):
    assert_one_line_error(invoke(str(dev_clean), *args), needle)


def test_unreadable_utterance_fails_alone_with_exit_1(tmp_path: Path, dev_clean: Path):
    good = next(dev_clean.rglob(f"{DEV_UTT}.flac"))
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt this is not audio")
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text(
        json.dumps(
            {
                "id": "good",
                "audio": str(good),
                "text": "WHAT IS YOUR NAME",
                "speaker": "a",
            }
        )
        + "\n"
        + json.dumps(
            {"id": "bad", "audio": str(broken), "text": "NOTHING", "speaker": "b"}
        )
        + "\n"
    )
    out = tmp_path / "out"
    result = invoke(
        str(manifest),
        "--engine",
        "sphinx",
        "--output-dir",
        str(out),
        "--quiet",
        "--no-plots",
    )
    assert result.exit_code == 1, result.output
    assert "bad" in result.stderr and "Traceback" not in result.output
    doc = json.loads((out / "results.json").read_text())
    assert [f["id"] for f in doc["failures"]] == ["bad"]
    assert [u["id"] for u in doc["engines"]["sphinx"]["utterances"]] == ["good"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "aural.cli", "evaluate", *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.mark.slow
def test_cli_two_engines_with_noise_then_rerender_from_cache(
    tmp_path: Path, dev_clean: Path, noise_dir: Path
):
    args = [
        str(dev_clean),
        "--engine",
        "sphinx",
        "--engine",
        "whisper:tiny.en",
        "--speakers",
        "3752",
        "--limit",
        "1",
        "--snr",
        "clean",
        "--snr",
        "10",
        "--noise-dir",
        str(noise_dir),
        "--beam-size",
        "1",
        "--output-dir",
        str(tmp_path),
    ]
    first = _run(*args)
    assert first.returncode == 0, first.stderr
    assert "4 decodes (0 from cache)" in first.stderr
    for label in ("sphinx", "whisper:tiny.en"):
        for snr in ("clean", "10"):
            assert f"| {label} | {snr} |" in first.stdout
    # report.md is what was printed, plus links to the pictures (issue 24)
    report, pictures = (tmp_path / "report.md").read_text().split("\n## Pictures\n")
    assert report == first.stdout
    assert "(plots/confusion-matrix-whisper-tiny.en.png)" in pictures
    doc = json.loads((tmp_path / "results.json").read_text())
    assert set(doc["engines"]) == {"sphinx", "whisper:tiny.en"}
    assert doc["engines"]["whisper:tiny.en"]["by_snr"]["10"]["utterances"] == 1

    again = invoke(*args)  # in-process: no engine may be loaded or run
    assert again.exit_code == 0, again.output
    assert "0 decodes (4 from cache)" in again.stderr
    redo = json.loads((tmp_path / "results.json").read_text())
    for label in doc["engines"]:
        assert redo["engines"][label]["wer"] == doc["engines"][label]["wer"]
        assert [u["hyp"] for u in redo["engines"][label]["utterances"]] == [
            u["hyp"] for u in doc["engines"][label]["utterances"]
        ]
