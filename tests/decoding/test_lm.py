"""ARPA reading/writing, back-off arithmetic and modified Kneser-Ney estimation."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

from aural.decoding.lm import NgramLM, estimate_kneser_ney, load_lm, perplexity
from aural.errors import ConfigError, MissingDependencyError, ModelNotFoundError

HANDWRITTEN = """
\\data\\
ngram 1=5
ngram 2=3

\\1-grams:
-1.0\t<unk>
-99\t<s>\t-0.2
-0.5\tcat\t-0.3
-0.7\tdog\t-0.1
-0.6\t</s>

\\2-grams:
-0.1\t<s> cat
-0.2\tcat </s>
-0.3\tdog cat

\\end\\
"""

CORPUS = [
    "the cat sat on the mat",
    "the dog sat on the log",
    "a cat and a dog",
    "the cat ate the fish",
    "a dog ate a bone",
    "the mat was on the floor",
]


@pytest.fixture(scope="module")
def kn3() -> NgramLM:
    return estimate_kneser_ney([s.split() for s in CORPUS], order=3)


def test_arpa_backoff_arithmetic():
    lm = NgramLM.from_arpa_lines(HANDWRITTEN.splitlines())
    assert lm.order == 2
    assert lm.log10_prob("cat", ["<s>"]) == pytest.approx(-0.1)  # stored bigram
    assert lm.log10_prob("dog", ["cat"]) == pytest.approx(
        -0.3 + -0.7
    )  # backoff(cat) + p(dog)
    assert lm.log10_prob("zebra", ["dog"]) == pytest.approx(
        -0.1 + -1.0
    )  # unknown -> <unk>
    assert lm.log10_prob("CAT", ["<s>"]) == pytest.approx(
        -0.1
    )  # lower-case LM, any case query


def test_sentence_probability_sums_the_chain():
    lm = NgramLM.from_arpa_lines(HANDWRITTEN.splitlines())
    # <s> cat </s>: -0.1 + -0.2 ; <s> dog cat </s>: (-0.2 - 0.7) + -0.3 + -0.2
    assert lm.sentence_log10_prob(["cat"]) == pytest.approx(-0.3)
    assert lm.sentence_log10_prob(["dog", "cat"]) == pytest.approx(-1.4)


@pytest.mark.parametrize(
    "context",
    [
        (),
        ("the",),
        ("<s>",),
        ("the", "cat"),
        ("on", "the"),
        ("zebra", "the"),
        ("cat", "zebra"),
        ("<s>", "a"),
    ],
)
def test_kneser_ney_distribution_sums_to_one(kn3, context):
    total = sum(10 ** kn3.log10_prob(w, context) for w in kn3.vocabulary)
    assert total == pytest.approx(1.0, abs=1e-6)


def test_arpa_round_trip_through_a_file(kn3, tmp_path):
    path = tmp_path / "lm.arpa"
    path.write_text(kn3.to_arpa(), encoding="utf-8")
    back = load_lm(path)
    assert isinstance(back, NgramLM) and back.order == 3
    for context in [("the", "cat"), ("a",), ()]:
        for word in ["sat", "dog", "</s>", "unseen"]:
            assert back.log10_prob(word, context) == pytest.approx(
                kn3.log10_prob(word, context), abs=1e-5
            )
        assert sum(
            10 ** back.log10_prob(w, context) for w in back.vocabulary
        ) == pytest.approx(1.0, abs=1e-4)


def test_kneser_ney_prefers_seen_continuations(kn3):
    assert kn3.log10_prob("sat", ["the", "cat"]) > kn3.log10_prob(
        "floor", ["the", "cat"]
    )
    train = [s.split() for s in CORPUS]
    shuffled = [list(reversed(s)) for s in train]
    assert kn3.perplexity(train) < kn3.perplexity(shuffled)


def test_protocol_scores_are_natural_log(kn3):
    state = kn3.begin_state()
    ln_p, state2 = kn3.score(state, "the")
    assert ln_p == pytest.approx(kn3.log10_prob("the", ["<s>"]) * math.log(10))
    ln_p2, _ = kn3.score(state2, "cat")
    assert ln_p2 == pytest.approx(kn3.log10_prob("cat", ["<s>", "the"]) * math.log(10))
    assert kn3.end_score(state2) == pytest.approx(
        kn3.log10_prob("</s>", ["<s>", "the"]) * math.log(10)
    )


def test_unigram_model():
    lm = estimate_kneser_ney([["a", "b"], ["a"]], order=1)
    assert sum(10 ** lm.log10_prob(w) for w in lm.vocabulary) == pytest.approx(1.0)
    assert lm.log10_prob("a") > lm.log10_prob("b")


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(ModelNotFoundError, match=r"nope\.arpa"):
        load_lm(tmp_path / "nope.arpa")


def test_not_arpa_raises_config_error(tmp_path):
    bad = tmp_path / "bad.arpa"
    bad.write_text("hello world\n")
    with pytest.raises(ConfigError, match=r"bad\.arpa"):
        NgramLM.from_arpa(bad)


def test_empty_corpus_raises():
    with pytest.raises(ConfigError, match="no words"):
        estimate_kneser_ney([[], []], order=3)


def test_binary_lm_without_kenlm_asks_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "kenlm", None)  # as if it were not installed
    binary = tmp_path / "lm.bin"
    binary.write_bytes(
        b"mmap lm http://kheafield.com/code format version 5\x00" + bytes(64)
    )
    with pytest.raises(MissingDependencyError, match="pip install kenlm"):
        load_lm(binary)


def test_kenlm_binding_scores_like_the_python_reader(kn3, tmp_path):
    pytest.importorskip("kenlm")
    from aural.decoding.lm import KenLM

    path = tmp_path / "lm.arpa"
    path.write_text(kn3.to_arpa(), encoding="utf-8")
    ken = KenLM(path)
    assert ken.order == 3
    ours, theirs = kn3.begin_state(), ken.begin_state()
    for word in ["the", "cat", "sat", "unseen", "on"]:
        a, ours = kn3.score(ours, word)
        b, theirs = ken.score(theirs, word)
        assert a == pytest.approx(b, abs=1e-4)
    assert kn3.end_score(ours) == pytest.approx(ken.end_score(theirs), abs=1e-4)


KENLM_DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("name", ["kn3.probing.bin", "kn3.trie.bin"])
def test_kenlm_binary_scores_like_its_arpa(name):
    """Binaries made by KenLM's build_binary from kn3.arpa (see data/README.md)."""
    pytest.importorskip("kenlm")
    from aural.decoding.lm import KenLM

    arpa = NgramLM.from_arpa(KENLM_DATA / "kn3.arpa")
    binary = load_lm(KENLM_DATA / name)
    assert isinstance(binary, KenLM) and binary.order == 3
    ours, theirs = arpa.begin_state(), binary.begin_state()
    for word in ["the", "cat", "sat", "unseen", "on", "the", "mat"]:
        a, ours = arpa.score(ours, word)
        b, theirs = binary.score(theirs, word)
        assert a == pytest.approx(b, abs=1e-3)
    assert arpa.end_score(ours) == pytest.approx(binary.end_score(theirs), abs=1e-3)


