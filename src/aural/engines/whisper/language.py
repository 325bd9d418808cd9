"""Language identification for Whisper: detection on encoder outputs, voting over
windows, allow-lists and per-chunk languages with hysteresis.

Whisper names the language of a window by the probabilities its decoder gives the
language tokens right after ``<|startoftranscript|>``. aural runs that step on the
encoder output of a *trimmed* window (the speech VAD found plus 8 s of silence, as the
short-form path decodes it), so on a short input detection costs one decoder step on
an encoder output the transcription reuses, and no extra encoder pass.

Every function here but :func:`detect_encoded` is pure (no model, no I/O):

* :func:`restrict`: probabilities renormalised over an allow-list.
* :func:`pick_windows`: which chunks of a long input vote (spread through it).
* :func:`vote`: one ranking from several windows (weighted by speech seconds and
  confidence).
* :func:`follow_languages`: the language of each chunk with hysteresis (a switch needs
  two confident chunks in a row, or one very confident chunk).
* :func:`candidates` and :func:`by_likelihood`: when detection is unsure (top
  probability below :data:`UNSURE`), the languages the window is decoded in, and the
  one whose decode Whisper finds most likely (best average log probability per token).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "CONFIDENT",
    "LanguageProbs",
    "MAX_VOTES",
    "MIN_SWITCH_S",
    "UNSURE",
    "VERY_CONFIDENT",
    "by_likelihood",
    "candidates",
    "detect_encoded",
    "follow_languages",
    "pick_windows",
    "restrict",
    "vote",
]

LanguageProbs = tuple[tuple[str, float], ...]
"""``(language, probability)`` pairs, most probable first; probabilities sum to 1."""

UNSURE = 0.5  # a detected language below this probability is reported as unsure
CONFIDENT = 0.5  # per-segment mode: two chunks in a row this sure switch the language
VERY_CONFIDENT = 0.9  # per-segment mode: one chunk this sure switches it alone
MIN_SWITCH_S = 1.0  # a chunk with less speech than this never switches the language
MAX_VOTES = 5  # windows of a long input that vote on its language
CANDIDATE_RATIO = 0.5  # unsure: a third language is decoded too when this near the top
MAX_CANDIDATES = 3  # unsure: at most this many languages are decoded


def detect_encoded(model: Any, encoded: Any) -> list[LanguageProbs]:
    """The language probabilities of each item of a batch of encoder outputs.

    Args:
        model: a ``ctranslate2.models.Whisper`` (multilingual).
        encoded: its encoder output for the batch, ``(batch, frames / 2, d_model)``
            (a trimmed window is fine: the decoder attends over what is there).

    Returns:
        Per item, every language the model knows, most probable first.
    """
    results = model.detect_language(encoded)
    return [
        tuple((token[2:-2], float(prob)) for token, prob in ranked)
        for ranked in results
    ]


def restrict(probs: LanguageProbs, allowed: Sequence[str] = ()) -> LanguageProbs:
    """``probs`` over ``allowed`` only, renormalised to sum to 1 (all of them when
    ``allowed`` is empty). Languages of the list the model gave no mass keep 0."""
    if not allowed:
        return probs
    kept = [(lang, p) for lang, p in probs if lang in allowed]
    total = sum(p for _, p in kept)
    if total <= 0.0:  # the model puts (numerically) nothing on the list: uniform
        return tuple((lang, 1.0 / len(allowed)) for lang in allowed)
    ranked = sorted(((lang, p / total) for lang, p in kept), key=lambda x: -x[1])
    return tuple(ranked)


def pick_windows(count: int, limit: int = MAX_VOTES) -> list[int]:
    """Indices of up to ``limit`` of ``count`` chunks, spread evenly from the first to
    the last (a long input's language is voted on by windows through all of it, not
    only its start)."""
    if count <= limit:
        return list(range(count))
    if limit == 1:
        return [0]
    step = (count - 1) / (limit - 1)
    return sorted({round(k * step) for k in range(limit)})


def vote(windows: Sequence[tuple[LanguageProbs, float]]) -> LanguageProbs:
    """One ranking from several windows' ``(probabilities, speech seconds)``.

    Each window's probabilities are weighted by its speech seconds times its own top
    probability, so a long window counts more than a short one, and a window Whisper is
    unsure about (noise VAD took for speech, a few words) counts little. Returns ``()``
    for no windows.
    """
    totals: dict[str, float] = {}
    weight_sum = 0.0
    for probs, seconds in windows:
        if not probs:
            continue
        weight = max(seconds, 1e-3) * probs[0][1]
        weight_sum += weight
        for lang, p in probs:
            totals[lang] = totals.get(lang, 0.0) + weight * p
    if weight_sum <= 0.0:
        return ()
    return tuple(
        sorted(
            ((lang, p / weight_sum) for lang, p in totals.items()), key=lambda x: -x[1]
        )
    )


def follow_languages(
    chunks: Sequence[tuple[LanguageProbs, float]], start: str
) -> list[str]:
    """The language of each chunk of an input that may switch languages.

    Starting from ``start`` (the input's voted language), a chunk whose most probable
    language differs from the current one switches to it when either Whisper gives it
    at least :data:`VERY_CONFIDENT` and the chunk holds at least :data:`MIN_SWITCH_S`
    of speech, or it and the next chunk both name that language with at least
    :data:`CONFIDENT` and hold :data:`MIN_SWITCH_S` of speech between them. Otherwise
    the chunk keeps the current language: one uncertain or very short chunk (a name, a
    loan word, a cough) does not flip the transcript.

    Args:
        chunks: per chunk in time order, its language probabilities (ranked) and its
            seconds of speech.
        start: the language before the first chunk.

    Returns:
        One language per chunk.
    """
    current, out = start, []
    for k, (probs, seconds) in enumerate(chunks):
        top, p = probs[0] if probs else (current, 0.0)
        if top != current:
            if p >= VERY_CONFIDENT and seconds >= MIN_SWITCH_S:
                current = top
            elif p >= CONFIDENT and k + 1 < len(chunks):
                nxt, seconds_next = chunks[k + 1]
                if (
                    nxt
                    and nxt[0][0] == top
                    and nxt[0][1] >= CONFIDENT
                    and seconds + seconds_next >= MIN_SWITCH_S
                ):
                    current = top
        out.append(current)
    return out


def candidates(probs: LanguageProbs) -> tuple[str, ...]:
    """The languages an unsure detection is settled between by decoding.

    Empty when the top language has at least :data:`UNSURE` (it is taken as it is, no
    extra decode). Otherwise the top two, and a third when its probability is at least
    :data:`CANDIDATE_RATIO` times the top's (up to :data:`MAX_CANDIDATES`), most
    probable first. ``probs`` is already restricted to any allow-list, so the
    candidates respect it.
    """
    if len(probs) < 2 or probs[0][1] >= UNSURE:
        return ()
    top = probs[0][1]
    out = [probs[0][0], probs[1][0]]
    for lang, p in probs[2:MAX_CANDIDATES]:
        if p > 0.0 and p >= CANDIDATE_RATIO * top:
            out.append(lang)
    return tuple(out)


def by_likelihood(scored: Sequence[tuple[str, float]]) -> str:
    """The language whose decode has the best average log probability per token, from
    ``(language, avg_log_prob)`` pairs in the detector's order (a tie keeps the
    detector's choice). Language choice by decoding likelihood: a window decoded in the
    wrong language gives tokens Whisper itself finds unlikely."""
    best, best_score = scored[0]
    for lang, score in scored[1:]:
        if score > best_score:
            best, best_score = lang, score
    return best
