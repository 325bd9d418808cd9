"""Alignment results: serialisation and output formats."""

from __future__ import annotations

import json

import numpy as np
import pytest

from aural.align import Alignment, render_alignment
from aural.align.compare import boundary_differences, summarize_differences
from aural.errors import ConfigError
from aural.types import Word

WORDS = (
    Word(0.5, 0.9, "Hello,", 0.9),
    Word(1.0, 1.4, "world", 0.8),
    Word(3.2, 3.5, "again", 0.7),
)
RESULT = Alignment(
    WORDS, (Word(0.5, 0.6, "H", 0.9),), 4.0, "ctc", "tiny", "Hello, world again"
)


def test_json_round_trip():
    d = json.loads(render_alignment(RESULT, "json"))
    assert d["words"][0] == {
        "word": "Hello,",
        "start": 0.5,
        "end": 0.9,
        "probability": 0.9,
    }
    assert d["schema_version"] and d["engine"] == "ctc"
    assert Alignment.from_dict(d) == RESULT


def test_tsv_has_word_and_char_tiers():
    rows = [r.split("\t") for r in render_alignment(RESULT, "tsv").splitlines()]
    assert rows[0] == ["tier", "start", "end", "label", "probability"]
    assert rows[1][:4] == ["words", "0.500", "0.900", "Hello,"]
    assert rows[-1][:4] == ["chars", "0.500", "0.600", "H"]


def test_srt_and_vtt_group_words_into_cues():
    srt = render_alignment(RESULT, "srt")
    assert "1\n00:00:00,500 --> 00:00:01,400\nHello, world\n" in srt
    assert "2\n00:00:03,200 --> 00:00:03,500\nagain\n" in srt  # the pause starts a cue
    vtt = render_alignment(RESULT, "vtt")
    assert vtt.startswith("WEBVTT\n") and "00:00:00.500 --> 00:00:01.400" in vtt


def test_unknown_format_names_it():
    with pytest.raises(ConfigError, match="'xml'"):
        render_alignment(RESULT, "xml")


def test_boundary_differences_match_words_by_spelling():
    other = Alignment(
        (Word(0.6, 0.9, "Hello,"), Word(3.0, 3.6, "again")),
        (),
        4.0,
        "sphinx",
        "en-us",
        "",
    )
    d = boundary_differences(RESULT, other)
    assert np.allclose(d, [[0.1, 0.0], [0.2, 0.1]])
    stats = summarize_differences([d])
    assert stats.num_words == 2 and stats.median == pytest.approx(0.1)
    with pytest.raises(ConfigError):
        summarize_differences([np.zeros((0, 2))])
