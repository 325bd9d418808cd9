"""Text normalisers applied to references and hypotheses before scoring.

- :class:`EnglishNormalizer` behaves like the Whisper English normaliser that the Open
  ASR leaderboard and most papers use: lower case, bracketed and parenthesised text
  removed, filler words dropped, contractions and titles expanded, numbers written as
  digits, British spellings made American, symbols and diacritics removed.
- :class:`BasicNormalizer` lower-cases and strips punctuation and symbols, for any
  language.
- :class:`~aural.text.multilingual.MultilingualNormalizer` normalises any language
  (Whisper's ``BasicTextNormalizer`` with word-internal marks kept).
- :func:`get_normalizer` returns one of them (or the identity) by name; ``auto`` picks
  by language (:func:`aural.text.multilingual.normalizer_for`).

All normalisers are pure functions of the text; the output has no leading, trailing or
doubled spaces, and normalising twice gives the same text as normalising once.

Example:
    >>> normalize = get_normalizer("whisper")
    >>> normalize("Mr. Smith paid $5 for twenty-five colour pencils, didn't he?")
    'mister smith paid $5 for 25 color pencils did not he'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, get_args

from aural.errors import ConfigError
from aural.text.numbers import EnglishNumberNormalizer
from aural.text.spelling import british_to_american

__all__ = [
    "NORMALIZER_NAMES",
    "BasicNormalizer",
    "EnglishNormalizer",
    "NormalizerName",
    "get_normalizer",
    "remove_symbols_and_diacritics",
]

NormalizerName = Literal["auto", "whisper", "basic", "multilingual", "none"]
"""The text normalisers by name: the one definition (evaluation and the CLI use it)."""
NORMALIZER_NAMES: tuple[str, ...] = get_args(NormalizerName)

# Letters that NFKD does not decompose into a base letter plus marks.
_EXTRA_LETTERS = {
    "œ": "oe",
    "Œ": "OE",
    "ø": "o",
    "Ø": "O",
    "æ": "ae",
    "Æ": "AE",
    "ß": "ss",
    "ẞ": "SS",
    "đ": "d",
    "Đ": "D",
    "ð": "d",
    "Ð": "D",
    "þ": "th",
    "Þ": "th",
    "ł": "l",
    "Ł": "L",
}


def remove_symbols_and_diacritics(text: str, keep: str = "") -> str:
    """Drop combining marks, spell a few special letters in ASCII, and turn every other
    mark, symbol or punctuation character into a space (characters in ``keep`` stay)."""
    out = []
    for ch in unicodedata.normalize("NFKD", text):
        if ch in keep:
            out.append(ch)
        elif ch in _EXTRA_LETTERS:
            out.append(_EXTRA_LETTERS[ch])
        else:
            category = unicodedata.category(ch)
            if category == "Mn":
                continue
            out.append(" " if category[0] in "MSP" else ch)
    return "".join(out)


_MAX_PASSES = 4  # extra passes until a fixed point; two suffice in every case we know

_FILLERS = re.compile(r"\b(hmm|mm|mhm|mmm|uh|um)\b")

# (pattern, replacement), applied in order after lower-casing.
_REPLACEMENTS: tuple[tuple[str, str], ...] = (
    # whole-word contractions and colloquial forms
    (r"\bwon't\b", "will not"),
    (r"\bcan't\b", "can not"),
    (r"\blet's\b", "let us"),
    (r"\bain't\b", "aint"),
    (r"\by'all\b", "you all"),
    (r"\bwanna\b", "want to"),
    (r"\bgotta\b", "got to"),
    (r"\bgonna\b", "going to"),
    (r"\bi'ma\b", "i am going to"),
    (r"\bimma\b", "i am going to"),
    (r"\bwoulda\b", "would have"),
    (r"\bcoulda\b", "could have"),
    (r"\bshoulda\b", "should have"),
    (r"\bma'am\b", "madam"),
    # abbreviated titles
    (r"\bmr\b", "mister "),
    (r"\bmrs\b", "missus "),
    (r"\bst\b", "saint "),
    (r"\bdr\b", "doctor "),
    (r"\bprof\b", "professor "),
    (r"\bcapt\b", "captain "),
    (r"\bgov\b", "governor "),
    (r"\bald\b", "alderman "),
    (r"\bgen\b", "general "),
    (r"\bsen\b", "senator "),
    (r"\brep\b", "representative "),
    (r"\bpres\b", "president "),
    (r"\brev\b", "reverend "),
    (r"\bhon\b", "honorable "),
    (r"\basst\b", "assistant "),
    (r"\bassoc\b", "associate "),
    (r"\blt\b", "lieutenant "),
    (r"\bcol\b", "colonel "),
    (r"\bjr\b", "junior "),
    (r"\bsr\b", "senior "),
    (r"\besq\b", "esquire "),
    # perfect tenses, where 's and 'd are unambiguous
    (r"'d been\b", " had been"),
    (r"'s been\b", " has been"),
    (r"'d gone\b", " had gone"),
    (r"'s gone\b", " has gone"),
    (r"'d done\b", " had done"),
    (r"'s got\b", " has got"),
    # the remaining clitics
    (r"n't\b", " not"),
    (r"'re\b", " are"),
    (r"'s\b", " is"),
    (r"'d\b", " would"),
    (r"'ll\b", " will"),
    (r"'t\b", " not"),
    (r"'ve\b", " have"),
    (r"'m\b", " am"),
)


@lru_cache(maxsize=1)
def _compiled_replacements() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(p), r) for p, r in _REPLACEMENTS)


@dataclass(frozen=True, slots=True)
class EnglishNormalizer:
    """The English normaliser used for leaderboard-comparable WER.

    Equivalent in behaviour to Whisper's ``EnglishTextNormalizer`` (checked against it
    in the tests), with three differences:

    - the result has no leading or trailing space;
    - the rules are applied again until the text stops changing. Whisper's rules are not
      idempotent in a few corners (``"minus five"`` -> ``"-5"``, whose second pass drops
      the sign; ``"zero one"`` -> ``"01"`` -> ``"one"``), so a reference spelled out and
      a hypothesis in digits could normalise differently. Where Whisper's own output is
      stable, which is the case for every shared transcript, the result is identical;
    - the British -> American spelling table is aural's own (about 1,300 pairs derived
      from spelling rules, see :mod:`aural.text.spelling`).

    Example:
        >>> EnglishNormalizer()("He's got twenty-one (21) apples, hmm.")
        'he has got 21 apples'
    """

    def __call__(self, text: str) -> str:
        result = self._once(text)
        for _ in range(_MAX_PASSES):
            again = self._once(result)
            if again == result:
                break
            result = again
        return result

    @staticmethod
    def _once(text: str) -> str:
        s = text.lower()
        s = re.sub(r"[<\[][^>\]]*[>\]]", "", s)  # [noise], <unk>
        s = re.sub(r"\(([^)]+?)\)", "", s)  # (parenthesised asides)
        s = _FILLERS.sub("", s)
        s = re.sub(r"\s+'", "'", s)  # "don 't" -> "don't"
        for pattern, replacement in _compiled_replacements():
            s = pattern.sub(replacement, s)
        s = re.sub(r"(\d),(\d)", r"\1\2", s)  # 1,000 -> 1000
        s = re.sub(r"\.([^0-9]|$)", r" \1", s)  # full stops, not decimal points
        s = remove_symbols_and_diacritics(s, keep=".%$¢€£")
        s = _NUMBERS(s)
        spellings = british_to_american()
        s = " ".join(spellings.get(word, word) for word in s.split())
        # Currency and percent signs stay only where they touch a number.
        s = re.sub(r"[.$¢€£]([^0-9])", r" \1", s)
        s = re.sub(r"([^0-9])%", r"\1 ", s)
        return " ".join(s.split())


_NUMBERS = EnglishNumberNormalizer()


@dataclass(frozen=True, slots=True)
class BasicNormalizer:
    """Lower case, punctuation and symbols removed, whitespace collapsed.

    Args:
        keep_apostrophes: keep an apostrophe between two letters (``don't`` stays
            ``don't``); by default it becomes a space like all punctuation.
    """

    keep_apostrophes: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.keep_apostrophes, bool):
            raise ConfigError(
                "BasicNormalizer keep_apostrophes must be a bool, got "
                f"{self.keep_apostrophes!r}"
            )

    def __call__(self, text: str) -> str:
        s = unicodedata.normalize("NFKC", text).lower()
        if self.keep_apostrophes:
            s = re.sub(r"(?<=\w)[’‘`´](?=\w)", "'", s)
        chars = list(s)
        for i, ch in enumerate(chars):
            if unicodedata.category(ch)[0] not in "PS":
                continue
            if (
                self.keep_apostrophes
                and ch == "'"
                and 0 < i < len(chars) - 1
                and chars[i - 1].isalnum()
                and chars[i + 1].isalnum()
            ):
                continue
            chars[i] = " "
        s = "".join(chars)
        return " ".join(s.split())


def _identity(text: str) -> str:
    return text


def get_normalizer(name: str, language: str | None = None) -> Callable[[str], str]:
    """The normaliser named ``name``.

    Args:
        name: ``"auto"`` (English for ``en`` or an unknown language, multilingual for
            any other), ``"whisper"`` (English), ``"basic"``, ``"multilingual"`` or
            ``"none"``.
        language: the text's ISO 639 code, for ``auto`` and ``multilingual`` (which
            drops the vowel points some languages' corpora write).

    Raises:
        ConfigError: for any other name.
    """
    if name == "auto":
        from aural.text.multilingual import normalizer_for

        return normalizer_for(language)
    if name == "multilingual":
        from aural.text.multilingual import MultilingualNormalizer, base_language

        return MultilingualNormalizer(language=base_language(language))
    if name == "whisper":
        return EnglishNormalizer()
    if name == "basic":
        return BasicNormalizer()
    if name == "none":
        return _identity
    raise ConfigError(
        f"unknown normalizer {name!r}; choose one of {', '.join(NORMALIZER_NAMES)}"
    )
