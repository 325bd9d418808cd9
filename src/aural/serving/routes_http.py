"""The HTTP transcription endpoints: native, OpenAI-compatible and base64 JSON."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ValidationError

from aural import writers
from aural.decoding.options import DecodeOptions
from aural.diarization import DiarizationOptions
from aural.serving.cache import LoadedEngine
from aural.serving.detection import check_detection, detect_file
from aural.serving.errors import ApiError
from aural.serving.jobs import JobResult, RawAudio, transcribe_file
from aural.serving.schemas import (
    Base64Request,
    DetectLanguageParams,
    OpenAIParams,
    TranscribeParams,
    TranslationParams,
    base64_response,
    describe_validation_error,
    detect_language_response,
    openai_verbose_json,
    parse_params,
)
from aural.serving.state import ServerState, State, require_api_key
from aural.serving.uploads import Upload, read_json_body, receive_upload_in_time
from aural.types import Transcript

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(require_api_key)])

_MEDIA_TYPES = {"srt": "application/x-subrip", "vtt": "text/vtt", "txt": "text/plain"}
_OPENAI_DEFAULT_MODEL = "whisper-1"
_OPENAI_ROUTES = {
    "transcribe": "/v1/audio/transcriptions",
    "translate": "/v1/audio/translations",
}


def _multipart_body(params: type[BaseModel], raw_body: bool) -> dict[str, Any]:
    """OpenAPI ``requestBody`` for an endpoint that parses its multipart body itself."""
    schema = params.model_json_schema(by_alias=True)
    properties = {
        "file": {"type": "string", "format": "binary"},
        **schema["properties"],
    }
    content: dict[str, Any] = {
        "multipart/form-data": {
            "schema": {"type": "object", "properties": properties, "required": ["file"]}
        }
    }
    if raw_body:
        content["application/octet-stream"] = {
            "schema": {"type": "string", "format": "binary"}
        }
    return {"requestBody": {"required": True, "content": content}}


def _query(request: Request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        out.setdefault(key, []).append(value)
    return out


async def _receive(request: Request, state: ServerState) -> Upload:
    """The upload, within the request timeout, counted against ``max_uploads``.

    It holds no pool slot while it arrives: a full pool refuses the request at once, but
    the slot is claimed only once the body is complete (see :func:`_run`), so slow or
    stalled clients cannot lock real ones out of decoding.
    """
    cfg = state.config
    state.pool.check_room()
    with state.uploads.claim():
        return await receive_upload_in_time(
            request,
            cfg.max_upload_bytes,
            cfg.tmp_dir,
            cfg.upload_idle_timeout_s,
            cfg.request_timeout_s,
        )


async def _run(
    state: ServerState,
    started: float,
    engine: LoadedEngine,
    upload: Upload,
    options: DecodeOptions,
    route: str,
    raw: RawAudio | None = None,
    diarization: DiarizationOptions | None = None,
) -> JobResult:
    """Claim a pool slot (429 when full) and transcribe the complete upload in it
    (with speakers when ``diarization`` is given)."""
    cfg = state.config
    path = upload.path
    assert path is not None
    slot = state.pool.admit()
    # one limit for upload + queue + decode, counted from the request's start
    remaining = max(0.001, cfg.request_timeout_s - (time.monotonic() - started))
    result = await state.pool.run(
        slot,
        lambda: transcribe_file(
            engine,
            path,
            options,
            cfg.max_duration_s,
            upload.filename,
            raw,
            diarization,
        ),
        remaining,
    )
    state.metrics.audio_seconds.labels(route).inc(result.transcript.info.duration)
    state.metrics.inference_seconds.labels(engine.name).observe(result.inference_time)
    return result


def _with_diarization(
    params: TranscribeParams | OpenAIParams | Base64Request, options: DecodeOptions
) -> tuple[DecodeOptions, DiarizationOptions | None]:
    """The decoding options (word times on, since speakers are given word by word)
    and the diarization settings for ``diarize=true``; None without it."""
    diarization = params.diarization_options()
    if diarization is not None and not options.word_timestamps:
        options = options.with_(word_timestamps=True)
    return options, diarization


def _render(transcript: Transcript, fmt: str) -> Response:
    if fmt == "json":
        return JSONResponse(transcript.to_dict())
    fmt = "txt" if fmt == "text" else fmt
    return PlainTextResponse(
        writers.render(transcript, fmt), media_type=_MEDIA_TYPES[fmt]
    )


_Plan = tuple[LoadedEngine, DecodeOptions, DiarizationOptions | None]
_P = TypeVar("_P", TranscribeParams, OpenAIParams, TranslationParams)
_O = TypeVar("_O", OpenAIParams, TranslationParams)


async def _transcribe_upload(
    request: Request,
    state: ServerState,
    params_type: type[_P],
    route: str,
    plan: Callable[[_P], _Plan],
) -> tuple[_P, DecodeOptions, Transcript]:
    """Receive the upload, parse its options (query parameters, then form fields),
    ``plan`` the engine, decoding and diarization options from them, and transcribe
    in a pool slot; the upload is removed when done.

    Returns:
        The parsed parameters, the decoding options used and the transcript.
    """
    started = time.monotonic()
    upload = await _receive(request, state)
    with upload:
        params: _P = parse_params(params_type, _query(request), upload.fields)
        engine, options, diarization = plan(params)
        result = await _run(
            state,
            started,
            engine,
            upload,
            options,
            route,
            params.raw_audio(),
            diarization,
        )
    return params, options, result.transcript


def _native_plan(state: ServerState, params: TranscribeParams | Base64Request) -> _Plan:
    """The engine (by ``engine``/``model``), decoding and diarization options of an
    aural-native request."""
    engine = state.cache.get(params.engine, params.model)
    options = params.decode_options(state.config.beam_size)
    return (engine, *_with_diarization(params, options))


@router.post(
    "/v1/transcribe",
    summary="Transcribe an uploaded file or a raw audio body",
    openapi_extra=_multipart_body(TranscribeParams, raw_body=True),
)
async def transcribe(request: Request, state: State) -> Response:
    """Multipart ``file`` (or the raw body) plus options as form fields or query
    parameters.

    Returns the Transcript JSON, or txt/srt/vtt with ``response_format``.
    """
    params, _, transcript = await _transcribe_upload(
        request,
        state,
        TranscribeParams,
        "/v1/transcribe",
        lambda p: _native_plan(state, p),
    )
    return _render(transcript, params.response_format)


def _openai_engine(state: ServerState, model: str) -> LoadedEngine:
    if model == _OPENAI_DEFAULT_MODEL:
        return state.cache.default
    name, sep, variant = model.partition(":")
    if sep:
        return state.cache.get(name, variant or None)
    for engine in state.cache.engines():
        if model in (engine.name, engine.model_id):
            return engine
    raise ApiError(
        422,
        "model_not_found",
        f"model {model!r} is not served here; use {_OPENAI_DEFAULT_MODEL!r} (the "
        f"default) or one of: {', '.join(state.cache.describe())}",
    )


def _openai_plan(state: ServerState, params: OpenAIParams | TranslationParams) -> _Plan:
    """The engine (by OpenAI ``model``) and options of a transcription, or of a
    translation into English (refused with 422 by an English-only model)."""
    engine = _openai_engine(state, params.model)
    changes: dict[str, Any] = {"beam_size": state.config.beam_size}
    if params.prompt:
        changes["initial_prompt"] = params.prompt
    if params.temperature is not None:
        changes["temperature"] = params.temperature
    if isinstance(params, TranslationParams):
        if not engine.primary.capabilities.translate:
            raise ApiError(
                422,
                "invalid_options",
                f"model {engine.name}:{engine.model_id} is English-only and cannot "
                "translate; serve a multilingual model (`aural serve --model base`) "
                "and pick it with model=",
            )
        options = DecodeOptions(task="translate", word_timestamps=False, **changes)
        return engine, options, None
    changes["word_timestamps"] = "word" in params.timestamp_granularities
    if params.language:
        changes["language"] = params.language
    if params.hotwords:
        changes["hotwords"] = params.hotword_entries()
    if params.languages:
        changes["languages"] = params.language_list()
    return (engine, *_with_diarization(params, DecodeOptions(**changes)))


async def _openai_upload(
    request: Request, state: ServerState, params_type: type[_O]
) -> Response:
    """``/v1/audio/transcriptions`` (``OpenAIParams``) or ``/v1/audio/translations``
    (``TranslationParams``): the upload transcribed or translated, rendered as the
    OpenAI API's ``response_format``."""
    task: Literal["transcribe", "translate"] = (
        "translate" if params_type is TranslationParams else "transcribe"
    )
    params, options, transcript = await _transcribe_upload(
        request,
        state,
        params_type,
        _OPENAI_ROUTES[task],
        lambda p: _openai_plan(state, p),
    )
    fmt = params.response_format
    if fmt == "json":
        return JSONResponse({"text": transcript.text})
    if fmt == "verbose_json":
        granularities = (
            params.timestamp_granularities
            if isinstance(params, OpenAIParams)
            else ("segment",)
        )
        return JSONResponse(
            openai_verbose_json(transcript, granularities, options.temperature, task)
        )
    return _render(transcript, fmt)


