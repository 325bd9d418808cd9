"""Malformed manifests and transcripts: one DatasetError naming the file, line and
problem."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from aural.data import Utterance, load_dataset, load_utterance_audio, read_manifest_file
from aural.errors import ConfigError, DatasetError, EmptyAudioError

JFK_TEXT = "and so my fellow americans ask not what your country can do for you"


@pytest.fixture
def jfk(tmp_path: Path, misc_dir: Path) -> Path:
    """jfk.flac (11.0 s) next to the manifests, so rows can name it relatively."""
    return Path(shutil.copy(misc_dir / "jfk.flac", tmp_path / "jfk.flac"))


def write_jsonl(path: Path, *rows: str) -> Path:
    """A good first line, then ``rows`` as written (raw JSON text)."""
    good = json.dumps({"id": "good", "audio": "jfk.flac", "text": JFK_TEXT})
    path.write_text("\n".join([good, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        (
            '"duration": "abc"',
            r"field 'duration' must be a number of seconds >= 0, got 'abc'",
        ),
        ('"duration": [1, 2]', r"field 'duration' .* got \[1, 2\]"),
        ('"duration": 1e400', r"field 'duration' .* got inf"),
        ('"duration": NaN', r"field 'duration' .* got nan"),
        ('"duration": -1', r"field 'duration' .* got -1"),
        ('"duration": true', r"field 'duration' .* got True"),
        ('"start": "x"', r"field 'start' .* got 'x'"),
        ('"start": -5, "end": 3', r"field 'start' .* got -5"),
        (
            '"start": 5, "end": 2',
            r"segment end \(2.0 s\) must be after its start \(5.0 s\)",
        ),
        (
            '"start": 100, "end": 200',
            r"segment start \(100.0 s\) is at or past the end of .*",
        ),
        (
            '"start": 2, "end": 30',
            r"segment end \(30.0 s\) is past the end of 'jfk.flac'",
        ),
        ('"text": ["a", "b"]', r"field 'text' must be a string, got \['a', 'b'\]"),
        ('"speaker": {"a": 1}', r"field 'speaker' must be a string"),
        ('"extra": "notadict"', r"field 'extra' must be a JSON object, got 'notadict'"),
    ],
)
def test_bad_field_names_file_line_and_field(
    jfk: Path, fields: str, needle: str
) -> None:
    text = "" if '"text"' in fields else f'"text": "{JFK_TEXT}", '
    manifest = write_jsonl(
        jfk.parent / "m.jsonl", f'{{"audio": "jfk.flac", {text}{fields}}}'
    )
    with pytest.raises(DatasetError, match=r"m\.jsonl' line 2: " + needle):
        read_manifest_file(manifest)


def test_audio_that_is_not_a_path_or_is_a_folder(jfk: Path) -> None:
    manifest = write_jsonl(jfk.parent / "m.jsonl", '{"audio": {"x": 1}, "text": "a"}')
    with pytest.raises(DatasetError, match=r"line 2: field 'audio' must be a string"):
        read_manifest_file(manifest)
    write_jsonl(manifest, '{"audio": ".", "text": "a"}')
    with pytest.raises(DatasetError, match=r"line 2: audio '\.' is a folder"):
        read_manifest_file(manifest)


def test_valid_segments_get_their_own_duration(jfk: Path) -> None:
    manifest = write_jsonl(
        jfk.parent / "m.jsonl",
        json.dumps(
            {"id": "a", "audio": "jfk.flac", "text": "x", "start": 1.5, "end": 4.0}
        ),
        json.dumps({"id": "b", "audio": "jfk.flac", "text": "x", "start": 8.0}),
        # an end that overshoots by rounding is accepted
        json.dumps(
            {"id": "c", "audio": "jfk.flac", "text": "x", "start": 10, "end": 11.05}
        ),
        json.dumps({"id": "d", "audio": "jfk.flac", "text": "x", "speaker": 1272}),
    )
    m = read_manifest_file(manifest)
    assert [u.duration for u in m] == pytest.approx([11.0, 2.5, 3.0, 1.05, 11.0])
    assert m[4].speaker == "1272"
    assert load_utterance_audio(m[1]).duration == pytest.approx(2.5, abs=1e-3)


def test_segment_outside_the_audio_fails_at_load_time(jfk: Path) -> None:
    # built directly (no header check), as a reader of a format without durations would
    utt = Utterance("late", jfk, "x", start=20.0, end=30.0)
    with pytest.raises(EmptyAudioError, match=r"'late'.*20.0 s to 30.0 s lies outside"):
        load_utterance_audio(utt)


def test_latin1_manifest_names_the_line(jfk: Path) -> None:
    manifest = jfk.parent / "m.jsonl"
    good = json.dumps({"audio": "jfk.flac", "text": JFK_TEXT})
    manifest.write_bytes(
        (good + "\n" + '{"audio": "jfk.flac", "text": "café"}\n').encode("latin-1")
    )
    with pytest.raises(
        DatasetError, match=r"m\.jsonl' line 2 is not UTF-8 text \(byte 0xe9\)"
    ):
        read_manifest_file(manifest)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "utf-32"])
@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_manifest_with_a_byte_order_mark_is_read(
    jfk: Path, encoding: str, suffix: str
) -> None:
    manifest = jfk.parent / f"m{suffix}"
    if suffix == ".jsonl":
        content = (
            json.dumps({"audio": "jfk.flac", "text": "café"}, ensure_ascii=False) + "\n"
        )
    else:
        content = "audio,text\njfk.flac,café\n"
    manifest.write_text(content, encoding=encoding)
    m = read_manifest_file(manifest)
    assert [(u.id, u.text, u.duration) for u in m] == [("jfk", "café", 11.0)]


def test_csv_row_with_more_fields_than_the_header(jfk: Path) -> None:
    manifest = jfk.parent / "m.csv"
    manifest.write_text("foo,bar\njfk.flac,hello,third\n")
    with pytest.raises(
        DatasetError,
        match=r"m\.csv' line 2 has 3 field\(s\) but the header has "
        r"2 \(foo, bar\); quote fields that contain a comma",
    ):
        read_manifest_file(manifest)
    manifest.write_text(
        "audio,text\njfk.flac,hello,third\n"
    )  # with an audio column too
    with pytest.raises(DatasetError, match=r"line 2 has 3 field\(s\)"):
        read_manifest_file(manifest)


def test_tsv_unterminated_quote_says_so(jfk: Path) -> None:
    manifest = jfk.parent / "m.tsv"
    manifest.write_text('audio\ttext\njfk.flac\tfine\n"jfk.flac\thello\n')
    with pytest.raises(DatasetError) as info:
        read_manifest_file(manifest)
    message = str(info.value)
    assert "m.tsv' line 3 has 1 field(s) but the header has 2 (audio, text)" in message
    assert 'a quote (") opens a field that runs through the end of the file' in message
    assert "needs an audio column" not in message
    # a stray quote that closes lines later swallows the rows in between
    manifest.write_text('audio\ttext\n"jfk.flac\thello\njfk.flac\tbye"\n')
    with pytest.raises(
        DatasetError, match=r"line 2 has 1 field\(s\).*runs through line 3"
    ):
        read_manifest_file(manifest)


def test_quoted_fields_and_blank_lines_still_read(jfk: Path) -> None:
    manifest = jfk.parent / "m.csv"
    manifest.write_text('audio,text,speaker\n\n"jfk.flac","hello, world",7\n')
    m = read_manifest_file(manifest)
    assert [(u.text, u.speaker) for u in m] == [("hello, world", "7")]


def test_librispeech_transcript_in_latin1(tmp_path: Path, misc_dir: Path) -> None:
    chapter = tmp_path / "dev" / "1" / "2"
    chapter.mkdir(parents=True)
    shutil.copy(misc_dir / "jfk.flac", chapter / "1-2-0000.flac")
    (chapter / "1-2.trans.txt").write_bytes("1-2-0000 CAFÉ\n".encode("latin-1"))
    with pytest.raises(DatasetError, match=r"1-2\.trans\.txt' line 1 is not UTF-8"):
        load_dataset(tmp_path / "dev")


def test_stm_with_a_bad_time(tmp_path: Path, misc_dir: Path) -> None:
    (tmp_path / "stm").mkdir()
    (tmp_path / "sph").mkdir()
    shutil.copy(misc_dir / "jfk.flac", tmp_path / "sph" / "talk.sph")
    (tmp_path / "stm" / "talk.stm").write_text("talk 1 spk 0.0 abc <o> hello\n")
    with pytest.raises(
        DatasetError, match=r"talk\.stm' line 1: field 'end' .* got 'abc'"
    ):
        load_dataset(tmp_path)


@pytest.mark.parametrize("field", ["duration", "start", "end"])
@pytest.mark.parametrize("value", [float("inf"), float("nan"), -1.0])
def test_utterance_rejects_non_finite_or_negative_times(
    field: str, value: float
) -> None:
    with pytest.raises(ConfigError, match=f"'u1': invalid {field}"):
        Utterance("u1", Path("a.wav"), "hi", **{field: value})


def test_headerless_audio_with_a_bad_sample_rate(
    tmp_path: Path, goforward_raw: Path
) -> None:
    manifest = tmp_path / "m.jsonl"
    row = {
        "audio": str(goforward_raw),
        "text": "go forward ten meters",
        "sample_rate": "fast",
    }
    manifest.write_text(json.dumps(row) + "\n")
    (utt,) = read_manifest_file(manifest)
    with pytest.raises(
        DatasetError, match=r"'goforward': the sample_rate .* got 'fast'"
    ):
        load_utterance_audio(utt)
    manifest.write_text(json.dumps({**row, "sample_rate": "16000"}) + "\n")
    assert load_utterance_audio(read_manifest_file(manifest)[0]).duration > 1.0
