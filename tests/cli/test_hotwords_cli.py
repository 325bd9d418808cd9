"""`--hotwords` and `--hotwords-file` on `aural transcribe` and `aural listen` (issue
18): the entries reach the decoder (they are recorded in the transcript's options), and
a file that cannot be used is one line naming the flag, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aural.cli import app

NAMES = "# characters of The Man Who Laughs\nGwynplaine\n\nDea:2.0  # the blind girl\n"


@pytest.fixture()
def names_file(tmp_path: Path) -> Path:
    path = tmp_path / "names.txt"
    path.write_text(NAMES, encoding="utf-8")
    return path


def _invoke(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.exception
    )
    return result


def test_transcribe_hotwords_file_joins_hotwords_in_order(
    ldc_wav: Path, names_file: Path
) -> None:
    result = _invoke(
        "transcribe",
        str(ldc_wav),
        "--beam-size",
        "1",
        "--format",
        "json",
        "--hotwords",
        "Ursus, Gwynplaine",
        "--hotwords-file",
        str(names_file),
    )
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["info"]["options"]["hotwords"] == ["Ursus", "Gwynplaine", "Dea:2.0"]
    assert "greasy" in body["text"].lower()


def test_listen_takes_hotwords_and_a_hotwords_file(
    ldc_wav: Path, names_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "live.json"
    result = _invoke(
        "listen",
        "--file",
        str(ldc_wav),
        "--as-fast-as-possible",
        "--beam-size",
        "1",
        "--hotwords",
        "Homo",
        "--hotwords-file",
        str(names_file),
        "--format",
        "json",
        "--output",
        str(out),
        "--no-live",
    )
    assert result.exit_code == 0, result.stderr
    body = json.loads(out.read_text())
    assert body["info"]["options"]["hotwords"] == ["Homo", "Gwynplaine", "Dea:2.0"]
    assert body["text"].strip()


def _bad_files(tmp_path: Path) -> list[tuple[Path, str]]:
    binary = tmp_path / "audio.wav"
    binary.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00")
    weight = tmp_path / "weights.txt"
    weight.write_text("Gwynplaine\nDea:loud\n")
    return [
        (tmp_path / "absent.txt", "no such file"),
        (tmp_path, "is a folder"),
        (binary, "not UTF-8 text"),
        (weight, "line 2"),
    ]


@pytest.mark.parametrize("command", ["transcribe", "listen"])
def test_unusable_hotwords_file_is_a_usage_error(
    command: str, ldc_wav: Path, tmp_path: Path
) -> None:
    for path, needle in _bad_files(tmp_path):
        audio = [str(ldc_wav)] if command == "transcribe" else ["--file", str(ldc_wav)]
        result = _invoke(command, *audio, "--hotwords-file", str(path))
        assert result.exit_code == 2, (path, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, result.stderr
        assert needle in lines[0] and str(path) in lines[0]
        assert "--hotwords-file" in lines[0]
        assert "Traceback" not in result.stderr


def test_empty_hotwords_file_is_said_and_ignored(ldc_wav: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("# to fill in\n")
    result = _invoke(
        "transcribe",
        str(ldc_wav),
        "--engine",
        "sphinx",
        "--hotwords-file",
        str(empty),
    )
    assert result.exit_code == 0, result.stderr
    assert "no entries" in result.stderr
    assert result.stdout.strip()


@pytest.mark.parametrize("command", ["transcribe", "listen"])
def test_engine_without_hotwords_refuses_the_file(
    command: str, ldc_wav: Path, names_file: Path
) -> None:
    audio = [str(ldc_wav)] if command == "transcribe" else ["--file", str(ldc_wav)]
    result = _invoke(
        command, *audio, "--engine", "sphinx", "--hotwords-file", str(names_file)
    )
    assert result.exit_code == 2, result.stderr
    assert "does not support hotwords" in result.stderr


def test_malformed_weight_in_hotwords_is_a_usage_error(ldc_wav: Path) -> None:
    result = _invoke("transcribe", str(ldc_wav), "--hotwords", "Dea:loud")
    assert result.exit_code == 2, result.stderr
    assert "Dea:loud" in result.stderr and "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def eminence(dev_clean: Path) -> Path:
    """ "Do you know that his eminence has been making fresh complaints against your
    musketeers?": tiny.en hears "imminent" unless "eminence" is favoured."""
    path = dev_clean.parent / "train-clean-100/211/122425/211-122425-0000.flac"
    if not path.exists():
        pytest.skip(f"{path} is not in the shared data")
    return path


@pytest.mark.parametrize("command", ["transcribe", "listen"])
def test_hotword_weight_reaches_the_decoder(command: str, eminence: Path) -> None:
    """Weight 0 leaves the decode as it was; the default weight recovers the name."""
    audio = [str(eminence)] if command == "transcribe" else ["--file", str(eminence)]
    if command == "listen":
        audio += ["--as-fast-as-possible", "--no-live"]
    texts = {}
    for weight in ("0", "1.5"):
        result = _invoke(
            command, *audio, "--hotwords", "eminence", "--hotword-weight", weight
        )
        assert result.exit_code == 0, result.stderr
        texts[weight] = result.stdout.lower()
    assert "imminent" in texts["0"] and "eminence" not in texts["0"]
    assert "eminence" in texts["1.5"]


@pytest.mark.parametrize("command", ["transcribe", "listen"])
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--hotword-weight", "-1"), "--hotword-weight must be a number >= 0"),
        (
            ("--engine", "sphinx", "--hotword-weight", "2"),
            "--hotword-weight is for the engines that take it",
        ),
    ],
)
def test_bad_hotword_weight_is_a_usage_error(
    command: str, args: tuple[str, ...], needle: str, ldc_wav: Path
) -> None:
    audio = [str(ldc_wav)] if command == "transcribe" else ["--file", str(ldc_wav)]
    result = _invoke(command, *audio, "--hotwords", "Dea", *args)
    assert result.exit_code == 2, result.stderr
    assert needle in result.stderr and "Traceback" not in result.stderr
