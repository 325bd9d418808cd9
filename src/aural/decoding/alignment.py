"""CTC forced alignment: the best (Viterbi) path of a known token sequence.

Given CTC log posteriors ``(num_frames, vocab_size)`` and the tokens of a known
transcript, :func:`ctc_forced_align` finds the frames each token occupies, and
:func:`ctc_align_text` turns a plain-text transcript into character and word spans.
Pure numpy; times are frame indices (multiply by the model's frame duration).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aural.decoding.ctc_tokens import (
    SENTENCEPIECE_SPACE,
    TokenSpan,
    WordSpan,
    check_log_probs,
)
from aural.errors import AuralError, ConfigError

__all__ = [
    "AlignmentError",
    "CharSpan",
    "TextAlignment",
    "ctc_align_text",
    "ctc_forced_align",
    "tokenize_for_ctc",
]

_NEG = -1.0e30


class AlignmentError(AuralError):
    """A transcript cannot be aligned to the audio (too long for it, or no usable
    tokens)."""


@dataclass(frozen=True, slots=True)
class CharSpan:
    """A character (or subword) of the transcript and the frames it occupies."""

    text: str
    start_frame: int
    end_frame: int  # exclusive
    probability: float


@dataclass(frozen=True, slots=True)
class TextAlignment:
    """Character and word spans of a transcript aligned to CTC posteriors.

    Attributes:
        chars: one span per aligned token (characters for character vocabularies).
        words: one span per transcript word that has at least one token in the
            vocabulary.
        log_prob: total log probability of the Viterbi path.
        num_frames: frames in the posteriors.
    """

    chars: tuple[CharSpan, ...]
    words: tuple[WordSpan, ...]
    log_prob: float
    num_frames: int


def ctc_forced_align(
    log_probs: np.ndarray, tokens: Sequence[int], blank: int = 0
) -> tuple[tuple[TokenSpan, ...], float]:
    """Viterbi-align ``tokens`` to CTC posteriors.

    Args:
        log_probs: log posteriors, shape ``(num_frames, vocab_size)``.
        tokens: the token ids to align, in order (no blanks).
        blank: the blank token id.

    Returns:
        ``(spans, path_log_prob)``: one :class:`TokenSpan` per token, in order, and the
        log probability of the best path.

    Raises:
        AlignmentError: there are too few frames for the tokens (each token needs one
            frame, plus one blank frame between equal neighbours).
    """
    check_log_probs(log_probs, blank)
    toks = [int(t) for t in tokens]
    if not toks:
        return (), float(log_probs[:, blank].sum())
    if any(t == blank or not 0 <= t < log_probs.shape[1] for t in toks):
        raise ConfigError(
            f"tokens to align must be non-blank ids < {log_probs.shape[1]}"
        )
    num_frames = log_probs.shape[0]
    ext = np.full(2 * len(toks) + 1, blank, dtype=np.int64)
    ext[1::2] = toks
    num_states = ext.shape[0]
    # a token state may be entered from two states back unless it repeats that token
    skip = np.zeros(num_states, dtype=bool)
    skip[3::2] = ext[3::2] != ext[1:-2:2]
    emissions = log_probs[:, ext].astype(np.float64)
    score = np.full(num_states, _NEG)
    score[0] = emissions[0, 0]
    if num_states > 1:
        score[1] = emissions[0, 1]
    back = np.zeros((num_frames, num_states), dtype=np.int8)
    for t in range(1, num_frames):
        prev1 = np.concatenate(([_NEG], score[:-1]))
        prev2 = np.where(skip, np.concatenate(([_NEG, _NEG], score[:-2])), _NEG)
        stacked = np.stack((score, prev1, prev2))
        choice = np.argmax(stacked, axis=0)
        back[t] = choice
        score = stacked[choice, np.arange(num_states)] + emissions[t]
    ends = [num_states - 1, num_states - 2]
    last = max(ends, key=lambda s: score[s])
    if score[last] <= _NEG / 2:
        repeats = sum(1 for a, b in itertools.pairwise(toks) if a == b)
        raise AlignmentError(
            f"cannot align {len(toks)} tokens to {num_frames} frames (needs at least "
            f"{len(toks) + repeats}); the transcript is too long for this audio"
        )
    path = np.empty(num_frames, dtype=np.int64)
    state = last
    for t in range(num_frames - 1, -1, -1):
        path[t] = state
        state -= int(back[t, state])
    return _spans_from_path(path, ext, log_probs), float(score[last])


def _spans_from_path(
    path: np.ndarray, ext: np.ndarray, log_probs: np.ndarray
) -> tuple[TokenSpan, ...]:
    spans: list[TokenSpan] = []
    t = 0
    num_frames = path.shape[0]
    while t < num_frames:
        state = int(path[t])
        u = t
        while u < num_frames and path[u] == state:
            u += 1
        if state % 2 == 1:
            tok = int(ext[state])
            spans.append(TokenSpan(tok, t, u, float(log_probs[t:u, tok].mean())))
        t = u
    return tuple(spans)


def tokenize_for_ctc(
    words: Sequence[str], vocabulary: Sequence[str], word_delimiter: str | None = "|"
) -> list[list[int]]:
    """Split each word into vocabulary token ids.

    Character vocabularies are matched character by character (trying the character as
    written, then upper and lower case); characters the vocabulary lacks (punctuation)
    are dropped. Sentencepiece-style vocabularies (tokens starting with ``"▁"``) are
    matched greedily, longest token first, on ``"▁" + word``.

    Returns:
        One list of token ids per word (empty when nothing of the word is in the
        vocabulary).
    """
    index = {tok: i for i, tok in enumerate(vocabulary)}
    subword = any(tok.startswith(SENTENCEPIECE_SPACE) for tok in vocabulary)
    out: list[list[int]] = []
    for word in words:
        if subword:
            out.append(_greedy_subword(word, index))
            continue
        ids = []
        for ch in word:
            for cand in (ch, ch.upper(), ch.lower()):
                if cand in index and cand != word_delimiter:
                    ids.append(index[cand])
                    break
        out.append(ids)
    return out


def _greedy_subword(word: str, index: dict[str, int]) -> list[int]:
    longest = max((len(t) for t in index), default=1)
    for form in (word, word.lower(), word.upper()):
        text = SENTENCEPIECE_SPACE + form
        ids: list[int] = []
        pos = 0
        while pos < len(text):
            for size in range(min(longest, len(text) - pos), 0, -1):
                piece = text[pos : pos + size]
                if piece in index:
                    ids.append(index[piece])
                    pos += size
                    break
            else:
                pos += 1  # a character no token covers: skip it
        if any(i != index.get(SENTENCEPIECE_SPACE) for i in ids):
            return ids
    return []


def ctc_align_text(
    log_probs: np.ndarray,
    transcript: str,
    vocabulary: Sequence[str],
    *,
    blank: int = 0,
    word_delimiter: str | None = "|",
) -> TextAlignment:
    """Align a plain-text transcript to CTC posteriors.

    Args:
        log_probs: log posteriors, shape ``(num_frames, vocab_size)``.
        transcript: the known text; words are split on whitespace and keep their
            spelling.
        vocabulary: token strings indexed by id.
        blank: the blank token id.
        word_delimiter: the token between words, if the vocabulary has one; it is
            aligned between words as the model was trained to emit it.

    Returns:
        The character and word spans (words lacking any vocabulary token are left out).

    Raises:
        AlignmentError: no word of the transcript maps to the vocabulary, or the audio
            is too short for it.
    """
    check_log_probs(log_probs, blank, len(vocabulary))
    words = transcript.split()
    per_word = tokenize_for_ctc(words, vocabulary, word_delimiter)
    kept = [(w, ids) for w, ids in zip(words, per_word, strict=True) if ids]
    if not kept:
        raise AlignmentError(
            f"no character of the transcript {transcript[:60]!r} is in the model's "
            "vocabulary"
        )
    delim = None
    if word_delimiter is not None and word_delimiter in vocabulary:
        delim = list(vocabulary).index(word_delimiter)
    seq: list[int] = []
    owner: list[int] = []  # word index of each token, -1 for delimiters
    for k, (_, ids) in enumerate(kept):
        if k and delim is not None:
            seq.append(delim)
            owner.append(-1)
        seq.extend(ids)
        owner.extend([k] * len(ids))
    spans, total = ctc_forced_align(log_probs, seq, blank)
    chars = tuple(
        CharSpan(
            vocabulary[s.token], s.start_frame, s.end_frame, float(np.exp(s.log_prob))
        )
        for s, o in zip(spans, owner, strict=True)
        if o >= 0
    )
    grouped: list[list[TokenSpan]] = [[] for _ in kept]
    for s, o in zip(spans, owner, strict=True):
        if o >= 0:
            grouped[o].append(s)
    word_spans = []
    for (word, _), members in zip(kept, grouped, strict=True):
        frames = sum(m.end_frame - m.start_frame for m in members)
        mean = sum(m.log_prob * (m.end_frame - m.start_frame) for m in members) / max(
            frames, 1
        )
        word_spans.append(
            WordSpan(
                word,
                members[0].start_frame,
                members[-1].end_frame,
                float(np.exp(mean)),
                tuple(members),
            )
        )
    return TextAlignment(chars, tuple(word_spans), total, int(log_probs.shape[0]))
