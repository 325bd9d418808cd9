"""``create_app``: the FastAPI application behind ``aural serve``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from aural.serving import jobs_api, routes_http, routes_listen, routes_system
from aural.serving.cache import ModelCache
from aural.serving.config import ServeConfig
from aural.serving.errors import UnexpectedErrorMiddleware, install_error_handlers
from aural.serving.jobrunner import JobService
from aural.serving.metrics import MetricsMiddleware, ServerMetrics
from aural.serving.pool import WorkerPool
from aural.serving.state import ServerState
from aural.serving.uploads import UploadLimiter

__all__ = ["create_app", "load_engines"]

logger = logging.getLogger(__name__)


def _engine_settings(config: ServeConfig, name: str) -> dict[str, Any]:
    """Settings passed to ``create_engine``: the server's layout (the cores shared out
    between the request workers, so parallel decodes do not oversubscribe; streaming
    threads may hold further decodes of the same model), for engines that take one."""
    from aural.engines.base import engine_class
    from aural.engines.layout import choose_layout

    layout = choose_layout(
        "server",
        threads=config.engine_threads,
        decodes=max(config.workers, config.stream_workers or 1),
    )
    return engine_class(name).layout_settings(layout)


def load_engines(config: ServeConfig, cache: ModelCache) -> None:
    """Load every engine the config names into ``cache`` (already loaded ones are
    kept)."""
    for name, model in config.engine_specs:
        engine = cache.load(
            name, model, _engine_settings(config, name), replicas=config.workers
        )
        logger.info("loaded engine %s model %s", engine.name, engine.model_id)


def create_app(
    config: ServeConfig, *, model_cache: ModelCache | None = None
) -> FastAPI:
    """Build the app; engines load in its lifespan (``/ready`` says when).

    Args:
        config: the server settings.
        model_cache: engines loaded elsewhere to reuse (the caller then owns it and its
            ``clear()``); None = a cache owned and cleared by this app.

    Returns:
        The FastAPI application, ready for uvicorn.

    Example:
        >>> app = create_app(ServeConfig(engine="sphinx"))
        >>> # uvicorn.run(app, host="127.0.0.1", port=8000)
    """
    owns_cache = model_cache is None
    cache = model_cache if model_cache is not None else ModelCache()
    pool = WorkerPool(
        config.workers, config.queue, config.retry_after_s, "aural-worker"
    )
    stream_pool = WorkerPool(
        config.stream_workers or config.workers, 0, config.retry_after_s, "aural-stream"
    )
    metrics = ServerMetrics(lambda: pool.queue_depth, lambda: pool.admitted)
    state = ServerState(
        config=config,
        cache=cache,
        pool=pool,
        stream_pool=stream_pool,
        metrics=metrics,
        uploads=UploadLimiter(config.max_uploads, config.retry_after_s),
    )
    jobs = JobService(config, state)  # the job API's store, runner and webhooks

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if config.tmp_dir is not None:
            config.tmp_dir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(load_engines, config, cache)
        await jobs.start()
        state.ready.set()
        try:
            yield
        finally:
            state.ready.clear()
            await jobs.stop()  # running jobs go back to the queue
            # uvicorn has already drained in-flight requests; let queued work end too
            await asyncio.to_thread(pool.shutdown, True)
            await asyncio.to_thread(stream_pool.shutdown, True)
            if owns_cache:
                cache.clear()

    app = FastAPI(
        title="aural",
        summary="Speech recognition over HTTP and WebSocket",
        version="1.0",
        lifespan=lifespan,
        # the Swagger/ReDoc pages load scripts from a CDN; /openapi.json stays
        docs_url=None,
        redoc_url=None,
    )
    app.state.aural = state
    app.state.aural_jobs = jobs
    install_error_handlers(app)
    app.include_router(routes_system.router)
    app.include_router(routes_http.router)
    app.include_router(routes_listen.router)
    app.include_router(jobs_api.router)
    app.mount(
        "/static", StaticFiles(packages=[("aural.serving", "static")]), name="static"
    )
    app.add_middleware(
        UnexpectedErrorMiddleware
    )  # innermost: its 500s get CORS headers
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
            expose_headers=["Retry-After"],
            max_age=600,
        )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
