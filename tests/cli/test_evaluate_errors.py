"""`aural evaluate` on hostile input: one error line naming the problem, never a
traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aural.cli import app


def invoke(*args: str):
    return CliRunner().invoke(
        app, ["evaluate", "--engine", "sphinx", "--quiet", "--no-plots", *args]
    )


def one_line_error(result, code: int, *needles: str) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not a crash
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error:"), err
    for n in needles:
        assert n in err, (n, err)
    return err


@pytest.fixture
def manifest(tmp_path: Path, jfk_flac: Path) -> Path:
    path = tmp_path / "ok.jsonl"
    path.write_text(
        json.dumps({"audio": str(jfk_flac), "text": "and so my fellow americans"})
        + "\n"
    )
    return path


@pytest.mark.parametrize(
    ("name", "content", "needles"),
    [
        (
            "dur_str.jsonl",
            b'{"audio": "AUDIO", "text": "a", "duration": "abc"}\n',
            ["dur_str.jsonl' line 1: field 'duration'", "'abc'"],
        ),
        (
            "dur_list.jsonl",
            b'{"audio": "AUDIO", "text": "a", "duration": [1, 2]}\n',
            ["dur_list.jsonl' line 1: field 'duration'"],
        ),
        (
            "start_str.jsonl",
            b'{"audio": "AUDIO", "text": "a", "start": "x"}\n',
            ["start_str.jsonl' line 1: field 'start'"],
        ),
        (
            "latin1.jsonl",
            '{"audio": "AUDIO", "text": "café"}\n'.encode("latin-1"),
            ["latin1.jsonl' line 1 is not UTF-8 text", "save the file as UTF-8"],
        ),
        (
            "extra.csv",
            b"foo,bar\nAUDIO,hello,third\n",
            ["extra.csv' line 2 has 3 field(s) but the header has 2"],
        ),
        (
            "quote.tsv",
            b'audio\ttext\n"AUDIO\thello\n',
            ["quote.tsv' line 2", 'a quote (")'],
        ),
        ("empty.jsonl", b"\n", ["empty.jsonl' holds no utterances"]),
    ],
)
def test_malformed_manifest_is_one_usage_error(
    tmp_path: Path, jfk_flac: Path, name: str, content: bytes, needles: list[str]
) -> None:
    path = tmp_path / name
    path.write_bytes(content.replace(b"AUDIO", str(jfk_flac).encode()))
    out = tmp_path / "out"
    one_line_error(invoke("--output-dir", str(out), str(path)), 2, *needles)
    assert not out.exists()  # nothing decoded, nothing written


def test_utf16_manifest_with_a_bom_is_evaluated_far_enough(
    tmp_path: Path, jfk_flac: Path
):
    path = tmp_path / "utf16.jsonl"
    path.write_text(
        json.dumps({"audio": str(jfk_flac), "text": "a"}) + "\n", encoding="utf-16"
    )
    # the manifest reads; --limit 0 then leaves nothing, which stops the run before
    # decoding
    one_line_error(
        invoke("--limit", "0", str(path)), 2, "no utterances left", "--limit"
    )


@pytest.mark.parametrize("size", ["0", "-3"])
def test_batch_size_below_one_is_a_usage_error(manifest: Path, size: str) -> None:
    one_line_error(invoke("--batch-size", size, str(manifest)), 2, f"got {size}")


def test_binary_vocabulary_is_a_usage_error(manifest: Path, jfk_flac: Path) -> None:
    one_line_error(
        invoke("--vocabulary", str(jfk_flac), str(manifest)),
        2,
        f"--vocabulary {str(jfk_flac)!r}",
        "is not UTF-8 text",
    )


def test_output_dir_that_cannot_be_created(tmp_path: Path, manifest: Path) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine")
    one_line_error(
        invoke("--output-dir", str(blocker / "sub"), str(manifest)),
        2,
        "cannot create --output-dir",
        "notes.txt",
    )
    assert blocker.read_text() == "mine"


def test_rir_dir_errors_speak_of_room_responses(tmp_path: Path, manifest: Path) -> None:
    rirs = tmp_path / "rirs"
    rirs.mkdir()
    (rirs / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt not audio")
    err = one_line_error(
        invoke(
            "--rir-dir", str(rirs), "--output-dir", str(tmp_path / "out"), str(manifest)
        ),
        1,
        "broken.wav",
        "room-response folder",
    )
    assert "noise folder" not in err


def test_corrupt_cache_is_decoded_again_and_kept(
    tmp_path: Path, manifest: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    garbage = b"\x89PNG\r\n\x1a\n\xff\xfe not a hypothesis\n"
    (out / "hypotheses.jsonl").write_bytes(garbage)
    (out / "notes.txt").write_text("mine")
    result = invoke("--output-dir", str(out), str(manifest))
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert (out / "hypotheses.jsonl").read_bytes().startswith(garbage)
    assert (out / "notes.txt").read_text() == "mine"
    assert "1 decodes (0 from cache)" in result.stderr
    doc = json.loads((out / "results.json").read_text())
    assert [u["id"] for u in doc["engines"]["sphinx"]["utterances"]] == ["jfk"]
