"""Whisper's long-form decoding as named steps over small frozen types.

1. :func:`plan_input`: what to do with one input: nothing (too short, digital silence,
   no speech), one trimmed window (speech fits :data:`SHORT_FORM_MAX_S`), chunks of
   speech regions (:func:`plan_chunks`), or faster-whisper's sequential long form.
2. The engine decodes :class:`Span` s in trimmed windows (:mod:`.window`), batched.
3. :func:`judge_whole` / :func:`judge_chunk` turn each decode into a :data:`Verdict`:
   :class:`Done`, :class:`Continue` from its last word, :class:`Redo` region by region,
   or :class:`FallBack` to faster-whisper's decoder (temperature fallback).
4. :func:`stitch` puts a chunked input's segments in time order.

Every function here is pure: no model, no threads, no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from aural.audio.vad import speech_regions
from aural.audio.waveform import SAMPLE_RATE, Waveform
from aural.decoding.options import DecodeOptions
from aural.engines.whisper.limits import WINDOW_S
from aural.engines.whisper.window import WindowResult
from aural.types import Segment, Word

__all__ = [
    "Continue",
    "Done",
    "FallBack",
    "InputPlan",
    "Redo",
    "Span",
    "Verdict",
    "judge_chunk",
    "judge_whole",
    "plan_chunks",
    "plan_input",
    "plan_pieces",
    "stitch",
]

SHORT_FORM_MAX_S = (
    29.0  # speech spans up to this long are decoded in one trimmed window
)
MAX_UNDECODED_S = 1.0  # speech before the first / after the last decoded word
SENTENCE_END = (".", "?", "!", "。", "？", "！")
PIECE_S = 300.0  # faster-whisper's long form gets inputs in pieces of at most this long
CHUNK_S = 26.0  # longer speech regions are split at a pause
MAX_GAP_S = 2.0  # regions further apart than this are not merged into one chunk
MAX_CONTINUATIONS = 3  # rounds that continue decodes that stopped early
MAX_WORD_S = 3.0  # a word aligned over longer than this covers audio the text skipped
MIN_REGION_S = 1.0  # a speech region this long must hold a decoded word
MIN_AUDIO_S = 0.1  # shorter inputs hold no word: an empty transcript, never a decode
SILENCE_PEAK = 1e-4  # -80 dBFS: an input that never reaches it is digital silence
CUT_SEARCH_S = 30.0  # each piece boundary goes at the quietest moment in this stretch

Region = tuple[float, float]  # a speech region (start, end), seconds


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of one input decoded in one trimmed window.

    Attributes:
        index: which input (position in the batch).
        start, end: seconds on the input's clock.
        regions: the speech regions inside (a chunk), or None for a whole short input.
        language: the language to decode it in (None: detected from its own window).
    """

    index: int
    start: float
    end: float
    regions: tuple[Region, ...] | None = None
    language: str | None = None

    @property
    def speech_seconds(self) -> float:
        """Seconds of speech inside (the whole span for a short input)."""
        if self.regions is None:
            return self.duration
        return sum(b - a for a, b in self.regions)

    @property
    def duration(self) -> float:
        return self.end - self.start

    def samples(self, waveform: Waveform) -> np.ndarray:
        a, b = round(self.start * SAMPLE_RATE), round(self.end * SAMPLE_RATE)
        return waveform.samples[a:b].astype(np.float32, copy=False)


@dataclass(frozen=True, slots=True)
class InputPlan:
    """How one input is decoded: ``empty``, ``windows`` (its :attr:`spans`) or
    ``long_form`` (faster-whisper's sequential decoder)."""

    kind: Literal["empty", "windows", "long_form"]
    spans: tuple[Span, ...] = ()


@dataclass(frozen=True, slots=True)
class Done:
    """The decode is good: its segments (input clock)."""

    segments: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class Continue:
    """The decode stopped early: keep its segments, decode :attr:`rest` next."""

    segments: tuple[Segment, ...]
    rest: Span


