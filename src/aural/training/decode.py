"""Turning CTC log-probabilities (:mod:`aural.decoding.ctc`) and transducer encoder
frames (:mod:`aural.decoding.transducer`) into text for evaluation."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from aural.decoding.ctc import CtcPrefixBeamSearch, ctc_greedy
from aural.decoding.transducer import TransducerBeamSearch, TransducerGreedyDecoder
from aural.models.transducer import ConformerTransducer, TransducerScorer
from aural.text.tokenizers import BpeTokenizer, CharTokenizer

__all__ = ["decode_log_probs", "decode_transducer", "vocabulary"]


def vocabulary(tokenizer: CharTokenizer | BpeTokenizer) -> tuple[str, ...]:
    """Token strings by id, as the CTC decoders expect them (blank = ``<blank>``)."""
    return tuple(tokenizer.id_to_piece(i) for i in range(tokenizer.vocab_size))


@lru_cache(maxsize=8)
def _beam(vocab: tuple[str, ...], beam_size: int) -> CtcPrefixBeamSearch:
    return CtcPrefixBeamSearch(
        list(vocab), blank=0, beam_size=beam_size, word_delimiter=None
    )


def decode_log_probs(
    log_probs: np.ndarray, tokenizer: CharTokenizer | BpeTokenizer, beam_size: int = 1
) -> str:
    """Text of one utterance's ``(num_frames, vocab_size)`` log-probabilities.

    ``beam_size == 1`` is greedy decoding; larger values run the prefix beam search.
    """
    if log_probs.shape[0] == 0:
        return ""
    if beam_size <= 1:
        return tokenizer.decode(ctc_greedy(log_probs, blank=0))
    best = _beam(vocabulary(tokenizer), beam_size).decode(
        np.ascontiguousarray(log_probs)
    )[0]
    return " ".join(best.text.split())


def decode_transducer(
    model: ConformerTransducer,
    encoded: torch.Tensor,
    tokenizer: CharTokenizer | BpeTokenizer,
    beam_size: int = 1,
) -> str:
    """Text of one utterance's projected encoder frames ``(num_frames, joiner_dim)``:
    greedy for ``beam_size == 1``, else modified beam search."""
    if encoded.shape[0] == 0:
        return ""
    vocab = list(vocabulary(tokenizer))
    decoder: TransducerGreedyDecoder | TransducerBeamSearch = (
        TransducerGreedyDecoder(vocab, 0)
        if beam_size <= 1
        else TransducerBeamSearch(vocab, 0, beam_size=beam_size)
    )
    return decoder.decode(TransducerScorer(model), encoded)[0].text
