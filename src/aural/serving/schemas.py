"""Request parameters and response shapes of the HTTP API.

Parameters arrive as form fields, query parameters or JSON; each endpoint validates the
merged values with one pydantic model (``extra="forbid"``, so a misspelt option is a 422
naming it, never silently ignored) and turns them into :class:`DecodeOptions`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from aural.audio.load import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, RawEncoding
from aural.decoding.hotwords import parse_hotwords
from aural.decoding.options import DecodeOptions, split_hotword_list
from aural.diarization import DiarizationOptions
from aural.errors import ConfigError
from aural.serving.errors import ApiError
from aural.serving.jobs import RawAudio
from aural.streaming import StreamingOptions, pcm
from aural.text.multilingual import language_name
from aural.types import Transcript

__all__ = [
    "Base64Request",
    "DetectLanguageParams",
    "OpenAIParams",
    "TranslationParams",
    "StreamParams",
    "TranscribeParams",
    "base64_response",
    "confidence_of",
    "detect_language_response",
    "describe_validation_error",
    "openai_verbose_json",
    "parse_params",
]


# Hundreds of entries fit; the limit keeps a list inside a 64 KiB form field (and a
# WebSocket URL within the server's request-line limit, about 16 KiB for uvicorn's h11).
HOTWORDS_MAX_CHARS = 16_000


class _Hotwords(BaseModel):
    """The ``hotwords`` field: words or phrases to favour, comma-separated, each with
    an optional ``:weight`` (``"Gwynplaine, Dea:2.0"``); a malformed weight is a 422
    before any decoding."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hotwords: str | None = Field(None, max_length=HOTWORDS_MAX_CHARS)

    @field_validator("hotwords")
    @classmethod
    def _weights_are_numbers(cls, value: str | None) -> str | None:
        try:
            parse_hotwords(split_hotword_list(value))
        except ConfigError as err:
            raise ValueError(str(err)) from err
        return value

    def hotword_entries(self) -> tuple[str, ...]:
        """The entries, as ``DecodeOptions.hotwords`` holds them, each once."""
        entries = (" ".join(e.split()) for e in split_hotword_list(self.hotwords))
        return tuple(dict.fromkeys(entries))


_LANGUAGE_CODE = r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$"