@dataclass(frozen=True, slots=True)
class Redo:
    """The decode skipped speech or failed: decode these spans (one region each)."""

    spans: tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class FallBack:
    """Decode :attr:`span` with faster-whisper's decoder and temperature fallback."""

    span: Span


Verdict = Done | Continue | Redo | FallBack


# -- 1. plan ---------------------------------------------------------------------------
def is_digital_silence(samples: np.ndarray) -> bool:
    """True when no sample reaches :data:`SILENCE_PEAK` (zeros, or a bit of
    rounding)."""
    # max and min, not abs(): no copy of an hour of audio
    return samples.size == 0 or (
        float(samples.max()) <= SILENCE_PEAK and float(samples.min()) >= -SILENCE_PEAK
    )


def plan_input(
    waveform: Waveform, options: DecodeOptions, index: int, *, windows: bool
) -> InputPlan:
    """How to decode input ``index`` (``windows``: trimmed windows may be used at
    all). With ``options.language_per_segment`` every speech region is a chunk of its
    own (never merged), so that each gets its own language."""
    if waveform.duration < MIN_AUDIO_S or is_digital_silence(waveform.samples):
        # no word fits in a frame or two (and Whisper's alignment fails on them); on
        # digital silence without VAD Whisper invents "you"
        return InputPlan("empty")
    if not windows:
        return InputPlan("long_form")
    if waveform.duration <= WINDOW_S and not options.language_per_segment:
        clip = (
            speech_clip(waveform, options) if options.vad else (0.0, waveform.duration)
        )
        if clip is None:
            return InputPlan("empty")
        if clip[1] - clip[0] <= SHORT_FORM_MAX_S:
            return InputPlan("windows", (Span(index, *clip),))
    if options.condition_on_previous_text:
        return InputPlan("long_form")  # windows chained by their text
    chunks = plan_chunks(
        waveform, options, index, merge=not options.language_per_segment
    )
    return InputPlan("windows", chunks) if chunks else InputPlan("empty")


def speech_clip(waveform: Waveform, options: DecodeOptions) -> Region | None:
    """From the first to the last speech VAD finds (None: no speech)."""
    regions = speech_regions(waveform, options.vad_options)
    if not regions:
        return None
    return max(0.0, regions[0][0]), min(waveform.duration, regions[-1][1])


