"""What one running app holds: config, loaded engines, worker pools and metrics."""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from aural.serving.cache import ModelCache
from aural.serving.config import ServeConfig
from aural.serving.errors import ApiError
from aural.serving.metrics import ServerMetrics
from aural.serving.pool import WorkerPool
from aural.serving.uploads import UploadLimiter

__all__ = ["ServerState", "State", "check_api_key", "get_state", "require_api_key"]


@dataclass(eq=False)
class ServerState:
    """The app's runtime objects (created by :func:`aural.serving.create_app`).

    Attributes:
        config: the settings.
        cache: loaded engines.
        pool: the bounded worker pool for file transcription.
        stream_pool: threads that run streaming decoders.
        metrics: the app's Prometheus metrics.
        uploads: bounds the request bodies received at the same time.
        ready: set once every configured engine is loaded.
    """

    config: ServeConfig
    cache: ModelCache
    pool: WorkerPool
    stream_pool: WorkerPool
    metrics: ServerMetrics
    uploads: UploadLimiter
    ready: threading.Event = field(default_factory=threading.Event)
    active_streams: int = 0
    _streams_lock: threading.Lock = field(default_factory=threading.Lock)

    def open_stream(self) -> bool:
        """Count a new WebSocket stream; False when ``max_streams`` are already open."""
        with self._streams_lock:
            if self.active_streams >= self.config.max_streams:
                return False
            self.active_streams += 1
        self.metrics.active_streams.inc()
        return True

    def close_stream(self) -> None:
        with self._streams_lock:
            self.active_streams -= 1
        self.metrics.active_streams.dec()


def get_state(conn: HTTPConnection) -> ServerState:
    """The app's :class:`ServerState` (a FastAPI dependency)."""
    state: ServerState = conn.app.state.aural
    return state


State = Annotated[ServerState, Depends(get_state)]
"""A handler parameter typed ``State`` receives the app's :class:`ServerState`."""


def check_api_key(
    state: ServerState, authorization: str | None, query_key: str | None
) -> None:
    """Raise 401 unless the server has no key or the request carries the right one.

    Args:
        state: the server state.
        authorization: the ``Authorization`` header (``Bearer <key>``).
        query_key: an ``api_key`` query parameter (WebSocket clients in browsers).

    Raises:
        ApiError: 401 ``unauthorized``.
    """
    expected = state.config.api_key
    if expected is None:
        return
    given = query_key
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer":
            given = token.strip()
    if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiError(
            401,
            "unauthorized",
            "missing or wrong API key; send the header 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


async def require_api_key(request: Request) -> None:
    """FastAPI dependency guarding the ``/v1`` HTTP routes."""
    check_api_key(get_state(request), request.headers.get("authorization"), None)
