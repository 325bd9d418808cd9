"""Transducer searches on constructed joiner outputs with known answers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from aural.decoding.lm import NgramLM
from aural.decoding.transducer import (
    TransducerBeamSearch,
    TransducerGreedyDecoder,
    transducer_decoder,
)
from aural.errors import ConfigError, OptionConflictError


class TableScorer:
    """A transducer whose joiner output is a table: ``probs[t][last_token]`` (or
    ``probs[t][None]`` for any context) is the distribution at frame ``t``. Frames are
    the integers ``0..T-1``; a predictor output is the context itself."""

    blank = 0
    context_size = 1

    def __init__(self, probs: list[dict[int | None, list[float]]], vocab_size: int):
        self.probs = probs
        self.vocab_size = vocab_size
        self.calls = 0

    def predict(self, contexts: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
        return list(contexts)

    def log_probs(self, frame: int, preds: list[tuple[int, ...]]) -> np.ndarray:
        self.calls += 1
        table = self.probs[frame]
        rows = [table.get(p[-1], table.get(None)) for p in preds]
        return np.log(np.asarray(rows, dtype=np.float64))


def _onehot(token: int, vocab: int, p: float = 0.9) -> list[float]:
    row = [(1.0 - p) / (vocab - 1)] * vocab
    row[token] = p
    return row


CHARS = ["<blank>", " ", "a", "c", "o", "t"]


def _spell(text: str, spacer_frames: int = 1) -> list[dict[int | None, list[float]]]:
    """Frames emitting ``text`` one character per frame, a blank frame after each."""
    frames = []
    for ch in text:
        frames.append({None: _onehot(CHARS.index(ch), len(CHARS))})
        for _ in range(spacer_frames):
            frames.append({None: _onehot(0, len(CHARS))})
    return frames


def test_greedy_reads_the_best_token_per_frame_with_word_times() -> None:
    scorer = TableScorer(_spell("cat a"), len(CHARS))
    hyp = TransducerGreedyDecoder(CHARS).decode(scorer, range(len(scorer.probs)))[0]
    assert hyp.text == "cat a"
    assert hyp.tokens == (3, 2, 5, 1, 2)
    words = hyp.to_words(frame_duration=0.04, offset=1.0)
    assert [w.text for w in words] == ["cat", "a"]
    # "c" at frame 0, "t" at frame 4 (one blank frame after each character)
    assert words[0].start == pytest.approx(1.0)
    assert words[0].end == pytest.approx(1.0 + 5 * 0.04)
    assert words[1].start == pytest.approx(1.0 + 8 * 0.04)
    assert words[0].probability == pytest.approx(0.9)
    expected = 5 * math.log(0.9) + 5 * math.log(0.9)  # five labels, five blanks
    assert hyp.acoustic_score == pytest.approx(expected)


def _trap() -> TableScorer:
    """Greedy takes 'a' (0.4) then meets a flat distribution; 'b' (0.35) is followed by
    a confident blank, so the sequence 'b' is more probable than 'a'."""
    flat = [1 / 3] * 3
    return TableScorer(
        [
            {None: [0.25, 0.4, 0.35]},
            {1: flat, 2: [0.9, 0.05, 0.05], 0: [0.9, 0.04, 0.06]},
        ],
        3,
    )


def test_beam_search_finds_what_greedy_misses() -> None:
    vocab = ["<blank>", "a", "b"]
    greedy = TransducerGreedyDecoder(vocab).decode(_trap(), range(2))[0]
    beam = TransducerBeamSearch(vocab, beam_size=4).decode(_trap(), range(2))[0]
    assert greedy.text == "a"  # then blank at frame 1 (1/3 beats nothing better)
    assert beam.text == "b"
    assert beam.acoustic_score == pytest.approx(math.log(0.35 * 0.9 + 0.25 * 0.06))


def _random_table(
    seed: int, frames: int, vocab: int
) -> list[dict[int | None, list[float]]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(frames):
        row: dict[int | None, list[float]] = {}
        for last in range(vocab):
            p = rng.dirichlet(np.ones(vocab))
            row[last] = p.tolist()
        out.append(row)
    return out


def test_beam_search_sums_alignments_exactly_when_nothing_is_pruned() -> None:
    frames, vocab = 4, 3
    table = _random_table(7, frames, vocab)
    # brute force: every frame emits blank or one label (the modified topology)
    totals: dict[tuple[int, ...], float] = {}
    for choice in itertools.product(range(vocab), repeat=frames):
        tokens: list[int] = []
        p = 1.0
        for t, c in enumerate(choice):
            last = tokens[-1] if tokens else 0
            p *= table[t][last][c]
            if c:
                tokens.append(c)
        totals[tuple(tokens)] = totals.get(tuple(tokens), 0.0) + p
    ranked = sorted(totals.items(), key=lambda kv: kv[1], reverse=True)
    search = TransducerBeamSearch(
        ["<blank>", "a", "b"], beam_size=len(totals), num_hypotheses=3
    )
    hyps = search.decode(TableScorer(table, vocab), range(frames))
    assert [h.tokens for h in hyps] == [k for k, _ in ranked[:3]]
    for h, (_, p) in zip(hyps, ranked, strict=False):
        assert h.acoustic_score == pytest.approx(math.log(p))


def test_streaming_in_pieces_equals_one_pass() -> None:
    table = _random_table(3, 12, 4)
    vocab = ["<blank>", "a", "b", " "]
    for decoder in (
        TransducerGreedyDecoder(vocab),
        TransducerBeamSearch(vocab, beam_size=3),
    ):
        whole = decoder.decode(TableScorer(table, 4), range(12))[0]
        search = decoder.begin(TableScorer(table, 4))
        for piece in (range(0, 5), range(5, 6), range(6, 12)):
            search.advance(piece)
        assert search.hypotheses()[0] == whole


def _ambiguous() -> list[dict[int | None, list[float]]]:
    """'c', then 'a' or 'o' nearly tied (a ahead), then 't'."""
    v = len(CHARS)
    vowel = [0.02, 0.02, 0.5, 0.02, 0.42, 0.02]
    return [
        {None: _onehot(3, v)},
        {None: vowel},
        {None: _onehot(5, v)},
        {None: _onehot(0, v)},
    ]


ARPA = """\\data\\
ngram 1=5

