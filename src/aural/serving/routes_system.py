"""Liveness, readiness, metrics, server info, transcript rendering and the web page."""

from __future__ import annotations

from importlib import resources
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, ValidationError

from aural import writers
from aural.serving.errors import ApiError
from aural.serving.metrics import CONTENT_TYPE_LATEST
from aural.serving.schemas import describe_validation_error
from aural.serving.state import State, require_api_key
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
    }


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
