"""Token-level helpers shared by the CTC decoders and the CTC forced aligner.

A CTC vocabulary is a list of token strings indexed by token id. Two conventions are
understood:

* character vocabularies in the wav2vec2 style, where a delimiter token (``"|"``) stands
  for the space between words and ``<pad>``/``<s>``/``</s>``/``<unk>`` are specials;
* sentencepiece-style subword vocabularies, where a token starting with ``"▁"`` begins a
  new word.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aural.errors import ConfigError

__all__ = [
    "SENTENCEPIECE_SPACE",
    "TokenSpan",
    "WordSpan",
    "check_beam",
    "check_log_probs",
    "token_texts",
    "word_spans_from_tokens",
]

SENTENCEPIECE_SPACE = "\u2581"


@dataclass(frozen=True, slots=True)
class TokenSpan:
    """Frames a token occupies in a CTC alignment.

    Attributes:
        token: the token id.
        start_frame: first frame emitting the token.
        end_frame: one past the last frame emitting the token (exclusive).
        log_prob: mean log posterior of the token over its frames.
    """

    token: int
    start_frame: int
    end_frame: int
    log_prob: float


@dataclass(frozen=True, slots=True)
class WordSpan:
    """A word with the frames it occupies and a confidence from the CTC posteriors.

    Attributes:
        text: the word.
        start_frame: first frame of its first token.
        end_frame: one past the last frame of its last token (exclusive).
        probability: geometric mean of the posteriors of its tokens over their frames,
            in [0, 1].
        token_spans: the spans of the tokens that make up the word.
    """

    text: str
    start_frame: int
    end_frame: int
    probability: float
    token_spans: tuple[TokenSpan, ...] = ()

    def start(self, frame_duration: float, offset: float = 0.0) -> float:
        """Start time in seconds for frames of ``frame_duration`` seconds."""
        return offset + self.start_frame * frame_duration

    def end(self, frame_duration: float, offset: float = 0.0) -> float:
        """End time in seconds for frames of ``frame_duration`` seconds."""
        return offset + self.end_frame * frame_duration


def token_texts(
    vocabulary: Sequence[str], word_delimiter: str | None = "|"
) -> list[str]:
    """The text each token contributes: spaces for delimiters, nothing for specials.

    Args:
        vocabulary: token strings indexed by token id.
        word_delimiter: the token that separates words (wav2vec2's ``"|"``); None if
            none.

    Returns:
        One string per token id: ``" "`` for the delimiter, ``" word"`` for a
        sentencepiece ``"▁word"``, ``""`` for ``<...>`` specials, the token otherwise.
    """
    out: list[str] = []
    for tok in vocabulary:
        if word_delimiter is not None and tok == word_delimiter:
            out.append(" ")
        elif len(tok) > 2 and tok.startswith("<") and tok.endswith(">"):
            out.append("")
        elif tok.startswith(SENTENCEPIECE_SPACE):
            out.append(" " + tok[1:])
        else:
            out.append(tok)
    return out


def check_beam(beam_size: int, num_hypotheses: int) -> None:
    """Raise ConfigError unless ``beam_size`` >= 1 and ``num_hypotheses`` is in
    ``[1, beam_size]`` (the beam searches' shared settings)."""
    if not isinstance(beam_size, int) or beam_size < 1:
        raise ConfigError(f"beam_size must be an integer >= 1, got {beam_size!r}")
    if not 1 <= num_hypotheses <= beam_size:
        raise ConfigError(
            f"num_hypotheses must be in [1, beam_size], got {num_hypotheses}"
        )


def check_log_probs(
    log_probs: np.ndarray, blank: int, vocabulary_size: int | None = None
) -> None:
    """Raise ConfigError unless ``log_probs`` is a (num_frames, vocab) array fitting
    ``blank``."""
    if not isinstance(log_probs, np.ndarray) or log_probs.ndim != 2:
        shape = getattr(log_probs, "shape", type(log_probs).__name__)
        raise ConfigError(
            "CTC log-probs must be a numpy array of shape (num_frames, vocab_size), "
            f"got {shape}"
        )
    if not 0 <= blank < log_probs.shape[1]:
        raise ConfigError(
            f"blank index {blank} is outside the vocabulary of size "
            f"{log_probs.shape[1]}"
        )
    if vocabulary_size is not None and vocabulary_size != log_probs.shape[1]:
        raise ConfigError(
            f"log-probs have {log_probs.shape[1]} columns but the vocabulary has "
            f"{vocabulary_size} tokens; pass the vocabulary the model was trained with"
        )


def word_spans_from_tokens(
    spans: Sequence[TokenSpan], texts: Sequence[str]
) -> tuple[WordSpan, ...]:
    """Group token spans into words at the spaces their texts carry.

    Args:
        spans: token spans in time order.
        texts: the text of every token id (see :func:`token_texts`).

    Returns:
        The words, each with its first/last frame and a confidence computed from the
        frame-weighted mean log posterior of its tokens.
    """
    words: list[WordSpan] = []
    chars: list[str] = []
    members: list[TokenSpan] = []

    def flush() -> None:
        if chars and members:
            frames = sum(s.end_frame - s.start_frame for s in members)
            mean = sum(
                s.log_prob * (s.end_frame - s.start_frame) for s in members
            ) / max(frames, 1)
            words.append(
                WordSpan(
                    "".join(chars),
                    members[0].start_frame,
                    members[-1].end_frame,
                    float(np.exp(mean)),
                    tuple(members),
                )
            )
        chars.clear()
        members.clear()

    for span in spans:
        text = texts[span.token]
        if not text:
            continue
        if text[0] == " ":
            flush()
        body = text.strip()
        if body:
            chars.append(body)
            members.append(span)
        if text[-1] == " " and len(text) > 1:
            flush()
    flush()
    return tuple(words)
