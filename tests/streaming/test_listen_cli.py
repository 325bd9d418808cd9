"""`aural listen --file`: the streaming session behind the CLI, output like
transcribe."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from aural.cli import app


def test_listen_file_as_fast_as_possible_writes_json(ldc_wav, tmp_path) -> None:
    out = tmp_path / "out.json"
    result = CliRunner().invoke(
        app,
        [
            "listen",
            "--file",
            str(ldc_wav),
            "--as-fast-as-possible",
            "--engine",
            "sphinx",
            "--format",
            "json",
            "--output",
            str(out),
            "--no-live",
            "--stats",
        ],
    )
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
    bad_format = runner.invoke(
        app, ["listen", "--file", str(ldc_wav), "--format", "doc"]
    )
    assert bad_format.exit_code == 2 and "doc" in bad_format.output
    missing = runner.invoke(app, ["listen", "--file", "no/such.wav"])
    assert missing.exit_code == 2 and "no/such.wav" in missing.output


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def test_listen_unreadable_files_give_one_error_line(ldc_wav, tmp_path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.wav"  # a real recording's samples without its header
    corrupt.write_bytes(ldc_wav.read_bytes()[5000:40000])
    runner = CliRunner()
    for path, needle in [
        (empty, "empty"),
        (corrupt, "not a recognised audio format"),
        (tmp_path, "is a directory"),
    ]:
        result = runner.invoke(
            app,
            [
                "listen",
                "--file",
                str(path),
                "--engine",
                "sphinx",
                "--no-live",
                "--as-fast-as-possible",
            ],
        )
        assert result.exit_code != 0, result.output
        lines = _error_lines(result.output)
        assert len(lines) == 1 and lines[0].startswith("error:"), result.output
        assert needle in lines[0] and path.name in lines[0]


def test_listen_unwritable_output_gives_one_error_line(ldc_wav, tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    runner = CliRunner()
    for output, code, needle in [
        (tmp_path, 2, "is a directory"),
        (blocker / "out.txt", 1, "cannot write"),
    ]:
        result = runner.invoke(
            app,
            [
                "listen",
                "--file",
                str(ldc_wav),
                "--engine",
                "sphinx",
                "--no-live",
                "--as-fast-as-possible",
                "--output",
                str(output),
            ],
        )
        assert result.exit_code == code, result.output
        lines = _error_lines(result.output)
        assert len(lines) == 1 and lines[0].startswith("error:"), result.output
        assert needle in lines[0]
    assert not list(tmp_path.glob("**/.*.part"))


def test_listen_bad_options_give_one_error_line(ldc_wav) -> None:
    runner = CliRunner()
    for args, needle in [
        (["--engine", "nope"], "nope"),
        (["--chunk-ms", "0"], "--chunk-ms"),
        (["--beam-size", "0"], "beam_size"),
        (["--language", "fr"], "English-only"),
        (["--format", "JSON"], "JSON"),
    ]:
        result = runner.invoke(
            app,
            [
                "listen",
                "--file",
                str(ldc_wav),
                "--engine",
                "sphinx",
                "--no-live",
                "--as-fast-as-possible",
                *args,
            ],
        )
        assert result.exit_code == 2, (args, result.output)
        lines = _error_lines(result.output)
        assert len(lines) == 1 and needle in lines[0], (args, result.output)


def test_listen_headerless_pcm_file(goforward_raw) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "listen",
            "--file",
            str(goforward_raw),
            "--raw-sample-rate",
            "16000",
            "--as-fast-as-possible",
            "--engine",
            "sphinx",
            "--no-live",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.lower().startswith("go forward")
    bad = runner.invoke(
        app,
        [
            "listen",
            "--file",
            str(goforward_raw),
            "--raw-sample-rate",
            "1",
            "--no-live",
            "--engine",
            "sphinx",
        ],
    )
    assert bad.exit_code == 2 and "2000-768000 Hz" in bad.output
