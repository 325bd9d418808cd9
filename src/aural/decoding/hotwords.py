"""Hotwords (contextual biasing): the list, the prefix trie, and its character walk.

A hotword list is a set of words or phrases, each with an optional weight, that the
decoder should favour: ``"kubernetes:2.5, new york, aural"``. :class:`HotwordTrie` walks
the decoded text one character at a time. Every character that extends a partial match
earns the hotword's weight (a log-probability bonus); when the match breaks, the bonus
collected so far is taken back (rollback), so only completed hotwords keep it. Matches
start at word beginnings and must end at a word boundary. Matching ignores case.

:class:`PrefixTrie` is the one trie: the CTC decoders walk it over characters
(:class:`HotwordTrie`), Whisper's decoder over its BPE tokens
(``aural.engines.whisper.biasing``).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from aural.errors import ConfigError

__all__ = ["Hotword", "HotwordState", "HotwordTrie", "PrefixTrie", "parse_hotwords"]

K = TypeVar("K", bound=Hashable)

HotwordState = tuple[int, float, bool]
"""(trie node, bonus pending on the unfinished match, whether a word may start here)."""

ROOT_STATE: HotwordState = (0, 0.0, True)


@dataclass(frozen=True, slots=True)
class Hotword:
    """A word or phrase to favour.

    Attributes:
        text: the word or phrase (whitespace is normalised to single spaces).
        weight: bonus per matched character in natural-log units; None = the decoder's
            default ``hotword_weight``.
    """

    text: str
    weight: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text.strip():
            raise ConfigError(
                f"a hotword must be a non-empty string, got {self.text!r}"
            )
        if self.weight is not None and not self.weight >= 0.0:
            raise ConfigError(
                f"hotword weight must be >= 0, got {self.weight!r} for {self.text!r}"
            )
        object.__setattr__(self, "text", " ".join(self.text.split()))


def parse_hotwords(spec: str | Iterable[str | Hotword] | None) -> tuple[Hotword, ...]:
    """Parse ``"word:2.5, a phrase"`` (or a sequence of such items) into hotwords.

    A trailing ``:number`` sets that entry's weight; other entries take the default.

    Raises:
        ConfigError: an entry is empty or its weight is not a non-negative number.
    """
    if spec is None:
        return ()
    items: Iterable[str | Hotword] = spec.split(",") if isinstance(spec, str) else spec
    out: list[Hotword] = []
    for item in items:
        if isinstance(item, Hotword):
            out.append(item)
            continue
        entry = item.strip()
        if not entry:
            continue
        text, sep, weight = entry.rpartition(":")
        if sep and text.strip():
            try:
                value = float(weight)
            except ValueError as err:
                raise ConfigError(
                    f"hotword {entry!r}: the weight after ':' must be a number, got "
                    f"{weight!r}"
                ) from err
            out.append(Hotword(text, value))
        else:
            out.append(Hotword(entry))
    return tuple(out)


class PrefixTrie(Generic[K]):
    """A prefix trie over sequences of units (characters, token ids) with a bonus per
    node: the weight earned on entering it (the largest of the entries through it).
    Node 0 is the root."""

    def __init__(self) -> None:
        self.children: list[dict[K, int]] = [{}]
        self.weight: list[float] = [0.0]
        self.terminal: list[bool] = [False]

    def add(self, units: Sequence[K], weight: float) -> None:
        """Add one entry, ``weight`` earned on each of its units."""
        node = 0
        for unit in units:
            nxt = self.children[node].get(unit)
            if nxt is None:
                nxt = len(self.children)
                self.children[node][unit] = nxt
                self.children.append({})
                self.weight.append(weight)
                self.terminal.append(False)
            else:
                self.weight[nxt] = max(self.weight[nxt], weight)
            node = nxt
        if node:
            self.terminal[node] = True

    def __len__(self) -> int:
        """The number of nodes, the root included."""
        return len(self.children)


class HotwordTrie:
    """A character trie over hotwords, stepped by the beam search.

    Args:
        hotwords: the words/phrases to favour (strings as for :func:`parse_hotwords`).
        default_weight: per-character bonus for entries without their own weight.
    """

    def __init__(
        self, hotwords: Sequence[str | Hotword] | str, default_weight: float = 1.0
    ):
        if not default_weight >= 0.0:
            raise ConfigError(f"hotword_weight must be >= 0, got {default_weight!r}")
        self.hotwords = parse_hotwords(hotwords)
        self.trie: PrefixTrie[str] = PrefixTrie()
        for hw in self.hotwords:
            self.trie.add(
                hw.text.lower(), default_weight if hw.weight is None else hw.weight
            )
        self._children = self.trie.children
        self._weight = self.trie.weight  # bonus earned on entering the node
        self._terminal = self.trie.terminal

    def __len__(self) -> int:
        return len(self.hotwords)

    @property
    def initial_state(self) -> HotwordState:
        return ROOT_STATE

    def step(self, state: HotwordState, char: str) -> tuple[HotwordState, float]:
        """Advance by one decoded character.

        Returns:
            The next state and the score change (a bonus, or minus the pending bonus of
            a match that just broke).
        """
        node, pending, word_start = state
        ch = char.lower()
        if node:
            child = self._children[node].get(ch)
            if ch == " " and self._terminal[node]:
                if child is None:  # complete hotword: keep its bonus
                    return (0, 0.0, True), 0.0
                w = self._weight[
                    child
                ]  # complete, and may continue into a longer phrase
                return (child, w, False), w
            if child is not None:
                w = self._weight[child]
                return (child, pending + w, False), w
            return (0, 0.0, ch == " "), -pending
        if ch == " ":
            return (0, 0.0, True), 0.0
        child = self._children[0].get(ch) if word_start else None
        if child is not None:
            w = self._weight[child]
            return (child, w, False), w
        return (0, 0.0, False), 0.0

    def finish(self, state: HotwordState) -> float:
        """Score change at the end of the text: a partial match gives its bonus back."""
        node, pending, _ = state
        if node and not self._terminal[node]:
            return -pending
        return 0.0
