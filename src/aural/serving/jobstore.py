"""The durable store behind the job API: SQLite (one file, WAL) or PostgreSQL.

Both backends run the same SQL through the standard drivers (``sqlite3`` from the
standard library, psycopg 3 for PostgreSQL), not SQLAlchemy: the store is three tables
and a dozen statements, the only dialect difference that matters is how a worker claims
a job (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a write transaction on SQLite), and a
query layer would add a dependency and a connection pool whose SQLite threading rules
are easier to get wrong than one locked connection.

Delivery guarantees (see docs/jobs.md):

- A worker **claims** a queued job (or a running one whose lease expired) by setting its
  ``lease_owner``, pushing ``lease_expires_at`` forward and incrementing ``attempts``;
  the attempt number is the fencing token. The worker renews the lease while it runs
  (:meth:`JobStore.heartbeat`).
- :meth:`JobStore.finish` succeeds only for the current owner **and** attempt, so a
  worker that lost its lease (it stalled, or was presumed dead and the job was taken
  over) can never store a second result: each job completes at most once.
- Every run attempt is a row of ``aural_job_attempts`` with its outcome, and every
  webhook delivery attempt a row of ``aural_webhook_attempts``.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import unquote, urlsplit

from aural.errors import ConfigError, MissingDependencyError

__all__ = [
    "TERMINAL_STATUSES",
    "JobAttempt",
    "JobRecord",
    "JobStatus",
    "JobStore",
    "NewJob",
    "WebhookAttempt",
    "WebhookState",
    "new_job_id",
    "open_store",
]

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
WebhookState = Literal["pending", "delivered", "failed"]
AttemptOutcome = Literal[
    "running", "succeeded", "failed", "cancelled", "lost", "released", "superseded"
]
JOB_STATUSES: tuple[JobStatus, ...] = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
)
TERMINAL_STATUSES: tuple[JobStatus, ...] = ("succeeded", "failed", "cancelled")

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS aural_jobs (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL,
        started_at DOUBLE PRECISION,
        finished_at DOUBLE PRECISION,
        expires_at DOUBLE PRECISION,
        progress DOUBLE PRECISION NOT NULL DEFAULT 0,
        params TEXT NOT NULL,
        filename TEXT,
        source_url TEXT,
        audio_path TEXT,
        webhook_url TEXT,
        idempotency_key TEXT UNIQUE,
        request_hash TEXT,
        result TEXT,
        error TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        completions INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_expires_at DOUBLE PRECISION,
        webhook_state TEXT,
        webhook_attempts INTEGER NOT NULL DEFAULT 0,
        webhook_next_at DOUBLE PRECISION,
        webhook_lease_owner TEXT,
        webhook_lease_expires_at DOUBLE PRECISION
    )""",
    "CREATE INDEX IF NOT EXISTS aural_jobs_by_status "
    "ON aural_jobs (status, created_at)",
    "CREATE INDEX IF NOT EXISTS aural_jobs_by_webhook "
    "ON aural_jobs (webhook_state, webhook_next_at)",
    """CREATE TABLE IF NOT EXISTS aural_job_attempts (
        job_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        worker TEXT NOT NULL,
        started_at DOUBLE PRECISION NOT NULL,
        ended_at DOUBLE PRECISION,
        outcome TEXT NOT NULL,
        PRIMARY KEY (job_id, attempt)
    )""",
    """CREATE TABLE IF NOT EXISTS aural_webhook_attempts (
        job_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        event TEXT NOT NULL,
        url TEXT NOT NULL,
        sent_at DOUBLE PRECISION NOT NULL,
        status_code INTEGER,
        error TEXT,
        duration_s DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (job_id, attempt)
    )""",
)

_JOB_COLUMNS = (
    "id, status, created_at, updated_at, started_at, finished_at, expires_at, "
    "progress, params, filename, source_url, audio_path, webhook_url, "
    "idempotency_key, request_hash, result, error, attempts, completions, "
    "lease_owner, lease_expires_at, webhook_state, webhook_attempts, webhook_next_at"
)


