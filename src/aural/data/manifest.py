"""The one manifest type every dataset reader produces and the evaluator and trainer
read.

An :class:`Utterance` says where the audio is (a file, optionally a ``start``/``end``
stretch of it, or in-memory samples in ``extra``), what is said, and who says it. A
:class:`Manifest` is an immutable, named sequence of utterances with subsetting and
JSONL round-tripping. :func:`load_utterance_audio` is how consumers get the samples.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, overload

import numpy as np
import soundfile

from aural.audio import SAMPLE_RATE, Waveform, load, probe
from aural.audio.load import RAW_SUFFIXES
from aural.errors import AudioDecodeError, ConfigError, DatasetError, EmptyAudioError

__all__ = [
    "Manifest",
    "Utterance",
    "load_utterance_audio",
    "utterance_audio",
    "utterance_duration",
]

_SEEKABLE = frozenset({".wav", ".flac", ".sph", ".nist", ".aiff", ".aif"})


@dataclass(frozen=True, slots=True)
class Utterance:
    """One scored unit: audio, its reference text and who speaks.

    Attributes:
        id: identifier unique within its manifest (e.g. ``1272-128104-0000``).
        audio: the audio file. For in-memory audio (Hugging Face arrays) a descriptive
            pseudo-path that does not exist; the samples are in ``extra``.
        text: the reference transcript as the corpus writes it (not normalised).
        speaker: speaker id, or None when the corpus does not say.
        duration: seconds of speech (``end - start`` for a segment), or None if unknown.
        start: for a segment of a longer recording, its start in seconds.
        end: for a segment of a longer recording, its end in seconds.
        extra: corpus-specific fields (``chapter``, ``gender``, ``sample_rate`` of a
            headerless file, ``array`` + ``sample_rate`` or ``bytes`` for in-memory
            audio).
    """

    id: str
    audio: Path
    text: str
    speaker: str | None = None
    duration: float | None = None
    start: float | None = None
    end: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.audio, Path):
            object.__setattr__(self, "audio", Path(self.audio))
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ConfigError(
                f"utterance {self.id!r}: end ({self.end}) is before start "
                f"({self.start})"
            )
        for name in ("duration", "start", "end"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"utterance {self.id!r}: invalid {name} {value!r}")

    @property
    def is_segment(self) -> bool:
        """Whether this is a stretch (``start``/``end``) of a longer recording."""
        return self.start is not None or self.end is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; in-memory samples (``extra["array"]``/``["bytes"]``) are
        left out."""
        extra = {k: v for k, v in self.extra.items() if k not in ("array", "bytes")}
        d: dict[str, Any] = {
            "id": self.id,
            "audio": str(self.audio),
            "text": self.text,
            "speaker": self.speaker,
            "duration": self.duration,
        }
        if self.start is not None:
            d["start"] = self.start
        if self.end is not None:
            d["end"] = self.end
        if extra:
            d["extra"] = extra
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], base: Path | None = None) -> Utterance:
        """Inverse of :meth:`to_dict`; a relative ``audio`` resolves against
        ``base``."""
        audio = Path(d["audio"])
        if base is not None and not audio.is_absolute():
            audio = base / audio
        duration = d.get("duration")
        return cls(
            id=str(d["id"]),
            audio=audio,
            text=str(d.get("text", "")),
            speaker=None if d.get("speaker") is None else str(d["speaker"]),
            duration=None if duration is None else float(duration),
            start=None if d.get("start") is None else float(d["start"]),
            end=None if d.get("end") is None else float(d["end"]),
            extra=dict(d.get("extra") or {}),
        )