class _Languages(BaseModel):
    """``languages``: detection picks only among these codes (comma-separated,
    ``en,de,fr``; probabilities renormalised over them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    languages: str | None = Field(None, max_length=1000)

    @field_validator("languages")
    @classmethod
    def _codes(cls, value: str | None) -> str | None:
        import re

        for code in split_languages(value):
            if not re.match(_LANGUAGE_CODE, code):
                raise ValueError(
                    f"{code!r} is not a language code; give ISO 639 codes separated "
                    "by commas, e.g. en,de,fr"
                )
        return value

    def language_list(self) -> tuple[str, ...]:
        """The allow-list, each code once, in the order given."""
        return tuple(dict.fromkeys(split_languages(self.languages)))


def split_languages(value: str | None) -> list[str]:
    """``"en, de,fr"`` -> ``["en", "de", "fr"]`` (blanks dropped)."""
    return [c.strip() for c in (value or "").split(",") if c.strip()]


class _Options(_Hotwords, _Languages):
    """Decoding options every endpoint accepts (None = the server's default).

    ``language`` is a code or ``auto`` (detect it; the default for multilingual
    models); ``languages`` restricts detection to a list; ``language_per_segment``
    detects the language of each segment (code-switching)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    engine: str | None = None
    model: str | None = None
    language: str | None = None
    language_per_segment: bool | None = None
    beam_size: int | None = Field(None, ge=1, le=20)
    temperature: float | None = Field(None, ge=0.0, le=1.0)
    vad: bool | None = None
    word_timestamps: bool | None = None
    initial_prompt: str | None = Field(None, max_length=4000)
    task: Literal["transcribe", "translate"] | None = None

    def decode_options(self, default_beam_size: int) -> DecodeOptions:
        """The :class:`DecodeOptions` for these values (raises ConfigError -> 422)."""
        base = DecodeOptions(beam_size=default_beam_size)
        changes: dict[str, Any] = {}
        for name in (
            "language",
            "beam_size",
            "temperature",
            "vad",
            "word_timestamps",
            "initial_prompt",
            "task",
            "language_per_segment",
        ):
            value = getattr(self, name)
            if value is not None:
                changes[name] = value
        if self.hotwords:
            changes["hotwords"] = self.hotword_entries()
        if self.languages:
            changes["languages"] = self.language_list()
        return base.with_(**changes) if changes else base


class _Diarize(BaseModel):
    """``diarize=true`` labels speakers (``S1``, ``S2``...) on words and segments and
    splits segments where the speaker changes; the counts map one-to-one to
    :class:`DiarizationOptions` fields (a count without ``diarize`` is a 422)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    diarize: bool = False
    num_speakers: int | None = Field(None, ge=1, le=20)
    min_speakers: int | None = Field(None, ge=1, le=20)
    max_speakers: int | None = Field(None, ge=1, le=20)

    def diarization_options(self) -> DiarizationOptions | None:
        """The diarization settings, None without ``diarize`` (ConfigError -> 422)."""
        counts = {
            "num_speakers": self.num_speakers,
            "min_speakers": self.min_speakers,
            "max_speakers": self.max_speakers,
        }
        given = {k: v for k, v in counts.items() if v is not None}
        if not self.diarize:
            if given:
                raise ConfigError(
                    f"{', '.join(given)} need diarize=true", options=list(given)
                )
            return None
        if self.num_speakers is not None and (
            self.min_speakers is not None or self.max_speakers is not None
        ):
            raise ConfigError(
                "give num_speakers or min_speakers/max_speakers, not both",
                options=list(given),
            )
        if self.num_speakers is not None:
            given["max_speakers"] = max(self.num_speakers, 8)
        return DiarizationOptions(**given)


class _RawOptions(BaseModel):
    """How to read an upload that is headerless PCM (every endpoint that takes a file).

    ``raw_sample_rate``, ``raw_encoding`` and ``raw_channels`` map one-to-one to the
    loader's arguments of the same names; the last two need the first.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    raw_sample_rate: int | None = Field(None, ge=MIN_SAMPLE_RATE, le=MAX_SAMPLE_RATE)
    raw_encoding: RawEncoding | None = None
    raw_channels: int | None = Field(None, ge=1, le=64)

    @model_validator(mode="after")
    def _raw_needs_rate(self) -> _RawOptions:
        if self.raw_sample_rate is None and (
            self.raw_encoding is not None or self.raw_channels is not None
        ):
            raise ValueError(
                "raw_encoding and raw_channels describe headerless PCM and need "
                "raw_sample_rate too"
            )
        return self

    def raw_audio(self) -> RawAudio:
        """How to read the upload if it is headerless PCM."""
        return RawAudio(
            self.raw_sample_rate,
            self.raw_encoding or "pcm_s16le",
            self.raw_channels or 1,
        )


class TranscribeParams(_Options, _RawOptions, _Diarize):
    """``POST /v1/transcribe`` options (form fields or query parameters)."""

    response_format: Literal["json", "txt", "text", "srt", "vtt"] = "json"


class StreamParams(_Options):
    """``WS /v1/listen`` query parameters.

    The latency knobs (``partials``, ``partial_interval_s``, ``endpoint_silence_s``,
    ``max_lag_s``) map one-to-one to :class:`aural.streaming.StreamingOptions` fields;
    None keeps the streaming defaults.
    """

    sample_rate: int = Field(16_000, ge=pcm.MIN_SAMPLE_RATE, le=pcm.MAX_SAMPLE_RATE)
    encoding: Literal["pcm_s16le", "pcm_f32le"] = "pcm_s16le"
    api_key: str | None = None  # browsers cannot set headers on a WebSocket
    partials: bool | None = None
    partial_interval_s: float | None = None
    endpoint_silence_s: float | None = None
    max_lag_s: float | None = None

    def streaming_options(self) -> StreamingOptions | None:
        """The session's latency policy (raises ConfigError for values out of range)."""
        names = ("partials", "partial_interval_s", "endpoint_silence_s", "max_lag_s")
        given = {n: getattr(self, n) for n in names if getattr(self, n) is not None}
        return StreamingOptions(**given) if given else None


class Base64Request(_Options, _RawOptions, _Diarize):
    """``POST /v1/transcribe/base64`` JSON body."""

    audio_data: str = Field(min_length=1)


class OpenAIParams(_RawOptions, _Hotwords, _Diarize, _Languages):
    """``POST /v1/audio/transcriptions`` form fields: the OpenAI audio API, plus
    ``hotwords``, ``languages`` (detect only among these) and the ``raw_*`` fields for
    headerless PCM (aural extensions)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    model: str = "whisper-1"
    language: str | None = None
    prompt: str | None = Field(None, max_length=4000)
    response_format: Literal["json", "text", "srt", "verbose_json", "vtt"] = "json"
    temperature: float | None = Field(None, ge=0.0, le=1.0)
    timestamp_granularities: tuple[Literal["word", "segment"], ...] = Field(
        ("segment",), alias="timestamp_granularities[]"
    )
    stream: bool = False

    @field_validator("stream")
    @classmethod
    def _no_streamed_response(cls, value: bool) -> bool:
        if value:
            raise ValueError(
                "streamed responses are not supported here; use WS /v1/listen"
            )
        return value


class TranslationParams(_RawOptions):
    """``POST /v1/audio/translations`` form fields: the OpenAI audio API (speech in
    any language to English text), plus the ``raw_*`` fields for headerless PCM."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = "whisper-1"
    prompt: str | None = Field(None, max_length=4000)
    response_format: Literal["json", "text", "srt", "verbose_json", "vtt"] = "json"
    temperature: float | None = Field(None, ge=0.0, le=1.0)


class DetectLanguageParams(_RawOptions, _Languages):
    """``POST /v1/detect-language`` options (form fields or query parameters).

    ``engine``/``model`` pick a loaded model (an OpenAI ``model`` name works too),
    ``languages`` restricts the candidates, ``top_k`` is how many to return and
    ``vad`` whether detection listens only to the speech VAD finds (the default).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    engine: str | None = None
    model: str | None = None
    top_k: int = Field(5, ge=1, le=100)
    vad: bool | None = None


_LIST_FIELDS = {"timestamp_granularities[]", "timestamp_granularities"}


def parse_params(model: type[BaseModel], *sources: Mapping[str, list[str]]) -> Any:
    """Validate string values from forms/queries (later sources win) into ``model``.

    Raises:
        ApiError: 422 ``invalid_options`` naming each bad or unknown field.
    """
    merged: dict[str, Any] = {}
    for source in sources:
        for key, values in source.items():
            if key in _LIST_FIELDS:
                merged["timestamp_granularities[]"] = tuple(values)
            else:
                merged[key] = values[-1]
    try:
        return model.model_validate(merged)
    except ValidationError as err:
        raise ApiError(422, "invalid_options", describe_validation_error(err)) from err


def describe_validation_error(err: ValidationError) -> str:
    """One line naming each invalid or unknown field and the value it got."""
    parts = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "request"
        msg = "unknown option" if e["type"] == "extra_forbidden" else e["msg"]
        value = e.get("input")
        shown = f" (got {value!r})" if isinstance(value, (str, int, float)) else ""
        if len(shown) > 200:  # e.g. a long hotword list: its bad entry is named already
            shown = ""
        parts.append(f"{loc}: {msg}{shown}")
    return "; ".join(parts)


def confidence_of(transcript: Transcript) -> float | None:
    """Mean word probability, else mean exp(avg_log_prob) of the segments, else None."""
    words = transcript.words
    if words:
        return float(sum(w.probability for w in words) / len(words))
    logs = [s.avg_log_prob for s in transcript.segments if s.avg_log_prob is not None]
    if logs:
        return float(sum(math.exp(v) for v in logs) / len(logs))
    return None


def openai_verbose_json(
    transcript: Transcript,
    granularities: tuple[str, ...],
    temperature: float,
    task: Literal["transcribe", "translate"] = "transcribe",
) -> dict[str, Any]:
    """The ``verbose_json`` body of the OpenAI audio API for ``transcript``: the
    language as OpenAI names it (``german``), the spoken one also for a translation."""
    info = transcript.info
    language = info.language or "en"
    body: dict[str, Any] = {
        "task": task,
        "language": language_name(language),
        "duration": info.duration,
        "text": transcript.text,
    }
    if "segment" in granularities or not granularities:
        body["segments"] = [
            {
                "id": i,
                "seek": 0,
                "start": s.start,
                "end": s.end,
                "text": s.text,
                "tokens": [],
                "temperature": temperature,
                "avg_logprob": s.avg_log_prob if s.avg_log_prob is not None else 0.0,
                "compression_ratio": 0.0,
                "no_speech_prob": s.no_speech_prob
                if s.no_speech_prob is not None
                else 0.0,
                # aural extension, only with diarize=true
                **({"speaker": s.speaker} if s.speaker is not None else {}),
            }
            for i, s in enumerate(transcript.segments)
        ]
    if "word" in granularities:
        body["words"] = [
            {
                "word": w.text.strip(),
                "start": w.start,
                "end": w.end,
                **({"speaker": w.speaker} if w.speaker is not None else {}),
            }
            for w in transcript.words
        ]
    return body


def detect_language_response(
    ranked: Sequence[tuple[str, float]],
    duration: float,
    inference_time: float,
    engine: str,
    model: str,
) -> dict[str, Any]:
    """The ``/v1/detect-language`` body: the most probable language first, then every
    candidate returned with its probability (``language`` is None when no speech was
    found)."""
    top = ranked[0] if ranked else None
    return {
        "language": None if top is None else top[0],
        "language_probability": None if top is None else top[1],
        "languages": [
            {"language": code, "name": language_name(code), "probability": p}
            for code, p in ranked
        ],
        "duration": duration,
        "inference_time": inference_time,
        "engine": engine,
        "model": model,
    }


def base64_response(transcript: Transcript, inference_time: float) -> dict[str, Any]:
    """The ``/v1/transcribe/base64`` body: text, confidence, timings and the
    segments."""
    duration = transcript.info.duration
    return {
        "transcription": transcript.text,
        "confidence": confidence_of(transcript),
        "inference_time": inference_time,
        "audio_duration": duration,
        "real_time_factor": inference_time / duration if duration > 0 else None,
        "language": transcript.info.language,
        "language_probability": transcript.info.language_probability,
        "engine": transcript.info.engine,
        "model": transcript.info.model,
        "segments": [s.to_dict() for s in transcript.segments],
    }
