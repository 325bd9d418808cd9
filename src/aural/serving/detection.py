"""The blocking work of ``POST /v1/detect-language`` inside a worker thread."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from aural.decoding.options import DecodeOptions
from aural.errors import ConfigError
from aural.serving.cache import LoadedEngine
from aural.serving.errors import ApiError
from aural.serving.jobs import RawAudio, load_upload

__all__ = ["DetectionResult", "check_detection", "detect_file"]


@dataclass(frozen=True, slots=True)
class DetectionResult:
    """The languages of one upload.

    Attributes:
        languages: ``(language, probability)`` pairs, most probable first (at most
            ``top_k``; empty when no speech was found).
        duration: seconds of audio.
        inference_time: seconds spent decoding the audio and detecting.
    """

    languages: tuple[tuple[str, float], ...]
    duration: float
    inference_time: float


def check_detection(engine: LoadedEngine, options: DecodeOptions) -> None:
    """Refuse (422, before any audio is decoded) an engine that cannot identify
    languages, or options it cannot honour (an unknown code in ``languages``)."""
    primary = engine.primary
    if not primary.capabilities.language_detection:
        raise ApiError(
            422,
            "invalid_options",
            f"model {engine.name}:{engine.model_id} is not multilingual and cannot "
            "identify languages; serve a multilingual model (`aural serve --model "
            "base`) and pick it with model=",
        )
    try:
        primary.check_options(options)
    except ConfigError as err:
        raise ApiError(422, "invalid_options", str(err)) from err


def detect_file(
    engine: LoadedEngine,
    path: Path,
    options: DecodeOptions,
    max_duration_s: float,
    top_k: int,
    display_name: str | None = None,
    raw: RawAudio | None = None,
) -> DetectionResult:
    """Decode ``path`` and rank the languages spoken in it with ``engine``.

    Args:
        engine: a loaded engine that can identify languages (see
            :func:`check_detection`).
        path: the uploaded audio on disk.
        options: ``vad``, ``vad_options`` and ``languages`` (the allow-list) are used.
        max_duration_s: the longest audio accepted (seconds).
        top_k: how many languages to return.
        display_name: the client's name for the file, for error messages.
        raw: how to read headerless PCM (None = the upload has a header).

    Raises:
        ApiError: as :func:`aural.serving.jobs.load_upload`, and 422 when the engine
            cannot identify languages.
    """
    started = time.perf_counter()
    options = options.with_(language=None, language_per_segment=False)
    check_detection(engine, options)
    waveform = load_upload(engine, path, max_duration_s, display_name, raw)
    with engine.lease() as instance:
        ranked = tuple(instance.detect_language(waveform, options))[:top_k]
    return DetectionResult(ranked, waveform.duration, time.perf_counter() - started)
