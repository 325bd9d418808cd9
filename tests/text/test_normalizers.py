"""Normalisers: case tables, real transcripts, properties, and Whisper's as a
reference."""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aural.errors import ConfigError
from aural.text.normalizers import (
    NORMALIZER_NAMES,
    BasicNormalizer,
    EnglishNormalizer,
    get_normalizer,
    remove_symbols_and_diacritics,
)
from aural.text.numbers import NUMBER_WORDS, EnglishNumberNormalizer
from aural.text.spelling import british_to_american

english = EnglishNormalizer()

ENGLISH_CASES = [
    # case, punctuation, whitespace
    ("Hello, World!", "hello world"),
    ("  many   spaces\tand\nnewlines  ", "many spaces and newlines"),
    (
        "MISTER QUILTER IS THE APOSTLE OF THE MIDDLE CLASSES",
        "mister quilter is the apostle of the middle classes",
    ),
    (
        "Mr. Quilter is the apostle of the middle classes.",
        "mister quilter is the apostle of the middle classes",
    ),
    ('He said "yes" -- and left...', "he said yes and left"),
    ("", ""),
    ("...", ""),
    # titles
    (
        "Mrs. Smith and Dr. Jones met St. John.",
        "missus smith and doctor jones met saint john",
    ),
    ("Gov. Capt. Lt. Col. Jr.", "governor captain lieutenant colonel junior"),
    (
        "Prof. Sen. Rep. Rev. Hon.",
        "professor senator representative reverend honorable",
    ),
    # contractions
    ("I won't go, can't stay, let's see.", "i will not go can not stay let us see"),
    (
        "He's been there; she'd gone; they'd done it.",
        "he has been there she had gone they had done it",
    ),
    (
        "You're right, we'll see, I've got it, I'm here.",
        "you are right we will see i have got it i am here",
    ),
    ("It's John's book.", "it is john is book"),
    ("y'all wanna gotta gonna", "you all want to got to going to"),
    ("it 's a test", "it is a test"),  # TED-LIUM style split clitic
    ("DON'T", "do not"),
    ("ma'am", "madam"),
    # bracketed text and fillers
    ("[NOISE] hello <unk> there (laughs) friend", "hello there friend"),
    ("Hmm, um, uh, I think so.", "i think so"),
    ("mmm mhm yes", "yes"),
    # numbers
    ("twenty five", "25"),
    ("twenty-five", "25"),
    ("one hundred and one", "101"),
    ("two thousand and twenty three", "2023"),
    ("nineteen eighty four", "1984"),
    ("two million three hundred thousand", "2300000"),
    ("1,000,000", "1000000"),
    ("three point one four", "3.14"),
    ("triple five", "555"),
    ("one", "one"),
    ("one of the ones", "one of the ones"),
    ("1", "one"),
    # ordinals and plurals
    ("the first, second and third", "the 1st 2nd and 3rd"),
    ("the twenty first century", "the 21st century"),
    ("fifth twelfth twentieth hundredth", "5th 12th 20th 100th"),
    ("2nd 3rd 4th", "2nd 3rd 4th"),
    ("the nineties", "the 90s"),
    ("the 1990s and 80s", "the 1990s and 80s"),
    ("ninth", "ninth"),  # not in Whisper's ordinal table either
    # currency and percent
    ("five dollars", "$5"),
    ("$5", "$5"),
    ("twenty five dollars and fifty cents", "$25.50"),
    ("$25.50", "$25.50"),
    ("fifty cents", "¢50"),
    ("It costs £10 or €20.", "it costs £10 or €20"),
    ("ten pounds", "£10"),
    ("ten percent", "10%"),
    ("ten per cent", "10%"),
    ("10%", "10%"),
    ("the $ sign", "the sign"),
    ("the price is $", "the price is $"),  # Whisper keeps a trailing sign too
    # spelling variants and diacritics
    (
        "The colour of honour, organised in the centre.",
        "the color of honor organized in the center",
    ),
    ("He travelled to the theatre.", "he traveled to the theater"),
    ("Café naïve résumé", "cafe naive resume"),
    ("Œuvre straße", "oeuvre strasse"),
    # times and mixed
    ("3 pm 10:30", "3 pm 10 30"),
]


