"""Error mapping: every failure leaves the server as ``{"error": {"type", "message"}}``.

:class:`ApiError` carries an HTTP status for problems the server itself detects (size,
overload, auth); :func:`status_for` maps each :class:`aural.errors.AuralError` type to a
status so engines and decoders never need to know about HTTP.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aural.errors import (
    AudioDecodeError,
    AuralError,
    ConfigError,
    EmptyAudioError,
    EngineNotFoundError,
    MissingDependencyError,
    ModelNotFoundError,
    UnsupportedAudioError,
)

__all__ = [
    "ApiError",
    "UnexpectedErrorMiddleware",
    "error_body",
    "install_error_handlers",
    "status_for",
    "type_for",
]

logger = logging.getLogger(__name__)

# Most specific first: the first isinstance match wins.
_AURAL_STATUS: tuple[tuple[type[AuralError], int, str], ...] = (
    (UnsupportedAudioError, 415, "unsupported_audio"),
    (EmptyAudioError, 400, "empty_audio"),
    (AudioDecodeError, 400, "audio_decode_error"),
    (EngineNotFoundError, 422, "engine_not_found"),
    (ModelNotFoundError, 422, "model_not_found"),
    (ConfigError, 422, "invalid_options"),
    (MissingDependencyError, 503, "missing_dependency"),
)


class ApiError(Exception):
    """A failure with its HTTP status, error type and user-facing message.

    Args:
        status: HTTP status code.
        type: short machine-readable kind (``too_large``, ``overloaded``, ...).
        message: what went wrong and what to do.
        headers: extra response headers (e.g. ``Retry-After``).
    """

    def __init__(
        self,
        status: int,
        type: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.message = message
        self.headers = headers or {}

    @classmethod
    def retry_later(
        cls, status: int, type: str, message: str, retry_after_s: int
    ) -> ApiError:
        """A 429/503 that tells the client when to retry (``Retry-After``)."""
        return cls(status, type, message, headers={"Retry-After": str(retry_after_s)})


def status_for(err: AuralError) -> int:
    """The HTTP status for an aural error (500 for types with no mapping)."""
    for cls, status, _ in _AURAL_STATUS:
        if isinstance(err, cls):
            return status
    return 500


def type_for(err: AuralError) -> str:
    """The error ``type`` string for an aural error."""
    for cls, _, kind in _AURAL_STATUS:
        if isinstance(err, cls):
            return kind
    return "internal_error"


def error_body(type: str, message: str) -> dict[str, Any]:
    """The JSON body every error response carries."""
    return {"error": {"type": type, "message": message}}


def _json_error(
    status: int, type: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(type, message), status_code=status, headers=headers)


async def _on_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return _json_error(exc.status, exc.type, exc.message, exc.headers)


async def _on_aural_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AuralError)
    status = status_for(exc)
    if status >= 500:
        logger.error("request %s failed: %s", request.url.path, exc, exc_info=exc)
    return _json_error(status, type_for(exc), str(exc))


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query"))
        parts.append(f"{loc or 'request'}: {e.get('msg')}")
    return _json_error(422, "invalid_options", "; ".join(parts) or "invalid request")


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    kind = {404: "not_found", 405: "method_not_allowed"}.get(
        exc.status_code, "http_error"
    )
    return _json_error(exc.status_code, kind, str(exc.detail), dict(exc.headers or {}))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.error("unexpected error on %s", request.url.path, exc_info=exc)
    return _json_error(
        500, "internal_error", "the server failed; see its log for details"
    )


class UnexpectedErrorMiddleware:
    """Answer an unexpected exception with the JSON 500 and keep the connection.

    Starlette's outermost handler re-raises after it responds, and uvicorn then closes
    the connection, so a keep-alive client's next request fails with a reset. This
    middleware logs the error and ends the response itself instead; when a response had
    already started it re-raises (the connection cannot be saved then).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            if started:
                raise
            logger.error("unexpected error on %s", scope.get("path", ""), exc_info=exc)
            response = _json_error(
                500, "internal_error", "the server failed; see its log for details"
            )
            await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn exceptions into ``{"error": ...}`` responses."""
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(AuralError, _on_aural_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
