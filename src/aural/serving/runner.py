"""Run a server in a background thread (tests, benchmarks, notebooks).

``aural serve`` runs uvicorn in the foreground; this helper runs the same uvicorn server
in a thread of the calling process and stops it gracefully on exit.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

__all__ = ["WS_MAX_SIZE", "free_port", "serve_in_thread"]

WS_MAX_SIZE = (
    4 * 1024 * 1024
)  # largest WebSocket message (bytes): 2 min of 16 kHz PCM16


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_in_thread(
    app: FastAPI,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    startup_timeout_s: float = 120.0,
    shutdown_timeout_s: int = 10,
) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a daemon thread; yield its base URL.

    On exit the server stops as on SIGTERM: it stops accepting, finishes in-flight
    requests (up to ``shutdown_timeout_s``) and runs the app's shutdown.

    Args:
        app: the application (e.g. from :func:`aural.serving.create_app`).
        host: interface to bind.
        port: TCP port (0 = pick a free one).
        startup_timeout_s: how long to wait for startup (engines load in it).
        shutdown_timeout_s: graceful shutdown limit.

    Raises:
        RuntimeError: the server did not start (its log says why).
    """
    port = port or free_port(host)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=shutdown_timeout_s,
            ws_max_size=WS_MAX_SIZE,
        )
    )
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(
                f"the server on {host}:{port} did not start; see its log"
            )
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=shutdown_timeout_s + 30)
