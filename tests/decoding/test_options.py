"""DecodeOptions refuses wrong types with a ConfigError, not a TypeError later; hotword
lists read from files."""

from __future__ import annotations

from pathlib import Path

import pytest

from aural.decoding import options as options_module
from aural.decoding.options import DecodeOptions, read_hotwords_file
from aural.errors import ConfigError


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("temperature", "a"),
        ("temperature", True),
        ("temperature", 1.5),
        ("batch_size", "4"),
        ("batch_size", 0),
        ("beam_size", True),
        ("beam_size", 2.0),
        ("vad", "no"),
        ("word_timestamps", 1),
        ("trimmed_windows", None),
        ("initial_prompt", 5),
    ],
)
def test_wrong_types_are_config_errors(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        DecodeOptions(**{field: value})


def test_valid_options_pass() -> None:
    options = DecodeOptions(
        temperature=0,
        beam_size=1,
        batch_size=8,
        vad=False,
        initial_prompt="Glossary: aural.",
    )
    assert options.with_(temperature=0.4).temperature == 0.4


# -- read_hotwords_file ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("Gwynplaine\nDea:2.0\n", ("Gwynplaine", "Dea:2.0")),
        ("# characters\n\n  Gwynplaine  \n\n# end\n", ("Gwynplaine",)),
        ("Ursus # the philosopher\nHomo\n", ("Ursus", "Homo")),
        ("C# programming\n", ("C# programming",)),
        ("a phrase,  another   one:1.5\n", ("a phrase", "another one:1.5")),
        ("Dea\nGwynplaine\nDea\ndea\n", ("Dea", "Gwynplaine", "dea")),
        ("\ufeffJosiana\r\nBarkilphedro\r\n", ("Josiana", "Barkilphedro")),
        ("Mlle Réjane\nZürich:0.5\n", ("Mlle Réjane", "Zürich:0.5")),
        ("# nothing but comments\n\n", ()),
        ("", ()),
    ],
)
def test_read_hotwords_file_entries(
    tmp_path: Path, content: str, expected: tuple[str, ...]
) -> None:
    path = tmp_path / "hotwords.txt"
    path.write_bytes(content.encode("utf-8"))
    assert read_hotwords_file(path) == expected
    assert DecodeOptions(hotwords=read_hotwords_file(str(path))).hotwords == expected


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.mkdir(), "is a folder"),
        (lambda p: p.write_bytes(b"RIFF\x00\x00WAVEfmt "), "not UTF-8 text"),
        (lambda p: p.write_bytes("Réjane\n".encode("latin-1")), "not UTF-8 text"),
        (lambda p: p.write_text("Dea\nGwynplaine:abc\n"), "line 2"),
        (lambda p: p.write_text("Dea:-1\n"), "line 1"),
    ],
)
def test_read_hotwords_file_refusals_name_the_file(
    tmp_path: Path, make, needle: str
) -> None:
    path = tmp_path / "names.lst"
    make(path)
    with pytest.raises(ConfigError, match=needle) as info:
        read_hotwords_file(path)
    message = str(info.value)
    assert str(path) in message and "--" not in message
    assert info.value.options == ("hotwords",)


def test_read_hotwords_file_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "locked.txt"
    path.write_text("Dea\n")

    def refuse(self: Path, *args: object, **kwargs: object) -> object:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(ConfigError, match="cannot read it .Permission denied"):
        read_hotwords_file(path)


def test_read_hotwords_file_too_large(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.txt"
    path.write_text("Dea\n" * 100)
    monkeypatch.setattr(options_module, "MAX_HOTWORDS_FILE_BYTES", 64)
    with pytest.raises(ConfigError, match="larger than"):
        read_hotwords_file(path)
