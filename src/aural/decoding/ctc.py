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
  word_insertion_bonus`` per completed word) and hotword boosting
  (:class:`aural.decoding.hotwords.HotwordTrie`).

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
    check_log_probs,
    token_texts,
    word_spans_from_tokens,
)
from aural.decoding.hotwords import Hotword, HotwordState, HotwordTrie
from aural.decoding.lm import LanguageModel
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


class _Context:
    """Text-side state of a prefix: partial word, LM state, hotword state, fused
    bonus."""

    __slots__ = (
        "bonus",
        "hot_score",
        "hot_state",
        "lm_score",
        "lm_state",
        "partial",
        "pending",
    )

    def __init__(
        self,
        partial: str,
        lm_state: object,
        hot_state: HotwordState,
        lm_score: float,
        hot_score: float,
        bonus: float,
        pending: float = 0.0,
    ):
        self.partial = partial
        self.lm_state = lm_state
        self.hot_state = hot_state
        self.lm_score = lm_score
        self.hot_score = hot_score
        self.bonus = bonus  # lm_score + hot_score + insertion bonuses
        self.pending = (
            pending  # look-ahead charge for the partial word, inside lm_score
        )


class CtcPrefixBeamSearch:
    """CTC prefix beam search with optional n-gram LM fusion and hotword boosting.

    Args:
        vocabulary: token strings indexed by id (characters with a ``"|"`` delimiter, or
            sentencepiece pieces with ``"▁"``).
        blank: the blank token id.
        beam_size: prefixes kept after every frame.
        lm: a word language model (:class:`aural.decoding.lm.NgramLM`, ``KenLM``) or
            None.
        lm_weight: weight of ``ln P(word | history)`` added per completed word.
        word_insertion_bonus: added per completed word; None = 1.0 with an LM, else 0.0.
        hotwords: words/phrases to favour (``"word:2.5, a phrase"`` or a sequence).
        hotword_weight: default bonus per matched hotword character (natural log).
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
        if not isinstance(beam_size, int) or beam_size < 1:
            raise ConfigError(f"beam_size must be an integer >= 1, got {beam_size!r}")
        if not 1 <= num_hypotheses <= beam_size:
            raise ConfigError(
                f"num_hypotheses must be in [1, beam_size], got {num_hypotheses}"
            )
        if lm_weight < 0:
            raise ConfigError(f"lm_weight must be >= 0, got {lm_weight}")
        self.vocabulary = list(vocabulary)
        self.blank = blank
        self.beam_size = beam_size
        self.lm = lm
        self.lm_weight = lm_weight
        self.word_insertion_bonus = (
            (1.0 if lm is not None else 0.0)
            if word_insertion_bonus is None
            else float(word_insertion_bonus)
        )
        self.hotwords = HotwordTrie(hotwords, hotword_weight) if hotwords else None
        self.token_min_log_prob = token_min_log_prob
        self.num_hypotheses = num_hypotheses
        self._texts = token_texts(self.vocabulary, word_delimiter)
        # Look-ahead: a partial word that no LM word starts with pays the LM's
        # unknown-word score at once, not when the word ends. Without it, hypotheses
        # that skip the word delimiter defer their LM cost and push the right ones out
        # of the beam ("CABSAT" beats "CAT SAT"). Needs an LM that lists its words
        # (ARPA, Sphinx, KenLM given its vocabulary).
        prefixes = getattr(lm, "word_prefixes", None)
        self._prefixes: frozenset[str] | None = (
            prefixes() if callable(prefixes) else None
        )
        self._oov_charge = (
            lm_weight * float(getattr(lm, "oov_score", 0.0))
            if self._prefixes is not None
            else 0.0
        )

    # --------------------------------------------------------------- text-side scoring
    def _root(self) -> _Context:
        lm_state = self.lm.begin_state() if self.lm is not None else None
        hot = (
            self.hotwords.initial_state if self.hotwords is not None else (0, 0.0, True)
        )
        return _Context("", lm_state, hot, 0.0, 0.0, 0.0)

    def _complete_word(
        self, word: str, lm_state: object
    ) -> tuple[object, float, float]:
        """Next LM state, weighted LM score and total bonus for finishing ``word``."""
        if self.lm is None:
            return None, 0.0, self.word_insertion_bonus
        ln_p, state = self.lm.score(lm_state, word)
        lm = self.lm_weight * ln_p
        return state, lm, lm + self.word_insertion_bonus

    def _extend(self, ctx: _Context, token: int) -> _Context:
        text = self._texts[token]
        if not text:
            return ctx
        partial, lm_state, hot = ctx.partial, ctx.lm_state, ctx.hot_state
        lm_score, hot_score, bonus = ctx.lm_score, ctx.hot_score, ctx.bonus
        pending = ctx.pending
        for ch in text:
            if ch == " ":
                if partial:
                    lm_score, bonus, pending = lm_score - pending, bonus - pending, 0.0
                    lm_state, lm_delta, delta = self._complete_word(partial, lm_state)
                    lm_score += lm_delta
                    bonus += delta
                    partial = ""
                else:
                    continue  # repeated delimiters: one space
            else:
                partial += ch
                if (
                    self._prefixes is not None
                    and not pending
                    and partial.lower() not in self._prefixes
                ):
                    pending = self._oov_charge
                    lm_score, bonus = lm_score + pending, bonus + pending
            if self.hotwords is not None:
                hot, h_delta = self.hotwords.step(hot, ch)
                hot_score += h_delta
                bonus += h_delta
        return _Context(partial, lm_state, hot, lm_score, hot_score, bonus, pending)

    def _final(self, ctx: _Context) -> tuple[float, float, float]:
        """(lm_score, hotword_score, bonus) once the text ends."""
        lm_score, bonus = ctx.lm_score - ctx.pending, ctx.bonus - ctx.pending
        hot_score = ctx.hot_score
        lm_state = ctx.lm_state
        if ctx.partial:
            lm_state, lm_delta, delta = self._complete_word(ctx.partial, lm_state)
            lm_score += lm_delta
            bonus += delta
        if self.lm is not None:
            end = self.lm_weight * self.lm.end_score(lm_state)
            lm_score += end
            bonus += end
        if self.hotwords is not None:
            h = self.hotwords.finish(ctx.hot_state)
            hot_score += h
            bonus += h
        return lm_score, hot_score, bonus

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
        trie = _PrefixTrie(self._root())
        beams: dict[int, list[float]] = {0: [0.0, _NEG]}
        for t in range(lp.shape[0]):
            beams = self._step(lp[t], beams, trie)
        ranked = []
        for node, (pb, pnb) in beams.items():
            acoustic = _lse(pb, pnb)
            lm_score, hot_score, bonus = self._final(trie.context[node])
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
                    child = trie.add(node, c, self._extend)
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

    def __init__(self, root: _Context):
        self.parent: list[int] = [-1]
        self.last: list[int] = [-1]
        self.context: list[_Context] = [root]
        self.children: dict[tuple[int, int], int] = {}

    def add(
        self, node: int, token: int, extend: Callable[[_Context, int], _Context]
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