def plan_pieces(
    samples: np.ndarray, piece_s: float | None = None
) -> list[tuple[int, int]]:
    """Sample ranges covering ``samples``, about ``piece_s`` (default :data:`PIECE_S`)
    long: each cut is at the
    quietest 50 ms in the last :data:`CUT_SEARCH_S` before the boundary (a pause between
    sentences, where one is near); the last piece may run 10 % over rather than leave a
    tiny one."""
    piece = int((piece_s or PIECE_S) * SAMPLE_RATE)
    search, frame = min(int(CUT_SEARCH_S * SAMPLE_RATE), piece // 2), SAMPLE_RATE // 20
    cuts, start = [], 0
    while samples.size - start > piece + piece // 10:  # no tiny last piece
        region = samples[start + piece - search : start + piece]
        usable = region[: region.size // frame * frame].reshape(-1, frame)
        energy = np.square(usable, dtype=np.float64).mean(axis=1)
        cut = start + piece - search + int(np.argmin(energy)) * frame + frame // 2
        cuts.append((start, cut))
        start = cut
    return [*cuts, (start, samples.size)]


def plan_chunks(
    waveform: Waveform, options: DecodeOptions, index: int = 0, *, merge: bool = True
) -> tuple[Span, ...]:
    """The chunks of a long input, in time order: speech regions merged into spans of at
    most :data:`SHORT_FORM_MAX_S`, never across :data:`MAX_GAP_S` of silence (each
    region alone when not ``merge``). VAD runs on :func:`plan_pieces` of the input, so
    memory stays flat; without VAD the input is cut at its quietest moments."""
    samples = waveform.samples
    regions: list[Region] = []
    for a, b in plan_pieces(samples):
        piece = Waveform(samples[a:b], SAMPLE_RATE)
        if options.vad:
            found = speech_regions(piece, options.vad_options, max_speech_s=CHUNK_S)
        else:
            found = [(0.0, piece.duration)]
        for start, end in found:
            start, end = start + a / SAMPLE_RATE, end + a / SAMPLE_RATE
            if end - start <= SHORT_FORM_MAX_S:
                regions.append((start, end))
                continue  # else: no pause to split at (or no VAD): cut at quiet moments
            first = round(start * SAMPLE_RATE)
            regions += [
                ((first + x) / SAMPLE_RATE, (first + y) / SAMPLE_RATE)
                for x, y in plan_pieces(
                    samples[first : round(end * SAMPLE_RATE)], CHUNK_S
                )
            ]
    chunks: list[Span] = []
    for start, end in regions:
        last = chunks[-1] if chunks else None
        if (
            merge
            and last is not None
            and last.regions is not None
            and end - last.start <= SHORT_FORM_MAX_S
            and start - last.end <= MAX_GAP_S
        ):
            chunks[-1] = Span(index, last.start, end, (*last.regions, (start, end)))
        else:
            chunks.append(Span(index, start, end, ((start, end),)))
    return tuple(chunks)


# -- 3. judge --------------------------------------------------------------------------
def has_words(text: str) -> bool:
    """True when ``text`` has a letter or digit in any script."""
    return any(ch.isalnum() for ch in text)


def judge_whole(window: WindowResult, span: Span, duration: float) -> Done | FallBack:
    """The verdict on the one-window decode of a whole short input."""
    if window.is_no_speech or (window.text and not has_words(window.text)):
        return Done(())  # silence, or noise Whisper heard as a lone "."
    if window.is_suspect or not window.text:
        return FallBack(span)  # the long-form path has the temperature fallback
    if window.words and (
        window.words[0].start > MAX_UNDECODED_S
        or span.duration - window.words[-1].end > MAX_UNDECODED_S
    ):
        # Whisper ended (or began) far from where the VAD heard speech end (begin):
        # without timestamp tokens it sometimes stops after a first short sentence.
        return FallBack(span)
    return Done(tuple(window_segments(window, span.start, duration)))


def judge_chunk(window: WindowResult, span: Span, duration: float) -> Verdict:
    """The verdict on one chunk's decode.

    A decode that fails the quality checks, starts far after the speech or leaves a
    speech region without words (Whisper skipped a sentence) is redone one speech region
    per window (or falls back, for a single region); one that stops early is continued
    from its last word.
    """
    regions = span.regions or ((span.start, span.end),)
    if window.is_no_speech or (window.text and not has_words(window.text)):
        return Done(())
    words = window.words
    if (
        window.is_suspect
        or not window.text
        or not words
        or words[0].start > MAX_UNDECODED_S
        or (len(regions) > 1 and skips_speech(words, span.start, regions))
    ):
        if len(regions) > 1:
            return Redo(
                tuple(
                    Span(span.index, a, b, ((a, b),), span.language) for a, b in regions
                )
            )
        return FallBack(span)
    found = tuple(window_segments(window, span.start, duration))
    resume = span.start + words[-1].end
    if span.end - resume > MAX_UNDECODED_S:
        left = tuple((max(a, resume), b) for a, b in regions if b > resume)
        return Continue(
            found,
            Span(
                span.index,
                resume,
                span.end,
                left or ((resume, span.end),),
                span.language,
            ),
        )
    return Done(found)


def skips_speech(
    words: Sequence[Word], offset: float, regions: Sequence[Region]
) -> bool:
    """True when a decode (``words`` timed from ``offset``) passed over speech before
    its last word: a region of at least :data:`MIN_REGION_S` in which no word is
    centred, or a word stretched over more than :data:`MAX_WORD_S` (the alignment's way
    of covering audio the text skipped). Speech after the last word is an early stop,
    not a skip."""
    if any(w.end - w.start > MAX_WORD_S for w in words[1:]):
        return True  # (the first word may absorb leading silence)
    centres = [offset + (w.start + w.end) / 2 for w in words]
    return any(
        b - a >= MIN_REGION_S
        and b < centres[-1]
        and not any(a <= c <= b for c in centres)
        for a, b in regions
    )


# -- 4. stitch -------------------------------------------------------------------------
def stitch(segments: Iterable[Segment], options: DecodeOptions) -> tuple[Segment, ...]:
    """Segments in time order, without words unless ``options.word_timestamps``."""
    ordered = sorted(segments, key=lambda seg: seg.start)
    if not options.word_timestamps:
        ordered = [dataclasses.replace(seg, words=()) for seg in ordered]
    return tuple(ordered)


def window_segments(
    window: WindowResult, offset: float, duration: float
) -> Iterable[Segment]:
    """Segments of a trimmed-window decode, split after sentence-final words (for
    subtitles), shifted by ``offset`` (where the decoded clip starts) and clamped to
    ``duration``. Without words, or when the words do not spell the text exactly
    (scripts written without spaces), the decode is one segment."""
    words = [shift_word(w, offset, duration) for w in window.words]
    common: dict[str, Any] = {
        "avg_log_prob": window.avg_log_prob,
        "no_speech_prob": window.no_speech_prob,
    }
    if not words or " ".join(w.text for w in words) != " ".join(window.text.split()):
        start = words[0].start if words else clamp_time(offset, duration)
        end = words[-1].end if words else clamp_time(window.duration + offset, duration)
        yield Segment(
            start=start,
            end=max(start, end),
            text=window.text,
            words=tuple(words),
            **common,
        )
        return
    sentence: list[Word] = []
    for k, word in enumerate(words):
        sentence.append(word)
        if word.text.endswith(SENTENCE_END) or k == len(words) - 1:
            yield Segment(
                start=sentence[0].start,
                end=max(sentence[0].start, sentence[-1].end),
                text=" ".join(w.text for w in sentence),
                words=tuple(sentence),
                **common,
            )
            sentence = []


def clamp_time(t: float, duration: float) -> float:
    """``t`` clamped to ``[0, duration]``, rounded to the millisecond."""
    return round(float(min(max(t, 0.0), duration)), 3)


def shift_word(word: Word, offset: float, duration: float) -> Word:
    """``word`` moved by ``offset`` seconds, its times clamped to ``[0, duration]``."""
    start = clamp_time(word.start + offset, duration)
    return Word(
        start,
        max(start, clamp_time(word.end + offset, duration)),
        word.text,
        word.probability,
    )


def convert_segments(
    segments: Iterable[object], offset: float, duration: float
) -> Iterable[Segment]:
    """faster-whisper segments -> aural Segments, moved by ``offset`` s and clamped."""
    for seg in segments:
        text = seg.text.strip()  # type: ignore[attr-defined]
        words = tuple(
            shift_word(
                Word(
                    float(w.start),
                    float(w.end),
                    w.word.strip(),
                    round(float(w.probability), 4),
                ),
                offset,
                duration,
            )
            for w in (seg.words or ())  # type: ignore[attr-defined]
            if w.word.strip()
        )
        if not has_words(text):
            continue  # empty, or punctuation alone: Whisper's reading of noise
        start = words[0].start if words else clamp_time(seg.start + offset, duration)  # type: ignore[attr-defined]
        end = words[-1].end if words else clamp_time(seg.end + offset, duration)  # type: ignore[attr-defined]
        yield Segment(
            start=start,
            end=max(start, end),
            text=text,
            words=words,
            avg_log_prob=float(seg.avg_logprob),  # type: ignore[attr-defined]
            no_speech_prob=float(seg.no_speech_prob),
        )  # type: ignore[attr-defined]
