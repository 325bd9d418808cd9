"""Local agreement: which prefix of consecutive hypotheses is stable."""

from __future__ import annotations

import pytest

from aural.streaming.agreement import agreed_prefix, normalize_word


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [
        ([], ["hello"], 0),
        (["hello"], [], 0),
        (["Hello,", "world"], ["hello", "world", "again"], 2),
        (["nor", "is", "mr."], ["Nor", "is", "Mr.", "Quilter's"], 3),
        (["nor", "it."], ["nor", "is", "mr."], 1),
        (["the", "cat"], ["a", "cat"], 0),
        (["don't", "go"], ["dont", "go"], 0),  # the apostrophe is part of the word
    ],
)
def test_agreed_prefix_table(
    previous: list[str], current: list[str], expected: int
) -> None:
    assert agreed_prefix(previous, current) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("Hello,", "hello"),
        ("matter.", "matter"),
        ("Quilter's", "quilter's"),
        ("...", ""),
    ],
)
def test_normalize_word_table(word: str, expected: str) -> None:
    assert normalize_word(word) == expected