@dataclass(frozen=True, slots=True)
class Manifest(Sequence[Utterance]):
    """A named, ordered, immutable collection of utterances.

    Example:
        >>> m = load_dataset("LibriSpeech/dev-clean")  # doctest: +SKIP
        >>> small = m.subset(limit=5, max_duration=10.0)
    """

    name: str
    utterances: tuple[Utterance, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.utterances, tuple):
            object.__setattr__(self, "utterances", tuple(self.utterances))
        seen: set[str] = set()
        for u in self.utterances:
            if u.id in seen:
                raise DatasetError(
                    f"manifest {self.name!r} has the utterance id {u.id!r} twice"
                )
            seen.add(u.id)

    def __len__(self) -> int:
        return len(self.utterances)

    @overload
    def __getitem__(self, index: int) -> Utterance: ...

    @overload
    def __getitem__(self, index: slice) -> Manifest: ...

    def __getitem__(self, index: int | slice) -> Utterance | Manifest:
        if isinstance(index, slice):
            return Manifest(self.name, self.utterances[index])
        return self.utterances[index]

    def __iter__(self) -> Iterator[Utterance]:
        return iter(self.utterances)

    @property
    def speakers(self) -> tuple[str, ...]:
        """Distinct speakers in first-appearance order (None excluded)."""
        return tuple(
            dict.fromkeys(u.speaker for u in self.utterances if u.speaker is not None)
        )

    @property
    def total_duration(self) -> float:
        """Sum of the known durations, in seconds."""
        return float(sum(u.duration or 0.0 for u in self.utterances))

    def subset(
        self,
        limit: int | None = None,
        speakers: Collection[str] | None = None,
        max_duration: float | None = None,
    ) -> Manifest:
        """A new manifest with the utterances that pass every given filter, in order.

        Args:
            limit: keep at most this many (applied after the other filters).
            speakers: keep only these speaker ids.
            max_duration: keep utterances at most this many seconds long; unknown
                durations are read from the audio header.

        Raises:
            ConfigError: for a negative limit or a non-positive max_duration.
        """
        if limit is not None and limit < 0:
            raise ConfigError(f"subset limit must be >= 0, got {limit}")
        if max_duration is not None and not max_duration > 0:
            raise ConfigError(
                f"subset max_duration must be > 0 seconds, got {max_duration}"
            )
        wanted = None if speakers is None else {str(s) for s in speakers}
        kept: list[Utterance] = []
        for u in self.utterances:
            if limit is not None and len(kept) >= limit:
                break
            if wanted is not None and u.speaker not in wanted:
                continue
            if max_duration is not None and utterance_duration(u) > max_duration:
                continue
            kept.append(u)
        return Manifest(self.name, tuple(kept))

    def with_durations(self) -> Manifest:
        """A copy in which every unknown duration is read from the audio header."""
        return Manifest(
            self.name,
            tuple(
                u
                if u.duration is not None
                else replace(u, duration=utterance_duration(u))
                for u in self.utterances
            ),
        )

    def to_jsonl(self, path: str | Path) -> None:
        """Write one JSON object per line (audio paths absolute); see
        :meth:`from_jsonl`.

        Audio paths are made absolute but symlinks are kept, not resolved: a dataset
        reached through a link (``/data -> /mnt/disk7/data``) stays under the link's
        name, which is the name that holds on other machines, and reads back equal
        (issue 17).

        In-memory audio (``extra["array"]``) is not written; such utterances cannot be
        read back, so this raises for them.
        """
        lines = []
        for u in self.utterances:
            if "array" in u.extra or "bytes" in u.extra:
                raise DatasetError(
                    f"utterance {u.id!r} of {self.name!r} holds in-memory audio, "
                    "which a JSONL manifest cannot carry; write the audio to files "
                    "first"
                )
            d = u.to_dict()
            d["audio"] = str(u.audio.absolute())
            lines.append(json.dumps(d, ensure_ascii=False))
        Path(path).write_text("".join(line + "\n" for line in lines), encoding="utf-8")

    @classmethod
    def from_jsonl(cls, path: str | Path, name: str | None = None) -> Manifest:
        """Read a manifest written by :meth:`to_jsonl` (or any JSONL in aural's keys).

        For other column names (``path``, ``sentence``, ...) use
        :func:`aural.data.read_manifest_file`.
        """
        from aural.data.readers import read_manifest_file

        return read_manifest_file(path, name=name)