@pytest.mark.parametrize(("text", "expected"), ENGLISH_CASES)
def test_english_normalizer_cases(text: str, expected: str) -> None:
    assert english(text) == expected


BASIC_CASES = [
    ("Hello, World!", "hello world"),
    ("Don't STOP -- it's café!", "don t stop it s café"),
    ("  a\t\tb  ", "a b"),
    ("$5 + 10% = ?", "5 10"),
    ("MISTER QUILTER", "mister quilter"),
    ("", ""),
]


@pytest.mark.parametrize(("text", "expected"), BASIC_CASES)
def test_basic_normalizer_cases(text: str, expected: str) -> None:
    assert BasicNormalizer()(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Don't stop", "don't stop"),
        ("it’s fine", "it's fine"),  # typographic apostrophe
        ("'quoted' words", "quoted words"),
        ("rock 'n' roll", "rock n roll"),
    ],
)
def test_basic_normalizer_keeps_apostrophes_inside_words(
    text: str, expected: str
) -> None:
    assert BasicNormalizer(keep_apostrophes=True)(text) == expected


def test_basic_normalizer_rejects_non_bool_option() -> None:
    with pytest.raises(ConfigError, match="keep_apostrophes"):
        BasicNormalizer(keep_apostrophes="yes")  # type: ignore[arg-type]


def test_get_normalizer_names() -> None:
    assert set(NORMALIZER_NAMES) == {"auto", "whisper", "basic", "multilingual", "none"}
    assert get_normalizer("auto")("Mr. Smith's 2 dogs") == "mister smith is 2 dogs"
    assert (
        get_normalizer("auto", "de")("Herr Müller's 2 Hunde") == "herr müller s 2 hunde"
    )
    assert get_normalizer("multilingual")("Mr. Smith's 2 dogs") == "mr smith s 2 dogs"
    assert get_normalizer("whisper")("Mr. Smith's 2 dogs") == "mister smith is 2 dogs"
    assert get_normalizer("basic")("Mr. Smith's 2 dogs") == "mr smith s 2 dogs"
    assert get_normalizer("none")("Mr. Smith's 2 dogs") == "Mr. Smith's 2 dogs"
    for name in NORMALIZER_NAMES:
        get_normalizer(name)  # every name has a normaliser


def test_evaluation_uses_the_one_normalizer_name_type() -> None:
    from aural.evaluation import runner
    from aural.text import normalizers

    assert runner.NormalizerName is normalizers.NormalizerName
    assert typing.get_args(normalizers.NormalizerName) == NORMALIZER_NAMES
    for name in NORMALIZER_NAMES:
        assert runner.EvalOptions(normalizer=name).normalizer == name


def test_get_normalizer_unknown_name_names_it() -> None:
    with pytest.raises(
        ConfigError, match=r"'whispr'.*auto, whisper, basic, multilingual, none"
    ):
        get_normalizer("whispr")


def test_remove_symbols_keeps_requested_characters() -> None:
    assert remove_symbols_and_diacritics("a-b $5 é", keep="$") == "a b $5 e"


def test_spelling_table_maps_british_to_american_only() -> None:
    table = british_to_american()
    assert len(table) > 1000
    assert table["colour"] == "color" and table["organisation"] == "organization"
    assert table["analysed"] == "analyzed" and table["centre"] == "center"
    # no American spelling is rewritten, and no word maps to itself
    assert not set(table) & set(table.values())
    for british in ("storey", "cheque", "draught", "towards", "whisky"):
        assert british not in table


def test_number_normalizer_on_its_own() -> None:
    numbers = EnglishNumberNormalizer()
    assert numbers("twenty one and a half") == "21.5"
    assert numbers("two dollars and seven cents") == "$2.07"
    assert numbers("oh two") == "02"


# --- real transcripts -----------------------------------------------------------------


