"""The default engine: Whisper on faster-whisper / CTranslate2.

``transcribe`` runs faster-whisper's sequential long-form decoder (temperature fallback,
VAD). ``transcribe_batch`` packs short inputs (<= 30 s each) into one batched CTranslate2
call so that each utterance does not pay for a padded 30-second window alone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from aural.audio.vad import speech_regions
from aural.audio.waveform import SAMPLE_RATE, Waveform
from aural.decoding.hotwords import parse_hotwords
from aural.decoding.options import DecodeOptions
from aural.engines.base import Engine
from aural.engines.whisper_models import DEFAULT_MODEL, resolve_whisper_model
from aural.errors import ConfigError
from aural.types import Segment, Transcript, TranscriptionInfo, Word

logger = logging.getLogger(__name__)

WINDOW_S = 30.0  # Whisper's input window
NO_SPEECH_THRESHOLD = 0.6  # faster-whisper's default, applied to batched output too
LOG_PROB_THRESHOLD = -1.0
COMPRESSION_RATIO_THRESHOLD = 2.4  # gzip ratio above which text is a repetition loop
FALLBACK_STEP = 0.2  # temperature increments when a window fails the quality checks


class WhisperEngine(Engine):
    """Whisper through faster-whisper.

    Args:
        model: alias (``tiny.en``, ``base``), CTranslate2 folder or hub id; None = tiny.en.
        device: ``cpu``, ``cuda`` or ``auto``.
        compute_type: CTranslate2 compute type (``int8`` is fastest on CPU).
        cpu_threads: intra-op threads (0 = CTranslate2's default).
        num_workers: parallel decodes the model accepts (for servers).
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

        path = resolve_whisper_model(model)
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

    @property
    def faster_whisper_model(self) -> Any:
        """The loaded ``faster_whisper.WhisperModel`` (for streaming and alignment)."""
        return self._model

    # -- options ---------------------------------------------------------------------
    def _language(self, options: DecodeOptions) -> str | None:
        if not self.is_multilingual:
            if options.language not in (None, "en"):
                raise ConfigError(
                    f"model {self.model_id!r} is English-only; language={options.language!r} "
                    "needs a multilingual model such as --model base"
                )
            return "en"
        return options.language

    def _common_kwargs(self, options: DecodeOptions) -> dict[str, Any]:
        return {
            "language": self._language(options),
            "task": options.task,
            "beam_size": options.beam_size,
            "word_timestamps": options.word_timestamps,
            "initial_prompt": options.initial_prompt,
            # faster-whisper takes plain text: drop CTC-style ":weight" suffixes
            "hotwords": ", ".join(h.text for h in parse_hotwords(options.hotwords))
            if options.hotwords else None,
        }

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

    # -- single input ----------------------------------------------------------------
    def transcribe(self, waveform: Waveform, options: DecodeOptions | None = None) -> Transcript:
        options = options or DecodeOptions()
        waveform = self.check_waveform(waveform)
        temperatures = tuple(
            round(t, 2) for t in np.arange(options.temperature, 1.0 + 1e-6, FALLBACK_STEP)
        )
        vad = options.vad_options
        segments, info = self._model.transcribe(
            np.ascontiguousarray(waveform.samples, dtype=np.float32),
            temperature=temperatures,
            condition_on_previous_text=options.condition_on_previous_text,
            vad_filter=options.vad,
            vad_parameters={
                "threshold": vad.threshold,
                "min_speech_duration_ms": vad.min_speech_duration_ms,
                "min_silence_duration_ms": vad.min_silence_duration_ms,
                "speech_pad_ms": vad.speech_pad_ms,
            },
            no_speech_threshold=NO_SPEECH_THRESHOLD,
            log_prob_threshold=LOG_PROB_THRESHOLD,
            **self._common_kwargs(options),
        )
        converted = tuple(_convert_segments(segments, 0.0, waveform.duration))
        return Transcript(
            converted,
            self._info(waveform.duration, info.language, info.language_probability, options),
        )

    # -- many inputs -----------------------------------------------------------------
    def transcribe_batch(
        self, waveforms: Sequence[Waveform], options: DecodeOptions | None = None
    ) -> list[Transcript]:
        """Transcribe many inputs, batching the short ones into shared decoder calls."""
        options = options or DecodeOptions()
        results: list[Transcript | None] = [None] * len(waveforms)
        short: list[tuple[int, Waveform, tuple[float, float]]] = []
        for i, w in enumerate(waveforms):
            w = self.check_waveform(w)
            if w.duration > WINDOW_S:
                results[i] = self.transcribe(w, options)
                continue
            clip = _speech_clip(w, options) if options.vad else (0.0, w.duration)
            if clip is None:
                results[i] = Transcript((), self._info(w.duration, "en" if not
                                        self.is_multilingual else options.language, None,
                                        options))
            else:
                short.append((i, w, clip))
        for i, transcript in self._decode_packed(short, options):
            results[i] = transcript
        return [r for r in results if r is not None]

    def _decode_packed(
        self, items: list[tuple[int, Waveform, tuple[float, float]]], options: DecodeOptions
    ) -> Iterable[tuple[int, Transcript]]:
        if not items:
            return
        offsets, clips, parts, pos = [], [], [], 0.0
        for _, w, (a, b) in items:
            offsets.append(pos)
            clips.append({"start": pos + a, "end": pos + b})
            parts.append(w.samples.astype(np.float32, copy=False))
            pos += w.num_samples / SAMPLE_RATE
        audio = np.concatenate(parts)
        from faster_whisper import BatchedInferencePipeline

        # A pipeline per call: it keeps per-call state, and servers call from many threads.
        segments, info = BatchedInferencePipeline(self._model).transcribe(
            audio,
            temperature=options.temperature,
            vad_filter=False,
            clip_timestamps=clips,
            batch_size=options.batch_size,
            without_timestamps=True,
            **self._common_kwargs(options),
        )
        per_item: list[list[Any]] = [[] for _ in items]
        for seg in segments:
            # By midpoint: faster-whisper rounds segment times to 10 ms, so a start can fall
            # just before its clip's offset and land on the previous input.
            mid = (seg.start + seg.end) / 2
            k = int(np.searchsorted(offsets, mid, side="right")) - 1
            per_item[min(max(k, 0), len(items) - 1)].append(seg)
        for k, (i, w, _) in enumerate(items):
            if any(_needs_fallback(s) for s in per_item[k]):
                # The batched path has no temperature fallback: decode doubtful clips
                # (likely non-speech or a repetition loop) with the sequential decoder.
                yield i, self.transcribe(w, options)
                continue
            segs = tuple(_convert_segments(per_item[k], offsets[k], w.duration))
            yield i, Transcript(
                segs, self._info(w.duration, info.language, info.language_probability, options)
            )


def _speech_clip(w: Waveform, options: DecodeOptions) -> tuple[float, float] | None:
    regions = speech_regions(w, options.vad_options)
    if not regions:
        return None
    return max(0.0, regions[0][0]), min(w.duration, regions[-1][1])


def _needs_fallback(seg: Any) -> bool:
    """faster-whisper's quality checks, applied to one batched segment."""
    return bool(
        (seg.no_speech_prob is not None and seg.no_speech_prob > NO_SPEECH_THRESHOLD)
        or seg.avg_logprob < LOG_PROB_THRESHOLD
        or seg.compression_ratio > COMPRESSION_RATIO_THRESHOLD
    )


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
        if not text:
            continue
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
