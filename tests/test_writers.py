"""Writers: golden output for each format and atomic writes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from aural.errors import ConfigError
from aural.types import Segment, Transcript, TranscriptionInfo, Word
from aural.writers import format_timestamp, render, write_atomic

T = Transcript(
    (
        Segment(
            0.0,
            1.5,
            "Hello there.",
            (Word(0.0, 0.6, "Hello", 0.9), Word(0.7, 1.5, "there.", 0.8)),
        ),
        Segment(3661.25, 3662.0, "Tab\there", ()),
    ),
    TranscriptionInfo("en", 1.0, 3662.0, "whisper", "tiny.en", {"beam_size": 5}),
)


def test_txt() -> None:
    assert render(T, "txt") == "Hello there. Tab\there\n"


def test_srt() -> None:
    assert render(T, "srt") == (
        "1\n00:00:00,000 --> 00:00:01,500\nHello there.\n\n"
        "2\n01:01:01,250 --> 01:01:02,000\nTab\there\n"
    )


def test_vtt() -> None:
    assert render(T, "vtt").startswith(
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello there.\n"
    )


def test_tsv() -> None:
    assert (
        render(T, "tsv")
        == "start\tend\ttext\n0\t1500\tHello there.\n3661250\t3662000\tTab here\n"
    )


def test_json_round_trip() -> None:
    d = json.loads(render(T, "json"))
    assert d["schema_version"] == "1.0" and d["text"] == T.text
    assert Transcript.from_dict(d) == T


def test_unknown_format() -> None:
    with pytest.raises(ConfigError, match="docx"):
        render(T, "docx")


def test_format_timestamp_rounding() -> None:
    assert format_timestamp(59.9996) == "00:01:00.000"
    assert format_timestamp(-1) == "00:00:00.000"


def test_write_atomic_leaves_no_partial(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b.txt"
    write_atomic(out, "x")
    assert out.read_text() == "x"

    class Boom(str):
        def __len__(self) -> int:  # pragma: no cover - not called
            return 1

    with pytest.raises(TypeError):
        write_atomic(out, 123)  # type: ignore[arg-type]
    assert out.read_text() == "x"
    assert [p.name for p in out.parent.iterdir()] == ["b.txt"]


def test_write_atomic_takes_bytes_and_writer_functions(tmp_path: Path) -> None:
    out = tmp_path / "plot.png"
    write_atomic(out, b"\x89PNG")
    assert out.read_bytes() == b"\x89PNG"
    write_atomic(out, lambda f: f.write(b"streamed"))
    assert out.read_bytes() == b"streamed"
    write_atomic(out, "caf\u00e9")
    assert out.read_bytes() == "caf\u00e9".encode()


def test_write_atomic_keeps_the_old_file_when_the_writer_fails(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    write_atomic(out, "old")

    def half_then_fail(f) -> None:
        f.write(b"ne")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        write_atomic(out, half_then_fail)
    assert out.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_write_atomic_modes(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.txt"
    write_atomic(fresh, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~umask  # as open(path, "w") would
    kept = tmp_path / "kept.txt"
    kept.write_text("x")
    kept.chmod(0o640)
    write_atomic(kept, "y")
    assert kept.stat().st_mode & 0o777 == 0o640 and kept.read_text() == "y"
