"""Transducer (RNN-T) decoding: greedy and modified beam search, LM fusion, hotwords.

Both searches run over a :class:`TransducerScorer`: the model's view that turns token
contexts into predictor outputs and (encoder frame, predictor outputs) into joiner
log-probabilities. The searches never see tensors themselves, so this module needs
only numpy; :class:`aural.models.transducer.TransducerScorer` is the torch one.

* :class:`TransducerGreedyDecoder`: the best token per frame; at most one symbol per
  frame (blank moves to the next frame).
* :class:`TransducerBeamSearch`: modified beam search (Kang et al. 2023, as in icefall):
  at each frame every hypothesis is extended by blank or by one token, and the
  ``beam_size`` best of all extensions are kept (equal token sequences merged). A word
  n-gram LM (shallow fusion: ``lm_weight * ln P(word) + word_insertion_bonus`` per
  finished word) and hotwords are scored by
  :class:`~aural.decoding.text_scorer.TextScorer`, as in the CTC prefix search, so
  both decoders fuse and bias the same way.

Both are incremental: :meth:`begin` returns a :class:`TransducerSearch` that takes
encoder frames as they come (:meth:`TransducerSearch.advance`), which is how native
streaming decodes; :meth:`decode` is ``begin``, one ``advance`` and ``hypotheses``.
Word times come from the frames that emitted each word's tokens; confidences from the
emitted tokens' log-probabilities.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from aural.decoding.ctc import Hypothesis, refuse_beam_options
from aural.decoding.ctc_tokens import (
    TokenSpan,
    check_beam,
    token_texts,
    word_spans_from_tokens,
)
from aural.decoding.hotwords import Hotword
from aural.decoding.lm import LanguageModel
from aural.decoding.text_scorer import TextScorer
from aural.errors import ConfigError

__all__ = [
    "TransducerBeamSearch",
    "TransducerGreedyDecoder",
    "TransducerScorer",
    "TransducerSearch",
    "transducer_decoder",
]


class TransducerScorer(Protocol):
    """What the searches need of a transducer.

    Attributes:
        blank: the blank id.
        context_size: tokens of history the predictor looks at (contexts are padded
            on the left with ``blank``).
        vocab_size: output tokens.
    """

    blank: int
    context_size: int
    vocab_size: int

    def predict(self, contexts: list[tuple[int, ...]]) -> list[Any]:
        """Predictor outputs (opaque to the search) for each context."""
        ...

    def log_probs(self, frame: Any, preds: list[Any]) -> np.ndarray:
        """``(len(preds), vocab_size)`` joiner log-probabilities at ``frame``."""
        ...


@dataclass(frozen=True, slots=True)
class _Path:
    """One hypothesis: tokens, the frame and log-probability of each, its acoustic
    log-probability and its text-side context (LM / hotword state)."""

    tokens: tuple[int, ...]
    frames: tuple[int, ...]
    token_lps: tuple[float, ...]
    acoustic: float
    ctx: Any  # a TextContext (None for greedy)


def _context(tokens: tuple[int, ...], size: int, blank: int) -> tuple[int, ...]:
    tail = tokens[-size:]
    return (blank,) * (size - len(tail)) + tail


class _Base:
    """What both searches share: the vocabulary, ``begin``/``decode`` and turning a
    path into a :class:`Hypothesis`; each search defines the three steps below."""

    num_hypotheses = 1

    def __init__(
        self, vocabulary: Sequence[str], blank: int, word_delimiter: str | None
    ) -> None:
        if not 0 <= blank < len(vocabulary):
            raise ConfigError(
                f"blank index {blank} is outside the vocabulary of {len(vocabulary)}"
            )
        self.vocabulary = list(vocabulary)
        self.blank = blank
        self._texts = token_texts(self.vocabulary, word_delimiter)

    def begin(self, scorer: TransducerScorer) -> TransducerSearch:
        """A search over one utterance or stream, fed frames as they come."""
        self._check(scorer)
        return TransducerSearch(self, scorer)

    def decode(
        self, scorer: TransducerScorer, frames: Iterable[Any]
    ) -> list[Hypothesis]:
        """Decode one utterance's encoder frames; up to ``num_hypotheses`` (1 for
        greedy), best first."""
        search = self.begin(scorer)
        search.advance(frames)
        return search.hypotheses(self.num_hypotheses)

    def _root_context(self) -> Any:
        raise NotImplementedError

    def _step(
        self, scorer: TransducerScorer, frame: Any, paths: list[_Path], t: int
    ) -> list[_Path]:
        raise NotImplementedError

    def _finish(self, paths: list[_Path], num: int) -> list[Hypothesis]:
        raise NotImplementedError

    def _check(self, scorer: TransducerScorer) -> None:
        if scorer.vocab_size != len(self.vocabulary):
            raise ConfigError(
                f"the transducer has {scorer.vocab_size} tokens but the vocabulary "
                f"has {len(self.vocabulary)}; pass the vocabulary it was trained with"
            )
        if scorer.blank != self.blank:
            raise ConfigError(
                f"the transducer's blank is {scorer.blank}, the decoder's {self.blank}"
            )

    def _hypothesis(
        self, path: _Path, score: float, lm_score: float = 0.0, hot: float = 0.0
    ) -> Hypothesis:
        spans = tuple(
            TokenSpan(tok, f, f + 1, lp)
            for tok, f, lp in zip(path.tokens, path.frames, path.token_lps, strict=True)
        )
        text = " ".join("".join(self._texts[t] for t in path.tokens).split())
        return Hypothesis(
            text,
            path.tokens,
            score,
            path.acoustic,
            lm_score,
            hot,
            word_spans_from_tokens(spans, self._texts),
            spans,
        )


class TransducerSearch:
    """One running search (an utterance or a stream): feed encoder frames, read the
    hypotheses at any time.

    Create it with :meth:`TransducerGreedyDecoder.begin` or
    :meth:`TransducerBeamSearch.begin`.
    """

    def __init__(self, decoder: _Base, scorer: Any) -> None:
        self.decoder = decoder
        self.scorer = scorer
        self.num_frames = 0
        root = decoder._root_context()
        self.paths: list[_Path] = [_Path((), (), (), 0.0, root)]

    def advance(self, frames: Iterable[Any]) -> None:
        """Search over the next encoder frames (rows of the projected encoder output
        for the torch scorer)."""
        for frame in frames:
            self.paths = self.decoder._step(
                self.scorer, frame, self.paths, self.num_frames
            )
            self.num_frames += 1

    def hypotheses(self, num: int = 1) -> list[Hypothesis]:
        """The ``num`` best hypotheses so far (the text's end scored as final)."""
        return self.decoder._finish(self.paths, num)

    def best_text(self) -> str:
        """The best hypothesis' text so far (cheap: no word spans)."""
        return self.hypotheses(1)[0].text


class TransducerGreedyDecoder(_Base):
    """Greedy search: per frame, the most probable token (blank or at most one label).

    Args:
        vocabulary: token strings indexed by id.
        blank: the blank id.
        word_delimiter: the token standing for a space, if any.
    """

    def __init__(
        self,
        vocabulary: Sequence[str],
        blank: int = 0,
        word_delimiter: str | None = None,
    ) -> None:
        super().__init__(vocabulary, blank, word_delimiter)

    def _root_context(self) -> Any:
        return None

    def _step(
        self, scorer: TransducerScorer, frame: Any, paths: list[_Path], t: int
    ) -> list[_Path]:
        path = paths[0]
        ctx = _context(path.tokens, scorer.context_size, self.blank)
        lp = scorer.log_probs(frame, scorer.predict([ctx]))[0]
        best = int(np.argmax(lp))
        score = float(lp[best])
        if best == self.blank:
            return [
                _Path(
                    path.tokens,
                    path.frames,
                    path.token_lps,
                    path.acoustic + score,
                    None,
                )
            ]
        return [
            _Path(
                (*path.tokens, best),
                (*path.frames, t),
                (*path.token_lps, score),
                path.acoustic + score,
                None,
            )
        ]

    def _finish(self, paths: list[_Path], num: int) -> list[Hypothesis]:
        return [self._hypothesis(paths[0], paths[0].acoustic)]


class TransducerBeamSearch(_Base):
    """Modified beam search (one symbol per frame per step) with optional n-gram LM
    fusion and hotword boosting.

    Args:
        vocabulary: token strings indexed by id.
        blank: the blank id.
        beam_size: hypotheses kept after every frame.
        lm, lm_weight, word_insertion_bonus, hotwords, hotword_weight: n-gram LM
            fusion and hotword boosting, as
            :class:`~aural.decoding.text_scorer.TextScorer` takes them.
        word_delimiter: the token standing for a space, if any.
        num_hypotheses: how many results :meth:`decode` returns (<= beam_size).
    """

    def __init__(
        self,
        vocabulary: Sequence[str],
        blank: int = 0,
        beam_size: int = 4,
        lm: LanguageModel | None = None,
        lm_weight: float = 0.5,
        word_insertion_bonus: float | None = None,
        hotwords: str | Sequence[str | Hotword] | None = None,
        hotword_weight: float = 1.0,
        word_delimiter: str | None = None,
        num_hypotheses: int = 1,
    ) -> None:
        super().__init__(vocabulary, blank, word_delimiter)
        check_beam(beam_size, num_hypotheses)
        self.beam_size = beam_size
        self.num_hypotheses = num_hypotheses
        self.lm = lm
        self.text_scorer = TextScorer(
            self._texts, lm, lm_weight, word_insertion_bonus, hotwords, hotword_weight
        )

    def _root_context(self) -> Any:
        return self.text_scorer.root()

    def _step(
        self, scorer: TransducerScorer, frame: Any, paths: list[_Path], t: int
    ) -> list[_Path]:
        k = scorer.context_size
        preds = scorer.predict([_context(p.tokens, k, self.blank) for p in paths])
        lp = scorer.log_probs(frame, preds).astype(np.float64)
        # pre-select on the acoustic score plus each path's text bonus so far, then
        # score the text of the label extensions among them
        base = np.array([p.acoustic + p.ctx.bonus for p in paths])[:, None]
        total = base + lp
        num = min(total.size, 2 * self.beam_size)
        flat = np.argpartition(-total.ravel(), num - 1)[:num]
        merged: dict[tuple[int, ...], tuple[float, _Path]] = {}
        vocab = lp.shape[1]
        for idx in flat:
            i, v = divmod(int(idx), vocab)
            path = paths[i]
            lpv = float(lp[i, v])
            if v == self.blank:
                new = _Path(
                    path.tokens,
                    path.frames,
                    path.token_lps,
                    path.acoustic + lpv,
                    path.ctx,
                )
            else:
                new = _Path(
                    (*path.tokens, v),
                    (*path.frames, t),
                    (*path.token_lps, lpv),
                    path.acoustic + lpv,
                    self.text_scorer.extend(path.ctx, v),
                )
            rank = new.acoustic + new.ctx.bonus
            old = merged.get(new.tokens)
            if old is None:
                merged[new.tokens] = (rank, new)
                continue
            # the same tokens by two paths: sum their probabilities, keep the better
            # path's times
            keep = new if rank > old[0] else old[1]
            acoustic = float(np.logaddexp(old[1].acoustic, new.acoustic))
            kept = _Path(keep.tokens, keep.frames, keep.token_lps, acoustic, keep.ctx)
            merged[new.tokens] = (acoustic + kept.ctx.bonus, kept)
        best = heapq.nlargest(self.beam_size, merged.values(), key=lambda r: r[0])
        return [p for _, p in best]

    def _finish(self, paths: list[_Path], num: int) -> list[Hypothesis]:
        ranked = []
        for p in paths:
            lm_score, hot_score, bonus = self.text_scorer.final(p.ctx)
            ranked.append((p.acoustic + bonus, lm_score, hot_score, p))
        ranked.sort(key=lambda r: r[0], reverse=True)
        return [self._hypothesis(p, s, lm, h) for s, lm, h, p in ranked[:num]]


def transducer_decoder(
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
) -> TransducerGreedyDecoder | TransducerBeamSearch:
    """The decoder an engine's options ask for: greedy for ``beam_size == 1``, else the
    modified beam search with ``lm`` and ``hotwords``.

    Raises:
        OptionConflictError: hotwords or an LM with ``beam_size == 1``.
    """
    if beam_size <= 1:
        refuse_beam_options(hotwords, lm, lm_name)
        return TransducerGreedyDecoder(vocabulary, blank, word_delimiter)
    return TransducerBeamSearch(
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