def test_kenlm_matches_words_in_another_case():
    """An upper-case acoustic vocabulary (wav2vec2) against a lower-case LM."""
    pytest.importorskip("kenlm")
    binary = load_lm(KENLM_DATA / "kn3.probing.bin")
    upper, lower = binary.begin_state(), binary.begin_state()
    for word in ["THE", "CAT", "SAT"]:
        a, upper = binary.score(upper, word)
        b, lower = binary.score(lower, word.lower())
        assert a == pytest.approx(b)
    unk, _ = binary.score(binary.begin_state(), "ZEBRA")
    assert unk < a - 1.0


def test_kenlm_binary_in_ctc_beam_search(char_vocab):
    """The LM steers the beam the same way from a binary as from the ARPA it came
    from."""
    pytest.importorskip("kenlm")
    from aural.decoding.ctc import CtcPrefixBeamSearch

    from .test_ctc import _cab_or_cat

    lp = _cab_or_cat(char_vocab)
    texts = [
        CtcPrefixBeamSearch(
            char_vocab, beam_size=8, lm=load_lm(KENLM_DATA / f), lm_weight=1.0
        )
        .decode(lp)[0]
        .text
        for f in ("kn3.arpa", "kn3.probing.bin", "kn3.trie.bin")
    ]
    assert texts == ["CAT SAT"] * 3


