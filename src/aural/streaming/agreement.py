"""Local agreement: the part of a re-decoded hypothesis that is stable enough to commit.

Each re-decode of a growing buffer yields a hypothesis; words on which two consecutive
hypotheses agree (as a prefix, after the words already committed) are committed. This
is the LocalAgreement-2 policy of Macháček et al., "Turning Whisper into Real-Time
Transcription System" (2023).
"""

from __future__ import annotations

import re

__all__ = ["agreed_prefix", "normalize_word", "split_words"]

_STRIP = re.compile(r"[^\w']+")


def normalize_word(word: str) -> str:
    """Lower case without surrounding punctuation, for comparing hypotheses."""
    return _STRIP.sub("", word.lower())


def split_words(text: str) -> list[str]:
    """Whitespace tokens of ``text`` (punctuation stays attached, as displayed)."""
    return text.split()


def agreed_prefix(previous: list[str], current: list[str]) -> int:
    """Number of leading words on which two hypotheses agree (punctuation/case ignored).

    >>> agreed_prefix(["Hello,", "world"], ["hello", "world", "again"])
    2
    """
    n = 0
    for a, b in zip(previous, current):
        if normalize_word(a) != normalize_word(b):
            break
        n += 1
    return n
