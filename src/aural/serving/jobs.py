"""The blocking work one transcription request does inside a worker thread."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from aural import audio
from aural.decoding.options import DecodeOptions
from aural.errors import AudioDecodeError
from aural.serving.cache import LoadedEngine
from aural.serving.errors import ApiError, status_for, type_for
from aural.types import Transcript

__all__ = ["JobResult", "transcribe_file"]


@dataclass(frozen=True, slots=True)
class JobResult:
    """A finished transcription with how long decoding took.

    Attributes:
        transcript: the result.
        inference_time: seconds spent in decode + recognition (not waiting in the queue).
    """

    transcript: Transcript
    inference_time: float


def _too_long(duration: float, limit: float) -> ApiError:
    return ApiError(
        413,
        "audio_too_long",
        f"the audio lasts {duration:.1f} s, longer than the server's limit of {limit:g} s; "
        "split it into shorter files",
    )


def transcribe_file(
    engine: LoadedEngine,
    path: Path,
    options: DecodeOptions,
    max_duration_s: float,
    display_name: str | None = None,
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

    Raises:
        ApiError: 413 ``audio_too_long``; 415/400 for audio that cannot be decoded (the
            message names the client's file, not the server's temporary path).
    """
    started = time.perf_counter()
    try:
        info = audio.probe(path)
        if info.duration > max_duration_s:
            raise _too_long(info.duration, max_duration_s)
        waveform = audio.load(path, sample_rate=engine.sample_rate)
    except AudioDecodeError as err:
        message = str(err).replace(str(path), display_name or "the uploaded audio")
        raise ApiError(status_for(err), type_for(err), message) from err
    if waveform.duration > max_duration_s:
        raise _too_long(waveform.duration, max_duration_s)
    with engine.lease() as instance:
        transcript = instance.transcribe(waveform, options)
    return JobResult(transcript, time.perf_counter() - started)