@router.post(
    "/v1/audio/transcriptions",
    summary="OpenAI-compatible transcription",
    openapi_extra=_multipart_body(OpenAIParams, raw_body=False),
)
async def openai_transcriptions(request: Request, state: State) -> Response:
    """The OpenAI audio API: ``file``, ``model``, ``language``, ``prompt``,
    ``response_format``, ``temperature``, ``timestamp_granularities[]``; plus aural's
    ``hotwords`` (comma-separated, ``word:weight`` allowed) and ``raw_*`` fields."""
    return await _openai_upload(request, state, OpenAIParams)


@router.post(
    "/v1/audio/translations",
    summary="OpenAI-compatible translation into English",
    openapi_extra=_multipart_body(TranslationParams, raw_body=False),
)
async def openai_translations(request: Request, state: State) -> Response:
    """The OpenAI audio API: speech in any language -> English text (``file``,
    ``model``, ``prompt``, ``response_format``, ``temperature``). A model that cannot
    translate (English-only, e.g. tiny.en) is refused with 422 before decoding."""
    return await _openai_upload(request, state, TranslationParams)


@router.post(
    "/v1/detect-language",
    summary="Which language is spoken: the top languages with probabilities",
    openapi_extra=_multipart_body(DetectLanguageParams, raw_body=True),
)
async def detect_language(request: Request, state: State) -> Response:
    """Multipart ``file`` (or the raw body) plus ``languages`` (an allow-list,
    comma-separated), ``top_k``, ``vad``, ``engine``/``model`` as form fields or query
    parameters -> ``{"language", "language_probability", "languages": [{"language",
    "name", "probability"}...], "duration", ...}``. Nothing is transcribed."""
    cfg = state.config
    started = time.monotonic()
    upload = await _receive(request, state)
    with upload:
        params: DetectLanguageParams = parse_params(
            DetectLanguageParams, _query(request), upload.fields
        )
        if params.engine is None and params.model is not None:
            engine = _openai_engine(state, params.model)
        else:
            engine = state.cache.get(params.engine, params.model)
        changes: dict[str, Any] = {}
        if params.vad is not None:
            changes["vad"] = params.vad
        if params.languages:
            changes["languages"] = params.language_list()
        options = DecodeOptions(**changes)
        check_detection(engine, options)  # refused before waiting for a slot
        path = upload.path
        assert path is not None
        slot = state.pool.admit()
        remaining = max(0.001, cfg.request_timeout_s - (time.monotonic() - started))
        raw = params.raw_audio()
        result = await state.pool.run(
            slot,
            lambda: detect_file(
                engine,
                path,
                options,
                cfg.max_duration_s,
                params.top_k,
                upload.filename,
                raw,
            ),
            remaining,
        )
    state.metrics.audio_seconds.labels("/v1/detect-language").inc(result.duration)
    state.metrics.inference_seconds.labels(engine.name).observe(result.inference_time)
    return JSONResponse(
        detect_language_response(
            result.languages,
            result.duration,
            result.inference_time,
            engine.name,
            engine.model_id,
        )
    )