@pytest.mark.parametrize(
    ("module", "name", "head"),
    [
        ("kenlm", "lm.bin", b"mmap lm http://kheafield.com/code format version 5\x00"),
        ("pocketsphinx", "x.lm.bin", b"Trie Language Model"),
        (
            "kenlm",
            "noise.lm",
            bytes(range(128, 256)) * 4,
        ),  # not text: kenlm's decoder fails
    ],
)
def test_corrupt_binary_lm_is_a_config_error(tmp_path, module, name, head):
    """A KenLM or Sphinx binary that its reader cannot parse: one error naming the
    file."""
    pytest.importorskip(module)
    bad = tmp_path / name
    bad.write_bytes(head + bytes(64))
    with pytest.raises(ConfigError, match=name):
        load_lm(bad)


# ---------------------------------------------------------------- CMU Sphinx models
def _sphinx_en_us() -> Path:
    ps = pytest.importorskip("pocketsphinx")
    return Path(ps.get_model_path()) / "en-us" / "en-us.lm.bin"


def test_sphinx_lm_is_a_normalised_3_gram():
    """pocketsphinx's general English LM: unigrams over its dictionary plus </s> sum to
    1."""
    import re

    from aural.decoding.lm import SphinxLM

    path = _sphinx_en_us()
    lm = load_lm(path)
    assert isinstance(lm, SphinxLM) and lm.order == 3
    assert isinstance(load_lm("sphinx-en-us"), SphinxLM)  # the packaged name
    words = {
        re.sub(r"\(\d+\)$", "", line.split(" ", 1)[0])
        for line in (path.parent / "cmudict-en-us.dict")
        .read_text(errors="replace")
        .splitlines()
        if line.strip()
    }
    start = ()  # no history: plain unigram probabilities
    total = sum(math.exp(p) for p in (lm.score(start, w)[0] for w in words) if p > -20)
    assert total + math.exp(lm.end_score(start)) == pytest.approx(1.0, abs=0.02)
    # context matters, trigrams included; case does not; unknown words get the floor
    after_united = lm.score(("<s>", "united"), "states")[0]
    assert after_united > lm.score(("<s>", "the"), "states")[0] + 3
    assert lm.score(("the", "united"), "states")[0] > after_united
    assert lm.score(("<s>",), "The")[0] == lm.score(("<s>",), "the")[0]
    assert lm.score(("<s>",), "qwzxv")[0] == pytest.approx(-10.0 * math.log(10))
    natural = ["he", "said", "that", "the", "united", "states", "would", "not", "agree"]
    assert perplexity(lm, [natural]) < perplexity(lm, [natural[::-1]]) / 10


def test_sphinx_lm_in_ctc_beam_search(char_vocab):
    from aural.decoding.ctc import CtcPrefixBeamSearch

    from .test_ctc import _cab_or_cat

    plain = CtcPrefixBeamSearch(char_vocab, beam_size=8).decode(
        _cab_or_cat(char_vocab)
    )[0]
    lm = load_lm(_sphinx_en_us())
    fused = CtcPrefixBeamSearch(char_vocab, beam_size=8, lm=lm, lm_weight=0.5).decode(
        _cab_or_cat(char_vocab)
    )[0]
    assert (plain.text, fused.text) == ("CAB SAT", "CAT SAT")
    assert "cabs" in lm.word_prefixes() and "cabsa" not in lm.word_prefixes()


