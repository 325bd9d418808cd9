"""`aural serve`: the HTTP/WebSocket server (FastAPI on uvicorn)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from aural.cli.common import cli_message, exit_code_for, fail
from aural.errors import AuralError, MissingDependencyError

__all__ = ["register", "serve_command"]


def serve_command(
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (default 8000).")] = None,
    engine: Annotated[
        str | None, typer.Option(help="Default engine (default whisper).")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model of the default engine.")
    ] = None,
    extra_engine: Annotated[
        list[str] | None,
        typer.Option("--extra-engine", help="Also load ENGINE[:MODEL] (repeatable)."),
    ] = None,
    beam_size: Annotated[
        int | None, typer.Option(help="Default beam size (default 5).")
    ] = None,
    max_upload_mb: Annotated[
        float | None, typer.Option(help="Largest upload (default 100).")
    ] = None,
    max_duration_s: Annotated[
        float | None, typer.Option(help="Longest audio in seconds (default 3600).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Decoding threads (default 2).")
    ] = None,
    queue: Annotated[
        int | None,
        typer.Option(help="Requests that may wait for a thread (default 8)."),
    ] = None,
    max_streams: Annotated[
        int | None, typer.Option(help="Concurrent streams (default 16).")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(help="Require 'Authorization: Bearer KEY' on /v1.")
    ] = None,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option("--cors-origin", help="Allowed origin (repeatable)."),
    ] = None,
    request_timeout_s: Annotated[
        float | None, typer.Option(help="Limit per request in seconds (default 300).")
    ] = None,
    upload_idle_timeout_s: Annotated[
        float | None,
        typer.Option(help="A body that stalls this long gets 408 (default 30)."),
    ] = None,
    max_uploads: Annotated[
        int | None,
        typer.Option(
            help="Request bodies received at once; more get 429 (default 32)."
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="Job store: sqlite:///FILE or postgresql://USER:PW@HOST/DB "
            "(default: a SQLite file in the jobs dir)."
        ),
    ] = None,
    jobs_dir: Annotated[
        Path | None,
        typer.Option(help="Job spool folder (default $XDG_STATE_HOME/aural/jobs)."),
    ] = None,
    job_workers: Annotated[
        int | None,
        typer.Option(help="Jobs run here at once (default --workers; 0 = none)."),
    ] = None,
    job_retention_s: Annotated[
        float | None,
        typer.Option(help="Keep finished jobs this long (default 86400)."),
    ] = None,
    webhook_secret: Annotated[
        str | None,
        typer.Option(help="HMAC-SHA256 key signing job webhooks (16+ chars)."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML file of settings.")
    ] = None,
) -> None:
    """Serve transcription over HTTP and WebSocket (settings:
    flags > AURAL_SERVE_* > --config)."""
    try:
        import uvicorn

        from aural.serving import ModelCache, create_app, load_serve_config
        from aural.serving.app import load_engines
        from aural.serving.jobrunner import job_store_for
        from aural.serving.runner import WS_MAX_SIZE
    except ImportError as err:
        fail(
            str(
                MissingDependencyError(
                    f"aural serve needs {err.name!r}; install with `pip install "
                    "'aural[serve]'`"
                )
            )
        )
    overrides: dict[str, Any] = {
        "host": host,
        "port": port,
        "engine": engine,
        "model": model,
        "extra_engines": tuple(extra_engine) if extra_engine else None,
        "beam_size": beam_size,
        "max_upload_mb": max_upload_mb,
        "max_duration_s": max_duration_s,
        "workers": workers,
        "queue": queue,
        "max_streams": max_streams,
        "api_key": api_key,
        "cors_origins": tuple(cors_origin) if cors_origin else None,
        "request_timeout_s": request_timeout_s,
        "upload_idle_timeout_s": upload_idle_timeout_s,
        "max_uploads": max_uploads,
        "database_url": database_url,
        "jobs_dir": jobs_dir,
        "job_workers": job_workers,
        "job_retention_s": job_retention_s,
        "webhook_secret": webhook_secret,
    }
    cache = ModelCache()
    try:
        settings = load_serve_config(config, overrides)
        load_engines(
            settings, cache
        )  # fail here, with one clear line, not in the lifespan
        job_store_for(settings).close()  # the job store opens (and has its tables)
    except AuralError as err:
        cache.clear()
        fail(cli_message(err), exit_code_for(err))
    app = create_app(settings, model_cache=cache)
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            timeout_graceful_shutdown=int(settings.shutdown_timeout_s),
            ws_max_size=WS_MAX_SIZE,
        )
    finally:
        cache.clear()


def register(app: typer.Typer) -> None:
    """Add ``aural serve`` to the CLI."""
    app.command("serve")(serve_command)
