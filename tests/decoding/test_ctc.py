"""CTC greedy and prefix beam search on constructed posteriors with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from aural.decoding.ctc import (
    CtcGreedyDecoder,
    CtcPrefixBeamSearch,
    ctc_greedy,
    ctc_greedy_spans,
    log_softmax,
)
from aural.decoding.lm import estimate_kneser_ney
from aural.errors import ConfigError

from .conftest import peaked, spell


def mixed(rows: list[dict[str, float]], vocab: list[str]) -> np.ndarray:
    """Log posteriors from per-frame {label: prob} dicts ('' = blank); rest spread
    evenly."""
    out = np.zeros((len(rows), len(vocab)))
    for t, row in enumerate(rows):
        rest = (1.0 - sum(row.values())) / (len(vocab) - len(row))
        out[t] = rest
        for lab, p in row.items():
            out[t, vocab.index(lab) if lab else 0] = p
    return np.log(out)


def test_ctc_greedy_collapses_repeats_and_drops_blanks(char_vocab):
    lp = peaked(["C", "C", "", "A", "A", "", "", "T", "T", "T"], char_vocab)
    assert [char_vocab[t] for t in ctc_greedy(lp)] == ["C", "A", "T"]
    spans = ctc_greedy_spans(lp)
    assert [(s.start_frame, s.end_frame) for s in spans] == [(0, 2), (3, 5), (7, 10)]


def test_ctc_greedy_keeps_double_letters_separated_by_blank(char_vocab):
    lp = peaked(["L", "", "L", "L"], char_vocab)
    assert [char_vocab[t] for t in ctc_greedy(lp)] == ["L", "L"]


def test_beam_search_finds_what_greedy_misses():
    vocab = ["<pad>", "A"]
    lp = np.log(np.array([[0.6, 0.4], [0.6, 0.4]]))
    # best path is blank-blank (0.36); but "A" sums three paths:
    # 0.16 + 0.24 + 0.24 = 0.64
    assert ctc_greedy(lp) == []
    best = CtcPrefixBeamSearch(vocab, beam_size=4).decode(lp)[0]
    assert best.text == "A"
    assert best.acoustic_score == pytest.approx(np.log(0.64))


def test_beam_search_matches_greedy_on_peaked_posteriors(char_vocab):
    lp = peaked(spell("CAT DOGS"), char_vocab)
    greedy = CtcGreedyDecoder(char_vocab).decode(lp)[0]
    beam = CtcPrefixBeamSearch(char_vocab, beam_size=8).decode(lp)[0]
    assert greedy.text == beam.text == "CAT DOGS"
    assert greedy.tokens == beam.tokens


def test_word_timestamps_come_from_the_frames(char_vocab):
    labels = (
        [""] * 10
        + spell("CAT", 2, 1)
        + ["|"]
        + [""] * 5
        + spell("DOG", 2, 1)
        + [""] * 4
    )
    lp = peaked(labels, char_vocab, p=0.95)
    for decoder in (
        CtcGreedyDecoder(char_vocab),
        CtcPrefixBeamSearch(char_vocab, beam_size=8),
    ):
        hyp = decoder.decode(lp)[0]
        words = hyp.to_words(frame_duration=0.02, offset=1.0)
        assert [w.text for w in words] == ["CAT", "DOG"]
        # CAT: frames 10..18 (C at 10-11, A 13-14, T 16-17); DOG starts after 9 + 1 + 5
        # frames
        assert words[0].start == pytest.approx(1.0 + 10 * 0.02)
        assert words[0].end == pytest.approx(1.0 + 18 * 0.02)
        assert words[1].start == pytest.approx(1.0 + 25 * 0.02)
        assert words[1].end == pytest.approx(1.0 + 33 * 0.02)
        assert all(w.probability == pytest.approx(0.95) for w in words)


def test_word_confidence_is_lower_for_uncertain_frames(char_vocab):
    sure = peaked(spell("CAT "), char_vocab, p=0.95)
    unsure = peaked(spell("DOG"), char_vocab, p=0.5)
    hyp = CtcPrefixBeamSearch(char_vocab, beam_size=8).decode(
        np.vstack([sure, unsure])
    )[0]
    assert hyp.text == "CAT DOG"
    assert hyp.word_spans[0].probability > 0.9
    assert hyp.word_spans[1].probability < 0.6


def _cab_or_cat(vocab: list[str]) -> np.ndarray:
    rows = [
        {"C": 0.9},
        {"": 0.9},
        {"A": 0.9},
        {"": 0.9},
        {"B": 0.5, "T": 0.4},
        {"": 0.9},
        {"|": 0.9},
        {"S": 0.9},
        {"": 0.9},
        {"A": 0.9},
        {"": 0.9},
        {"T": 0.9},
        {"": 0.9},
    ]
    return mixed(rows, vocab)


def test_lm_changes_the_ranking(char_vocab):
    lp = _cab_or_cat(char_vocab)
    corpus = ["the cat sat", "a cat sat down", "the dog sat", "cat sat on the mat"]
    lm = estimate_kneser_ney([s.split() for s in corpus], order=3)
    plain = CtcPrefixBeamSearch(char_vocab, beam_size=8).decode(lp)[0]
    fused = CtcPrefixBeamSearch(char_vocab, beam_size=8, lm=lm, lm_weight=1.0).decode(
        lp
    )[0]
    assert plain.text == "CAB SAT"
    assert fused.text == "CAT SAT"
    assert fused.lm_score < 0.0
    assert (
        fused.acoustic_score < plain.acoustic_score
    )  # the LM outweighed the acoustics


def test_lm_weight_zero_leaves_the_acoustic_ranking(char_vocab):
    lm = estimate_kneser_ney([["cat", "sat"]], order=2)
    hyp = CtcPrefixBeamSearch(
        char_vocab, beam_size=8, lm=lm, lm_weight=0.0, word_insertion_bonus=0.0
    ).decode(_cab_or_cat(char_vocab))[0]
    assert hyp.text == "CAB SAT"


def test_hotword_is_recovered(char_vocab):
    lp = _cab_or_cat(char_vocab)
    boosted = CtcPrefixBeamSearch(char_vocab, beam_size=8, hotwords="cat:1.0").decode(
        lp
    )[0]
    assert boosted.text == "CAT SAT"
    assert boosted.hotword_score == pytest.approx(3.0)  # three matched characters


def test_hotword_partial_match_is_rolled_back(char_vocab):
    lp = peaked(spell("CAT"), char_vocab)
    hyp = CtcPrefixBeamSearch(char_vocab, beam_size=8, hotwords=["cats"]).decode(lp)[0]
    assert hyp.text == "CAT"
    assert hyp.hotword_score == pytest.approx(0.0)


def test_hotword_phrase_across_words(char_vocab):
    lp = _cab_or_cat(char_vocab)
    hyp = CtcPrefixBeamSearch(
        char_vocab, beam_size=8, hotwords="cat sat", hotword_weight=0.5
    ).decode(lp)[0]
    assert hyp.text == "CAT SAT"
    assert hyp.hotword_score == pytest.approx(0.5 * len("cat sat"))


def test_num_hypotheses_returns_an_nbest_list(char_vocab):
    hyps = CtcPrefixBeamSearch(char_vocab, beam_size=8, num_hypotheses=3).decode(
        _cab_or_cat(char_vocab)
    )
    assert len(hyps) == 3
    assert [h.text for h in hyps][:2] == ["CAB SAT", "CAT SAT"]
    assert hyps[0].score >= hyps[1].score >= hyps[2].score


def test_sentencepiece_vocabulary_spaces_words():
    vocab = ["<blk>", "\u2581the", "\u2581c", "at", "s"]
    lp = peaked(["\u2581the", "", "\u2581c", "at", "", "s"], vocab)
    hyp = CtcPrefixBeamSearch(vocab, beam_size=4).decode(lp)[0]
    assert hyp.text == "the cats"
    assert [w.text for w in hyp.word_spans] == ["the", "cats"]


def test_empty_and_all_blank_input(char_vocab):
    empty = np.zeros((0, len(char_vocab)), dtype=np.float32)
    assert CtcPrefixBeamSearch(char_vocab).decode(empty)[0].text == ""
    assert CtcGreedyDecoder(char_vocab).decode(empty)[0].text == ""
    blank = peaked([""] * 5, char_vocab)
    assert CtcPrefixBeamSearch(char_vocab).decode(blank)[0].word_spans == ()


def test_log_softmax_rows_sum_to_one():
    x = np.random.default_rng(0).normal(size=(7, 5)) * 4
    assert np.allclose(np.exp(log_softmax(x)).sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("bad", [np.zeros(5), np.zeros((2, 3, 4))])
def test_bad_shapes_raise_config_error_naming_the_shape(bad, char_vocab):
    with pytest.raises(ConfigError, match=r"\(num_frames, vocab_size\)"):
        CtcPrefixBeamSearch(char_vocab).decode(bad)


def test_vocabulary_mismatch_raises(char_vocab):
    with pytest.raises(ConfigError, match="vocabulary has"):
        CtcGreedyDecoder(char_vocab).decode(np.zeros((3, 4)))


def test_bad_beam_size_raises(char_vocab):
    with pytest.raises(ConfigError, match="beam_size"):
        CtcPrefixBeamSearch(char_vocab, beam_size=0)
