"""Trie shallow fusion over Whisper's BPE tokens (the real tiny.en tokenizer)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from aural.engines.whisper import resolve_whisper_model
from aural.engines.whisper.biasing import TokenBiasing, TokenClasses, spellings

tokenizers = pytest.importorskip("tokenizers")

EOT = 50256
VOCAB = 51864


@pytest.fixture(scope="module")
def tokenizer():
    path = resolve_whisper_model("tiny.en") / "tokenizer.json"
    return tokenizers.Tokenizer.from_file(str(path))


_CLASSES: dict[int, TokenClasses] = {}


def classes(tokenizer) -> TokenClasses:
    if id(tokenizer) not in _CLASSES:
        _CLASSES[id(tokenizer)] = TokenClasses(tokenizer, VOCAB, EOT)
    return _CLASSES[id(tokenizer)]


def bias(tokenizer, entries, weight=1.0) -> TokenBiasing:
    return TokenBiasing(entries, classes(tokenizer), weight)


def walk(b: TokenBiasing, tokenizer, text: str, end: bool = True) -> float:
    """The bonus a hypothesis reading ``text`` keeps (then the end of text)."""
    state, total = b.start, 0.0
    tokens = tokenizer.encode(text, add_special_tokens=False).ids
    for token in [*tokens, EOT] if end else tokens:
        state, delta = b.step(state, token)
        total += delta
    return total


def n_tokens(tokenizer, text: str) -> int:
    return len(tokenizer.encode(text, add_special_tokens=False).ids)


def test_spellings_cover_case() -> None:
    assert spellings("new york") == ["new york", "New York"]
    assert spellings("iPhone") == ["iPhone", "IPhone"]
    assert spellings("Gwynplaine") == ["Gwynplaine"]


def test_complete_hotword_keeps_its_bonus(tokenizer) -> None:
    b = bias(tokenizer, ["Gwynplaine"], 2.0)
    n = n_tokens(tokenizer, " Gwynplaine")
    assert n > 1
    assert walk(b, tokenizer, " said Gwynplaine.") == pytest.approx(2.0 * n)
    assert walk(b, tokenizer, " Gwynplaine") == pytest.approx(2.0 * n)  # then EOT
    # at the very start of the text a word may come without its space
    assert walk(b, tokenizer, "Gwynplaine said") == pytest.approx(
        2.0 * n_tokens(tokenizer, "Gwynplaine")
    )


def test_abandoned_paths_give_back_their_bonus(tokenizer) -> None:
    b = bias(tokenizer, ["Gwynplaine"], 2.0)
    assert walk(b, tokenizer, " Gwynn said") == pytest.approx(0.0)
    assert walk(b, tokenizer, " Gwynpl") == pytest.approx(0.0)  # cut by the end
    # a complete entry inside a longer word is no match
    s = bias(tokenizer, ["Smith"], 3.0)
    assert walk(s, tokenizer, " Smithson came") == pytest.approx(0.0)
    assert walk(s, tokenizer, " Smith's car") == pytest.approx(
        3.0 * n_tokens(tokenizer, " Smith")
    )
    # only at word starts
    assert walk(s, tokenizer, " blacksmith") == pytest.approx(0.0)


def test_case_variants_and_weights(tokenizer) -> None:
    b = bias(tokenizer, ["kubernetes:4", "aural"], 1.0)
    for text in (" Kubernetes", " kubernetes"):
        assert walk(b, tokenizer, text) == pytest.approx(
            4.0 * n_tokens(tokenizer, text)
        )
    assert walk(b, tokenizer, " Aural") == pytest.approx(n_tokens(tokenizer, " Aural"))


def test_phrases_and_overlapping_entries(tokenizer) -> None:
    # a shared prefix earns the larger of its entries' weights
    b = bias(tokenizer, ["new york:2", "new york city", "york"], 1.0)
    ny = 2.0 * n_tokens(tokenizer, " New York")
    assert walk(b, tokenizer, " in New York today") == pytest.approx(ny)
    # the longer phrase: the first part banked at the word boundary
    city = walk(b, tokenizer, " New York City")
    assert city == pytest.approx(ny + n_tokens(tokenizer, " City"))
    # the phrase broken after a complete shorter entry keeps the shorter one
    assert walk(b, tokenizer, " New York Cityscape") == pytest.approx(ny)
    assert walk(b, tokenizer, " New Jersey") == pytest.approx(0.0)
    assert walk(b, tokenizer, " York") == pytest.approx(1.0)


def test_hundreds_of_entries(tokenizer) -> None:
    words = [f"zq{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}word" for i in range(400)]
    b = bias(tokenizer, words, 1.0)
    assert len(b) == 400
    assert walk(b, tokenizer, " zqbaword") == pytest.approx(
        n_tokens(tokenizer, " zqbaword")
    )


def test_deltas_agree_with_step(tokenizer) -> None:
    """The vectorised score changes the beam search adds equal the per-token walk."""
    b = bias(tokenizer, ["Gwynplaine:2", "new york", "Smith", "Dr"], 1.5)
    rng = random.Random(0)
    states = [b.start]
    for text in (" Gwyn", " New", " New York", " Smith", "(", " the", " Dr"):
        state = b.start
        for token in tokenizer.encode(text, add_special_tokens=False).ids:
            state, _ = b.step(state, token)
        states.append(state)
    table = b.deltas(states)
    interesting = set()
    for node in b.trie.children:
        interesting.update(node)
    sample = sorted(interesting) + rng.sample(range(VOCAB), 300) + [EOT, 50363]
    for row, state in enumerate(states):
        for token in sample:
            assert table[row, token] == pytest.approx(b.step(state, token)[1]), (
                row,
                token,
            )
    assert table.dtype == np.float32 and table.shape == (len(states), VOCAB)
