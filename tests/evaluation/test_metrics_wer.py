"""WER/CER and alignment metrics: properties, jiwer agreement, and the statistics on
top."""

from __future__ import annotations

import math
import random
from pathlib import Path

import jiwer
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aural.errors import ConfigError
from aural.evaluation.metrics import (
    EditAlignment,
    EditOp,
    ErrorCounts,
    align_texts,
    align_words,
    bootstrap_ci,
    calibration,
    char_counts,
    corpus_cer,
    corpus_wer,
    hyp_word_correctness,
    oov_stats,
    top_confusions,
)


def reference_distance(a: list[str], b: list[str]) -> int:
    """Textbook Levenshtein distance, independent of the implementation under test."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


_WORDS = st.lists(st.sampled_from(["a", "b", "c", "d", "the", "cat"]), max_size=25)
_SETTINGS = settings(max_examples=120, deadline=None)


@_SETTINGS
@given(_WORDS)
def test_wer_of_a_sentence_against_itself_is_zero(ref: list[str]) -> None:
    counts = align_words(ref, ref).counts
    assert counts.errors == 0 and counts.wer == 0.0 and counts.hits == len(ref)


@_SETTINGS
@given(_WORDS, _WORDS)
def test_edit_counts_add_up(ref: list[str], hyp: list[str]) -> None:
    alignment = align_words(ref, hyp)
    c = alignment.counts
    assert min(c.hits, c.substitutions, c.deletions, c.insertions) >= 0
    assert c.wer >= 0
    assert c.errors == reference_distance(ref, hyp)
    assert c.hits + c.substitutions + c.deletions == len(ref) == c.ref_len
    assert c.hits + c.substitutions + c.insertions == len(hyp) == c.hyp_len
    # the ops walk both sequences in order
    assert list(alignment.ref) == ref and list(alignment.hyp) == hyp
    for op in alignment.ops:
        assert (op.op == "equal") == (op.ref is not None and op.ref == op.hyp)
    correct = hyp_word_correctness(alignment)
    assert len(correct) == len(hyp) and sum(correct) == c.hits


@_SETTINGS
@given(st.lists(_WORDS.filter(bool), min_size=1, max_size=4), st.data())
def test_counts_equal_jiwer_exactly(refs: list[list[str]], data: st.DataObject) -> None:
    hyps = [data.draw(_WORDS) for _ in refs]
    ours = corpus_wer([" ".join(r) for r in refs], [" ".join(h) for h in hyps])
    theirs = jiwer.process_words(
        [" ".join(r) for r in refs], [" ".join(h) for h in hyps]
    )
    assert (ours.hits, ours.substitutions, ours.deletions, ours.insertions) == (
        theirs.hits,
        theirs.substitutions,
        theirs.deletions,
        theirs.insertions,
    )
    assert ours.wer == pytest.approx(theirs.wer, abs=0)


def _perturb(
    words: list[str], rng: random.Random, vocab: list[str], rate: float
) -> list[str]:
    out = []
    for w in words:
        r = rng.random()
        if r < rate / 3:
            continue  # deletion
        if r < 2 * rate / 3:
            out.append(rng.choice(vocab))  # substitution
        elif r < rate:
            out += [w, rng.choice(vocab)]  # insertion
        else:
            out.append(w)
    return out


def _librispeech_refs(shared_data: Path) -> list[str]:
    refs = []
    for trans in sorted((shared_data / "LibriSpeech").glob("*/*/*/*.trans.txt")):
        refs += [
            line.split(" ", 1)[1] for line in trans.read_text().splitlines() if line
        ]
    return refs


@pytest.mark.parametrize("rate", [0.05, 0.3, 0.8])
def test_corpus_wer_equals_jiwer_on_librispeech(shared_data: Path, rate: float) -> None:
    refs = _librispeech_refs(shared_data)
    vocab = sorted({w for r in refs for w in r.split()})
    rng = random.Random(int(rate * 100))
    hyps = [" ".join(_perturb(r.split(), rng, vocab, rate)) for r in refs]
    ours = corpus_wer(refs, hyps)
    theirs = jiwer.process_words(refs, hyps)
    assert (ours.hits, ours.substitutions, ours.deletions, ours.insertions) == (
        theirs.hits,
        theirs.substitutions,
        theirs.deletions,
        theirs.insertions,
    )
    assert ours.wer == theirs.wer
    assert ours.ref_len == sum(len(r.split()) for r in refs)


def test_wer_equals_jiwer_on_long_passages(shared_data: Path) -> None:
    """Passages of several hundred words (beyond one 64-bit block in rapidfuzz)."""
    refs = _librispeech_refs(shared_data)
    passages = [" ".join(refs[i : i + 12]) for i in range(0, 96, 12)]
    vocab = sorted({w for r in refs for w in r.split()})
    rng = random.Random(11)
    hyps = [" ".join(_perturb(p.split(), rng, vocab, 0.25)) for p in passages]
    assert min(len(p.split()) for p in passages) > 200
    for ref, hyp in zip(passages, hyps):
        ours = align_texts(ref, hyp).counts
        theirs = jiwer.process_words(ref, hyp)
        assert (ours.hits, ours.substitutions, ours.deletions, ours.insertions) == (
            theirs.hits,
            theirs.substitutions,
            theirs.deletions,
            theirs.insertions,
        )


def test_corpus_cer_equals_jiwer_cer(shared_data: Path) -> None:
    refs = _librispeech_refs(shared_data)[:60]
    rng = random.Random(7)
    hyps = [
        "".join(c for c in r if rng.random() > 0.05).replace("E", "A") for r in refs
    ]
    ours = corpus_cer(refs, hyps)
    assert ours.wer == pytest.approx(jiwer.cer(refs, hyps), abs=1e-15)
    assert char_counts(" a  b ", "ab").ref_len == 4  # ends stripped, inner spaces count


def test_corpus_wer_is_total_edits_over_total_words_not_a_mean() -> None:
    refs = ["a", "a b c d e f g h i j"]
    hyps = ["x", "a b c d e f g h i j"]
    counts = corpus_wer(refs, hyps)
    assert counts.wer == pytest.approx(1 / 11)  # the mean of ratios would be 0.5


def test_alignment_ops_and_serialisation() -> None:
    a = align_texts("the cat sat on the mat", "the cat sat on a mat today")
    assert a.ops[4] == EditOp("substitute", "the", "a")
    assert a.ops[-1] == EditOp("insert", None, "today")
    assert (a.counts.substitutions, a.counts.insertions) == (1, 1)
    assert (a.hits, a.substitutions, a.deletions, a.insertions) == (5, 1, 0, 1)
    assert EditAlignment.from_dict(a.to_dict()) == a
    assert ErrorCounts.from_dict(a.counts.to_dict()) == a.counts


def test_empty_reference_and_hypothesis() -> None:
    assert align_words([], []).counts == ErrorCounts()
    assert align_words([], []).counts.wer == 0.0
    only_insertions = align_words([], ["uh", "huh"]).counts
    assert only_insertions.insertions == 2 and only_insertions.wer == math.inf
    assert align_words(["a", "b"], []).counts.wer == 1.0
    # inside a corpus an empty reference just adds its insertions
    total = corpus_wer(["", "a b"], ["x", "a b"])
    assert total.insertions == 1 and total.wer == 0.5


def test_error_counts_add_and_validate() -> None:
    a = ErrorCounts(
        hits=2, substitutions=1, deletions=0, insertions=1, ref_len=3, hyp_len=4
    )
    b = ErrorCounts(
        hits=1, substitutions=0, deletions=1, insertions=0, ref_len=2, hyp_len=1
    )
    total = a + b
    assert total == ErrorCounts(3, 1, 1, 1, 5, 5) and total.errors == 3
    assert ErrorCounts.total([a, b]) == total
    with pytest.raises(ConfigError, match="ref_len"):
        ErrorCounts(
            hits=1, substitutions=0, deletions=0, insertions=0, ref_len=3, hyp_len=1
        )
    with pytest.raises(ConfigError, match="non-negative"):
        ErrorCounts(hits=-1)


def test_corpus_metrics_reject_unpaired_input() -> None:
    with pytest.raises(ConfigError, match="2 references but 1 hypotheses"):
        corpus_wer(["a", "b"], ["a"])
    with pytest.raises(ConfigError, match="not a single string"):
        corpus_cer("abc", "abd")  # type: ignore[arg-type]


def test_bootstrap_ci_brackets_the_corpus_wer(shared_data: Path) -> None:
    refs = _librispeech_refs(shared_data)
    rng = random.Random(3)
    vocab = ["x", "y", "z"]
    per_utt = [
        align_texts(r, " ".join(_perturb(r.split(), rng, vocab, 0.2))).counts
        for r in refs
    ]
    wer = ErrorCounts.total(per_utt).wer
    low, high = bootstrap_ci(per_utt, n=500, seed=0)
    assert low < wer < high and high - low < 0.05
    assert bootstrap_ci(per_utt, n=500, seed=0) == (low, high)  # reproducible
    narrow = bootstrap_ci(per_utt, n=500, seed=0, level=0.5)
    assert low <= narrow[0] <= narrow[1] <= high


def test_bootstrap_ci_of_identical_utterances_has_no_width() -> None:
    same = [ErrorCounts(3, 1, 0, 0, 4, 4)] * 10
    assert bootstrap_ci(same, n=50) == (0.25, 0.25)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "n >= 1"),
        ({"level": 1.0}, "level"),
        ({"per_utt_counts": []}, "at least one"),
    ],
)
def test_bootstrap_ci_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    args = {"per_utt_counts": [ErrorCounts(1, 0, 0, 0, 1, 1)], **kwargs}
    with pytest.raises(ConfigError, match=message):
        bootstrap_ci(**args)


def test_top_confusions_counts_pairs() -> None:
    alignments = [
        align_texts("the cat sat", "a cat sat"),
        align_texts("the dog ran", "a dog ran away"),
        align_texts("the end", "end"),
    ]
    top = top_confusions(alignments, k=5)
    assert top["substitutions"] == [(("the", "a"), 2)]
    assert top["insertions"] == [("away", 1)]
    assert top["deletions"] == [("the", 1)]
    assert top_confusions(alignments, k=0)["substitutions"] == []


def test_oov_stats_separates_known_and_unknown_words() -> None:
    alignments = [
        align_texts("quilter is the apostle", "quilt is the apostle"),
        align_texts("the middle classes", "the middle class"),
    ]
    stats = oov_stats(alignments, {"is", "the", "middle", "apostle"})
    assert stats.ref_words == 7 and stats.oov_words == 2
    assert stats.oov_types == ("classes", "quilter")
    assert stats.oov_rate == pytest.approx(2 / 7)
    assert stats.oov_wer == 1.0 and stats.in_vocab_wer == 0.0
    assert math.isnan(oov_stats([], set()).oov_wer)


def test_calibration_bins_and_ece() -> None:
    pairs = [(0.95, True)] * 9 + [(0.95, False)] + [(0.15, False)] * 4 + [(0.15, True)]
    result = calibration(pairs, bins=10)
    assert sum(b.count for b in result.bins) == len(pairs) == result.count
    top, low = result.bins[9], result.bins[1]
    assert (top.count, top.accuracy, top.mean_confidence) == (
        10,
        0.9,
        pytest.approx(0.95),
    )
    assert (low.count, low.accuracy) == (5, 0.2)
    assert result.ece == pytest.approx((10 * 0.05 + 5 * 0.05) / 15)
    assert math.isnan(result.bins[5].accuracy)
    assert (
        calibration([(1.0, True)], bins=4).bins[3].count == 1
    )  # 1.0 lands in the last bin


def test_calibration_from_alignment_correctness() -> None:
    alignment = align_texts("go forward ten meters", "go forward to meters")
    probs = [0.9, 0.8, 0.3, 0.7]
    result = calibration(list(zip(probs, hyp_word_correctness(alignment))), bins=2)
    assert result.bins[0].accuracy == 0.0 and result.bins[1].accuracy == 1.0
    assert math.isnan(calibration([]).ece)


def test_calibration_rejects_bad_input() -> None:
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        calibration([(1.5, True)])
    with pytest.raises(ConfigError, match="bins"):
        calibration([(0.5, True)], bins=0)
