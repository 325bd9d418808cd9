"""Spoken English numbers to digits, the way leaderboard WER normalisation writes them.

``"twenty five"`` -> ``"25"``, ``"one hundred and one"`` -> ``"101"``, ``"third"`` ->
``"3rd"``, ``"five dollars"`` -> ``"$5"``, ``"ten percent"`` -> ``"10%"``,
``"double oh seven"`` -> ``"007"``, ``"two point five"`` -> ``"2.5"``. The rules follow
the behaviour of the Whisper English normaliser (the one the Open ASR leaderboard uses)
so that WER numbers are comparable with published ones; the implementation is aural's
own.

One deliberate difference: where Whisper's rules would hit an internal assertion (a
digit word after a number that does not end in zero), the digit is appended instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

__all__ = ["EnglishNumberNormalizer"]

_ONES_NAMES = (
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
_TENS_NAMES = (
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "seventy",
    "eighty",
    "ninety",
)
_MULTIPLIER_NAMES = (
    "hundred",
    "thousand",
    "million",
    "billion",
    "trillion",
    "quadrillion",
    "quintillion",
    "sextillion",
    "septillion",
    "octillion",
    "nonillion",
    "decillion",
)

ZEROS = frozenset({"o", "oh", "zero"})
ONES = {name: value for value, name in enumerate(_ONES_NAMES, start=1)}
TENS = {name: 10 * value for value, name in enumerate(_TENS_NAMES, start=2)}
MULTIPLIERS = {
    "hundred": 100,
    **{name: 1000**k for k, name in enumerate(_MULTIPLIER_NAMES[1:], 1)},
}


def _ones_suffixed() -> dict[str, tuple[int, str]]:
    table: dict[str, tuple[int, str]] = {}
    for name, value in ONES.items():
        table["sixes" if name == "six" else name + "s"] = (value, "s")
    table.update(
        {
            "zeroth": (0, "th"),
            "first": (1, "st"),
            "second": (2, "nd"),
            "third": (3, "rd"),
            "fifth": (5, "th"),
            "twelfth": (12, "th"),
        }
    )
    for name, value in ONES.items():
        # Regular ordinals; like Whisper's table this spells nine as "nineth", so the
        # word "ninth" is left as a word.
        if value > 3 and value not in (5, 12):
            table[name + ("h" if name.endswith("t") else "th")] = (value, "th")
    return table


ONES_SUFFIXED = _ones_suffixed()
TENS_SUFFIXED = {
    **{name.replace("y", "ies"): (value, "s") for name, value in TENS.items()},
    **{name.replace("y", "ieth"): (value, "th") for name, value in TENS.items()},
}
MULTIPLIERS_SUFFIXED = {
    **{name + "s": (value, "s") for name, value in MULTIPLIERS.items()},
    **{name + "th": (value, "th") for name, value in MULTIPLIERS.items()},
}
DECIMALS = frozenset({*ONES, *TENS, *ZEROS})
PRECEDING_PREFIXERS = {"minus": "-", "negative": "-", "plus": "+", "positive": "+"}
FOLLOWING_PREFIXERS = {
    "pound": "£",
    "pounds": "£",
    "euro": "€",
    "euros": "€",
    "dollar": "$",
    "dollars": "$",
    "cent": "¢",
    "cents": "¢",
}
PREFIXES = frozenset({*PRECEDING_PREFIXERS.values(), *FOLLOWING_PREFIXERS.values()})
SPECIALS = frozenset({"and", "double", "triple", "point"})
NUMBER_WORDS = frozenset(
    {
        *ZEROS,
        *ONES,
        *ONES_SUFFIXED,
        *TENS,
        *TENS_SUFFIXED,
        *MULTIPLIERS,
        *MULTIPLIERS_SUFFIXED,
        *PRECEDING_PREFIXERS,
        *FOLLOWING_PREFIXERS,
        "per",
        "percent",
        *SPECIALS,
    }
)

_NUMERIC = re.compile(r"^\d+(\.\d+)?$")
_AND_A_HALF = re.compile(r"\band\s+a\s+half\b")


def _fraction(text: str | int) -> Fraction | None:
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None


def _join_digit(
    value: int | str, digit: int, prev: str | None, modulus: int
) -> int | str:
    """Append a ones word (``digit``) to the number built so far."""
    if isinstance(value, str) or prev in ONES:
        text = str(value)
        if prev in TENS and digit < 10:
            # "...twenty" + "five": the last zero becomes the digit.
            return text[:-1] + str(digit) if text.endswith("0") else text + str(digit)
        return text + str(digit)
    if value % modulus == 0:
        return value + digit
    return str(value) + str(digit)


@dataclass(slots=True)
class _State:
    """The number being built while scanning words left to right."""

    value: int | str | None = None
    prefix: str | None = None
    out: list[str] = field(default_factory=list)

    def emit(self, result: int | str) -> None:
        text = str(result)
        if self.prefix is not None:
            text = self.prefix + text
        self.out.append(text)
        self.value = None
        self.prefix = None

    def flush(self) -> None:
        if self.value is not None:
            self.emit(self.value)


class EnglishNumberNormalizer:
    """Convert spelled-out English numbers (and digits with symbols) to a canonical
    form.

    Expects lower-case text whose punctuation has already been turned into spaces,
    except for ``. % $ ¢ € £``. Call it with a string; it returns a string.
    """

    def __call__(self, text: str) -> str:
        text = self._preprocess(text)
        return self._postprocess(" ".join(self._process_words(text.split())))

    @staticmethod
    def _preprocess(text: str) -> str:
        # "<number> and a half" -> "<number> point five"
        pieces = _AND_A_HALF.split(text)
        kept: list[str] = []
        for i, piece in enumerate(pieces):
            if not piece.strip():
                continue
            kept.append(piece)
            if i < len(pieces) - 1:
                last = piece.rsplit(maxsplit=2)[-1]
                kept.append(
                    "point five"
                    if last in DECIMALS or last in MULTIPLIERS
                    else "and a half"
                )
        text = " ".join(kept)
        # Separate digits from letters, then re-attach ordinal and plural suffixes.
        text = re.sub(r"([a-z])([0-9])", r"\1 \2", text)
        text = re.sub(r"([0-9])([a-z])", r"\1 \2", text)
        return re.sub(r"([0-9])\s+(st|nd|rd|th|s)\b", r"\1\2", text)

    @staticmethod
    def _postprocess(text: str) -> str:
        def combine_cents(m: re.Match[str]) -> str:
            return f"{m.group(1)}{m.group(2)}.{int(m.group(3)):02d}"

        def extract_cents(m: re.Match[str]) -> str:
            return f"¢{int(m.group(1))}"

        # "$2 and ¢7" -> "$2.07"; "$0.07" -> "¢7"
        text = re.sub(r"([€£$])([0-9]+) (?:and )?¢([0-9]{1,2})\b", combine_cents, text)
        text = re.sub(r"[€£$]0.([0-9]{1,2})\b", extract_cents, text)
        # A lone 1 reads better as "one" ("the 1 I saw" -> "the one I saw").
        return re.sub(r"\b1(s?)\b", r"one\1", text)

    def _process_words(self, words: Sequence[str]) -> list[str]:
        state = _State()
        padded: list[str | None] = [None, *words, None]
        skip = False
        for k in range(1, len(padded) - 1):
            if skip:
                skip = False
                continue
            prev, current, nxt = padded[k - 1], padded[k], padded[k + 1]
            assert current is not None
            skip = self._step(state, prev, current, nxt)
        state.flush()
        return state.out

    def _step(self, s: _State, prev: str | None, current: str, nxt: str | None) -> bool:
        """Consume one word; returns True when the next word was consumed too."""
        next_is_numeric = nxt is not None and _NUMERIC.match(nxt) is not None
        has_prefix = current[0] in PREFIXES
        bare = current[1:] if has_prefix else current
        if _NUMERIC.match(bare):
            self._digits(s, current, bare, has_prefix)
        elif current not in NUMBER_WORDS:
            s.flush()
            s.emit(current)
        elif current in ZEROS:
            s.value = str(s.value or "") + "0"
        elif current in ONES:
            digit = ONES[current]
            s.value = (
                digit
                if s.value is None
                else _join_digit(s.value, digit, prev, 10 if digit < 10 else 100)
            )
        elif current in ONES_SUFFIXED:
            digit, suffix = ONES_SUFFIXED[current]
            number = (
                digit
                if s.value is None
                else _join_digit(s.value, digit, prev, 10 if digit < 10 else 100)
            )
            s.emit(f"{number}{suffix}")
        elif current in TENS or current in TENS_SUFFIXED:
            self._tens(s, current)
        elif current in MULTIPLIERS:
            self._multiplier(s, MULTIPLIERS[current])
        elif current in MULTIPLIERS_SUFFIXED:
            self._multiplier_suffixed(s, *MULTIPLIERS_SUFFIXED[current])
        elif current in PRECEDING_PREFIXERS:
            s.flush()
            if nxt in NUMBER_WORDS or next_is_numeric:
                s.prefix = PRECEDING_PREFIXERS[current]
            else:
                s.emit(current)
        elif current in FOLLOWING_PREFIXERS:
            if s.value is not None:
                s.prefix = FOLLOWING_PREFIXERS[current]
                s.emit(s.value)
            else:
                s.emit(current)
        elif current in ("per", "percent"):
            return self._percent(s, current, nxt)
        else:
            return self._special(s, prev, current, nxt, next_is_numeric)
        return False

    @staticmethod
    def _digits(s: _State, current: str, bare: str, has_prefix: bool) -> None:
        if s.value is not None:
            if isinstance(s.value, str) and s.value.endswith("."):
                # digits after "point": decimals, or the parts of an IP address
                s.value = s.value + current
                return
            s.emit(s.value)
        if has_prefix:
            s.prefix = current[0]
        number = _fraction(bare)
        if number is not None and number.denominator == 1:
            s.value = number.numerator
        else:
            s.value = bare

    @staticmethod
    def _tens(s: _State, current: str) -> None:
        if current in TENS:
            tens, suffix = TENS[current], None
        else:
            tens, suffix = TENS_SUFFIXED[current]
        if s.value is None:
            number: int | str = tens
        elif isinstance(s.value, str):
            number = s.value + str(tens)
        elif s.value % 100 == 0:
            number = s.value + tens
        else:
            number = str(s.value) + str(tens)
        if suffix is None:
            s.value = number
        else:
            s.emit(f"{number}{suffix}")

    @staticmethod
    def _scaled(value: int, multiplier: int) -> int:
        # "two thousand three hundred": only the part below a thousand is multiplied.
        return value // 1000 * 1000 + value % 1000 * multiplier

    def _multiplier(self, s: _State, multiplier: int) -> None:
        if s.value is None:
            s.value = multiplier
        elif isinstance(s.value, str) or s.value == 0:
            number = _fraction(s.value)
            product = number * multiplier if number is not None else None
            if product is not None and product.denominator == 1:
                s.value = product.numerator
            else:
                s.emit(s.value)
                s.value = multiplier
        else:
            s.value = self._scaled(s.value, multiplier)

    def _multiplier_suffixed(self, s: _State, multiplier: int, suffix: str) -> None:
        if s.value is None:
            s.emit(f"{multiplier}{suffix}")
        elif isinstance(s.value, str):
            number = _fraction(s.value)
            product = number * multiplier if number is not None else None
            if product is not None and product.denominator == 1:
                s.emit(f"{product.numerator}{suffix}")
            else:
                s.emit(s.value)
                s.emit(f"{multiplier}{suffix}")
        else:
            s.emit(f"{self._scaled(s.value, multiplier)}{suffix}")

    @staticmethod
    def _percent(s: _State, current: str, nxt: str | None) -> bool:
        if s.value is None:
            s.emit(current)
        elif current == "percent":
            s.emit(f"{s.value}%")
        elif nxt == "cent":
            s.emit(f"{s.value}%")
            return True
        else:
            s.emit(s.value)
            s.emit(current)
        return False

    @staticmethod
    def _special(
        s: _State,
        prev: str | None,
        current: str,
        nxt: str | None,
        next_is_numeric: bool,
    ) -> bool:
        if nxt not in NUMBER_WORDS and not next_is_numeric:
            # Only treat it as part of a number when a number can follow.
            s.flush()
            s.emit(current)
        elif current == "and":
            # "and" after hundred, thousand, ... joins the number; elsewhere it is a
            # word.
            if prev not in MULTIPLIERS:
                s.flush()
                s.emit(current)
        elif current in ("double", "triple"):
            if nxt in ONES or nxt in ZEROS:
                repeats = 2 if current == "double" else 3
                s.value = str(s.value or "") + str(ONES.get(nxt or "", 0)) * repeats
                return True
            s.flush()
            s.emit(current)
        elif nxt in DECIMALS or next_is_numeric:  # "point"
            s.value = str(s.value or "") + "."
        return False
