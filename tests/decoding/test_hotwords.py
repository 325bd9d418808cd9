"""Hotword parsing and the character trie with rollback."""

from __future__ import annotations

import pytest

from aural.decoding.hotwords import Hotword, HotwordTrie, parse_hotwords
from aural.errors import ConfigError


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("word:2.5, a phrase", (Hotword("word", 2.5), Hotword("a phrase"))),
        (["  New   York ", "x:0"], (Hotword("New York"), Hotword("x", 0.0))),
        ("a,, b", (Hotword("a"), Hotword("b"))),
        (None, ()),
    ],
)
def test_parse_hotwords(spec, expected):
    assert parse_hotwords(spec) == expected


def test_parse_hotwords_bad_weight_names_the_entry():
    with pytest.raises(ConfigError, match="kubernetes:lots"):
        parse_hotwords("kubernetes:lots")


def test_negative_weight_rejected():
    with pytest.raises(ConfigError, match="-1"):
        Hotword("x", -1.0)


def _walk(trie: HotwordTrie, text: str) -> float:
    state, total = trie.initial_state, 0.0
    for ch in text:
        state, delta = trie.step(state, ch)
        total += delta
    return total + trie.finish(state)


@pytest.mark.parametrize(
    ("text", "bonus"),
    [
        ("cat", 3.0),  # complete at the end
        ("the cat sat", 3.0),
        ("CAT", 3.0),  # case-insensitive
        ("cats", 0.0),  # must end at a word boundary
        ("scat", 0.0),  # must start at a word start
        ("ca", 0.0),  # partial match rolled back
        ("new york", 2.0 * 8),
        ("new yoke", 0.0),  # the phrase broke: all of it given back
        ("cat cat", 6.0),
    ],
)
def test_trie_keeps_bonus_only_for_complete_hotwords(text, bonus):
    trie = HotwordTrie(["cat", "new york:2"], default_weight=1.0)
    assert _walk(trie, text) == pytest.approx(bonus)


def test_prefix_hotword_kept_when_longer_phrase_breaks():
    trie = HotwordTrie(["new", "new york"], default_weight=1.0)
    assert _walk(trie, "new yoke") == pytest.approx(3.0)
    assert _walk(trie, "new york") == pytest.approx(3.0 + 5.0)
