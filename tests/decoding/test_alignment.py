"""CTC forced alignment (Viterbi) on constructed posteriors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aural.decoding.alignment import (
    AlignmentError,
    ctc_align_text,
    ctc_forced_align,
    tokenize_for_ctc,
)

from .conftest import CHAR_VOCAB, peaked, spell


def ids(text: str, vocab: list[str]) -> list[int]:
    return [vocab.index(c) for c in text]


def test_forced_alignment_recovers_the_frames(char_vocab):
    labels = (
        [""] * 3 + ["C", "C"] + [""] + ["A"] + [""] * 4 + ["T", "T", "T"] + [""] * 2
    )
    spans, total = ctc_forced_align(peaked(labels, char_vocab), ids("CAT", char_vocab))
    assert [(s.start_frame, s.end_frame) for s in spans] == [(3, 5), (6, 7), (11, 14)]
    assert total == pytest.approx(len(labels) * np.log(0.9))


def test_forced_alignment_follows_the_transcript_not_the_argmax(char_vocab):
    # the audio "says" CAT but we force DOG: still one span per token, in order, in
    # bounds
    lp = peaked(spell("CAT"), char_vocab)
    spans, _ = ctc_forced_align(lp, ids("DOG", char_vocab))
    assert [char_vocab[s.token] for s in spans] == ["D", "O", "G"]
    assert spans[0].start_frame >= 0 and spans[-1].end_frame <= lp.shape[0]


def test_repeated_tokens_need_a_blank_between(char_vocab):
    lp = peaked(["L", "", "L"], char_vocab)
    spans, _ = ctc_forced_align(lp, ids("LL", char_vocab))
    assert [(s.start_frame, s.end_frame) for s in spans] == [(0, 1), (2, 3)]
    with pytest.raises(AlignmentError, match="needs at least 3"):
        ctc_forced_align(lp[:2], ids("LL", char_vocab))


def test_too_short_audio_raises_alignment_error(char_vocab):
    with pytest.raises(AlignmentError, match="too long for this audio"):
        ctc_forced_align(peaked(["C", "A"], char_vocab), ids("CAT", char_vocab))


def test_align_text_gives_words_and_characters(char_vocab):
    labels = [""] * 4 + spell("CAT", 2, 1) + ["|"] + [""] * 3 + spell("DOGS", 2, 1)
    lp = peaked(labels, char_vocab)
    result = ctc_align_text(lp, "Cat, dogs!", char_vocab)
    assert [w.text for w in result.words] == ["Cat,", "dogs!"]  # spelling kept
    assert [c.text for c in result.chars] == list("CATDOGS")
    assert (result.words[0].start_frame, result.words[0].end_frame) == (4, 12)
    assert result.words[1].start_frame == 4 + 9 + 1 + 3
    assert result.words[1].end_frame == len(labels) - 1


def test_align_text_without_any_known_character_raises(char_vocab):
    with pytest.raises(AlignmentError, match="vocabulary"):
        ctc_align_text(peaked(["C"], char_vocab), "?!", char_vocab)


def test_tokenize_subword_vocabulary():
    vocab = ["<blk>", "\u2581the", "\u2581c", "at", "s", "\u2581"]
    assert tokenize_for_ctc(["the", "cats"], vocab) == [[1], [2, 3, 4]]


@settings(max_examples=40, deadline=None)
@given(
    text=st.text(alphabet="ABCDEGLOST", min_size=1, max_size=8),
    extra=st.integers(min_value=0, max_value=12),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_forced_alignment_spans_are_ordered_and_in_bounds(text, extra, seed):
    vocab = CHAR_VOCAB
    tokens = ids(text, vocab)
    repeats = sum(a == b for a, b in itertools.pairwise(tokens))
    num_frames = len(tokens) + repeats + extra
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(num_frames, len(vocab)))
    lp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    spans, total = ctc_forced_align(lp, tokens)
    assert [s.token for s in spans] == tokens
    assert all(s.start_frame < s.end_frame for s in spans)
    assert all(a.end_frame <= b.start_frame for a, b in itertools.pairwise(spans))
    for a, b in itertools.pairwise(spans):
        if a.token == b.token:
            assert a.end_frame < b.start_frame  # a blank frame separates equal tokens
    assert spans[0].start_frame >= 0 and spans[-1].end_frame <= num_frames
    assert total <= 0.0