def _decode_base64(text: str) -> bytes:
    if text.startswith("data:"):  # a data URL: data:audio/wav;base64,....
        text = text.partition(",")[2]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as err:
        raise ApiError(
            400, "bad_request", f"audio_data is not valid base64: {err}"
        ) from err


def _no_constants(name: str) -> Any:
    raise ApiError(
        400, "bad_request", f"the body is not valid JSON: {name} is not a JSON value"
    )


def _json_object(body: bytes) -> Mapping[str, Any]:
    try:
        data = json.loads(body, parse_constant=_no_constants)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ApiError(
            400, "bad_request", f"the body is not valid JSON: {err}"
        ) from err
    except RecursionError:
        raise ApiError(
            400,
            "bad_request",
            "the body is not acceptable JSON: it is nested too deeply; send a flat "
            "object with 'audio_data' and the options",
        ) from None
    if not isinstance(data, dict):
        raise ApiError(
            400, "bad_request", "the body must be a JSON object with 'audio_data'"
        )
    return data


def _write_temp(data: bytes, tmp_dir: Path | None) -> Upload:
    fd, name = tempfile.mkstemp(prefix="aural-upload-", dir=tmp_dir)
    upload = Upload(path=Path(name), filename="audio_data", size=len(data))
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    except BaseException:
        upload.cleanup()
        raise
    return upload


