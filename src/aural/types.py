"""The typed results every part of aural exchanges.

All public results are frozen, slotted dataclasses. ``to_dict`` / ``from_dict`` are the
only serialisation path and JSON output carries :data:`SCHEMA_VERSION`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aural.errors import ConfigError

__all__ = [
    "SCHEMA_VERSION",
    "Word",
    "Segment",
    "Turn",
    "TranscriptionInfo",
    "Transcript",
    "Partial",
    "Final",
    "EndOfStream",
    "StreamEvent",
]

SCHEMA_VERSION = "1.0"


def __getattr__(name: str) -> Any:
    # `aural.types.Waveform` is a deprecated alias, kept for one release (issue 17): the
    # results sit below audio/ in the import layers, so the alias imports late. The
    # import-linter contract ignores this one import; remove both together.
    if name == "Waveform":
        import warnings

        from aural.audio.waveform import Waveform

        warnings.warn(
            "aural.types.Waveform is deprecated; use aural.audio.Waveform (or "
            "aural.Waveform)",
            DeprecationWarning,
            stacklevel=2,
        )
        return Waveform
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _text(d: Mapping[str, Any]) -> str:
    text = d["text"]
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    return text


def _speaker(d: Mapping[str, Any]) -> str | None:
    speaker = d.get("speaker")
    return None if speaker is None else str(speaker)


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word.

    Attributes:
        start: seconds from the start of the input.
        end: seconds from the start of the input.
        text: the word as the engine wrote it (may carry a leading space for Whisper).
        probability: the engine's confidence in [0, 1].
        speaker: the speaker label from diarization (None when unknown).
    """

    start: float
    end: float
    text: str
    probability: float = 1.0
    speaker: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "probability": self.probability,
        }
        if self.speaker is not None:  # absent when unknown: older JSON stays identical
            d["speaker"] = self.speaker
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Word:
        return cls(
            float(d["start"]),
            float(d["end"]),
            _text(d),
            float(d.get("probability", 1.0)),
            _speaker(d),
        )


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of speech with its text and words."""

    start: float  # seconds from the start of the input
    end: float
    text: str
    words: tuple[Word, ...] = ()
    avg_log_prob: float | None = None
    no_speech_prob: float | None = None
    speaker: str | None = None  # the diarization label (None when unknown)
    # the segment's own language (ISO 639), set when it was detected per segment
    # (DecodeOptions.language_per_segment); None: the transcript's, info.language
    language: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "words": [w.to_dict() for w in self.words],
            "avg_log_prob": self.avg_log_prob,
            "no_speech_prob": self.no_speech_prob,
        }
        if self.speaker is not None:  # absent when unknown: older JSON stays identical
            d["speaker"] = self.speaker
        if self.language is not None:  # likewise
            d["language"] = self.language
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Segment:
        return cls(
            start=float(d["start"]),
            end=float(d["end"]),
            text=_text(d),
            words=tuple(Word.from_dict(w) for w in d.get("words") or ()),
            avg_log_prob=d.get("avg_log_prob"),
            no_speech_prob=d.get("no_speech_prob"),
            speaker=_speaker(d),
            language=None if d.get("language") is None else str(d["language"]),
        )


@dataclass(frozen=True, slots=True, order=True)
class Turn:
    """One speaker turn from diarization: ``speaker`` talks from ``start`` to ``end``.

    Turns of different speakers may overlap (overlapping speech). A diarization result
    is a list of turns in time order.

    Attributes:
        start: seconds from the start of the input.
        end: seconds from the start of the input (``end >= start``).
        speaker: the speaker label (``S1``, ``S2``... from aural's diarizer; the RTTM
            name for references).
    """

    start: float
    end: float
    speaker: str

    def __post_init__(self) -> None:
        if not self.end >= self.start:
            raise ConfigError(
                f"Turn end {self.end} is before its start {self.start} "
                f"(speaker {self.speaker!r})"
            )

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "speaker": self.speaker}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Turn:
        return cls(float(d["start"]), float(d["end"]), str(d["speaker"]))


@dataclass(frozen=True, slots=True)
class TranscriptionInfo:
    """What produced a transcript and from what input."""

    language: str | None
    language_probability: float | None
    duration: float  # seconds of input audio
    engine: str
    model: str
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "language_probability": self.language_probability,
            "duration": self.duration,
            "engine": self.engine,
            "model": self.model,
            "options": dict(self.options),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TranscriptionInfo:
        return cls(
            language=d.get("language"),
            language_probability=d.get("language_probability"),
            duration=float(d["duration"]),
            engine=str(d["engine"]),
            model=str(d["model"]),
            options=dict(d.get("options") or {}),
        )


@dataclass(frozen=True, slots=True)
class Transcript:
    """A whole transcription: segments in time order plus how they were made."""

    segments: tuple[Segment, ...]
    info: TranscriptionInfo

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())

    @property
    def words(self) -> tuple[Word, ...]:
        return tuple(w for s in self.segments for w in s.words)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "text": self.text,
            "segments": [s.to_dict() for s in self.segments],
            "info": self.info.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Transcript:
        """The inverse of :meth:`to_dict` (``text`` is derived, so it is not read back).

        Raises:
            ConfigError: ``d`` is not a Transcript dict of this schema version (the
                message names the missing or bad field).
        """
        if not isinstance(d, Mapping):
            raise ConfigError(
                f"not a Transcript dict: got {type(d).__name__}; pass the "
                "dict that Transcript.to_dict() returns"
            )
        version = str(d.get("schema_version", SCHEMA_VERSION))
        if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
            raise ConfigError(
                f"Transcript schema_version {version!r} is not supported; "
                f"this aural reads {SCHEMA_VERSION}"
            )
        try:
            return cls(
                segments=tuple(Segment.from_dict(s) for s in d.get("segments") or ()),
                info=TranscriptionInfo.from_dict(d["info"]),
            )
        except KeyError as err:
            raise ConfigError(f"not a Transcript dict: missing field {err}") from err
        except (TypeError, ValueError, AttributeError) as err:
            raise ConfigError(f"not a Transcript dict: bad value ({err})") from err


@dataclass(frozen=True, slots=True)
class Partial:
    """A streaming hypothesis that may still change."""

    text: str
    start: float
    end: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "partial",
            "text": self.text,
            "start": self.start,
            "end": self.end,
        }


@dataclass(frozen=True, slots=True)
class Final:
    """A streaming segment that never changes again."""

    segment: Segment

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "final",
            "text": self.segment.text,
            "segment": self.segment.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class EndOfStream:
    """Sent once after the last :class:`Final`."""

    def to_dict(self) -> dict[str, Any]:
        return {"type": "end"}


StreamEvent = Partial | Final | EndOfStream
