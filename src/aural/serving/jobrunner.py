"""``JobService``: the part of a server that runs queued jobs from the store.

Each server (``aural serve``) claims jobs from the shared store whenever one of its
worker threads is idle, so jobs use the same engines, worker pool and
:func:`aural.serving.jobs.transcribe_file` as the synchronous endpoints (a synchronous
request never waits behind a queued job: jobs only take idle workers). While a job
runs, a heartbeat thread renews its lease and stores its progress; a server that dies
stops renewing, and once the lease expires another server (or the same one restarted)
takes the job up again. A server that stops gracefully gives its running jobs back to
the queue at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from aural.errors import AuralError
from aural.serving.config import ServeConfig
from aural.serving.errors import ApiError, status_for, type_for
from aural.serving.jobs import transcribe_file
from aural.serving.jobstore import JobRecord, JobStore, WebhookAttempt, open_store
from aural.serving.schemas import TranscribeParams
from aural.serving.state import ServerState
from aural.serving.webhooks import WebhookDispatcher, WebhookPolicy

__all__ = [
    "JobParams",
    "JobService",
    "default_jobs_dir",
    "job_store_for",
]

logger = logging.getLogger(__name__)

_SWEEP_EVERY_S = 30.0  # at most; a short job_retention_s sweeps more often
_JOB_ROUTE = "/v1/jobs"


class JobParams(TranscribeParams):
    """``POST /v1/jobs`` options: those of ``POST /v1/transcribe`` (``response_format``
    is the format of ``GET /v1/jobs/{id}/result``) plus ``url`` (fetch the audio from
    there instead of an upload) and ``webhook_url`` (POST the outcome there)."""

    url: str | None = None
    webhook_url: str | None = None


def default_jobs_dir() -> Path:
    """Where jobs live when ``jobs_dir`` is unset: ``$XDG_STATE_HOME/aural/jobs``
    (``~/.local/state/aural/jobs``)."""
    state_home = os.environ.get("XDG_STATE_HOME") or str(
        Path.home() / ".local" / "state"
    )
    return Path(state_home) / "aural" / "jobs"


def jobs_dir_of(config: ServeConfig) -> Path:
    return config.jobs_dir if config.jobs_dir is not None else default_jobs_dir()


def job_store_for(config: ServeConfig) -> JobStore:
    """Open the store ``config`` names (``database_url``, else the SQLite file
    ``<jobs_dir>/jobs.sqlite3``).

    Raises:
        ConfigError: it cannot be opened.
        MissingDependencyError: PostgreSQL without psycopg.
    """
    url = config.database_url
    if url is None:
        url = "sqlite:///" + str((jobs_dir_of(config) / "jobs.sqlite3").absolute())
    return open_store(url)


class _Stopped(Exception):  # a signal to stop, not an error
    """Raised inside a running job to end it early (cancelled, lost or shutdown)."""


@dataclass(eq=False)
class _Running:
    """A job this server is running: its fencing attempt, progress and stop flag."""

    job: JobRecord
    progress: float = 0.0
    stop: threading.Event = field(default_factory=threading.Event)
    reason: Literal["cancelled", "shutdown"] | None = None

    def report(self, fraction: float) -> None:
        """Progress callback of :func:`transcribe_file`; ends the work when asked."""
        self.progress = min(1.0, max(self.progress, fraction))
        if self.stop.is_set():
            raise _Stopped(self.reason or "cancelled")


class _JobGauges(Collector):
    """``aural_jobs{status}`` and ``aural_jobs_queued`` from the store at scrape
    time (the queue is shared by every server on the store: scale on it)."""

    def __init__(self, store: Callable[[], JobStore | None]) -> None:
        self._store = store

    def collect(self) -> Any:
        store = self._store()
        if store is None:
            return
        try:
            counts = store.counts()
        except (AuralError, OSError) as err:
            logger.warning("metrics: the job store did not answer: %s", err)
            return
        by_status = GaugeMetricFamily(
            "aural_jobs", "Jobs in the store by status", labels=["status"]
        )
        for status, count in counts.items():
            by_status.add_metric([status], float(count))
        yield by_status
        yield GaugeMetricFamily(
            "aural_jobs_queued",
            "Jobs waiting for a worker in the shared store (the autoscaling signal)",
            value=float(counts["queued"]),
        )

    def describe(self) -> Any:
        return []


class JobService:
    """Claims, runs and finishes jobs; sends their webhooks; expires old results.

    Args:
        config: the server settings.
        state: the server's engines, pool and metrics.
    """

    def __init__(self, config: ServeConfig, state: ServerState) -> None:
        self.config = config
        self.state = state
        self.jobs_dir = jobs_dir_of(config)
        self.spool_dir = self.jobs_dir / "spool"
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.store: JobStore | None = None
        self.dispatcher: WebhookDispatcher | None = None
        self._running: dict[str, _Running] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake: asyncio.Event | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        registry = state.metrics.registry
        registry.register(_JobGauges(lambda: self.store))
        self.finished = Counter(
            "aural_jobs_finished",
            "Jobs this server finished, by outcome",
            ("status",),
            registry=registry,
        )
        self.webhooks = Counter(
            "aural_webhook_deliveries",
            "Webhook delivery attempts by this server, by outcome",
            ("outcome",),
            registry=registry,
        )

    @property
    def _sweep_every_s(self) -> float:
        return min(_SWEEP_EVERY_S, max(1.0, self.config.job_retention_s / 2))

    @property
    def job_workers(self) -> int:
        value = self.config.job_workers
        return self.config.workers if value is None else value

    # -- life cycle ----------------------------------------------------------------
    async def start(self) -> None:
        """Open the store and start claiming jobs, heartbeats and webhooks."""
        for folder in (self.spool_dir, self.spool_dir / "incoming"):
            folder.mkdir(parents=True, exist_ok=True)
        self.store = await asyncio.to_thread(job_store_for, self.config)
        if self.config.webhook_secret is not None:
            self.dispatcher = WebhookDispatcher(
                self.store,
                WebhookPolicy(
                    self.config.webhook_secret,
                    max_attempts=self.config.webhook_max_attempts,
                    backoff_s=self.config.webhook_backoff_s,
                    timeout_s=self.config.webhook_timeout_s,
                ),
                self.job_json,
                self.worker_id,
                self._count_webhook,
                poll_s=self.config.job_poll_s,
            )
            self.dispatcher.start()
        self._beat = threading.Thread(
            target=self._heartbeat_loop, name="aural-job-heartbeat", daemon=True
        )
        self._beat.start()
        self._wake = asyncio.Event()
        if self.job_workers > 0:
            self._loop_task = asyncio.create_task(self._claim_loop())
        logger.info(
            "jobs: %s, %d worker(s), id %s",
            self.store.description,
            self.job_workers,
            self.worker_id,
        )

    async def stop(self) -> None:
        """Stop claiming; give running jobs back to the queue; stop the threads."""
        self._stop.set()
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        for running in list(self._running.values()):
            running.reason = "shutdown"
            running.stop.set()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self.config.shutdown_timeout_s)
        if self.dispatcher is not None:
            await asyncio.to_thread(self.dispatcher.stop)
        if self._beat is not None:
            await asyncio.to_thread(self._beat.join, 10.0)
        if self.store is not None:
            self.store.close()

    def wake(self) -> None:
        """A job was just submitted here: claim now instead of at the next poll."""
        if self._wake is not None:
            self._wake.set()

    # -- claiming ------------------------------------------------------------------
    def _has_idle_worker(self) -> bool:
        pool = self.state.pool
        return len(self._running) < self.job_workers and pool.admitted < pool.workers

    async def _claim_loop(self) -> None:
        assert self._wake is not None and self.store is not None
        store = self.store
        while not self._stop.is_set():
            job = None
            if self._has_idle_worker():
                try:
                    if await asyncio.to_thread(store.has_claimable):
                        job = await asyncio.to_thread(
                            store.claim,
                            self.worker_id,
                            self.config.job_lease_s,
                            self.config.job_max_attempts,
                        )
                except AuralError as err:
                    logger.warning("jobs: the store did not answer: %s", err)
            if job is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.config.job_poll_s)
                continue
            try:
                slot = self.state.pool.admit()
            except ApiError:  # a synchronous request took the worker meanwhile
                await asyncio.to_thread(
                    store.release, job.id, self.worker_id, job.attempts
                )
                await asyncio.sleep(self.config.job_poll_s)
                continue
            running = _Running(job)
            self._running[job.id] = running
            task = asyncio.create_task(self._execute(running, slot))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _execute(self, running: _Running, slot: Any) -> None:
        job = running.job
        try:
            await self.state.pool.run(slot, lambda: self._work(running), None)
        except ApiError as err:  # the pool is shutting down: the job goes back
            logger.info("jobs: %s not run: %s", job.id, err.message)
            assert self.store is not None
            await asyncio.to_thread(
                self.store.release, job.id, self.worker_id, job.attempts
            )
        finally:
            self._running.pop(job.id, None)
            if self._wake is not None:
                self._wake.set()

    # -- running (in a worker thread) -------------------------------------------------
    def _work(self, running: _Running) -> None:
        store = self.store
        assert store is not None
        job = running.job
        status: Literal["succeeded", "failed"] = "failed"
        result: dict[str, Any] | None = None
        error: dict[str, Any] | None = None
        downloaded: Path | None = None
        try:
            running.report(0.0)
            params = JobParams.model_validate(job.params)
            engine = self.state.cache.get(params.engine, params.model)
            options = params.decode_options(self.config.beam_size)
            diarization = params.diarization_options()
            if diarization is not None and not options.word_timestamps:
                options = options.with_(word_timestamps=True)  # speakers go per word
            if job.audio_path is not None:
                path = Path(job.audio_path)
                name = job.filename
            else:
                assert job.source_url is not None
                downloaded = self._download(job, running)
                path = downloaded
                name = job.source_url
            outcome = transcribe_file(
                engine,
                path,
                options,
                self.config.max_duration_s,
                name,
                params.raw_audio(),
                diarization,
                progress=running.report,
            )
            status, result = "succeeded", outcome.transcript.to_dict()
            metrics = self.state.metrics
            metrics.audio_seconds.labels(_JOB_ROUTE).inc(
                outcome.transcript.info.duration
            )
            metrics.inference_seconds.labels(engine.name).observe(
                outcome.inference_time
            )
        except _Stopped:
            if running.reason == "shutdown":
                store.release(job.id, self.worker_id, job.attempts)
            return  # cancelled, or taken over: the store refuses a result anyway
        except ApiError as err:
            error = {"type": err.type, "message": err.message, "status": err.status}
        except AuralError as err:
            error = {
                "type": type_for(err),
                "message": str(err),
                "status": status_for(err),
            }
        except Exception as err:  # an unexpected failure fails this job, not the server
            logger.exception("jobs: %s failed unexpectedly", job.id)
            error = {
                "type": "internal_error",
                "message": f"the server failed on this job ({type(err).__name__}); "
                "see its log",
                "status": 500,
            }
        finally:
            if downloaded is not None:
                downloaded.unlink(missing_ok=True)
        stored = store.finish(
            job.id,
            self.worker_id,
            job.attempts,
            status,
            result,
            error,
            self.config.job_retention_s,
        )
        if stored:
            self.finished.labels(status).inc()
            self._drop_audio(job)
            if self.dispatcher is not None:
                self.dispatcher.wake()

    def _download(self, job: JobRecord, running: _Running) -> Path:
        """Fetch a URL job's audio into the spool (bounded by ``max_upload_mb``)."""
        assert job.source_url is not None
        target = self.spool_dir / f"{job.id}.download"
        limit = self.config.max_upload_bytes
        request = urllib.request.Request(
            job.source_url, headers={"User-Agent": "aural-jobs/1"}
        )
        received = 0
        try:
            with (
                urllib.request.urlopen(
                    request, timeout=self.config.request_timeout_s
                ) as response,
                open(target, "wb") as out,
            ):
                while chunk := response.read(1 << 16):
                    received += len(chunk)
                    if received > limit:
                        raise ApiError(
                            413,
                            "too_large",
                            f"{job.source_url} is larger than the server's limit of "
                            f"{self.config.max_upload_mb:g} MiB",
                        )
                    out.write(chunk)
                    running.report(0.0)
        except (urllib.error.URLError, OSError, ValueError) as err:
            target.unlink(missing_ok=True)
            reason: object = getattr(err, "reason", None) or err
            if isinstance(err, urllib.error.HTTPError):
                reason = f"HTTP {err.code} {err.reason}"
            raise ApiError(
                400, "url_fetch_failed", f"cannot fetch {job.source_url}: {reason}"
            ) from err
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        if received == 0:
            target.unlink(missing_ok=True)
            raise ApiError(400, "no_audio", f"{job.source_url} returned no data")
        return target

    def _drop_audio(self, job: JobRecord) -> None:
        if job.audio_path is None or self.store is None:
            return
        Path(job.audio_path).unlink(missing_ok=True)
        self.store.forget_audio(job.id)

    # -- heartbeats, expiry ----------------------------------------------------------
    def _heartbeat_loop(self) -> None:
        interval = max(0.2, self.config.job_lease_s / 3)
        last_sweep = 0.0
        while not self._stop.wait(interval):
            store = self.store
            if store is None:
                continue
            held = {
                r.job.id: (r.job.attempts, r.progress)
                for r in list(self._running.values())
            }
            try:
                lost = store.heartbeat(self.worker_id, held, self.config.job_lease_s)
                if time.monotonic() - last_sweep > self._sweep_every_s:
                    last_sweep = time.monotonic()
                    self._sweep(store)
            except (AuralError, OSError) as err:
                logger.warning("jobs: heartbeat failed: %s", err)
                continue
            except Exception:  # a driver error must not stop heartbeats
                logger.exception("jobs: heartbeat failed")
                continue
            for job_id in lost:
                running = self._running.get(job_id)
                if running is not None and running.reason is None:
                    running.reason = "cancelled"
                    running.stop.set()

    def _sweep(self, store: JobStore) -> None:
        """Delete expired jobs, the audio of finished ones, and spool files no job
        names (a crash between spooling an upload and storing its job, or during an
        upload) once they are older than any request could be."""
        for path in store.expire():
            Path(path).unlink(missing_ok=True)
        live, done = store.audio_paths()
        for job_id, path in done:
            Path(path).unlink(missing_ok=True)
            store.forget_audio(job_id)
        cutoff = time.time() - 2 * self.config.request_timeout_s - _SWEEP_EVERY_S
        for folder in (self.spool_dir, self.spool_dir / "incoming"):
            for entry in folder.iterdir():
                with contextlib.suppress(FileNotFoundError):
                    if (
                        entry.is_file()
                        and str(entry) not in live
                        and entry.stat().st_mtime < cutoff
                    ):
                        entry.unlink()

    def _count_webhook(self, delivered: bool, attempt: WebhookAttempt) -> None:
        self.webhooks.labels("delivered" if delivered else "failed").inc()

    # -- views -----------------------------------------------------------------------
    def job_json(self, job: JobRecord, with_result: bool = True) -> dict[str, Any]:
        """A job as the API shows it (``GET /v1/jobs/{id}`` and webhook bodies)."""
        return job_json(job, with_result)


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment))
        + f".{int(moment % 1 * 1000):03d}Z"
    )


def job_json(job: JobRecord, with_result: bool = True) -> dict[str, Any]:
    """The public view of a job: status, progress, times, options, result or error."""
    options = {k: v for k, v in job.params.items() if k not in ("url", "webhook_url")}
    body: dict[str, Any] = {
        "id": job.id,
        "object": "transcription.job",
        "status": job.status,
        "progress": round(job.progress, 4),
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "expires_at": _iso(job.expires_at),
        "attempts": job.attempts,
        "source": {"url": job.source_url}
        if job.source_url is not None
        else {"filename": job.filename},
        "options": options,
        "webhook": None
        if job.webhook_url is None
        else {
            "url": job.webhook_url,
            "state": job.webhook_state,
            "attempts": job.webhook_attempts,
        },
        "error": job.error,
    }
    if with_result:
        body["result"] = job.result
    return body