\\1-grams:
-0.5 <s> 0
-0.3 </s> 0
-0.3 cot 0
-3.0 cat 0
-4.0 <unk> 0

\\end\\
"""


def test_lm_fusion_and_hotwords_change_the_answer() -> None:
    frames = range(4)
    plain = TransducerBeamSearch(CHARS, beam_size=4, word_delimiter=None)
    assert plain.decode(TableScorer(_ambiguous(), 6), frames)[0].text == "cat"
    lm = NgramLM.from_arpa_lines(ARPA.splitlines())
    fused = TransducerBeamSearch(CHARS, beam_size=4, lm=lm, lm_weight=1.0)
    best = fused.decode(TableScorer(_ambiguous(), 6), frames)[0]
    assert best.text == "cot"
    assert best.lm_score < 0.0
    hot = TransducerBeamSearch(CHARS, beam_size=4, hotwords="cot:1.0")
    best = hot.decode(TableScorer(_ambiguous(), 6), frames)[0]
    assert best.text == "cot" and best.hotword_score == pytest.approx(3.0)
    # a hotword that is not said leaves the answer alone
    other = TransducerBeamSearch(CHARS, beam_size=4, hotwords="taco:1.0")
    assert other.decode(TableScorer(_ambiguous(), 6), frames)[0].text == "cat"


def test_option_conflicts_and_vocabulary_checks() -> None:
    with pytest.raises(OptionConflictError, match="hotwords"):
        transducer_decoder(CHARS, 0, 1, ["cot"])
    assert isinstance(transducer_decoder(CHARS, 0, 1), TransducerGreedyDecoder)
    assert isinstance(transducer_decoder(CHARS, 0, 4), TransducerBeamSearch)
    with pytest.raises(ConfigError, match="vocabulary"):
        TransducerGreedyDecoder(CHARS[:4]).decode(TableScorer(_ambiguous(), 6), [0])
    with pytest.raises(ConfigError, match="blank"):
        TransducerGreedyDecoder(CHARS, blank=9)