@dataclass(frozen=True, slots=True)
class NewJob:
    """What ``POST /v1/jobs`` stores.

    Attributes:
        params: the validated request options (JSON-compatible).
        filename: the client's file name (uploads).
        source_url: the audio's URL (jobs that fetch their audio).
        audio_path: the spooled upload (None for URL jobs).
        webhook_url: where to POST the outcome (None = no webhook).
        idempotency_key: the client's ``Idempotency-Key`` header.
        request_hash: a digest of options + audio, to spot a key reused for another
            request.
        job_id: the id to use (None = a new random one).
    """

    params: Mapping[str, Any]
    filename: str | None = None
    source_url: str | None = None
    audio_path: str | None = None
    webhook_url: str | None = None
    idempotency_key: str | None = None
    request_hash: str | None = None
    job_id: str | None = None


@dataclass(frozen=True, slots=True)
class JobRecord:
    """One job as stored.

    Times are Unix seconds (float). ``attempts`` counts claims (run attempts);
    ``completions`` counts stored results (never more than one).
    """

    id: str
    status: JobStatus
    created_at: float
    updated_at: float
    started_at: float | None
    finished_at: float | None
    expires_at: float | None
    progress: float
    params: dict[str, Any]
    filename: str | None
    source_url: str | None
    audio_path: str | None
    webhook_url: str | None
    idempotency_key: str | None
    request_hash: str | None
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    attempts: int
    completions: int
    lease_owner: str | None
    lease_expires_at: float | None
    webhook_state: WebhookState | None
    webhook_attempts: int
    webhook_next_at: float | None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> JobRecord:
        values = list(row)
        for index in (8, 15, 16):  # params, result, error: JSON text
            if values[index] is not None:
                values[index] = json.loads(values[index])
        return cls(*values)


@dataclass(frozen=True, slots=True)
class JobAttempt:
    """One run attempt: which worker claimed the job, when, and how it ended."""

    job_id: str
    attempt: int
    worker: str
    started_at: float
    ended_at: float | None
    outcome: AttemptOutcome


@dataclass(frozen=True, slots=True)
class WebhookAttempt:
    """One webhook delivery attempt: the receiver's status code or the error."""

    job_id: str
    attempt: int
    event: str
    url: str
    sent_at: float
    status_code: int | None
    error: str | None
    duration_s: float