def _punctuate(upper: str) -> str:
    """A hypothesis-style rendering of an upper-case LibriSpeech reference."""
    text = upper.lower()
    for word, abbreviation in (
        ("mister", "Mr."),
        ("missus", "Mrs."),
        ("doctor", "Dr."),
    ):
        text = re.sub(rf"\b{word}\b", abbreviation, text)
    words = text.split()
    for i in range(3, len(words), 7):
        words[i] += ","
    text = " ".join(words)
    return text[:1].upper() + text[1:] + "."


def _librispeech_refs(shared_data: Path) -> list[str]:
    refs = []
    for trans in sorted((shared_data / "LibriSpeech").glob("*/*/*/*.trans.txt")):
        refs += [
            line.split(" ", 1)[1] for line in trans.read_text().splitlines() if line
        ]
    return refs


def test_librispeech_refs_and_punctuated_hypotheses_normalise_alike(
    shared_data: Path,
) -> None:
    refs = _librispeech_refs(shared_data)
    assert len(refs) == 263
    changed = 0
    for ref in refs:
        hyp = _punctuate(ref)
        changed += hyp != ref
        assert english(ref) == english(hyp), (ref, hyp)
        assert english(ref) == english(ref).lower()
    assert changed == len(refs)


def test_ljspeech_raw_and_spelled_out_columns_agree(shared_data: Path) -> None:
    """LJSpeech's raw column has digits and abbreviations, the normalised one spells
    them out; after normalisation the two columns should be almost identical."""
    from aural.evaluation.metrics import corpus_wer

    rows = [
        line.split("|")
        for line in (shared_data / "LJSpeech-1.1" / "metadata.csv")
        .read_text()
        .splitlines()
    ]
    raw = [english(r[1]) for r in rows]
    spelled = [english(r[2]) for r in rows]
    differing = sum(a != b for a, b in zip(raw, spelled))
    assert sum(r[1] != r[2] for r in rows) > 15  # the columns really differ before
    assert differing <= 2
    assert corpus_wer(spelled, raw).wer < 0.002


# --- properties -----------------------------------------------------------------------

_NUMBERISH = st.lists(
    st.sampled_from(
        sorted(NUMBER_WORDS)
        + [
            "a",
            "the",
            "cat",
            "1",
            "25",
            "3.5",
            "$5",
            "10%",
            "007",
            "1,000",
            "and a half",
            "1st",
            "o",
            "$",
            "£3",
            "-",
            "+",
            "Mr.",
            "st.",
            "won't",
            "it's",
            "'s",
            ".",
            "(x)",
        ]
    ),
    max_size=8,
).map(" ".join)
_TEXT = st.one_of(st.text(max_size=60), _NUMBERISH)
_FAST = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@_FAST
@given(_TEXT)
def test_english_normalizer_is_idempotent_and_tidy(text: str) -> None:
    once = english(text)
    assert english(once) == once
    assert "  " not in once and once == once.strip()


@_FAST
@given(st.text(max_size=80))
def test_basic_normalizer_is_idempotent_and_tidy(text: str) -> None:
    for normalize in (BasicNormalizer(), BasicNormalizer(keep_apostrophes=True)):
        once = normalize(text)
        assert normalize(once) == once
        assert "  " not in once and once == once.strip()


# --- Whisper's normaliser as an independent reference ---------------------------------


def test_matches_whisper_on_all_shared_transcripts(
    shared_data: Path, whisper_normalizer: Callable[[str], str]
) -> None:
    texts = _librispeech_refs(shared_data)
    for line in (
        (shared_data / "LJSpeech-1.1" / "metadata.csv").read_text().splitlines()
    ):
        texts += line.split("|")[1:]
    for line in (shared_data / "misc" / "manifest.jsonl").read_text().splitlines():
        texts.append(json.loads(line)["text"])
    assert len(texts) == 698
    mismatches = [
        (t, english(t), whisper_normalizer(t))
        for t in texts
        if english(t) != whisper_normalizer(t)
    ]
    assert mismatches == []


@_FAST
@given(text=_NUMBERISH)
def test_matches_whisper_wherever_whisper_is_stable(
    whisper_normalizer: Callable[[str], str], text: str
) -> None:
    reference = whisper_normalizer(text)
    if whisper_normalizer(reference) == reference:
        assert english(text) == reference
