"""``ServeConfig``: every knob of ``aural serve``, from flags, environment and a YAML
file.

Precedence, highest first: explicit overrides (CLI flags) > ``AURAL_SERVE_*``
environment variables > the YAML config file > the defaults below.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aural.errors import ConfigError

__all__ = ["ENV_PREFIX", "ServeConfig", "load_serve_config"]

ENV_PREFIX = "AURAL_SERVE_"


class ServeConfig(BaseModel):
    """Settings of the HTTP/WebSocket server.

    Attributes:
        host: interface to bind (loopback by default: exposing the server is a choice).
        port: TCP port.
        engine: the default engine name (``whisper``, ``sphinx``, ...).
        model: the default engine's model (None = the engine's default).
        extra_engines: more ``engine`` or ``engine:model`` specs to preload; requests
            may pick any loaded one with ``engine=``/``model=``.
        beam_size: default beam size for requests that do not give one.
        max_upload_mb: largest accepted request body (MiB); larger gets 413.
        max_duration_s: longest accepted audio (seconds), uploads and streams; longer
            gets 413.
        workers: transcription worker threads (requests decoded at the same time).
        queue: requests allowed to wait for a worker; beyond ``workers + queue`` -> 429.
        max_streams: concurrent WebSocket streams; beyond that the stream is refused.
        stream_workers: threads that run streaming decoders (None = ``workers``).
        engine_threads: CPU threads per decode inside the engine (None = the machine's
            cores divided by ``workers``, at least 1).
        request_timeout_s: wall-clock limit for one request (upload + queue + decode);
            for a stream, the longest wait for the next frame.
        upload_idle_timeout_s: the longest pause allowed while a request body arrives;
            an upload that stalls longer gets 408.
        max_uploads: request bodies received at the same time; beyond that -> 429. An
            upload holds no decode capacity while it arrives (a slot is claimed once it
            is complete), so this bounds the disk and memory used by slow uploads.
        retry_after_s: the Retry-After value sent with 429/503.
        api_key: when set, ``/v1/*`` needs ``Authorization: Bearer <key>``.
        cors_origins: origins allowed by CORS (empty = no CORS headers).
        tmp_dir: where uploads are spooled (None = the system temp dir).
        shutdown_timeout_s: how long a graceful shutdown waits for in-flight work.
        log_level: uvicorn log level.
        database_url: the job store (``sqlite:///path.db`` or
            ``postgresql://user:password@host/db``; None = the SQLite file
            ``<jobs_dir>/jobs.sqlite3``). Servers on one PostgreSQL share one queue.
        jobs_dir: where job uploads are spooled (and the default SQLite file lives);
            servers sharing a queue need it on shared storage (None =
            ``$XDG_STATE_HOME/aural/jobs``).
        job_workers: jobs this server runs at once, on idle request workers (None =
            ``workers``; 0 = accept and serve jobs but run none here).
        job_lease_s: a running job's lease; a job whose server stops renewing it for
            this long is taken up again by another server.
        job_max_attempts: runs of a job whose server died before it is failed.
        job_retention_s: how long a finished job and its result are kept.
        job_poll_s: how often an idle server looks for queued jobs.
        webhook_secret: the HMAC-SHA256 key that signs webhooks (``webhook_url`` is
            refused without it).
        webhook_max_attempts: deliveries tried before a webhook is given up.
        webhook_backoff_s: the wait before the first retry (doubling each time).
        webhook_timeout_s: how long one delivery may take.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    engine: str = "whisper"
    model: str | None = None
    extra_engines: tuple[str, ...] = ()
    beam_size: int = Field(5, ge=1, le=20)
    max_upload_mb: float = Field(100.0, gt=0)
    max_duration_s: float = Field(3600.0, gt=0)
    workers: int = Field(2, ge=1, le=64)
    queue: int = Field(8, ge=0, le=10_000)
    max_streams: int = Field(16, ge=1, le=10_000)
    stream_workers: int | None = Field(None, ge=1, le=256)
    engine_threads: int | None = Field(None, ge=1, le=256)
    request_timeout_s: float = Field(300.0, gt=0)
    upload_idle_timeout_s: float = Field(30.0, gt=0)
    max_uploads: int = Field(32, ge=1, le=10_000)
    retry_after_s: int = Field(1, ge=0)
    api_key: str | None = None
    cors_origins: tuple[str, ...] = ()
    tmp_dir: Path | None = None
    shutdown_timeout_s: float = Field(30.0, ge=0)
    log_level: Literal["critical", "error", "warning", "info", "debug", "trace"] = (
        "info"
    )
    # the job API (issue 23): store, workers, leases, retention, webhooks
    database_url: str | None = None
    jobs_dir: Path | None = None
    job_workers: int | None = Field(None, ge=0, le=64)
    job_lease_s: float = Field(30.0, ge=1.0, le=3600.0)
    job_max_attempts: int = Field(3, ge=1, le=100)
    job_retention_s: float = Field(86_400.0, gt=0)
    job_poll_s: float = Field(1.0, gt=0, le=60.0)
    webhook_secret: str | None = Field(None, min_length=16)
    webhook_max_attempts: int = Field(8, ge=1, le=100)
    webhook_backoff_s: float = Field(2.0, gt=0)
    webhook_timeout_s: float = Field(10.0, gt=0, le=300.0)

    @field_validator("api_key")
    @classmethod
    def _key_not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError(
                "api_key must not be blank; leave it unset to disable auth"
            )
        return value

    @field_validator("extra_engines", "cors_origins", mode="before")
    @classmethod
    def _split_csv(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(p.strip() for p in value.split(",") if p.strip())
        return value

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def engine_specs(self) -> tuple[tuple[str, str | None], ...]:
        """(engine, model) pairs to load, the default first, without duplicates."""
        specs: list[tuple[str, str | None]] = [(self.engine, self.model)]
        for spec in self.extra_engines:
            name, _, model = spec.partition(":")
            pair = (name.strip(), model.strip() or None)
            if pair not in specs:
                specs.append(pair)
        return tuple(specs)


def _env_values(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in ServeConfig.model_fields:
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is not None:
            values[name] = raw
    return values


def _file_values(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(
            f"cannot read serve config file {str(path)!r}: {err}"
        ) from err
    except yaml.YAMLError as err:
        raise ConfigError(
            f"serve config file {str(path)!r} is not valid YAML: {err}"
        ) from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"serve config file {str(path)!r} must hold a mapping of settings, "
            f"got {type(data).__name__}"
        )
    return data


def load_serve_config(
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> ServeConfig:
    """Merge defaults, a YAML file, ``AURAL_SERVE_*`` variables and overrides.

    Args:
        config_file: optional YAML file of settings (keys are ServeConfig fields).
        overrides: values that win over everything (e.g. CLI flags); ``None`` values are
            ignored so unset flags do not mask the file or the environment.
        environ: the environment to read (default ``os.environ``).

    Returns:
        The validated configuration.

    Raises:
        ConfigError: the file is unreadable, or a value is unknown or invalid (the
            message names the setting and where it came from).
    """
    values: dict[str, Any] = {}
    if config_file is not None:
        values.update(_file_values(Path(config_file)))
    values.update(_env_values(os.environ if environ is None else environ))
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return ServeConfig(**values)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}"
            for e in err.errors()
        )
        source = (
            f" (file {str(config_file)!r}, env {ENV_PREFIX}*, flags)"
            if config_file
            else ""
        )
        raise ConfigError(f"invalid serve settings{source}: {problems}") from err
