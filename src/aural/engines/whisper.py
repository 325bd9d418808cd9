"""The default engine: Whisper on faster-whisper / CTranslate2.

Two paths:

* short form (``DecodeOptions.short_form``, the default): an input of at most 30 s whose
  speech (found by VAD) spans at most 29 s is decoded in one window whose encoder runs on
  the speech plus 8 s of silence, not on a padded 30 s window
  (:mod:`aural.engines.whisper_window`). ``transcribe_batch`` decodes such inputs in
  groups of similar length with one batched encoder and decoder call per group. A
  decode that fails faster-whisper's quality checks (repetition, low log probability)
  is redone on the long-form path; one that looks like silence gives no text.
* chunked long form (longer inputs, same conditions): VAD finds the speech; its regions,
  split at pauses where longer than :data:`CHUNK_S`, are merged into chunks of at most
  :data:`SHORT_FORM_MAX_S` (never across :data:`MAX_GAP_S` of silence) that are decoded
  like short inputs, batched and side by side, each on its own window (no text carried
  from one to the next). A chunk whose decode stops early is continued from its last
  word; one that fails the quality checks or passes over a speech region is redone one
  region per window, and a single region that fails, by faster-whisper.
* long form: faster-whisper's sequential decoder (30 s windows, temperature fallback,
  VAD), for ``short_form=False``, ``condition_on_previous_text``, sampling
  temperatures, and multilingual models without a language (language detection).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import numpy as np

from aural.audio.vad import speech_regions
from aural.audio.waveform import SAMPLE_RATE, Waveform
from aural.decoding.hotwords import parse_hotwords
from aural.decoding.options import DecodeOptions
from aural.engines.base import Engine, single_threaded_blas
from aural.engines.whisper_models import DEFAULT_MODEL, resolve_whisper_model
from aural.engines.whisper_window import FINAL_PAD_FRAMES, WhisperWindowDecoder, WindowResult
from aural.errors import ConfigError
from aural.types import Segment, Transcript, TranscriptionInfo, Word

logger = logging.getLogger(__name__)

WINDOW_S = 30.0  # Whisper's input window
NO_SPEECH_THRESHOLD = 0.6  # faster-whisper's default, applied to batched output too
LOG_PROB_THRESHOLD = -1.0
COMPRESSION_RATIO_THRESHOLD = 2.4  # gzip ratio above which text is a repetition loop
FALLBACK_STEP = 0.2  # temperature increments when a window fails the quality checks
SHORT_FORM_MAX_S = 29.0  # speech spans up to this long are decoded in one trimmed window
MAX_UNDECODED_S = 1.0  # speech before the first / after the last decoded word (see _from_window)
SENTENCE_END = (".", "?", "!", "。", "？", "！")
_WORKER_PREFIX = "aural-whisper"  # the engine's worker threads (no nested submissions)
PIECE_S = 300.0  # long inputs are decoded in pieces of at most this many seconds
CHUNK_S = 26.0  # chunked long form: longer speech regions are split at a pause
MAX_GAP_S = 2.0  # chunked long form: regions further apart than this are not merged
MAX_CONTINUATIONS = 3  # chunked long form: rounds that continue decodes that stopped early
MAX_WORD_S = 3.0  # a word aligned over longer than this covers audio the text skipped
MIN_REGION_S = 1.0  # a speech region this long must hold a decoded word
MIN_AUDIO_S = 0.1  # shorter inputs hold no word: an empty transcript, never a decode
SILENCE_PEAK = 1e-4  # -80 dBFS: an input that never reaches it is digital silence
CUT_SEARCH_S = 30.0  # each cut goes at the quietest moment in this stretch before it

_Regions = tuple[tuple[float, float], ...]  # speech regions (start, end), seconds
_Chunk = tuple[float, float, _Regions]  # chunked long form: start, end, its speech regions
_Span = tuple[int, float, float, "_Regions | None"]  # input, start, end, regions (chunks)


class WhisperEngine(Engine):
    """Whisper through faster-whisper.

    Args:
        model: alias (``tiny.en``, ``base``), CTranslate2 folder or hub id; None = tiny.en.
        device: ``cpu``, ``cuda`` or ``auto``.
        compute_type: CTranslate2 compute type (``int8`` is fastest on CPU).
        cpu_threads: intra-op threads per decode (0 = CTranslate2's default).
        num_workers: decodes that run at the same time: a server's parallel requests, and
            the groups ``transcribe_batch`` spreads over them (see :func:`parallel_settings`).
    """

    name = "whisper"
    supports_hotwords = True

    def __init__(
        self,
        model: str | None = None,
        *,
        device: str = "cpu",
        compute_type: str = "int8",
        cpu_threads: int = 0,
        num_workers: int = 1,
    ) -> None:
        from faster_whisper import WhisperModel

        if cpu_threads < 0 or num_workers < 1:
            raise ConfigError(f"cpu_threads must be >= 0 (0 = default) and num_workers >= 1, "
                              f"got {cpu_threads} and {num_workers}")
        path = resolve_whisper_model(model)
        single_threaded_blas()
        try:
            self._model = WhisperModel(
                str(path),
                device=device,
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                num_workers=num_workers,
            )
        except ValueError as err:  # CTranslate2 rejects unknown devices/compute types
            raise ConfigError(f"cannot load Whisper {path}: {err}") from err
        self.model_id = model or DEFAULT_MODEL
        self.model_path = path
        self.compute_type = compute_type
        self.is_multilingual = bool(self._model.model.is_multilingual)
        self.concurrency = max(1, num_workers)
        self._decoders: dict[tuple[str, str], WhisperWindowDecoder] = {}
        # its threads start on first use; created here so that concurrent calls share it
        self._executor: ThreadPoolExecutor | None = (
            ThreadPoolExecutor(self.concurrency, thread_name_prefix=_WORKER_PREFIX)
            if self.concurrency > 1 else None)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    @property
    def faster_whisper_model(self) -> Any:
        """The loaded ``faster_whisper.WhisperModel`` (for streaming and alignment)."""
        return self._model

    # -- options ---------------------------------------------------------------------
    def check_options(self, options: DecodeOptions) -> None:
        super().check_options(options)
        self._language(options)

    def _language(self, options: DecodeOptions) -> str | None:
        if not self.is_multilingual:
            if options.language not in (None, "en"):
                raise ConfigError(
                    f"model {self.model_id!r} is English-only; language={options.language!r} "
                    "needs a multilingual model such as --model base"
                )
            return "en"
        if options.language is not None:
            from faster_whisper.tokenizer import _LANGUAGE_CODES

            if options.language not in _LANGUAGE_CODES:
                raise ConfigError(
                    f"unknown language {options.language!r} for {self.model_id!r}; use a "
                    "Whisper language code such as en, de, fr, es, zh (or none to detect it)"
                )
        return options.language

    def _info(self, duration: float, language: str | None, prob: float | None,
              options: DecodeOptions) -> TranscriptionInfo:
        opts = options.to_dict()
        opts["compute_type"] = self.compute_type
        return TranscriptionInfo(
            language=language,
            language_probability=prob,
            duration=duration,
            engine=self.name,
            model=self.model_id,
            options=opts,
        )

    # -- decoding ----------------------------------------------------------------------
    def transcribe(self, waveform: Waveform, options: DecodeOptions | None = None) -> Transcript:
        options = options or DecodeOptions()
        return self._transcribe_many([self.check_waveform(waveform)], options)[0]

    def transcribe_batch(
        self, waveforms: Sequence[Waveform], options: DecodeOptions | None = None
    ) -> list[Transcript]:
        """Transcribe many inputs; short ones of similar length share encoder/decoder calls."""
        options = options or DecodeOptions()
        return self._transcribe_many([self.check_waveform(w) for w in waveforms], options)

    def _transcribe_many(self, waves: list[Waveform], options: DecodeOptions) -> list[Transcript]:
        results: list[Transcript | None] = [None] * len(waves)
        decoder = self._short_form_decoder(options)
        # spans decoded in trimmed windows: (input, start s, end s, None for a whole input
        # or the speech regions of one of its chunks)
        spans: list[_Span] = []
        chunked: dict[int, list[Segment]] = {}  # the segments found in each chunked input
        for i, w in enumerate(waves):
            if w.duration < MIN_AUDIO_S or _is_digital_silence(w.samples):
                # no word fits in a frame or two (and Whisper's alignment fails on them);
                # on digital silence without VAD Whisper invents "you"
                results[i] = self._empty(w, options)
                continue
            if decoder is None:
                continue
            if w.duration <= WINDOW_S:
                clip = _speech_clip(w, options) if options.vad else (0.0, w.duration)
                if clip is None:
                    results[i] = self._empty(w, options)
                    continue
                if clip[1] - clip[0] <= SHORT_FORM_MAX_S:
                    spans.append((i, *clip, None))
                    continue
            if options.condition_on_previous_text:
                continue  # windows chained by their text: faster-whisper's long form
            chunks = _chunks(w, options)
            if not chunks:
                results[i] = self._empty(w, options)
                continue
            chunked[i] = []
            spans += [(i, *chunk) for chunk in chunks]
        # jobs: (seconds of audio, work); spans of similar length share one call
        jobs: list[tuple[float, Callable[[], None]]] = []
        if decoder is not None and spans:
            spans.sort(key=lambda item: item[2] - item[1])
            for k in range(0, len(spans), options.batch_size):
                group = spans[k:k + options.batch_size]
                jobs.append((sum(b - a for _, a, b, _ in group),
                             lambda g=group: self._decode_group(decoder, waves, g, options,
                                                                results, chunked)))
        windowed = {item[0] for item in spans}

        def long_form(i: int) -> None:
            results[i] = self._long_form(waves[i], options)

        jobs += [(w.duration, lambda i=i: long_form(i)) for i, w in enumerate(waves)
                 if results[i] is None and i not in windowed]
        self._run(self._reporting(jobs))
        for i, found in chunked.items():
            found.sort(key=lambda seg: seg.start)
            if not options.word_timestamps:
                found = [dataclasses.replace(seg, words=()) for seg in found]
            results[i] = Transcript(tuple(found), self._info(
                waves[i].duration, self._language(options), 1.0, options))
        return cast(list[Transcript], results)  # every job filled its inputs

    def _empty(self, w: Waveform, options: DecodeOptions) -> Transcript:
        """The transcript of an input in which VAD found no speech."""
        return Transcript((), self._info(w.duration, self._language(options), None, options))

    def _decode_group(self, decoder: WhisperWindowDecoder, waves: list[Waveform],
                      group: list[_Span], options: DecodeOptions,
                      results: list[Transcript | None],
                      chunked: dict[int, list[Segment]]) -> None:
        """Decode ``group`` (see :meth:`_transcribe_many`) in one call.

        A whole input that fails is redone on the long-form path. What a chunk leaves to
        do (:meth:`_chunk_segments`) is decoded in further rounds, batched with the rest of
        the group's; after :data:`MAX_CONTINUATIONS` rounds, or for a single speech region
        that fails, faster-whisper decodes it.
        """
        rounds = 0
        fallback: dict[str, Any] | None = None  # faster-whisper's settings, built when needed
        while group:
            windows = decoder.decode_many(
                [waves[i].samples[round(a * SAMPLE_RATE):round(b * SAMPLE_RATE)]
                 .astype(np.float32, copy=False) for i, a, b, _ in group],
                beam_size=options.beam_size,
                prompt=options.initial_prompt,
                hotwords=_hotwords_text(options),
                word_timestamps=True,  # also for the completeness check
                pad_frames=FINAL_PAD_FRAMES,
            )
            rest: list[_Span] = []
            for (i, a, b, regions), window in zip(group, windows, strict=True):
                if regions is None:
                    result = self._from_window(window, (a, b), waves[i].duration, options)
                    results[i] = (result if result is not None
                                  else self._long_form(waves[i], options))
                    continue
                found, todo = self._chunk_segments(window, (a, b, regions), waves[i].duration)
                chunked[i].extend(found)
                if todo == []:
                    continue  # done
                if todo is not None and rounds < MAX_CONTINUATIONS:
                    rest += [(i, *chunk) for chunk in todo]
                    continue
                fallback = fallback or self._long_form_kwargs(options)
                for x, y, _ in todo if todo is not None else [(a, b, regions)]:
                    chunked[i].extend(self._decode_piece(
                        waves[i], (round(x * SAMPLE_RATE), round(y * SAMPLE_RATE)),
                        fallback)[0])
            group, rounds = rest, rounds + 1

    def _chunk_segments(self, window: WindowResult, chunk: _Chunk, duration: float
                        ) -> tuple[list[Segment], list[_Chunk] | None]:
        """Segments of one chunk's decode, and the chunks still to decode in windows
        (None: faster-whisper decodes the whole chunk).

        A decode that fails the quality checks, starts far after the speech or leaves a
        speech region without words (Whisper skipped a sentence) is redone one speech
        region per window; one that stops early is continued from its last word.
        """
        start, end, regions = chunk
        if window.is_no_speech or (window.text and not _has_words(window.text)):
            return [], []
        words = window.words
        if (window.is_suspect or not window.text or not words
                or words[0].start > MAX_UNDECODED_S
                or (len(regions) > 1 and _skips_speech(words, start, regions))):
            if len(regions) > 1:
                return [], [(a, b, ((a, b),)) for a, b in regions]
            return [], None
        found = list(_window_segments(window, start, duration))
        resume = start + words[-1].end
        if end - resume > MAX_UNDECODED_S:
            left = tuple((max(a, resume), b) for a, b in regions if b > resume)
            return found, [(resume, end, left or ((resume, end),))]
        return found, []

    def _reporting(self, jobs: list[tuple[float, Callable[[], None]]]
                   ) -> list[tuple[float, Callable[[], None]]]:
        """``jobs`` that tell :attr:`progress` the seconds of audio done as each ends."""
        report = self.progress
        if report is None or not jobs:
            return jobs
        total = sum(seconds for seconds, _ in jobs)
        done = [0.0]
        lock = threading.Lock()

        def wrap(seconds: float, job: Callable[[], None]) -> Callable[[], None]:
            def run() -> None:
                job()
                with lock:
                    done[0] += seconds
                    report(done[0], total)
            return run

        return [(seconds, wrap(seconds, job)) for seconds, job in jobs]

    def _run(self, jobs: list[tuple[float, Callable[[], None]]]) -> None:
        """Run ``jobs``, longest first, on up to :attr:`concurrency` threads."""
        jobs = sorted(jobs, key=lambda job: -job[0])  # longest first: the least idle tail
        if self._executor is None or len(jobs) < 2:
            for _, job in jobs:
                job()
            return
        for future in [self._executor.submit(job) for _, job in jobs]:
            future.result()

    def _short_form_decoder(self, options: DecodeOptions) -> WhisperWindowDecoder | None:
        """The trimmed-window decoder for these options, or None for the long-form path."""
        if not options.short_form or options.temperature > 0:
            return None
        return self.window_decoder(self._language(options), options.task)

    def window_decoder(self, language: str | None, task: str = "transcribe"
                       ) -> WhisperWindowDecoder | None:
        """The engine's short-window decoder (one per language and task, shared with its
        streaming sessions); None when a multilingual model has no language to force."""
        if language is None:
            if self.is_multilingual:
                return None
            language = "en"
        key = (language, task)
        decoder = self._decoders.get(key)
        if decoder is None:
            decoder = self._decoders.setdefault(
                key, WhisperWindowDecoder(self._model, language, task))
        return decoder

    def _from_window(self, window: WindowResult, clip: tuple[float, float], duration: float,
                     options: DecodeOptions) -> Transcript | None:
        """A Transcript from a short-form decode; None = redo it on the long-form path."""
        info = self._info(duration, self._language(options), 1.0, options)
        if window.is_no_speech or (window.text and not _has_words(window.text)):
            return Transcript((), info)  # silence, or noise Whisper heard as a lone "."
        if window.is_suspect or not window.text:
            return None  # the long-form path has the temperature fallback
        if window.words and (
            window.words[0].start > MAX_UNDECODED_S
            or (clip[1] - clip[0]) - window.words[-1].end > MAX_UNDECODED_S
        ):
            # Whisper ended (or began) far from where the VAD heard speech end (begin):
            # without timestamp tokens it sometimes stops after a first short sentence.
            return None
        segments = _window_segments(window, clip[0], duration)
        if not options.word_timestamps:
            segments = (dataclasses.replace(s, words=()) for s in segments)
        return Transcript(tuple(segments), info)

    def _long_form(self, waveform: Waveform, options: DecodeOptions) -> Transcript:
        """faster-whisper's sequential decoder: 30 s windows, temperature fallback, VAD.

        Inputs longer than :data:`PIECE_S` go in pieces cut at their quietest moment near
        each boundary: faster-whisper computes the features of its whole input at once
        (about 2 GB for 30 minutes), so pieces keep memory flat whatever the length. An
        engine with several workers decodes the pieces side by side, unless
        ``condition_on_previous_text`` chains them (each piece is then prompted with the
        end of the last).
        """
        pieces = _pieces(waveform.samples)
        kwargs = self._long_form_kwargs(options)
        if (len(pieces) > 1 and self._executor is not None
                and not options.condition_on_previous_text
                and not threading.current_thread().name.startswith(_WORKER_PREFIX)):
            decoded = list(self._executor.map(
                lambda piece: self._decode_piece(waveform, piece, kwargs), pieces))
        else:
            decoded = []
            for piece in pieces:
                decoded.append(self._decode_piece(waveform, piece, kwargs))
                if options.condition_on_previous_text and decoded[-1][0]:
                    kwargs = {**kwargs, "initial_prompt": " ".join(
                        seg.text for seg in decoded[-1][0][-3:])}
        segments = tuple(seg for found, _ in decoded for seg in found)
        language, probability = decoded[0][1]
        return Transcript(segments, self._info(waveform.duration, language, probability, options))

    def _decode_piece(self, waveform: Waveform, piece: tuple[int, int], kwargs: dict[str, Any]
                      ) -> tuple[list[Segment], tuple[str | None, float | None]]:
        """One piece through faster-whisper (``kwargs``: :meth:`_long_form_kwargs`): its
        segments on the input's clock, and the language it detected."""
        a, b = piece
        found, info = self._model.transcribe(
            np.ascontiguousarray(waveform.samples[a:b], dtype=np.float32), **kwargs)
        segments = list(_convert_segments(found, -a / SAMPLE_RATE, waveform.duration))
        return segments, (info.language, info.language_probability)

    def _long_form_kwargs(self, options: DecodeOptions) -> dict[str, Any]:
        temperatures = tuple(
            round(t, 2) for t in np.arange(options.temperature, 1.0 + 1e-6, FALLBACK_STEP)
        )
        vad = options.vad_options
        return {
            "language": self._language(options),
            "task": options.task,
            "beam_size": options.beam_size,
            "word_timestamps": options.word_timestamps,
            "hotwords": _hotwords_text(options),
            "initial_prompt": options.initial_prompt,
            "temperature": temperatures,
            "condition_on_previous_text": options.condition_on_previous_text,
            "vad_filter": options.vad,
            "vad_parameters": {
                "threshold": vad.threshold,
                "min_speech_duration_ms": vad.min_speech_duration_ms,
                "min_silence_duration_ms": vad.min_silence_duration_ms,
                "speech_pad_ms": vad.speech_pad_ms,
            },
            "no_speech_threshold": NO_SPEECH_THRESHOLD,
            "log_prob_threshold": LOG_PROB_THRESHOLD,
        }


