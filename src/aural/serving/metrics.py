"""Prometheus metrics of one app, in a registry the app owns (no process-wide state)."""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CONTENT_TYPE_LATEST", "MetricsMiddleware", "ServerMetrics"]

_LATENCY_BUCKETS = (
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)


class ServerMetrics:
    """The counters, histograms and gauges ``/metrics`` exposes.

    Args:
        queue_depth: reads the pool's waiting-request count at scrape time.
        in_flight: reads the pool's admitted-request count at scrape time.
    """

    def __init__(
        self, queue_depth: Callable[[], int], in_flight: Callable[[], int]
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "aural_requests",
            "HTTP requests by route, method and status",
            ("route", "method", "status"),
            registry=r,
        )
        self.latency = Histogram(
            "aural_request_duration_seconds",
            "HTTP request latency by route",
            ("route",),
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.audio_seconds = Counter(
            "aural_audio_seconds",
            "Seconds of audio transcribed, by route",
            ("route",),
            registry=r,
        )
        self.inference_seconds = Histogram(
            "aural_inference_duration_seconds",
            "Decode time per request (in the worker)",
            ("engine",),
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.active_streams = Gauge(
            "aural_active_streams", "WebSocket streams open now", registry=r
        )
        self.streams = Counter(
            "aural_streams", "WebSocket streams by outcome", ("outcome",), registry=r
        )
        queue = Gauge(
            "aural_queue_depth", "Admitted requests waiting for a worker", registry=r
        )
        queue.set_function(lambda: float(queue_depth()))
        flight = Gauge(
            "aural_in_flight_requests", "Admitted requests not yet finished", registry=r
        )
        flight.set_function(lambda: float(in_flight()))

    def render(self) -> bytes:
        """The exposition text for ``/metrics``."""
        return generate_latest(self.registry)


def _route_label(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class MetricsMiddleware:
    """ASGI middleware counting HTTP requests by route template and status."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = _route_label(scope)
            self.metrics.requests.labels(
                route, scope.get("method", ""), str(status)
            ).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)
