"""CTC decoding over log posteriors: greedy and prefix beam search.

Every decoder here is a pure function of a ``(num_frames, vocab_size)`` array of log
posteriors, a vocabulary (token strings indexed by id) and a blank index, so acoustic
models of any kind (transformers wav2vec2/HuBERT, aural's own Conformer-CTC) share them.

* :func:`ctc_greedy` / :func:`ctc_greedy_spans`: best token per frame, collapsed.
* :class:`CtcGreedyDecoder` and :class:`CtcPrefixBeamSearch` return
  :class:`Hypothesis` objects with text, tokens, scores and word spans (frames and
  confidences from the posteriors; :meth:`Hypothesis.to_words` turns them into
  :class:`aural.types.Word` with times ``frame_index * frame_duration``).
* The beam search fuses a word n-gram LM (shallow fusion: ``lm_weight * ln P(word) +
  word_insertion_bonus`` per completed word) and hotword boosting, both scored by
  :class:`aural.decoding.text_scorer.TextScorer` (the transducer search's too).

Example:
    >>> decoder = CtcPrefixBeamSearch(
    ...     vocab, blank=0, beam_size=16, lm=NgramLM.from_arpa(p)
    ... )
    >>> best = decoder.decode(log_probs)[0]
    >>> best.text, best.to_words(frame_duration=0.02)
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from aural.decoding.alignment import ctc_forced_align
from aural.decoding.ctc_tokens import (
    TokenSpan,
    WordSpan,
    check_beam,
    check_log_probs,
    token_texts,
    word_spans_from_tokens,
)
from aural.decoding.hotwords import Hotword
from aural.decoding.lm import LanguageModel
from aural.decoding.text_scorer import TextContext, TextScorer
from aural.errors import ConfigError, OptionConflictError
from aural.types import Word

__all__ = [
    "CtcGreedyDecoder",
    "CtcPrefixBeamSearch",
    "Hypothesis",
    "TokenSpan",
    "WordSpan",
    "ctc_decoder",
    "ctc_greedy",
    "ctc_greedy_spans",
    "log_softmax",
]

_NEG = -math.inf


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log posteriors from logits along the last axis (float32)."""
    x = np.asarray(logits, dtype=np.float32)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def ctc_greedy(log_probs: np.ndarray, blank: int = 0) -> list[int]:
    """Best path decoding: argmax per frame, repeats collapsed, blanks removed.

    Args:
        log_probs: ``(num_frames, vocab_size)`` log posteriors (or logits).
        blank: the blank token id.

    Returns:
        The decoded token ids.
    """
    check_log_probs(log_probs, blank)
    best = np.argmax(log_probs, axis=1)
    if best.size == 0:
        return []
    keep = np.ones(best.shape[0], dtype=bool)
    keep[1:] = best[1:] != best[:-1]
    return [int(t) for t in best[keep] if t != blank]


def ctc_greedy_spans(log_probs: np.ndarray, blank: int = 0) -> tuple[TokenSpan, ...]:
    """Greedy decoding with the frames each emitted token covers.

    Returns:
        One :class:`TokenSpan` per decoded token: the run of frames whose argmax is that
        token, with the mean log posterior over the run.
    """
    check_log_probs(log_probs, blank)
    best = np.argmax(log_probs, axis=1)
    spans: list[TokenSpan] = []
    t, num_frames = 0, best.shape[0]
    while t < num_frames:
        tok = int(best[t])
        u = t + 1
        while u < num_frames and best[u] == tok:
            u += 1
        if tok != blank:
            spans.append(TokenSpan(tok, t, u, float(log_probs[t:u, tok].mean())))
        t = u
    return tuple(spans)


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """One decoding result.

    Attributes:
        text: the decoded text (words joined by single spaces).
        tokens: the collapsed token ids.
        score: the total score used for ranking (acoustic + fused
            LM + bonuses + hotwords).
        acoustic_score: ln P(tokens | audio) under CTC (sum over paths; best path for
            greedy).
        lm_score: the weighted LM contribution (``lm_weight * sum ln P``), 0 without an
            LM.
        hotword_score: the hotword bonus kept by the final text.
        word_spans: words with frame spans and confidences.
        token_spans: frame spans of every token (best alignment of ``tokens``).
    """

    text: str
    tokens: tuple[int, ...]
    score: float
    acoustic_score: float
    lm_score: float = 0.0
    hotword_score: float = 0.0
    word_spans: tuple[WordSpan, ...] = ()
    token_spans: tuple[TokenSpan, ...] = ()

    def to_words(self, frame_duration: float, offset: float = 0.0) -> tuple[Word, ...]:
        """The words with times in seconds.

        Args:
            frame_duration: seconds per posterior frame (0.02 for wav2vec2).
            offset: seconds added to every time (where the posteriors start in the
                input).
        """
        return tuple(
            Word(
                ws.start(frame_duration, offset),
                ws.end(frame_duration, offset),
                ws.text,
                ws.probability,
            )
            for ws in self.word_spans
        )