class _Connection(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...


@dataclass(eq=False)
class JobStore:
    """Jobs, run attempts and webhook deliveries in one database.

    Use :func:`open_store`. Every method is one short transaction; the object is safe
    to share between threads (it serializes its own statements on one connection, and
    the database serializes writers across processes and servers).
    """

    dialect: Literal["sqlite", "postgresql"]
    description: str
    _connect: Any
    _conn: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- plumbing ------------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgresql" else sql

    @contextlib.contextmanager
    def _tx(self, write: bool = True) -> Iterator[_Cursorish]:
        """One transaction on the shared connection (reconnecting after a loss)."""
        with self._lock:
            for tries_left in (1, 0):
                try:
                    if self._conn is None or _is_broken(self._conn):
                        self._drop()
                        self._conn = self._connect()
                    conn = self._conn
                    if self.dialect == "sqlite" and write:
                        conn.execute("BEGIN IMMEDIATE")
                    break
                except _operational_errors() as err:
                    self._drop()
                    if not tries_left:
                        raise ConfigError(
                            f"the job store {self.description} is unreachable: {err}"
                        ) from err
            cursor = _Cursorish(conn, self._sql)
            try:
                yield cursor
            except BaseException as err:
                try:
                    conn.rollback()
                except _operational_errors():
                    self._drop()
                if isinstance(err, _operational_errors()):
                    self._drop()
                raise
            else:
                conn.commit()

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(*_operational_errors()):
                self._conn.close()
            self._conn = None

    def close(self) -> None:
        """Close the connection (the store reconnects if used again)."""
        with self._lock:
            self._drop()

    def create_schema(self) -> None:
        """Create the tables and indexes where they are missing."""
        with self._tx() as tx:
            for statement in _SCHEMA:
                tx.execute(statement)

    # -- jobs ----------------------------------------------------------------------
    def create(self, job: NewJob, now: float | None = None) -> tuple[JobRecord, bool]:
        """Store a new queued job, or return the one already stored under its
        idempotency key.

        Returns:
            (the job, True when it was created now).
        """
        now = time.time() if now is None else now
        job_id = job.job_id or new_job_id()
        try:
            with self._tx() as tx:
                tx.execute(
                    "INSERT INTO aural_jobs (id, status, created_at, updated_at, "
                    "params, filename, source_url, audio_path, webhook_url, "
                    "idempotency_key, request_hash) "
                    "VALUES (?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        job_id,
                        now,
                        now,
                        json.dumps(dict(job.params)),
                        job.filename,
                        job.source_url,
                        job.audio_path,
                        job.webhook_url,
                        job.idempotency_key,
                        job.request_hash,
                    ),
                )
        except _integrity_errors():
            if job.idempotency_key is None:
                raise
            existing = self.get_by_key(job.idempotency_key)
            if existing is None:  # expired between the two statements
                raise
            return existing, False
        record = self.get(job_id)
        assert record is not None
        return record, True

    def get(self, job_id: str) -> JobRecord | None:
        with self._tx(write=False) as tx:
            row = tx.execute(
                f"SELECT {_JOB_COLUMNS} FROM aural_jobs WHERE id = ?", (job_id,)
            ).fetchone()
        return None if row is None else JobRecord.from_row(row)

    def get_by_key(self, idempotency_key: str) -> JobRecord | None:
        with self._tx(write=False) as tx:
            row = tx.execute(
                f"SELECT {_JOB_COLUMNS} FROM aural_jobs WHERE idempotency_key = ?",
                (idempotency_key,),
            ).fetchone()
        return None if row is None else JobRecord.from_row(row)

    def list_jobs(
        self,
        statuses: Sequence[JobStatus] = (),
        limit: int = 100,
        before: tuple[float, str] | None = None,
    ) -> list[JobRecord]:
        """Jobs newest first, optionally only some statuses and those created before
        ``(created_at, id)`` (the previous page's last job)."""
        where: list[str] = []
        args: list[Any] = []
        if statuses:
            where.append(f"status IN ({', '.join('?' for _ in statuses)})")
            args.extend(statuses)
        if before is not None:
            where.append("(created_at < ? OR (created_at = ? AND id < ?))")
            args.extend((before[0], before[0], before[1]))
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self._tx(write=False) as tx:
            rows = tx.execute(
                f"SELECT {_JOB_COLUMNS} FROM aural_jobs{clause} "
                "ORDER BY created_at DESC, id DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
        return [JobRecord.from_row(r) for r in rows]

    def counts(self) -> dict[JobStatus, int]:
        """How many jobs are in each status now."""
        with self._tx(write=False) as tx:
            rows = tx.execute(
                "SELECT status, COUNT(*) FROM aural_jobs GROUP BY status"
            ).fetchall()
        out: dict[JobStatus, int] = dict.fromkeys(JOB_STATUSES, 0)
        out.update({r[0]: int(r[1]) for r in rows})
        return out

    def has_claimable(self, now: float | None = None) -> bool:
        """A cheap read: is any job waiting or abandoned (lease expired)?"""
        now = time.time() if now is None else now
        with self._tx(write=False) as tx:
            row = tx.execute(
                "SELECT 1 FROM aural_jobs WHERE status = 'queued' OR "
                "(status = 'running' AND lease_expires_at < ?) LIMIT 1",
                (now,),
            ).fetchone()
        return row is not None

    def claim(
        self, worker: str, lease_s: float, max_attempts: int, now: float | None = None
    ) -> JobRecord | None:
        """Take the oldest queued job, or a running one whose lease has expired.

        A job whose worker died ``max_attempts`` times is failed instead of claimed
        again (a file that kills the worker must not kill every worker in turn).

        Returns:
            The job, now ``running`` under ``worker`` with a new attempt number, or
            None when there is nothing to do.
        """
        now = time.time() if now is None else now
        ready = "(status = 'queued' OR (status = 'running' AND lease_expires_at < ?))"
        lock = " FOR UPDATE SKIP LOCKED" if self.dialect == "postgresql" else ""
        with self._tx() as tx:
            self._fail_exhausted(tx, max_attempts, now)
            row = tx.execute(
                "UPDATE aural_jobs SET status = 'running', lease_owner = ?, "
                "lease_expires_at = ?, attempts = attempts + 1, "
                "started_at = COALESCE(started_at, ?), updated_at = ? "
                f"WHERE id = (SELECT id FROM aural_jobs WHERE {ready} "
                f"ORDER BY created_at, id LIMIT 1{lock}) AND {ready} "
                f"RETURNING {_JOB_COLUMNS}",
                (worker, now + lease_s, now, now, now, now),
            ).fetchone()
            if row is None:
                return None
            job = JobRecord.from_row(row)
            # the previous attempt's worker vanished without a word
            tx.execute(
                "UPDATE aural_job_attempts SET outcome = 'lost', ended_at = ? "
                "WHERE job_id = ? AND outcome = 'running'",
                (now, job.id),
            )
            tx.execute(
                "INSERT INTO aural_job_attempts (job_id, attempt, worker, started_at, "
                "outcome) VALUES (?, ?, ?, ?, 'running')",
                (job.id, job.attempts, worker, now),
            )
        return job

    def _fail_exhausted(self, tx: _Cursorish, max_attempts: int, now: float) -> None:
        rows = tx.execute(
            "SELECT id, attempts FROM aural_jobs WHERE status = 'running' AND "
            "lease_expires_at < ? AND attempts >= ?",
            (now, max_attempts),
        ).fetchall()
        for job_id, attempts in rows:
            error = {
                "type": "worker_lost",
                "message": f"the worker running this job stopped answering "
                f"{attempts} times (the audio may crash the decoder); the job is not "
                "retried again",
            }
            self._finish(tx, job_id, None, attempts, "failed", None, error, now)

    def heartbeat(
        self,
        worker: str,
        held: Mapping[str, tuple[int, float]],
        lease_s: float,
        now: float | None = None,
    ) -> set[str]:
        """Renew the leases of the jobs ``worker`` runs and store their progress.

        Args:
            worker: the worker's id.
            held: job id -> (attempt, progress in [0, 1]).
            lease_s: the new lease length.

        Returns:
            The ids whose lease was NOT renewed (cancelled, or taken over by another
            worker): their work should stop, its result would be refused.
        """
        now = time.time() if now is None else now
        lost: set[str] = set()
        if not held:
            return lost
        with self._tx() as tx:
            for job_id, (attempt, progress) in held.items():
                cursor = tx.execute(
                    "UPDATE aural_jobs SET lease_expires_at = ?, progress = ?, "
                    "updated_at = ? WHERE id = ? AND lease_owner = ? AND attempts = ? "
                    "AND status = 'running'",
                    (now + lease_s, progress, now, job_id, worker, attempt),
                )
                if cursor.rowcount != 1:
                    lost.add(job_id)
        return lost

    def finish(
        self,
        job_id: str,
        worker: str,
        attempt: int,
        status: Literal["succeeded", "failed"],
        result: Mapping[str, Any] | None,
        error: Mapping[str, Any] | None,
        retention_s: float,
        now: float | None = None,
    ) -> bool:
        """Store a run's outcome, if ``worker`` still holds attempt ``attempt``.

        Returns:
            True when stored; False when the lease was lost (the job was cancelled or
            taken over), in which case nothing changes but the attempt's outcome.
        """
        now = time.time() if now is None else now
        with self._tx() as tx:
            stored = self._finish(
                tx, job_id, worker, attempt, status, result, error, now, retention_s
            )
            if not stored:
                tx.execute(
                    "UPDATE aural_job_attempts SET outcome = 'superseded', "
                    "ended_at = ? WHERE job_id = ? AND attempt = ? AND "
                    "outcome IN ('running', 'lost')",
                    (now, job_id, attempt),
                )
        return stored

    def _finish(
        self,
        tx: _Cursorish,
        job_id: str,
        worker: str | None,
        attempt: int,
        status: JobStatus,
        result: Mapping[str, Any] | None,
        error: Mapping[str, Any] | None,
        now: float,
        retention_s: float = 86_400.0,
    ) -> bool:
        owner = " AND lease_owner = ?" if worker is not None else ""
        cursor = tx.execute(
            "UPDATE aural_jobs SET status = ?, result = ?, error = ?, "
            "progress = CASE WHEN ? = 'succeeded' THEN 1 ELSE progress END, "
            "completions = completions + CASE WHEN ? = 'succeeded' THEN 1 ELSE 0 END, "
            "finished_at = ?, expires_at = ?, updated_at = ?, lease_owner = NULL, "
            "lease_expires_at = NULL, webhook_state = CASE WHEN webhook_url IS NULL "
            "THEN NULL ELSE 'pending' END, webhook_next_at = ? "
            f"WHERE id = ? AND attempts = ? AND status = 'running'{owner}",
            (
                status,
                None if result is None else json.dumps(dict(result)),
                None if error is None else json.dumps(dict(error)),
                status,
                status,
                now,
                now + retention_s,
                now,
                now,
                job_id,
                attempt,
                *((worker,) if worker is not None else ()),
            ),
        )
        if cursor.rowcount != 1:
            return False
        tx.execute(
            "UPDATE aural_job_attempts SET outcome = ?, ended_at = ? "
            "WHERE job_id = ? AND attempt = ?",
            ("lost" if worker is None else status, now, job_id, attempt),
        )
        return True

    def release(
        self, job_id: str, worker: str, attempt: int, now: float | None = None
    ) -> bool:
        """Give a running job back to the queue (this server is stopping)."""
        now = time.time() if now is None else now
        with self._tx() as tx:
            cursor = tx.execute(
                "UPDATE aural_jobs SET status = 'queued', lease_owner = NULL, "
                "lease_expires_at = NULL, updated_at = ? WHERE id = ? AND "
                "lease_owner = ? AND attempts = ? AND status = 'running'",
                (now, job_id, worker, attempt),
            )
            released = bool(cursor.rowcount == 1)
            if released:
                tx.execute(
                    "UPDATE aural_job_attempts SET outcome = 'released', ended_at = ? "
                    "WHERE job_id = ? AND attempt = ?",
                    (now, job_id, attempt),
                )
        return released

    def cancel(
        self, job_id: str, retention_s: float, now: float | None = None
    ) -> JobRecord | None:
        """Cancel a queued or running job.

        Returns:
            The job after the call (its status says whether it was cancelled: a job
            that had already finished keeps its status), or None when unknown.
        """
        now = time.time() if now is None else now
        with self._tx() as tx:
            cursor = tx.execute(
                "UPDATE aural_jobs SET status = 'cancelled', finished_at = ?, "
                "expires_at = ?, updated_at = ?, lease_owner = NULL, "
                "lease_expires_at = NULL, webhook_state = CASE WHEN webhook_url IS "
                "NULL THEN NULL ELSE 'pending' END, webhook_next_at = ? "
                "WHERE id = ? AND status IN ('queued', 'running')",
                (now, now + retention_s, now, now, job_id),
            )
            if cursor.rowcount == 1:
                tx.execute(
                    "UPDATE aural_job_attempts SET outcome = 'cancelled', ended_at = ? "
                    "WHERE job_id = ? AND outcome = 'running'",
                    (now, job_id),
                )
        return self.get(job_id)

    def attempts_of(self, job_id: str) -> list[JobAttempt]:
        """Every run attempt of a job, first first."""
        with self._tx(write=False) as tx:
            rows = tx.execute(
                "SELECT job_id, attempt, worker, started_at, ended_at, outcome FROM "
                "aural_job_attempts WHERE job_id = ? ORDER BY attempt",
                (job_id,),
            ).fetchall()
        return [JobAttempt(*r) for r in rows]

    def expire(self, now: float | None = None) -> list[str]:
        """Delete finished jobs past their retention time.

        Returns:
            The spool paths those jobs still named (for the caller to delete).
        """
        now = time.time() if now is None else now
        with self._tx() as tx:
            rows = tx.execute(
                "SELECT id, audio_path FROM aural_jobs WHERE expires_at < ? AND "
                "status IN ('succeeded', 'failed', 'cancelled') AND "
                "(webhook_state IS NULL OR webhook_state <> 'pending')",
                (now,),
            ).fetchall()
            for job_id, _ in rows:
                for table in ("aural_job_attempts", "aural_webhook_attempts"):
                    tx.execute(f"DELETE FROM {table} WHERE job_id = ?", (job_id,))
                tx.execute("DELETE FROM aural_jobs WHERE id = ?", (job_id,))
        return [path for _, path in rows if path]

    def forget_audio(self, job_id: str) -> None:
        """The job's spooled audio was deleted: stop naming it."""
        with self._tx() as tx:
            tx.execute(
                "UPDATE aural_jobs SET audio_path = NULL WHERE id = ?", (job_id,)
            )

    def audio_paths(self) -> tuple[set[str], list[tuple[str, str]]]:
        """Spool files the store still names: (those of unfinished jobs, (job id,
        path) of finished ones, whose audio is no longer needed)."""
        with self._tx(write=False) as tx:
            rows = tx.execute(
                "SELECT id, status, audio_path FROM aural_jobs "
                "WHERE audio_path IS NOT NULL"
            ).fetchall()
        live = {path for _, status, path in rows if status not in TERMINAL_STATUSES}
        done = [(job_id, path) for job_id, status, path in rows if path not in live]
        return live, done

    # -- webhooks ------------------------------------------------------------------
    def claim_webhook(
        self, worker: str, lease_s: float, now: float | None = None
    ) -> JobRecord | None:
        """Take a finished job whose webhook is due (pending, its retry time passed,
        no other server sending it now)."""
        now = time.time() if now is None else now
        due = (
            "webhook_state = 'pending' AND webhook_next_at <= ? AND "
            "(webhook_lease_expires_at IS NULL OR webhook_lease_expires_at < ?)"
        )
        lock = " FOR UPDATE SKIP LOCKED" if self.dialect == "postgresql" else ""
        with self._tx() as tx:
            row = tx.execute(
                "UPDATE aural_jobs SET webhook_lease_owner = ?, "
                "webhook_lease_expires_at = ? WHERE id = (SELECT id FROM aural_jobs "
                f"WHERE {due} ORDER BY webhook_next_at, id LIMIT 1{lock}) AND {due} "
                f"RETURNING {_JOB_COLUMNS}",
                (worker, now + lease_s, now, now, now, now),
            ).fetchone()
        return None if row is None else JobRecord.from_row(row)

    def next_webhook_at(self) -> float | None:
        """When the next pending webhook is due (None: none pending)."""
        with self._tx(write=False) as tx:
            row = tx.execute(
                "SELECT MIN(webhook_next_at) FROM aural_jobs "
                "WHERE webhook_state = 'pending'"
            ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def record_webhook(
        self,
        attempt: WebhookAttempt,
        delivered: bool,
        next_at: float | None,
    ) -> None:
        """Log one delivery attempt and schedule the next (``next_at`` None after a
        failure: give up)."""
        state: WebhookState = (
            "delivered"
            if delivered
            else ("pending" if next_at is not None else "failed")
        )
        with self._tx() as tx:
            tx.execute(
                "INSERT INTO aural_webhook_attempts (job_id, attempt, event, url, "
                "sent_at, status_code, error, duration_s) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    attempt.job_id,
                    attempt.attempt,
                    attempt.event,
                    attempt.url,
                    attempt.sent_at,
                    attempt.status_code,
                    attempt.error,
                    attempt.duration_s,
                ),
            )
            tx.execute(
                "UPDATE aural_jobs SET webhook_state = ?, webhook_attempts = ?, "
                "webhook_next_at = ?, webhook_lease_owner = NULL, "
                "webhook_lease_expires_at = NULL WHERE id = ?",
                (state, attempt.attempt, next_at, attempt.job_id),
            )

    def webhook_attempts_of(self, job_id: str) -> list[WebhookAttempt]:
        with self._tx(write=False) as tx:
            rows = tx.execute(
                "SELECT job_id, attempt, event, url, sent_at, status_code, error, "
                "duration_s FROM aural_webhook_attempts WHERE job_id = ? "
                "ORDER BY attempt",
                (job_id,),
            ).fetchall()
        return [WebhookAttempt(*r) for r in rows]


class _Cursorish:
    """``execute`` with the store's placeholder style, on sqlite3 or psycopg."""

    def __init__(self, conn: Any, sql: Any) -> None:
        self._conn = conn
        self._translate = sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(self._translate(sql), tuple(params))


def _is_broken(conn: Any) -> bool:
    """A psycopg connection that the server closed (sqlite3 ones never are)."""
    return bool(getattr(conn, "broken", False) or getattr(conn, "closed", False))


def new_job_id() -> str:
    """A random, URL-safe job id (``job_`` + 26 hex characters)."""
    return "job_" + uuid.uuid4().hex[:26]


def _operational_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [sqlite3.OperationalError]
    with contextlib.suppress(ImportError):
        import psycopg

        errors.append(psycopg.OperationalError)
    return tuple(errors)


def _integrity_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [sqlite3.IntegrityError]
    with contextlib.suppress(ImportError):
        import psycopg

        errors.append(psycopg.errors.UniqueViolation)
    return tuple(errors)


def sqlite_path(database_url: str) -> Path:
    """The file of a ``sqlite:///relative`` or ``sqlite:////absolute`` URL."""
    rest = database_url[len("sqlite://") :]
    if not rest.startswith("/") or rest == "/":
        raise ConfigError(
            f"database_url {database_url!r}: write sqlite:///relative/path.db or "
            "sqlite:////absolute/path.db"
        )
    return Path(unquote(rest[1:]))


def _open_sqlite(path: Path) -> JobStore:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(
            f"cannot create the folder of the job database {str(path)!r}: {err}"
        ) from err

    def connect() -> sqlite3.Connection:
        # autocommit mode: the store opens its own transactions (BEGIN IMMEDIATE takes
        # the write lock up front, so two claimers never both read the same job)
        conn = sqlite3.connect(
            path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # a 202 means the job survives a crash
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    store = JobStore("sqlite", f"sqlite file {str(path)!r}", connect)
    try:
        store.create_schema()
    except sqlite3.Error as err:
        raise ConfigError(f"cannot open the job database {str(path)!r}: {err}") from err
    return store


def _open_postgresql(database_url: str) -> JobStore:
    try:
        import psycopg
    except ImportError as err:
        raise MissingDependencyError(
            "a postgresql:// database_url needs psycopg 3; install it with "
            "`pip install 'aural[serve]'` (or `pip install 'psycopg[binary]'`)"
        ) from err
    shown = _redacted(database_url)

    def connect() -> Any:
        conn = psycopg.connect(database_url, autocommit=False, connect_timeout=10)
        return conn

    store = JobStore("postgresql", f"PostgreSQL database {shown}", connect)
    try:
        store.create_schema()
    except psycopg.Error as err:
        raise ConfigError(f"cannot use the job database {shown}: {err}") from err
    return store


def _redacted(url: str) -> str:
    """The URL without its password (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return repr(url)
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return repr(parts._replace(netloc=netloc).geturl())


def open_store(database_url: str) -> JobStore:
    """Open (and create where missing) the job store at ``database_url``.

    Args:
        database_url: ``sqlite:///relative.db``, ``sqlite:////abs/path.db`` or
            ``postgresql://user:password@host:port/dbname``.

    Raises:
        ConfigError: an unknown scheme, or a database that cannot be opened.
        MissingDependencyError: PostgreSQL without psycopg installed.
    """
    scheme = database_url.partition("://")[0].lower()
    if scheme == "sqlite":
        return _open_sqlite(sqlite_path(database_url))
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        url = "postgresql://" + database_url.partition("://")[2]
        return _open_postgresql(url)
    raise ConfigError(
        f"database_url {_redacted(database_url)}: unknown scheme {scheme!r}; use "
        "sqlite:///path.db or postgresql://user:password@host/dbname"
    )