def _pieces(samples: np.ndarray, piece_s: float = 0.0) -> list[tuple[int, int]]:
    """Sample ranges covering ``samples``, about ``piece_s`` (default :data:`PIECE_S`)
    long: each cut is at the quietest 50 ms in the last :data:`CUT_SEARCH_S` before the
    boundary (a pause between sentences, where one is near); the last piece may run 10 %
    over rather than leave a tiny one."""
    piece = int((piece_s or PIECE_S) * SAMPLE_RATE)
    search, frame = min(int(CUT_SEARCH_S * SAMPLE_RATE), piece // 2), SAMPLE_RATE // 20
    cuts, start = [], 0
    while samples.size - start > piece + piece // 10:  # no tiny last piece
        region = samples[start + piece - search:start + piece]
        usable = region[: region.size // frame * frame].reshape(-1, frame)
        energy = np.square(usable, dtype=np.float64).mean(axis=1)
        cut = start + piece - search + int(np.argmin(energy)) * frame + frame // 2
        cuts.append((start, cut))
        start = cut
    return [*cuts, (start, samples.size)]


def parallel_settings(workers: int = 0, threads: int = 0) -> dict[str, int]:
    """Engine settings for ``workers`` decodes at once sharing the machine's cores.

    On a CPU, several single-threaded decodes get more done than one decode spread over
    all cores: Whisper's decoder steps are too small to keep many threads busy. 0 workers
    = one per core, at most 4; 0 threads = the cores divided between the workers.
    """
    cores = os.cpu_count() or 1
    workers = workers or min(4, cores)
    return {"num_workers": workers, "cpu_threads": threads or max(1, cores // workers)}


def _is_digital_silence(samples: np.ndarray) -> bool:
    """True when no sample reaches :data:`SILENCE_PEAK` (zeros, or a bit of rounding)."""
    # max and min, not abs(): no copy of an hour of audio
    return samples.size == 0 or (float(samples.max()) <= SILENCE_PEAK
                                 and float(samples.min()) >= -SILENCE_PEAK)


def _hotwords_text(options: DecodeOptions) -> str | None:
    """faster-whisper takes plain text: CTC-style ":weight" suffixes are dropped."""
    if not options.hotwords:
        return None
    return ", ".join(h.text for h in parse_hotwords(options.hotwords))


def _speech_clip(w: Waveform, options: DecodeOptions) -> tuple[float, float] | None:
    regions = speech_regions(w, options.vad_options)
    if not regions:
        return None
    return max(0.0, regions[0][0]), min(w.duration, regions[-1][1])


def _chunks(w: Waveform, options: DecodeOptions) -> list[_Chunk]:
    """The chunks the chunked long form decodes, (start, end, speech regions) in seconds:
    speech regions merged into spans of at most :data:`SHORT_FORM_MAX_S`, never across
    :data:`MAX_GAP_S` of silence. VAD runs on :func:`_pieces` of the input, so memory
    stays flat; without VAD the whole input is cut at its quietest moments."""
    regions: list[tuple[float, float]] = []
    for a, b in _pieces(w.samples):
        piece = Waveform(w.samples[a:b], SAMPLE_RATE)
        if options.vad:
            found = speech_regions(piece, options.vad_options, max_speech_s=CHUNK_S)
        else:
            found = [(0.0, piece.duration)]
        for start, end in found:
            start, end = start + a / SAMPLE_RATE, end + a / SAMPLE_RATE
            if end - start <= SHORT_FORM_MAX_S:
                regions.append((start, end))
                continue  # else: no pause to split at (or no VAD): cut at the quietest moments
            first = round(start * SAMPLE_RATE)
            regions += [((first + x) / SAMPLE_RATE, (first + y) / SAMPLE_RATE) for x, y in
                        _pieces(w.samples[first:round(end * SAMPLE_RATE)], CHUNK_S)]
    chunks: list[_Chunk] = []
    for start, end in regions:
        if (chunks and end - chunks[-1][0] <= SHORT_FORM_MAX_S
                and start - chunks[-1][1] <= MAX_GAP_S):
            chunks[-1] = (chunks[-1][0], end, (*chunks[-1][2], (start, end)))
        else:
            chunks.append((start, end, ((start, end),)))
    return chunks


def _skips_speech(words: Sequence[Word], offset: float, regions: Sequence[tuple[float, float]]
                  ) -> bool:
    """True when a decode (``words`` timed from ``offset``) passed over speech before its
    last word: a region of at least :data:`MIN_REGION_S` in which no word is centred, or
    a word stretched over more than :data:`MAX_WORD_S` (the alignment's way of covering
    audio the text skipped). Speech after the last word is an early stop, not a skip."""
    if any(w.end - w.start > MAX_WORD_S for w in words[1:]):
        return True  # (the first word may absorb leading silence)
    centres = [offset + (w.start + w.end) / 2 for w in words]
    return any(b - a >= MIN_REGION_S and b < centres[-1]
               and not any(a <= c <= b for c in centres) for a, b in regions)


def _window_segments(window: WindowResult, offset: float, duration: float) -> Iterable[Segment]:
    """Segments of a short-form decode, split after sentence-final words (for subtitles).

    Words are shifted by ``offset`` (where the decoded clip starts). Without words, or
    when the words do not spell the text exactly (scripts written without spaces), the
    decode is one segment.
    """

    def shift(t: float) -> float:
        return round(min(max(t + offset, 0.0), duration), 3)

    words = [Word(shift(w.start), max(shift(w.start), shift(w.end)), w.text, w.probability)
             for w in window.words]
    common = {"avg_log_prob": window.avg_log_prob, "no_speech_prob": window.no_speech_prob}
    if not words or " ".join(w.text for w in words) != " ".join(window.text.split()):
        start = words[0].start if words else shift(0.0)
        end = words[-1].end if words else shift(window.duration)
        yield Segment(start=start, end=max(start, end), text=window.text, words=tuple(words),
                      **common)
        return
    sentence: list[Word] = []
    for k, word in enumerate(words):
        sentence.append(word)
        if word.text.endswith(SENTENCE_END) or k == len(words) - 1:
            yield Segment(start=sentence[0].start, end=max(sentence[0].start, sentence[-1].end),
                          text=" ".join(w.text for w in sentence), words=tuple(sentence),
                          **common)
            sentence = []


def _has_words(text: str) -> bool:
    """True when ``text`` has a letter or digit in any script."""
    return any(ch.isalnum() for ch in text)


def _convert_segments(segments: Iterable[Any], offset: float, duration: float) -> Iterable[Segment]:
    """faster-whisper segments -> aural Segments, shifted by ``offset`` and clamped."""

    def clamp(t: float) -> float:
        return round(float(min(max(t - offset, 0.0), duration)), 3)

    for seg in segments:
        text = seg.text.strip()
        words = tuple(
            Word(clamp(w.start), max(clamp(w.start), clamp(w.end)), w.word.strip(),
                 round(float(w.probability), 4))
            for w in (seg.words or ())
            if w.word.strip()
        )
        if not _has_words(text):
            continue  # empty, or punctuation alone: Whisper's reading of noise
        start = words[0].start if words else clamp(seg.start)
        end = words[-1].end if words else clamp(seg.end)
        yield Segment(
            start=start,
            end=max(start, end),
            text=text,
            words=words,
            avg_log_prob=float(seg.avg_logprob),
            no_speech_prob=float(seg.no_speech_prob),
        )
