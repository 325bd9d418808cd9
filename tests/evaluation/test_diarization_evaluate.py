"""`aural evaluate` on datasets with RTTM references (issue 21, item 3): the AMI
excerpts and simulated conversations, scored by the md-eval DER, JER, speaker counts
and WDER."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aural.cli import app
from aural.diarization import parse_rttm, read_rttm, read_uem
from aural.evaluation.diarization import (
    diarization_error_rate,
    is_diarization_manifest,
    load_diarization_manifest,
)

needs_resemblyzer = pytest.mark.skipif(
    importlib.util.find_spec("resemblyzer") is None,
    reason="needs aural[diarize] (resemblyzer's encoder weights)",
)


def invoke(*args: str):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app, ["evaluate", *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


@pytest.fixture(scope="module")
def ami_manifest(shared_data: Path) -> Path:
    return shared_data / "diarization" / "manifest.jsonl"


def test_manifest_rows_resolve_references_and_uem(ami_manifest: Path) -> None:
    assert is_diarization_manifest(ami_manifest)
    assert is_diarization_manifest(ami_manifest.parent)
    items = load_diarization_manifest(ami_manifest)
    rows = [json.loads(x) for x in ami_manifest.read_text().splitlines() if x]
    assert len(items) == len(rows)
    for item, row in zip(items, rows):
        (ref,) = read_rttm(ami_manifest.parent / row["rttm"]).values()
        assert list(item.reference) == ref
        (uem,) = read_uem(ami_manifest.parent / row["uem"]).values()
        assert list(item.uem or ()) == uem
        assert item.audio.is_file() and not item.has_transcript


def test_a_plain_asr_manifest_is_no_diarization_dataset(
    tmp_path: Path, dev_clean: Path
) -> None:
    assert not is_diarization_manifest(dev_clean)
    plain = tmp_path / "m.jsonl"
    plain.write_text('{"audio": "a.wav", "text": "hi"}\n')
    assert not is_diarization_manifest(plain)


@pytest.mark.slow
@needs_resemblyzer
def test_evaluate_ami_writes_der_that_the_scorer_reproduces(
    ami_manifest: Path, tmp_path: Path
) -> None:
    out = tmp_path / "eval"
    result = invoke(
        str(ami_manifest), "--limit", "3", "--collar", "0.1", "--output-dir", str(out)
    )
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "results.json").read_text())["diarization"]
    assert doc["collar"] == 0.1 and len(doc["files"]) == 3
    # the hypotheses written beside the results give the same DER through the scorer
    hyps = parse_rttm((out / "hypotheses.rttm").read_text())
    items = load_diarization_manifest(ami_manifest)[:3]
    refs = {i.id: list(i.reference) for i in items}
    uems = {i.id: list(i.uem or ()) for i in items}
    total, _ = diarization_error_rate(refs, hyps, uem=uems, collar=0.1)
    assert doc["der"] == pytest.approx(total.der, abs=1e-9)
    assert 0 <= doc["jer"] <= 1 and 0 <= doc["speaker_count_accuracy"] <= 1
    assert doc["wder"] is None  # the AMI excerpts have no transcripts
    assert "| DER |" in (out / "report.md").read_text()
    assert f"{100 * total.der:.1f} %" in result.stdout


@pytest.mark.slow
@needs_resemblyzer
def test_oracle_speakers_and_skip_overlap(ami_manifest: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval"
    args = [str(ami_manifest), "--limit", "1", "-q"]
    assert invoke(*args, "--output-dir", str(out)).exit_code == 0
    plain = json.loads((out / "results.json").read_text())["diarization"]
    result = invoke(
        *args, "--oracle-speakers", "--skip-overlap", "--output-dir", str(out)
    )
    assert result.exit_code == 0, result.output
    told = json.loads((out / "results.json").read_text())["diarization"]
    assert told["oracle_speakers"] and told["skip_overlap"]
    (row,) = told["files"]
    assert row["hypothesis_speakers"] == row["reference_speakers"]
    # trn00 has 3.9 s of overlapped speech: skipping it scores less speech
    assert told["scored_seconds"] < plain["scored_seconds"]


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--snr", "10"], "--snr"),
        (["--collar", "-1"], "--collar"),
        (["--engine", "whisper", "--engine", "sphinx"], "one --engine"),
    ],
)
def test_bad_flags_on_rttm_datasets_are_usage_errors(
    ami_manifest: Path, tmp_path: Path, extra: list[str], needle: str
) -> None:
    result = invoke(str(ami_manifest), *extra, "--output-dir", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert needle in result.stderr


def test_diarization_flags_need_rttm_references(dev_clean: Path, tmp_path: Path):
    result = invoke(str(dev_clean), "--skip-overlap", "--output-dir", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert "RTTM" in result.stderr


def test_bad_manifest_rows_are_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "m.jsonl").write_text('{"audio": "x.wav", "rttm": "x.rttm"}\n')
    result = invoke(str(tmp_path / "m.jsonl"), "--output-dir", str(tmp_path / "o"))
    assert result.exit_code == 2, result.output
    assert "x.wav" in result.stderr


@pytest.mark.slow
@needs_resemblyzer
def test_wder_on_a_simulated_conversation(dev_clean: Path, tmp_path: Path) -> None:
    conv = tmp_path / "conv"
    made = CliRunner().invoke(
        app,
        [
            "data", "simulate-conversations", "--from", str(dev_clean),
            "--output-dir", str(conv), "--num", "1", "--speakers", "2",
            "--max-duration", "20", "--seed", "3", "-q",
        ],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    out = tmp_path / "eval"
    result = invoke(
        str(conv / "manifest.jsonl"), "--engine", "whisper:tiny.en", "--beam-size",
        "1", "--output-dir", str(out), "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "results.json").read_text())["diarization"]
    (row,) = doc["files"]
    assert row["words"] > 10
    assert doc["wder"] is not None and doc["wder"] < 0.1
    assert doc["der"] < 0.15