@router.post("/v1/transcribe/base64", summary="Transcribe base64 audio in a JSON body")
async def transcribe_base64(request: Request, state: State) -> Response:
    """``{"audio_data": "<base64>", ...options}`` -> transcription, confidence,
    inference_time, audio_duration, real_time_factor."""
    cfg = state.config
    started = time.monotonic()
    state.pool.check_room()  # refuse at once when full; the slot is claimed in _run
    with state.uploads.claim():
        # base64 is 4/3 the size of the audio, plus some room for the other fields
        try:
            body = await asyncio.wait_for(
                read_json_body(
                    request,
                    cfg.max_upload_bytes * 4 // 3 + 65_536,
                    cfg.upload_idle_timeout_s,
                ),
                cfg.request_timeout_s,
            )
        except TimeoutError:
            raise ApiError(
                408,
                "timeout",
                f"the body did not arrive within {cfg.request_timeout_s:g} s",
            ) from None
    data = _json_object(body)
    del body
    try:
        params = Base64Request.model_validate(data)
    except ValidationError as err:
        raise ApiError(422, "invalid_options", describe_validation_error(err)) from err
    audio_bytes = _decode_base64(params.audio_data)
    if len(audio_bytes) > cfg.max_upload_bytes:
        raise ApiError(
            413,
            "too_large",
            f"the decoded audio is larger than {cfg.max_upload_mb:g} MiB",
        )
    if not audio_bytes:
        raise ApiError(400, "no_audio", "audio_data is empty")
    engine, options, diarization = _native_plan(state, params)
    upload = _write_temp(audio_bytes, cfg.tmp_dir)
    del audio_bytes
    with upload:
        result = await _run(
            state,
            started,
            engine,
            upload,
            options,
            "/v1/transcribe/base64",
            params.raw_audio(),
            diarization,
        )
    return JSONResponse(base64_response(result.transcript, result.inference_time))
