"""Liveness, readiness, metrics, server info, transcript rendering and the web page."""

from __future__ import annotations

from importlib import resources
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, ValidationError

from aural import writers
from aural.serving.cache import LoadedEngine
from aural.serving.errors import ApiError
from aural.serving.metrics import CONTENT_TYPE_LATEST
from aural.serving.schemas import describe_validation_error
from aural.serving.state import ServerState, State, require_api_key
from aural.serving.uploads import read_json_body
from aural.types import Transcript

__all__ = ["STATIC_PACKAGE", "router"]

STATIC_PACKAGE = "aural.serving.static"
_RENDER_LIMIT = 16 * 1024 * 1024

router = APIRouter()


@router.get("/health", summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="Readiness: every configured engine is loaded")
async def ready(state: State) -> Response:
    if not state.ready.is_set():
        return JSONResponse(
            {"status": "loading", "engines": state.cache.describe()},
            status_code=503,
            headers={"Retry-After": "1"},
        )
    return JSONResponse({"status": "ready", "engines": state.cache.describe()})


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(state: State) -> Response:
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/info", summary="What this server offers (used by the web page)")
async def info(state: State) -> dict[str, Any]:
    cfg = state.config
    return {
        "engines": state.cache.describe(),
        "auth_required": cfg.api_key is not None,
        "max_upload_mb": cfg.max_upload_mb,
        "max_duration_s": cfg.max_duration_s,
        "formats": ["json", "txt", "srt", "vtt"],
        # the default model's languages (code -> name), for the page's picker
        "languages": _languages(state.cache.default) if state.cache.is_loaded else {},
    }


OPENAI_DEFAULT_MODEL = "whisper-1"
"""The OpenAI model name that selects the server's default model."""


def _languages(engine: LoadedEngine) -> dict[str, str]:
    """The languages a loaded model takes, code -> English name."""
    from aural.text.multilingual import LANGUAGE_NAMES

    known = engine.primary.capabilities.languages
    codes = sorted(LANGUAGE_NAMES) if known is None else sorted(known)
    return {c: LANGUAGE_NAMES.get(c, c) for c in codes}


def _model_entry(model_id: str, engine: LoadedEngine, default: bool) -> dict[str, Any]:
    caps = engine.primary.capabilities
    return {
        "id": model_id,
        "object": "model",
        "created": engine.loaded_at,
        "owned_by": "aural",
        # aural's own fields: what the model is and what it can do
        "engine": engine.name,
        "model": engine.model_id,
        "default": default,
        "multilingual": caps.multilingual,
        "translate": caps.translate,
        "language_detection": caps.language_detection,
        "languages": None if caps.languages is None else sorted(caps.languages),
    }


def _model_entries(state: ServerState) -> list[dict[str, Any]]:
    """One entry per loaded model (``engine:model``), the default first, and
    ``whisper-1`` (the OpenAI name clients send by default) for the default."""
    if not state.cache.is_loaded:
        return []
    default = state.cache.default
    entries = [
        _model_entry(f"{e.name}:{e.model_id}", e, e is default)
        for e in state.cache.engines()
    ]
    entries.sort(key=lambda e: not e["default"])
    entries.append(_model_entry(OPENAI_DEFAULT_MODEL, default, True))
    return entries


@router.get(
    "/v1/models",
    dependencies=[Depends(require_api_key)],
    summary="The models served, as the OpenAI API lists them",
)
async def list_models(state: State) -> dict[str, Any]:
    """``{"object": "list", "data": [{"id", "object": "model", "created",
    "owned_by"}, ...]}``; each id works as ``model`` on the OpenAI endpoints."""
    return {"object": "list", "data": _model_entries(state)}


@router.get(
    "/v1/models/{model_id:path}",
    dependencies=[Depends(require_api_key)],
    summary="One served model, as the OpenAI API describes it",
)
async def retrieve_model(model_id: str, state: State) -> dict[str, Any]:
    for entry in _model_entries(state):
        if entry["id"] == model_id:
            return entry
    served = ", ".join(e["id"] for e in _model_entries(state)) or "none yet"
    raise ApiError(
        404,
        "model_not_found",
        f"model {model_id!r} is not served here; served: {served}",
    )


class RenderRequest(BaseModel):
    """``POST /v1/render``: a Transcript JSON and the format wanted."""

    model_config = ConfigDict(extra="forbid")

    transcript: dict[str, Any]
    format: Literal["txt", "srt", "vtt", "tsv", "json"]


_MEDIA = {
    "txt": "text/plain",
    "srt": "application/x-subrip",
    "vtt": "text/vtt",
    "tsv": "text/tab-separated-values",
    "json": "application/json",
}


@router.post(
    "/v1/render",
    dependencies=[Depends(require_api_key)],
    summary="Render a Transcript JSON as txt/srt/vtt/tsv/json",
)
async def render(request: Request) -> Response:
    """Used by the web page's download buttons; formatting stays in
    :mod:`aural.writers`."""
    body = await read_json_body(request, _RENDER_LIMIT)
    try:
        req = RenderRequest.model_validate_json(body)
    except ValidationError as err:
        raise ApiError(422, "invalid_options", describe_validation_error(err)) from err
    try:
        transcript = Transcript.from_dict(req.transcript)
    except (KeyError, TypeError, ValueError) as err:
        raise ApiError(
            422,
            "invalid_options",
            f"transcript is not a Transcript JSON object: missing or bad {err}",
        ) from err
    text = writers.render(transcript, req.format)
    return PlainTextResponse(text, media_type=_MEDIA[req.format])


def _static_text(name: str) -> str:
    return resources.files(STATIC_PACKAGE).joinpath(name).read_text(encoding="utf-8")


# The page loads nothing from elsewhere; the policy makes the browser enforce that.
_PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: "
    "blob:; connect-src 'self' ws: wss:; media-src 'self' blob:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


@router.get("/", include_in_schema=False)
async def index() -> HTMLResponse:
    """The web page: upload a file or record from the microphone."""
    return HTMLResponse(
        _static_text("index.html"),
        headers={
            "Content-Security-Policy": _PAGE_POLICY,
            "X-Content-Type-Options": "nosniff",
        },
    )
