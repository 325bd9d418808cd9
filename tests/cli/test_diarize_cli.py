"""`aural diarize`, `aural transcribe --diarize` and `aural data
simulate-conversations` as a user runs them."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aural.cli import app
from aural.diarization import parse_rttm

runner = CliRunner()
pytestmark = pytest.mark.slow


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def conversations(tmp_path_factory: pytest.TempPathFactory, dev_clean: Path) -> Path:
    if importlib.util.find_spec("resemblyzer") is None:
        pytest.skip("needs aural[diarize] (resemblyzer's encoder weights)")
    out = tmp_path_factory.mktemp("conv")
    code, output = cli(
        "data",
        "simulate-conversations",
        "--from",
        str(dev_clean),
        "--output-dir",
        str(out),
        "--num",
        "1",
        "--speakers",
        "2,3",
        "--max-duration",
        "25",
        "--seed",
        "4",
        "-q",
    )
    assert code == 0, output
    return out


def test_simulate_conversations_writes_audio_rttm_manifest(
    conversations: Path, tmp_path: Path, dev_clean: Path
) -> None:
    rows = [
        json.loads(x)
        for x in (conversations / "manifest.jsonl").read_text().splitlines()
    ]
    assert [r["num_speakers"] for r in rows] == [2, 3]
    for r in rows:
        assert (conversations / r["audio"]).is_file()
        turns = parse_rttm((conversations / r["rttm"]).read_text())[r["id"]]
        assert len({t.speaker for t in turns}) == r["num_speakers"]
    # the same seed gives the same files
    again = tmp_path / "again"
    code, _ = cli(
        "data", "simulate-conversations", "--from", str(dev_clean), "--output-dir",
        str(again), "--num", "1", "--speakers", "2,3", "--max-duration", "25",
        "--seed", "4", "-q",
    )  # fmt: skip
    assert code == 0
    assert (again / "all.rttm").read_text() == (conversations / "all.rttm").read_text()


def test_diarize_one_input_prints_rttm(conversations: Path) -> None:
    code, out = cli("diarize", str(conversations / "conv2spk_000.wav"))
    assert code == 0, out
    turns = parse_rttm(out)["conv2spk_000"]
    assert len({t.speaker for t in turns}) == 2


def test_diarize_many_inputs_to_a_folder(conversations: Path, tmp_path: Path) -> None:
    code, out = cli(
        "diarize",
        str(conversations / "conv2spk_000.wav"),
        str(conversations / "conv3spk_000.wav"),
        "--format",
        "json",
        "--output-dir",
        str(tmp_path),
        "--max-speakers",
        "4",
        "-q",
    )
    assert code == 0, out
    doc = json.loads((tmp_path / "conv3spk_000.json").read_text())
    assert doc["num_speakers"] == len(doc["speakers"]) >= 2
    assert (tmp_path / "conv2spk_000.json").is_file()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--num-speakers", "2", "--max-speakers", "3"], "not both"),
        (["--min-speakers", "3", "--max-speakers", "2"], "min_speakers"),
        (["--format", "xml"], "--format"),
        (["--clustering", "kmeans"], "num_speakers"),
    ],
)
def test_diarize_bad_flags_exit_2(
    conversations: Path, args: list[str], needle: str
) -> None:
    code, out = cli("diarize", str(conversations / "conv2spk_000.wav"), *args)
    assert code == 2 and needle in out


def test_diarize_bad_audio_exits_1(tmp_path: Path) -> None:
    if importlib.util.find_spec("resemblyzer") is None:
        pytest.skip("needs aural[diarize] (resemblyzer's encoder weights)")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    code, out = cli("diarize", str(bad))
    assert code == 1 and "bad.wav" in out


def test_transcribe_diarize_labels_speakers(
    conversations: Path, tmp_path: Path
) -> None:
    code, out = cli(
        "transcribe",
        str(conversations / "conv2spk_000.wav"),
        "--diarize",
        "--num-speakers",
        "2",
        "--beam-size",
        "1",
        "--format",
        "all",
        "--output-dir",
        str(tmp_path),
        "-q",
    )
    assert code == 0, out
    txt = (tmp_path / "conv2spk_000.txt").read_text().splitlines()
    assert txt and all(line.split(":")[0] in {"S1", "S2"} for line in txt)
    doc = json.loads((tmp_path / "conv2spk_000.json").read_text())
    assert {s["speaker"] for s in doc["segments"]} == {"S1", "S2"}
    assert "<v S" in (tmp_path / "conv2spk_000.vtt").read_text()


def test_speaker_counts_need_diarize(conversations: Path) -> None:
    code, out = cli(
        "transcribe", str(conversations / "conv2spk_000.wav"), "--num-speakers", "2"
    )
    assert code == 2 and "--diarize" in out