def utterance_audio(utt: Utterance) -> Path | bytes | Waveform:
    """The source to hand to :func:`aural.audio.load` for this utterance's whole
    recording.

    A file path, the encoded bytes, or a :class:`Waveform` for in-memory samples.
    Segments (``start``/``end``) and headerless PCM need more than the source; prefer
    :func:`load_utterance_audio`, which handles both.
    """
    if "array" in utt.extra:
        samples = np.asarray(utt.extra["array"], dtype=np.float32)
        return Waveform(samples, int(utt.extra["sample_rate"]))
    if "bytes" in utt.extra:
        return bytes(utt.extra["bytes"])
    return utt.audio


def _raw_rate(utt: Utterance) -> int | None:
    if utt.audio.suffix.lower() in RAW_SUFFIXES:
        rate = utt.extra.get("sample_rate")
        if not rate:
            return SAMPLE_RATE
        if (
            isinstance(rate, bool)
            or not isinstance(rate, (int, str))
            or not str(rate).isdigit()
        ):
            raise DatasetError(
                f"utterance {utt.id!r}: the sample_rate of the headerless file "
                f"{str(utt.audio)!r} must be a whole number of Hz, got {rate!r}"
            )
        return int(rate)
    return None


def load_utterance_audio(utt: Utterance, sample_rate: int = SAMPLE_RATE) -> Waveform:
    """Decode an utterance's audio to mono float32 at ``sample_rate``, cut to its
    segment.

    Raises:
        AudioDecodeError: and its subclasses, from :func:`aural.audio.load`, with the
            utterance id added as a note.
    """
    try:
        if utt.is_segment:
            part = _read_segment(utt)
            if part is not None:
                return load(part, sample_rate)
        wav = load(utterance_audio(utt), sample_rate, raw_sample_rate=_raw_rate(utt))
    except AudioDecodeError as err:
        err.add_note(f"while loading utterance {utt.id!r}")
        raise
    if utt.is_segment:
        wav = wav.slice(
            utt.start or 0.0, utt.end if utt.end is not None else wav.duration
        )
        if wav.num_samples == 0:
            end = "its end" if utt.end is None else f"{utt.end} s"
            raise EmptyAudioError(
                f"utterance {utt.id!r}: the segment from {utt.start or 0.0} s to "
                f"{end} lies outside its audio {str(utt.audio)!r}; fix start/end in "
                "the manifest"
            )
    return wav


def _read_segment(utt: Utterance) -> Waveform | None:
    """Read only the segment's frames (long TED-LIUM talks); None if the format can't
    seek."""
    source = utterance_audio(utt)
    if not isinstance(source, Path) or source.suffix.lower() not in _SEEKABLE:
        return None
    try:
        info = soundfile.info(str(source))
        first = max(0, round((utt.start or 0.0) * info.samplerate))
        last = (
            info.frames
            if utt.end is None
            else min(info.frames, round(utt.end * info.samplerate))
        )
        samples, rate = soundfile.read(
            str(source), start=first, stop=max(first, last), dtype="float32"
        )
    except (RuntimeError, OSError, soundfile.LibsndfileError):
        return None  # let aural.audio.load report the problem
    if samples.shape[0] == 0:
        return None
    return Waveform(samples, int(rate))


def utterance_duration(utt: Utterance) -> float:
    """The duration in seconds: the stored one, ``end - start``, or read from the
    header."""
    if utt.duration is not None:
        return utt.duration
    if utt.start is not None and utt.end is not None:
        return utt.end - utt.start
    source = utterance_audio(utt)
    if isinstance(source, Path) and not source.exists():
        raise DatasetError(
            f"audio file {str(source)!r} of utterance {utt.id!r} does not exist"
        )
    info = probe(source, raw_sample_rate=_raw_rate(utt))
    if utt.start is not None:
        return max(0.0, info.duration - utt.start)
    return info.duration