def _join_text(texts: Sequence[str], tokens: Sequence[int]) -> str:
    return " ".join("".join(texts[t] for t in tokens).split())


class CtcGreedyDecoder:
    """Greedy (best path) decoding returning a :class:`Hypothesis` with word spans.

    Args:
        vocabulary: token strings indexed by id.
        blank: the blank token id.
        word_delimiter: the token standing for a space (wav2vec2 ``"|"``), if any.
    """

    def __init__(
        self,
        vocabulary: Sequence[str],
        blank: int = 0,
        word_delimiter: str | None = "|",
    ):
        if not 0 <= blank < len(vocabulary):
            raise ConfigError(
                f"blank index {blank} is outside the vocabulary of {len(vocabulary)}"
            )
        self.vocabulary = list(vocabulary)
        self.blank = blank
        self._texts = token_texts(self.vocabulary, word_delimiter)

    def decode(self, log_probs: np.ndarray) -> list[Hypothesis]:
        """Decode ``(num_frames, vocab_size)`` log posteriors; returns a one-item
        list."""
        check_log_probs(log_probs, self.blank, len(self.vocabulary))
        spans = ctc_greedy_spans(log_probs, self.blank)
        tokens = tuple(s.token for s in spans)
        acoustic = float(log_probs.max(axis=1).sum()) if log_probs.shape[0] else 0.0
        return [
            Hypothesis(
                _join_text(self._texts, tokens),
                tokens,
                acoustic,
                acoustic,
                word_spans=word_spans_from_tokens(spans, self._texts),
                token_spans=spans,
            )
        ]


def _lse(a: float, b: float) -> float:
    if a < b:
        a, b = b, a
    if b == _NEG:
        return a
    return a + math.log1p(math.exp(b - a))


class CtcPrefixBeamSearch:
    """CTC prefix beam search with optional n-gram LM fusion and hotword boosting.

    Args:
        vocabulary: token strings indexed by id (characters with a ``"|"`` delimiter, or
            sentencepiece pieces with ``"▁"``).
        blank: the blank token id.
        beam_size: prefixes kept after every frame.
        lm, lm_weight, word_insertion_bonus, hotwords, hotword_weight: n-gram LM
            fusion and hotword boosting, as
            :class:`~aural.decoding.text_scorer.TextScorer` takes them.
        word_delimiter: the token standing for a space, if any.
        token_min_log_prob: tokens below this log posterior in a frame are not expanded
            (the frame's best token always is).
        num_hypotheses: how many results :meth:`decode` returns (<= beam_size).
    """

    def __init__(
        self,
        vocabulary: Sequence[str],
        blank: int = 0,
        beam_size: int = 16,
        lm: LanguageModel | None = None,
        lm_weight: float = 0.5,
        word_insertion_bonus: float | None = None,
        hotwords: str | Sequence[str | Hotword] | None = None,
        hotword_weight: float = 1.0,
        word_delimiter: str | None = "|",
        token_min_log_prob: float = -8.0,
        num_hypotheses: int = 1,
    ):
        if not 0 <= blank < len(vocabulary):
            raise ConfigError(
                f"blank index {blank} is outside the vocabulary of {len(vocabulary)}"
            )
        check_beam(beam_size, num_hypotheses)
        self.vocabulary = list(vocabulary)
        self.blank = blank
        self.beam_size = beam_size
        self.lm = lm
        self.token_min_log_prob = token_min_log_prob
        self.num_hypotheses = num_hypotheses
        self._texts = token_texts(self.vocabulary, word_delimiter)
        self.text_scorer = TextScorer(
            self._texts, lm, lm_weight, word_insertion_bonus, hotwords, hotword_weight
        )

    # ---------------------------------------------------------------------- search
    def decode(self, log_probs: np.ndarray) -> list[Hypothesis]:
        """Decode ``(num_frames, vocab_size)`` log posteriors.

        Returns:
            Up to ``num_hypotheses`` hypotheses, best first, each with word spans.
        """
        check_log_probs(log_probs, self.blank, len(self.vocabulary))
        lp = np.asarray(log_probs, dtype=np.float64)
        # Prefixes live in a trie of integer ids (0 = empty), so extending and hashing a
        # prefix costs O(1) however long it is.
        trie = _PrefixTrie(self.text_scorer.root())
        beams: dict[int, list[float]] = {0: [0.0, _NEG]}
        for t in range(lp.shape[0]):
            beams = self._step(lp[t], beams, trie)
        ranked = []
        for node, (pb, pnb) in beams.items():
            acoustic = _lse(pb, pnb)
            lm_score, hot_score, bonus = self.text_scorer.final(trie.context[node])
            ranked.append((acoustic + bonus, node, acoustic, lm_score, hot_score))
        ranked.sort(key=lambda r: r[0], reverse=True)
        out = []
        for score, node, acoustic, lm_score, hot_score in ranked[: self.num_hypotheses]:
            prefix = trie.tokens(node)
            spans = ctc_forced_align(log_probs, prefix, self.blank)[0] if prefix else ()
            out.append(
                Hypothesis(
                    _join_text(self._texts, prefix),
                    prefix,
                    score,
                    acoustic,
                    lm_score,
                    hot_score,
                    word_spans_from_tokens(spans, self._texts),
                    spans,
                )
            )
        return out

    def _step(
        self, frame: np.ndarray, beams: dict[int, list[float]], trie: _PrefixTrie
    ) -> dict[int, list[float]]:
        lp_blank = float(frame[self.blank])
        cand = np.flatnonzero(frame >= self.token_min_log_prob)
        best = int(np.argmax(frame))
        candidates = [(int(c), float(frame[c])) for c in cand if c != self.blank]
        if best != self.blank and best not in cand:
            candidates.append((best, float(frame[best])))
        nxt: dict[int, list[float]] = {}
        last_of, children = trie.last, trie.children
        for node, (pb, pnb) in beams.items():
            total = _lse(pb, pnb)
            entry = nxt.setdefault(node, [_NEG, _NEG])
            entry[0] = _lse(entry[0], total + lp_blank)
            last = last_of[node]
            for c, lpc in candidates:
                child = children.get((node, c))
                if child is None:
                    child = trie.add(node, c, self.text_scorer.extend)
                slot = nxt.setdefault(child, [_NEG, _NEG])
                if c == last:
                    entry[1] = _lse(
                        entry[1], pnb + lpc
                    )  # repeat collapses into the prefix
                    slot[1] = _lse(slot[1], pb + lpc)  # a blank separated the repeat
                else:
                    slot[1] = _lse(slot[1], total + lpc)
        if len(nxt) <= self.beam_size:
            return nxt
        context = trie.context
        kept = heapq.nlargest(
            self.beam_size,
            nxt.items(),
            key=lambda kv: _lse(kv[1][0], kv[1][1]) + context[kv[0]].bonus,
        )
        return dict(kept)


