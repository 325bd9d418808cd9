"""`aural listen --file`: the streaming session behind the CLI, output like transcribe."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from aural.cli import app


def test_listen_file_as_fast_as_possible_writes_json(ldc_wav, tmp_path) -> None:
    out = tmp_path / "out.json"
    result = CliRunner().invoke(app, [
        "listen", "--file", str(ldc_wav), "--as-fast-as-possible", "--engine", "sphinx",
        "--format", "json", "--output", str(out), "--no-live", "--stats",
    ])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["schema_version"] and data["text"].strip()
    assert data["info"]["engine"] == "sphinx"
    assert 2.8 < data["info"]["duration"] < 3.0
    ends = [s["end"] for s in data["segments"]]
    assert ends == sorted(ends) and ends[-1] <= data["info"]["duration"]
    assert "max lag" in result.output


def test_listen_rejects_bad_arguments(ldc_wav) -> None:
    runner = CliRunner()
    bad_format = runner.invoke(app, ["listen", "--file", str(ldc_wav), "--format", "doc"])
    assert bad_format.exit_code == 2 and "doc" in bad_format.output
    missing = runner.invoke(app, ["listen", "--file", "no/such.wav"])
    assert missing.exit_code == 2 and "no/such.wav" in missing.output