def test_look_ahead_charges_impossible_words_at_once(char_vocab):
    """A partial word no LM word starts with pays <unk> when it appears, once in
    total."""
    from aural.decoding.ctc import CtcPrefixBeamSearch

    lm = estimate_kneser_ney([s.split() for s in CORPUS], order=2)
    search = CtcPrefixBeamSearch(char_vocab, beam_size=4, lm=lm, lm_weight=1.0)
    text = search.text_scorer
    ctx = text.root()
    for token in [char_vocab.index(c) for c in "CA"]:
        ctx = text.extend(ctx, token)
    assert ctx.pending == 0.0 and ctx.lm_score == 0.0  # "ca" starts "cat"
    ctx = text.extend(ctx, char_vocab.index("G"))
    assert ctx.pending == pytest.approx(lm.oov_score) and ctx.lm_score == ctx.pending
    ctx = text.extend(text.extend(ctx, char_vocab.index("E")), char_vocab.index("|"))
    assert ctx.pending == 0.0  # the word ended: the look-ahead became the real score
    assert ctx.lm_score == pytest.approx(lm.score(lm.begin_state(), "cage")[0])


# ------------------------------------------------------- KenLM with a vocabulary
@pytest.mark.parametrize("source", ["arpa", "word list"])
def test_kenlm_vocabulary_turns_on_the_look_ahead(tmp_path, char_vocab, source):
    """A KenLM binary cannot list its words; its ARPA file or a word list can, and then
    the search charges impossible partial words at once, as with ARPA models."""
    pytest.importorskip("kenlm")
    from aural.decoding.ctc import CtcPrefixBeamSearch

    arpa = NgramLM.from_arpa(KENLM_DATA / "kn3.arpa")
    vocab = KENLM_DATA / "kn3.arpa"
    if source == "word list":
        vocab = tmp_path / "words.txt"
        vocab.write_text("".join(f"{w}\t7\n" for w in arpa.vocabulary) + "zebra 1\n")
    plain = load_lm(KENLM_DATA / "kn3.probing.bin")
    lm = load_lm(KENLM_DATA / "kn3.probing.bin", vocabulary=vocab)
    assert plain.word_prefixes() is None
    assert (
        lm.word_prefixes() == arpa.word_prefixes()
    )  # "zebra": not in the model, ignored
    assert lm.oov_score == pytest.approx(arpa.oov_score, abs=1e-4)
    search = CtcPrefixBeamSearch(char_vocab, beam_size=4, lm=lm, lm_weight=1.0)
    ctx = search.text_scorer.root()
    for c in "CAG":
        ctx = search.text_scorer.extend(ctx, char_vocab.index(c))
    assert ctx.pending == pytest.approx(lm.oov_score)  # no word starts with "cag"


def test_kenlm_vocabulary_errors(tmp_path):
    pytest.importorskip("kenlm")
    with pytest.raises(ModelNotFoundError, match=r"nowhere\.txt"):
        load_lm(KENLM_DATA / "kn3.probing.bin", vocabulary=tmp_path / "nowhere.txt")
    with pytest.raises(ConfigError, match="lists its own words"):
        load_lm(KENLM_DATA / "kn3.arpa", vocabulary=KENLM_DATA / "kn3.arpa")
    strangers = tmp_path / "strangers.txt"
    strangers.write_text("qwerty\nzxcvb\n")
    with pytest.raises(ConfigError, match="no word the language model knows"):
        load_lm(KENLM_DATA / "kn3.probing.bin", vocabulary=strangers).word_prefixes()
