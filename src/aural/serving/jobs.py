"""The blocking work one transcription request does inside a worker thread."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aural import audio
from aural.audio.load import RAW_SUFFIXES
from aural.audio.waveform import Waveform
from aural.decoding.options import DecodeOptions
from aural.errors import (
    AudioDecodeError,
    AudioTooLongError,
    ConfigError,
    UnsupportedAudioError,
)
from aural.serving.cache import LoadedEngine
from aural.serving.errors import ApiError, status_for, type_for
from aural.types import Transcript

if TYPE_CHECKING:
    from aural.diarization import DiarizationOptions

__all__ = ["JobResult", "RawAudio", "load_upload", "transcribe_file"]

_RAW_HINT = (
    "send raw_sample_rate with the request (a form field, query parameter or JSON "
    "key, e.g. raw_sample_rate=16000) and, unless it is 16-bit little-endian mono, "
    "raw_encoding (pcm_s16le, pcm_s32le, pcm_f32le or pcm_u8) and raw_channels"
)


@dataclass(frozen=True, slots=True)
class RawAudio:
    """How to read an upload that is headerless PCM (the loader's ``raw_*`` arguments).

    Attributes:
        sample_rate: its sample rate in Hz (None = the upload has a header).
        encoding: its sample format.
        channels: its interleaved channels.
    """

    sample_rate: int | None = None
    encoding: str = "pcm_s16le"
    channels: int = 1

    def load_args(self) -> dict[str, Any]:
        """Keyword arguments for :func:`aural.audio.load` and
        :func:`aural.audio.probe`."""
        if self.sample_rate is None:
            return {}
        return {
            "raw_sample_rate": self.sample_rate,
            "raw_encoding": self.encoding,
            "raw_channels": self.channels,
        }


@dataclass(frozen=True, slots=True)
class JobResult:
    """A finished transcription with how long decoding took.

    Attributes:
        transcript: the result.
        inference_time: seconds spent in decode + recognition (not waiting in the
            queue).
    """

    transcript: Transcript
    inference_time: float


def _too_long(limit: float, duration: float | None = None) -> ApiError:
    """413 for audio over ``limit`` s (``duration`` None: decoding passed the limit
    although the header said less)."""
    lasts = (
        f"lasts {duration:.1f} s, longer than"
        if duration is not None
        else "lasts longer than"
    )
    lied = "" if duration is not None else " (its header said less)"
    return ApiError(
        413,
        "audio_too_long",
        f"the audio {lasts} the server's limit of {limit:g} s{lied}; split it into "
        "shorter files",
    )


def load_upload(
    engine: LoadedEngine,
    path: Path,
    max_duration_s: float,
    display_name: str | None = None,
    raw: RawAudio | None = None,
) -> Waveform:
    """Decode the upload at ``path`` for ``engine``, refusing it when it is too long.

    The header is probed first so an over-long file is refused before it is decoded.

    Raises:
        ApiError: 413 ``audio_too_long``; 415/400 for audio that cannot be decoded and
            422 for raw PCM without its sample rate or with bad raw settings (the
            message names the client's file, not the server's temporary path).
    """
    name = display_name or "the uploaded audio"
    raw_args = (raw or RawAudio()).load_args()
    if not raw_args and path.suffix.lower() in RAW_SUFFIXES:
        raise ApiError(
            422,
            "invalid_options",
            f"{name}: headerless PCM has no header giving its sample rate; {_RAW_HINT}",
        )
    try:
        info = audio.probe(path, name=name, **raw_args)
        if info.duration > max_duration_s:
            raise _too_long(max_duration_s, info.duration)
        # the limit again while decoding: a header can understate the length
        return audio.load(
            path,
            sample_rate=engine.sample_rate,
            max_duration=max_duration_s,
            name=name,
            **raw_args,
        )
    except AudioTooLongError as err:
        raise _too_long(max_duration_s) from err
    except (AudioDecodeError, ConfigError) as err:
        # messages name the client's file (name=), never the server's temporary path
        message = str(err)
        if isinstance(err, UnsupportedAudioError) and "raw_sample_rate" in err.options:
            message += f"; if it is headerless PCM, {_RAW_HINT}"
        raise ApiError(status_for(err), type_for(err), message) from err


def transcribe_file(
    engine: LoadedEngine,
    path: Path,
    options: DecodeOptions,
    max_duration_s: float,
    display_name: str | None = None,
    raw: RawAudio | None = None,
    diarization: DiarizationOptions | None = None,
    *,
    progress: Callable[[float], None] | None = None,
) -> JobResult:
    """Decode ``path``, check its duration and transcribe it with ``engine``.

    The header is probed first so an over-long file is refused before it is decoded.

    Args:
        engine: the loaded engine (leased for the decode).
        path: the uploaded audio on disk.
        options: decoding options.
        max_duration_s: the longest audio accepted (seconds).
        display_name: the client's name for the file, shown in error messages instead of
            the temporary path.
        raw: how to read headerless PCM (None = the upload has a header).
        diarization: label speakers with these settings (None = no speakers).
        progress: called with the fraction of the audio decoded so far, after each
            segment (the job API's progress); an exception it raises stops the decode.

    Raises:
        ApiError: 413 ``audio_too_long``; 415/400 for audio that cannot be decoded and
            422 for raw PCM without its sample rate or with bad raw settings (the
            message names the client's file, not the server's temporary path).
    """
    started = time.perf_counter()
    engine.primary.check_options(
        options
    )  # what the engine cannot honour: before decoding
    waveform = load_upload(engine, path, max_duration_s, display_name, raw)
    with engine.lease() as instance:
        if progress is None:
            transcript = instance.transcribe(waveform, options)
        else:
            segments = instance.iter_segments(waveform, options)
            collected = []
            try:
                for segment in segments:
                    collected.append(segment)
                    progress(segments.seconds_done / max(waveform.duration, 1e-9))
            finally:
                segments.close()
            transcript = Transcript(tuple(collected), segments.info)
    if diarization is not None:
        from aural.diarization import Diarizer, assign_speakers

        turns = Diarizer(diarization).diarize(waveform)
        transcript = assign_speakers(transcript, turns)
    return JobResult(transcript, time.perf_counter() - started)
