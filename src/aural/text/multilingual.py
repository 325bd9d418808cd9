"""Scoring text in any language: a multilingual normaliser, which languages are scored
by characters, and the normaliser to use for a language code.

- :class:`MultilingualNormalizer` behaves like Whisper's ``BasicTextNormalizer``
  (bracketed and parenthesised text removed, punctuation and symbols turned into
  spaces, optional diacritics removal) with NFKC, case folding and three deliberate
  differences, each tested against Whisper's own normaliser on the shared multilingual
  transcripts:

  * combining marks (Unicode ``M*``) stay inside their word. Whisper turns them into
    spaces, which shatters every word of Devanagari, Thai, Bengali, Tamil... into bare
    consonants and makes WER a character rate in disguise (openai/whisper discussion
    #858 and PR #2849; Manohar et al., *What is lost in Normalization?*, EMNLP 2024);
  * ``str.casefold`` instead of ``str.lower`` (``Straße`` and ``STRASSE`` compare
    equal; Greek final sigma folds to sigma);
  * per-language vowel points that corpora write and ASR systems do not are removed:
    Arabic harakat, superscript alef and tatweel (``ar``, ``fa``, ``ur``, ``ps``...)
    and Hebrew niqqud and cantillation (``he``, ``yi``).

- :data:`CER_LANGUAGES` / :func:`uses_cer`: languages written without spaces between
  words (Chinese, Japanese, Thai, Cantonese, Lao, Burmese, Khmer, Tibetan) are scored
  by characters, spaces ignored.
- :func:`normalizer_for`: English gets the English normaliser, every other language
  (or an unknown one, with ``english_when_unknown=False``) the multilingual one.

Example:
    >>> MultilingualNormalizer()("¿Qué tal, Straße?")
    'qué tal strasse'
    >>> MultilingualNormalizer(remove_diacritics=True)("¿Qué tal?")
    'que tal'
    >>> uses_cer("zh-CN"), uses_cer("de")
    (True, False)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from aural.errors import ConfigError

__all__ = [
    "CER_LANGUAGES",
    "LANGUAGE_NAMES",
    "MultilingualNormalizer",
    "base_language",
    "language_name",
    "normalizer_for",
    "scoring_units",
    "uses_cer",
]

# Whisper's languages by code, with the English names the OpenAI audio API reports
# (``verbose_json``'s ``language``); the same 100 codes as the multilingual models.
LANGUAGE_NAMES: dict[str, str] = {
    "en": "english",
    "zh": "chinese",
    "de": "german",
    "es": "spanish",
    "ru": "russian",
    "ko": "korean",
    "fr": "french",
    "ja": "japanese",
    "pt": "portuguese",
    "tr": "turkish",
    "pl": "polish",
    "ca": "catalan",
    "nl": "dutch",
    "ar": "arabic",
    "sv": "swedish",
    "it": "italian",
    "id": "indonesian",
    "hi": "hindi",
    "fi": "finnish",
    "vi": "vietnamese",
    "he": "hebrew",
    "uk": "ukrainian",
    "el": "greek",
    "ms": "malay",
    "cs": "czech",
    "ro": "romanian",
    "da": "danish",
    "hu": "hungarian",
    "ta": "tamil",
    "no": "norwegian",
    "th": "thai",
    "ur": "urdu",
    "hr": "croatian",
    "bg": "bulgarian",
    "lt": "lithuanian",
    "la": "latin",
    "mi": "maori",
    "ml": "malayalam",
    "cy": "welsh",
    "sk": "slovak",
    "te": "telugu",
    "fa": "persian",
    "lv": "latvian",
    "bn": "bengali",
    "sr": "serbian",
    "az": "azerbaijani",
    "sl": "slovenian",
    "kn": "kannada",
    "et": "estonian",
    "mk": "macedonian",
    "br": "breton",
    "eu": "basque",
    "is": "icelandic",
    "hy": "armenian",
    "ne": "nepali",
    "mn": "mongolian",
    "bs": "bosnian",
    "kk": "kazakh",
    "sq": "albanian",
    "sw": "swahili",
    "gl": "galician",
    "mr": "marathi",
    "pa": "punjabi",
    "si": "sinhala",
    "km": "khmer",
    "sn": "shona",
    "yo": "yoruba",
    "so": "somali",
    "af": "afrikaans",
    "oc": "occitan",
    "ka": "georgian",
    "be": "belarusian",
    "tg": "tajik",
    "sd": "sindhi",
    "gu": "gujarati",
    "am": "amharic",
    "yi": "yiddish",
    "lo": "lao",
    "uz": "uzbek",
    "fo": "faroese",
    "ht": "haitian creole",
    "ps": "pashto",
    "tk": "turkmen",
    "nn": "nynorsk",
    "mt": "maltese",
    "sa": "sanskrit",
    "lb": "luxembourgish",
    "my": "myanmar",
    "bo": "tibetan",
    "tl": "tagalog",
    "mg": "malagasy",
    "as": "assamese",
    "tt": "tatar",
    "haw": "hawaiian",
    "ln": "lingala",
    "ha": "hausa",
    "ba": "bashkir",
    "jw": "javanese",
    "su": "sundanese",
    "yue": "cantonese",
}


def language_name(language: str | None) -> str | None:
    """The English name of a language code as the OpenAI audio API writes it
    (``de`` -> ``german``); an unknown code comes back as it is, None stays None."""
    code = base_language(language)
    if code is None:
        return None
    return LANGUAGE_NAMES.get(code, language)


CER_LANGUAGES: frozenset[str] = frozenset(
    {"zh", "ja", "th", "yue", "lo", "my", "km", "bo"}
)
"""Languages written without spaces between words: scored by characters (CER)."""

# ISO 639-3 / BCP-47 spellings corpora use for the languages above and a few others
_SYNONYMS = {
    "cmn": "zh",
    "zho": "zh",
    "chi": "zh",
    "jpn": "ja",
    "tha": "th",
    "lao": "lo",
    "mya": "my",
    "bur": "my",
    "khm": "km",
    "bod": "bo",
    "tib": "bo",
    "eng": "en",
    "deu": "de",
    "ger": "de",
    "fra": "fr",
    "fre": "fr",
    "spa": "es",
    "ara": "ar",
    "heb": "he",
    "iw": "he",
}

# Vowel points and similar marks written in teaching and religious texts but not in
# ordinary writing (nor by ASR systems): removed before scoring in these languages.
_ARABIC_POINTS = (
    "[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed\u0640]"
)
_HEBREW_POINTS = "[\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7]"
_POINTS: dict[str, re.Pattern[str]] = {
    **dict.fromkeys(
        ("ar", "fa", "ur", "ps", "sd", "ug", "ku"), re.compile(_ARABIC_POINTS)
    ),
    **dict.fromkeys(("he", "yi"), re.compile(_HEBREW_POINTS)),
}

_BRACKETS = re.compile(r"[<\[][^>\]]*[>\]]")  # [noise], <unk>
_PARENTHESES = re.compile(r"\(([^)]+?)\)")  # (asides)

# Letters that NFKD does not split into a base letter plus marks (Whisper's table).
_EXTRA_LETTERS = {
    "œ": "oe",
    "ø": "o",
    "æ": "ae",
    "ß": "ss",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    "ł": "l",
}


def base_language(language: str | None) -> str | None:
    """The bare language of a code: ``zh-CN`` -> ``zh``, ``pt_BR`` -> ``pt``,
    ``cmn`` -> ``zh``; None (or empty) stays None."""
    if language is None:
        return None
    code = language.strip().lower().replace("_", "-").split("-", 1)[0]
    if not code:
        return None
    return _SYNONYMS.get(code, code)


def uses_cer(language: str | None) -> bool:
    """Whether ``language`` is written without spaces and so scored by characters."""
    return base_language(language) in CER_LANGUAGES


def scoring_units(normalized: str, language: str | None) -> list[str]:
    """The units an error rate counts in normalised text: the characters (spaces
    ignored) for :data:`CER_LANGUAGES`, else the words."""
    if uses_cer(language):
        return [ch for ch in normalized if not ch.isspace()]
    return normalized.split()


@dataclass(frozen=True, slots=True)
class MultilingualNormalizer:
    """Normalise text in any language for WER/CER (see the module docstring).

    Steps: NFKC; bracketed (``[noise]``, ``<unk>``) and parenthesised text removed;
    case folding; the language's vowel points removed (``language`` ``ar``, ``he``...);
    with ``remove_diacritics``, every non-spacing mark removed after NFKD (``é`` ->
    ``e``) and ``ß æ ø œ ł đ ð þ`` spelled in ASCII; every punctuation or symbol
    character turned into a space; whitespace collapsed and the ends stripped.

    Args:
        remove_diacritics: strip accents too (off by default: ``e`` and ``é`` are
            different letters in most languages).
        language: an ISO 639 code; only used for the vowel points it drops.

    The result has no leading, trailing or doubled spaces, and normalising twice gives
    the same text as normalising once.
    """

    remove_diacritics: bool = False
    language: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.remove_diacritics, bool):
            raise ConfigError(
                "MultilingualNormalizer remove_diacritics must be a bool, got "
                f"{self.remove_diacritics!r}"
            )
        if self.language is not None and not isinstance(self.language, str):
            raise ConfigError(
                "MultilingualNormalizer language must be a code like 'de' or None, "
                f"got {self.language!r}"
            )

    def __call__(self, text: str) -> str:
        s = unicodedata.normalize("NFKC", text)
        s = _BRACKETS.sub("", s)
        s = _PARENTHESES.sub("", s)
        s = s.casefold()
        points = _POINTS.get(base_language(self.language) or "")
        if points is not None:
            s = points.sub("", s)
        if self.remove_diacritics:
            s = _strip_diacritics(s)
        out = []
        for ch in s:
            category = unicodedata.category(ch)
            out.append(" " if category[0] in "PS" else ch)
        s = "".join(out)
        # marks kept inside words; one left alone after a removed symbol is dropped
        words = (w.lstrip("".join(_leading_marks(w))) for w in s.split())
        result = " ".join(w for w in words if w)
        return unicodedata.normalize("NFC", result)


def _leading_marks(word: str) -> list[str]:
    marks = []
    for ch in word:
        if unicodedata.category(ch)[0] != "M":
            break
        marks.append(ch)
    return marks


def _strip_diacritics(text: str) -> str:
    out = []
    for ch in unicodedata.normalize("NFKD", text):
        if ch in _EXTRA_LETTERS:
            out.append(_EXTRA_LETTERS[ch])
        elif unicodedata.category(ch) != "Mn":
            out.append(ch)
    return "".join(out)


def normalizer_for(
    language: str | None,
    *,
    remove_diacritics: bool = False,
    english_when_unknown: bool = True,
) -> Callable[[str], str]:
    """The normaliser to score text in ``language`` with.

    Args:
        language: an ISO 639 code (``en``, ``de``, ``zh-CN``...) or None.
        remove_diacritics: strip accents in the multilingual normaliser.
        english_when_unknown: use the English normaliser when ``language`` is None
            (datasets without a language column are English corpora in practice);
            False gives the multilingual one.

    Returns:
        :class:`~aural.text.normalizers.EnglishNormalizer` for English, else a
        :class:`MultilingualNormalizer` for the language.
    """
    from aural.text.normalizers import EnglishNormalizer

    code = base_language(language)
    if code == "en" or (code is None and english_when_unknown):
        return EnglishNormalizer()
    return MultilingualNormalizer(remove_diacritics=remove_diacritics, language=code)
