"""The text side of a beam search: LM fusion and hotword boosting of a token prefix.

A search over tokens (the CTC prefix beam search, the transducer's modified beam
search) keeps, beside each prefix's acoustic score, a :class:`TextContext`: the word
being spelt, the LM state after the finished words, the hotword trie state and the
bonus the text has earned so far. :class:`TextScorer` owns how that context is started
(:meth:`TextScorer.root`), extended by one token (:meth:`TextScorer.extend`) and
closed when the text ends (:meth:`TextScorer.final`), so every search fuses an LM and
biases hotwords the same way:

* shallow fusion: ``lm_weight * ln P(word | history) + word_insertion_bonus`` per
  finished word, and ``lm_weight * ln P(</s> | history)`` at the end;
* LM look-ahead: a partial word that no LM word starts with pays the LM's
  unknown-word score at once, not when the word ends;
* hotwords: :class:`aural.decoding.hotwords.HotwordTrie`'s per-character bonus.

Example:
    >>> scorer = TextScorer(token_texts(vocab, "|"), lm=NgramLM.from_arpa(p))
    >>> ctx = scorer.extend(scorer.root(), token)
    >>> lm_score, hotword_score, bonus = scorer.final(ctx)
"""

from __future__ import annotations

from collections.abc import Sequence

from aural.decoding.hotwords import Hotword, HotwordState, HotwordTrie
from aural.decoding.lm import LanguageModel
from aural.errors import ConfigError

__all__ = ["TextContext", "TextScorer"]


class TextContext:
    """Text-side state of a prefix (immutable once made; :meth:`TextScorer.extend`
    returns a new one).

    Attributes:
        partial: the word being spelt (not yet scored by the LM).
        lm_state: the LM state after the finished words (None without an LM).
        hot_state: the hotword trie state.
        lm_score: the weighted LM score so far (look-ahead charge included).
        hot_score: the hotword bonus so far.
        bonus: ``lm_score + hot_score`` + word insertion bonuses: what ranks the
            prefix beside its acoustic score.
        pending: the look-ahead charge of the partial word, inside ``lm_score``.
    """

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
        self.bonus = bonus
        self.pending = pending


class TextScorer:
    """Scores the text a token prefix spells: n-gram LM fusion and hotwords.

    Args:
        texts: each token's text, indexed by id (:func:`aural.decoding.ctc_tokens.
            token_texts`: ``""`` for specials, ``" "`` for a word delimiter).
        lm: a word language model (:class:`aural.decoding.lm.NgramLM`, ``KenLM``) or
            None.
        lm_weight: weight of ``ln P(word | history)`` added per finished word.
        word_insertion_bonus: added per finished word; None = 1.0 with an LM, else 0.0.
        hotwords: words/phrases to favour (``"word:2.5, a phrase"`` or a sequence).
        hotword_weight: default bonus per matched hotword character (natural log).

    Raises:
        ConfigError: a negative ``lm_weight``.
    """

    def __init__(
        self,
        texts: Sequence[str],
        lm: LanguageModel | None = None,
        lm_weight: float = 0.5,
        word_insertion_bonus: float | None = None,
        hotwords: str | Sequence[str | Hotword] | None = None,
        hotword_weight: float = 1.0,
    ):
        if lm_weight < 0:
            raise ConfigError(f"lm_weight must be >= 0, got {lm_weight}")
        self.texts = list(texts)
        self.lm = lm
        self.lm_weight = lm_weight
        self.word_insertion_bonus = (
            (1.0 if lm is not None else 0.0)
            if word_insertion_bonus is None
            else float(word_insertion_bonus)
        )
        self.hotwords = HotwordTrie(hotwords, hotword_weight) if hotwords else None
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

    def root(self) -> TextContext:
        """The context of the empty prefix."""
        lm_state = self.lm.begin_state() if self.lm is not None else None
        hot = (
            self.hotwords.initial_state if self.hotwords is not None else (0, 0.0, True)
        )
        return TextContext("", lm_state, hot, 0.0, 0.0, 0.0)

    def _complete_word(
        self, word: str, lm_state: object
    ) -> tuple[object, float, float]:
        """Next LM state, weighted LM score and total bonus for finishing ``word``."""
        if self.lm is None:
            return None, 0.0, self.word_insertion_bonus
        ln_p, state = self.lm.score(lm_state, word)
        lm = self.lm_weight * ln_p
        return state, lm, lm + self.word_insertion_bonus

    def extend(self, ctx: TextContext, token: int) -> TextContext:
        """The context after ``token`` (``ctx`` itself for a token with no text)."""
        text = self.texts[token]
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
        return TextContext(partial, lm_state, hot, lm_score, hot_score, bonus, pending)

    def final(self, ctx: TextContext) -> tuple[float, float, float]:
        """``(lm_score, hotword_score, bonus)`` once the text ends: the partial word
        finished, the LM's end of sentence and the hotword trie's last match scored."""
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
