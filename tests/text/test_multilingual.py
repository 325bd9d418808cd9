"""The multilingual normaliser, the CER rule and the per-language choice: case tables,
Whisper's BasicTextNormalizer as the reference on the shared multilingual transcripts,
and properties."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aural.errors import ConfigError
from aural.text import (
    CER_LANGUAGES,
    EnglishNormalizer,
    MultilingualNormalizer,
    get_normalizer,
    normalizer_for,
    uses_cer,
)
from aural.text.multilingual import base_language, scoring_units

from .conftest import load_whisper_basic_normalizer

normalize = MultilingualNormalizer()

CASES = [
    ("Hello, World!", "hello world"),
    ("¿Qué tal? ¡Muy bien!", "qué tal muy bien"),
    ("Straße STRASSE", "strasse strasse"),  # case folding, not lower()
    ("ΟΔΟΣ οδός", "οδοσ οδόσ"),  # final sigma folds to sigma
    ("l'homme « libre » — dit-il…", "l homme libre dit il"),
    ("[noise] hallo <unk> (lacht) welt", "hallo welt"),
    ("ＡＢＣ１２３", "abc123"),  # NFKC: full-width forms
    ("ﬁn", "fin"),  # NFKC: the ligature
    ("  viele   Leerzeichen\t\n", "viele leerzeichen"),
    ("广州市房地产中介协会分析。", "广州市房地产中介协会分析"),
    ("真っ昼間なのに、キャンプ", "真っ昼間なのに キャンプ"),
    # marks stay inside their words (Whisper splits these words apart)
    ("कुछ अणुओं में", "कुछ अणुओं में"),
    ("ผู้เชี่ยวชาญ", "ผู้เชี่ยวชาญ"),
    ("", ""),
    ("...!?", ""),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_multilingual_normalizer_cases(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Café naïve Ångström", "cafe naive angstrom"),
        ("Łódź Øresund Æsir Œuvre þing", "lodz oresund aesir oeuvre thing"),
        ("Μια λεύκα", "μια λευκα"),
    ],
)
def test_multilingual_normalizer_removes_diacritics_on_request(
    text: str, expected: str
) -> None:
    assert MultilingualNormalizer(remove_diacritics=True)(text) == expected


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("ar", "وَرَجَّحَ التَّقْرِيرُ", "ورجح التقرير"),
        ("ar", "أَيْضاً - جـــدا", "أيضا جدا"),  # tanwin and tatweel
        ("fa", "کِتاب", "کتاب"),
        ("he", "שָׁלוֹם", "שלום"),
        ("de", "وَرَجَّحَ", "وَرَجَّحَ"),  # only the language's own points go
    ],
)
def test_multilingual_normalizer_drops_the_languages_vowel_points(
    language: str, text: str, expected: str
) -> None:
    assert MultilingualNormalizer(language=language)(text) == expected


def test_multilingual_normalizer_rejects_bad_options() -> None:
    with pytest.raises(ConfigError, match="remove_diacritics"):
        MultilingualNormalizer(remove_diacritics="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="language"):
        MultilingualNormalizer(language=5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "base", "cer"),
    [
        ("zh", "zh", True),
        ("zh-CN", "zh", True),
        ("zh_TW", "zh", True),
        ("cmn", "zh", True),
        ("yue", "yue", True),
        ("ja", "ja", True),
        ("JA", "ja", True),
        ("th", "th", True),
        ("lo", "lo", True),
        ("my", "my", True),
        ("km", "km", True),
        ("bo", "bo", True),
        ("en", "en", False),
        ("en-US", "en", False),
        ("ko", "ko", False),  # Korean writes spaces between words
        ("de", "de", False),
        ("ar", "ar", False),
        (None, None, False),
        ("", None, False),
    ],
)
def test_cer_rule_by_language_code(
    code: str | None, base: str | None, cer: bool
) -> None:
    assert base_language(code) == base
    assert uses_cer(code) is cer


def test_scoring_units_are_characters_for_languages_without_spaces() -> None:
    assert scoring_units("钙 钾 等", "zh") == ["钙", "钾", "等"]
    assert scoring_units("钙钾等", "zh") == ["钙", "钾", "等"]
    assert scoring_units("ein zwei", "de") == ["ein", "zwei"]
    assert scoring_units("ein zwei", None) == ["ein", "zwei"]
    assert {"zh", "ja", "th", "yue"} <= CER_LANGUAGES


def test_normalizer_choice_per_language() -> None:
    assert isinstance(normalizer_for("en"), EnglishNormalizer)
    assert isinstance(normalizer_for("en-GB"), EnglishNormalizer)
    assert isinstance(normalizer_for(None), EnglishNormalizer)
    assert isinstance(
        normalizer_for(None, english_when_unknown=False), MultilingualNormalizer
    )
    german = normalizer_for("de")
    assert isinstance(german, MultilingualNormalizer)
    assert german("Mr. Müller") == "mr müller"  # no English title expansion
    assert normalizer_for("ar")("أَيْضاً") == "أيضا"
    assert get_normalizer("auto", "ar")("أَيْضاً") == "أيضا"
    assert normalizer_for("fr", remove_diacritics=True)("Élève") == "eleve"


# --- Whisper's BasicTextNormalizer on the real transcripts ----------------------------


def _manifest_rows() -> list[dict[str, str]]:
    from tests.conftest import find_shared_data

    root = find_shared_data()
    if root is None:
        return []
    path = root / "multilingual" / "manifest.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


ROWS = _manifest_rows()
ROW_IDS = [Path(r["audio"]).stem for r in ROWS]


@pytest.fixture(scope="module")
def whisper_basic() -> Callable[[str], str]:
    reference = load_whisper_basic_normalizer()
    if reference is None:
        pytest.skip(
            "openai-whisper (with regex) not installed: no reference normaliser"
        )
    return reference


@pytest.fixture(scope="module")
def whisper_basic_no_diacritics() -> Callable[[str], str]:
    reference = load_whisper_basic_normalizer(remove_diacritics=True)
    if reference is None:
        pytest.skip(
            "openai-whisper (with regex) not installed: no reference normaliser"
        )
    return reference


def _has_marks(text: str) -> bool:
    return any(unicodedata.category(c)[0] == "M" for c in text)


def _letters(text: str) -> str:
    """The text without marks and spaces, case-folded: what both normalisers keep."""
    return "".join(
        c
        for c in unicodedata.normalize("NFC", text).casefold()
        if not c.isspace() and unicodedata.category(c)[0] != "M"
    )


def _collapse(text: str) -> str:
    return unicodedata.normalize("NFC", " ".join(text.casefold().split()))


def test_shared_manifest_is_there(shared_data: Path) -> None:
    assert len(ROWS) == 86
    assert len({r["language"] for r in ROWS}) == 19


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_multilingual_normalizer_matches_whisper_basic(
    row: dict[str, str], whisper_basic: Callable[[str], str]
) -> None:
    """Without marks in the text the output is Whisper's (case-folded, ends stripped);
    with marks, the same letters in the same order, in fewer or as many words."""
    text, language = row["text"], row["language"]
    ours = MultilingualNormalizer(language=language)(text)
    theirs = whisper_basic(text)
    assert ours == MultilingualNormalizer(language=language)(ours)  # idempotent
    if not _has_marks(unicodedata.normalize("NFKC", text)):
        assert ours == _collapse(theirs)
        return
    assert _letters(ours) == _letters(theirs)
    assert len(ours.split()) <= len(theirs.split())
    if language in ("hi", "th"):  # Whisper shatters these words; aural keeps them
        assert len(ours.split()) < len(theirs.split())
        written = [w for w in text.split() if any(c.isalpha() for c in w)]
        assert len(ours.split()) == len(written)  # one word per written word


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_multilingual_normalizer_without_diacritics_matches_whisper(
    row: dict[str, str], whisper_basic_no_diacritics: Callable[[str], str]
) -> None:
    text = row["text"]
    ours = MultilingualNormalizer(remove_diacritics=True)(text)
    theirs = whisper_basic_no_diacritics(text)
    spacing_marks = any(
        unicodedata.category(c) in ("Mc", "Me")
        for c in unicodedata.normalize("NFKD", text)
    )
    if spacing_marks:  # Whisper turns spacing vowel signs into spaces
        assert _letters(ours) == _letters(theirs)
    else:
        assert ours == _collapse(theirs)


def test_fleurs_character_references_and_unspaced_hypotheses_score_alike() -> None:
    """FLEURS writes Chinese and Cantonese with a space between characters; a
    hypothesis is written without: the scoring units agree."""
    rows = [
        r for r in ROWS if r["language"] in ("zh", "yue") and "FLEURS" in r["corpus"]
    ]
    if not rows:
        pytest.skip("no shared multilingual data")
    for row in rows:
        ref = MultilingualNormalizer()(row["text"])
        hyp = MultilingualNormalizer()("".join(row["text"].split()) + "。")
        assert scoring_units(ref, row["language"]) == scoring_units(
            hyp, row["language"]
        )


# --- properties -----------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60), st.booleans(), st.sampled_from([None, "ar", "he", "de"]))
def test_multilingual_normalizer_properties(
    text: str, remove_diacritics: bool, language: str | None
) -> None:
    n = MultilingualNormalizer(remove_diacritics=remove_diacritics, language=language)
    once = n(text)
    assert n(once) == once
    assert "  " not in once
    assert once == once.strip()
