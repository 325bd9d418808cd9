"""Hotwords as trie shallow fusion over Whisper's BPE tokens.

Each hotword (and phrase) is tokenised in its spellings (as given, each word
capitalised), with and without a leading space, into one :class:`PrefixTrie` of token
ids. During the beam search every hypothesis carries a trie state. A token that extends
a trie path earns its entry's weight (natural-log units, per token); a match that breaks
gives back everything it earned (so partial matches earn nothing); a match that reaches
the end of an entry keeps its bonus only if the next token is a word boundary (a token
starting with a space or punctuation, the end of text or a timestamp), so that a
hotword "Smith" earns nothing inside "Smithson".

:meth:`TokenBiasing.deltas` gives, for a set of hypotheses, the score change of every
vocabulary token at once (what the beam search adds to the log-probabilities before it
picks its candidates); :meth:`TokenBiasing.step` advances one hypothesis by the token it
took and returns the same change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from aural.decoding.hotwords import PrefixTrie, parse_hotwords

__all__ = ["BiasState", "TokenBiasing", "TokenClasses"]

_OPENERS = "\"'“¿([{-"  # a word may start right after these without a space


@dataclass(frozen=True, slots=True)
class BiasState:
    """Where one hypothesis stands in the trie.

    Attributes:
        node: the trie node (0: no match under way).
        pending: bonus earned by the match under way, given back if it breaks.
        can_start: whether a token without a leading space may start a match here
            (the start of the text, or after an opening quote or bracket).
    """

    node: int = 0
    pending: float = 0.0
    can_start: bool = True


START = BiasState()


def spellings(text: str) -> list[str]:
    """The spellings of one entry: as given, and with each word capitalised (a
    sentence's first word; a name given in lower case). Lower case is not added: a
    name given capitalised is not written in lower case."""
    out: list[str] = []
    for variant in (text, " ".join(w[:1].upper() + w[1:] for w in text.split())):
        if variant not in out:
            out.append(variant)
    return out


class TokenClasses:
    """What the trie walk needs to know of every token of one Whisper vocabulary
    (computed once per model: decoding 50,000 tokens takes tens of milliseconds).

    Args:
        tokenizer: the ``tokenizers.Tokenizer`` of the model (faster-whisper's
            ``hf_tokenizer``).
        vocab_size: the decoder's output size (timestamp tokens included).
        eot: the end-of-text id; it and every id above it are specials.

    Attributes:
        space: the token starts with a space (it starts a word).
        boundary: the token ends a word before it (a space or punctuation first, or a
            special token).
        opens: a word may follow without a space (an opening quote or bracket last, or
            a special token).
    """

    def __init__(self, tokenizer: Any, vocab_size: int, eot: int) -> None:
        self.tokenizer, self.vocab_size, self.eot = tokenizer, vocab_size, eot
        texts = tokenizer.decode_batch([[i] for i in range(eot)])
        self.space = np.zeros(vocab_size, dtype=bool)
        self.boundary = np.ones(vocab_size, dtype=bool)  # specials are boundaries
        self.opens = np.ones(vocab_size, dtype=bool)
        for i, text in enumerate(texts):
            self.space[i] = text.startswith(" ")
            self.boundary[i] = not text or text[0] == " " or not text[0].isalnum()
            self.opens[i] = bool(text) and text[-1] in _OPENERS

    def encode(self, text: str) -> list[int]:
        ids: list[int] = self.tokenizer.encode(text, add_special_tokens=False).ids
        return ids


class TokenBiasing:
    """A hotword list compiled for one Whisper vocabulary.

    Args:
        hotwords: entries as ``DecodeOptions.hotwords`` holds them (``"word:2.5"``).
        classes: the vocabulary's :class:`TokenClasses`.
        default_weight: bonus per matched token for entries without their own weight.
    """

    def __init__(
        self,
        hotwords: Sequence[str],
        classes: TokenClasses,
        default_weight: float,
    ) -> None:
        self.entries = parse_hotwords(list(hotwords))
        self.default_weight = float(default_weight)
        self.vocab_size = classes.vocab_size
        self.trie: PrefixTrie[int] = PrefixTrie()
        for hw in self.entries:
            weight = self.default_weight if hw.weight is None else hw.weight
            for variant in spellings(hw.text):
                for lead in (" ", ""):
                    self.trie.add(classes.encode(lead + variant), weight)
        space, boundary = classes.space, classes.boundary
        self.space, self.boundary, self.opens = space, boundary, classes.opens
        root = self.trie.children[0]
        self._root_space = {t: n for t, n in root.items() if space[t]}
        self._root_plain = {t: n for t, n in root.items() if not space[t]}
        weights = self.trie.weight
        self._space_ids = np.fromiter(self._root_space, dtype=np.int64)
        self._space_w = np.array(
            [weights[n] for n in self._root_space.values()], dtype=np.float32
        )
        self._plain_ids = np.fromiter(self._root_plain, dtype=np.int64)
        self._plain_w = np.array(
            [weights[n] for n in self._root_plain.values()], dtype=np.float32
        )
        self._plain_boundary = boundary[self._plain_ids]

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def start(self) -> BiasState:
        return START

    def _bases(self, state: BiasState) -> tuple[float, float]:
        """The change for a token that neither extends nor starts a match: (for a
        boundary token, for any other)."""
        if not state.node:
            return 0.0, 0.0
        kept = 0.0 if self.trie.terminal[state.node] else -state.pending
        return kept, -state.pending

    def step(self, state: BiasState, token: int) -> tuple[BiasState, float]:
        """Advance ``state`` by ``token``: the next state and the score change."""
        trie = self.trie
        boundary = bool(self.boundary[token])
        if state.node:
            child = trie.children[state.node].get(token)
            if child is not None:
                w = trie.weight[child]
                banked = trie.terminal[state.node] and boundary
                return BiasState(
                    child, (0.0 if banked else state.pending) + w, False
                ), w
        kept, lost = self._bases(state)
        delta = kept if boundary else lost
        if token < self.space.size and (self.space[token] or state.can_start):
            start = (self._root_space if self.space[token] else self._root_plain).get(
                token
            )
            if start is not None:
                w = trie.weight[start]
                return BiasState(start, w, False), delta + w
        return BiasState(0, 0.0, bool(self.opens[token])), delta

    def deltas(self, states: Sequence[BiasState]) -> np.ndarray:
        """The score change of every token for each state: ``(len(states), vocab)``,
        float32; equal to what :meth:`step` returns for that token."""
        out = np.zeros((len(states), self.vocab_size), dtype=np.float32)
        trie = self.trie
        for row, state in enumerate(states):
            kept, lost = self._bases(state)
            line = out[row]
            if state.node:
                line[:] = lost
                line[self.boundary] = kept
            if self._space_ids.size:
                line[self._space_ids] = kept + self._space_w
            if state.can_start and self._plain_ids.size:
                line[self._plain_ids] = (
                    np.where(self._plain_boundary, kept, lost) + self._plain_w
                )
            if state.node:
                for token, child in trie.children[state.node].items():
                    line[token] = trie.weight[child]
        return out