class _PrefixTrie:
    """Token prefixes as integer ids with their parent, last token and text context."""

    __slots__ = ("children", "context", "last", "parent")

    def __init__(self, root: TextContext):
        self.parent: list[int] = [-1]
        self.last: list[int] = [-1]
        self.context: list[TextContext] = [root]
        self.children: dict[tuple[int, int], int] = {}

    def add(
        self, node: int, token: int, extend: Callable[[TextContext, int], TextContext]
    ) -> int:
        """Create the child of ``node`` by ``token`` (it must not exist yet)."""
        found = len(self.parent)
        self.children[(node, token)] = found
        self.parent.append(node)
        self.last.append(token)
        self.context.append(extend(self.context[node], token))
        return found

    def tokens(self, node: int) -> tuple[int, ...]:
        out = []
        while node > 0:
            out.append(self.last[node])
            node = self.parent[node]
        return tuple(reversed(out))


def refuse_beam_options(
    hotwords: Sequence[str], lm: object | None, lm_name: str | None
) -> None:
    """Greedy decoding has no beam to rescore: hotwords and an LM need one.

    Raises:
        OptionConflictError: ``hotwords`` or ``lm`` given.
    """
    if hotwords:
        raise OptionConflictError(
            f"hotwords {list(hotwords)!r} need beam search; use beam_size > 1"
        )
    if lm is not None:
        raise OptionConflictError(
            f"the language model {lm_name!r} needs beam search; use beam_size > 1"
        )


def ctc_decoder(
    vocabulary: Sequence[str],
    blank: int,
    beam_size: int,
    hotwords: Sequence[str] = (),
    *,
    lm: LanguageModel | None = None,
    lm_name: str | None = None,
    lm_weight: float = 0.5,
    word_insertion_bonus: float | None = None,
    hotword_weight: float = 1.0,
    word_delimiter: str | None = None,
) -> CtcGreedyDecoder | CtcPrefixBeamSearch:
    """The decoder a CTC engine's options ask for: greedy for ``beam_size == 1``, else
    the prefix beam search with ``lm`` and ``hotwords``.

    Raises:
        OptionConflictError: hotwords or an LM with ``beam_size == 1`` (they need the
            beam).
    """
    if beam_size <= 1:
        refuse_beam_options(hotwords, lm, lm_name)
        return CtcGreedyDecoder(vocabulary, blank, word_delimiter)
    return CtcPrefixBeamSearch(
        vocabulary,
        blank,
        beam_size=beam_size,
        lm=lm,
        lm_weight=lm_weight,
        word_insertion_bonus=word_insertion_bonus,
        hotwords=list(hotwords) or None,
        hotword_weight=hotword_weight,
        word_delimiter=word_delimiter,
    )
