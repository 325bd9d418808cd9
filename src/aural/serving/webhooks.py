"""Signed webhook deliveries for finished jobs, retried with exponential backoff.

The signature scheme (``X-Aural-Signature: t=<unix seconds>,v1=<hex>``) follows
Stripe's: ``v1`` is HMAC-SHA256, keyed with the server's ``webhook_secret``, of the
timestamp, a dot and the raw request body (``f"{t}.".encode() + body``). A receiver
recomputes it with :func:`verify_signature`, compares in constant time and refuses
timestamps older than a few minutes (replays). Each delivery also carries
``X-Aural-Event`` (``job.succeeded`` / ``job.failed`` / ``job.cancelled``),
``X-Aural-Job-Id`` and ``X-Aural-Delivery`` (``<job id>:<attempt>``).

A 2xx answer delivers the webhook; anything else (another status, a refused connection,
a timeout) is retried after ``backoff_s * 2 ** (attempt - 1)`` seconds (capped at
``max_backoff_s``) until ``max_attempts``; every attempt is recorded in the store.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aural.serving.jobstore import JobRecord, JobStore, WebhookAttempt

__all__ = [
    "SIGNATURE_HEADER",
    "WebhookDispatcher",
    "WebhookPolicy",
    "retry_delay",
    "sign",
    "verify_signature",
]

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Aural-Signature"
_USER_AGENT = "aural-webhooks/1"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Aural-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str,
    body: bytes,
    header: str,
    tolerance_s: float = 300.0,
    now: float | None = None,
) -> bool:
    """Check an ``X-Aural-Signature`` header (receivers' side; constant-time).

    Args:
        secret: the shared ``webhook_secret``.
        body: the raw request body, exactly as received.
        header: the header's value.
        tolerance_s: the oldest (or most future) timestamp accepted.
        now: the current Unix time (None = the clock).

    Returns:
        True when some ``v1`` entry matches and the timestamp is fresh.
    """
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields.get("t", [""])[0])
    except ValueError:
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = sign(secret, body, timestamp).partition("v1=")[2]
    return any(hmac.compare_digest(expected, v) for v in fields.get("v1", []))


@dataclass(frozen=True, slots=True)
class WebhookPolicy:
    """How webhooks are signed and retried.

    Attributes:
        secret: the HMAC key (``webhook_secret``).
        max_attempts: deliveries tried before giving up.
        backoff_s: the wait before the first retry; it doubles with each retry.
        max_backoff_s: the longest wait between two attempts.
        timeout_s: how long one delivery may take (connect + answer).
    """

    secret: str
    max_attempts: int = 8
    backoff_s: float = 2.0
    max_backoff_s: float = 600.0
    timeout_s: float = 10.0


def retry_delay(policy: WebhookPolicy, attempt: int) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
    return float(min(policy.max_backoff_s, policy.backoff_s * 2 ** (attempt - 1)))


def _post(url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> int:
    """POST without following redirects; the status code (also for 4xx/5xx)."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None  # a redirect is an answer (3xx), not a delivery

    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, data=body, headers=dict(headers))
    try:
        with opener.open(request, timeout=timeout_s) as response:
            response.read(65_536)
            return int(response.status)
    except urllib.error.HTTPError as err:
        err.close()
        return int(err.code)


class WebhookDispatcher:
    """A thread that sends due webhooks from the store (any server may send any
    job's webhook; a short lease keeps two servers from sending the same attempt).

    Args:
        store: the job store.
        policy: signing and retry settings.
        payload: builds the JSON body for a finished job (the same shape as
            ``GET /v1/jobs/{id}``).
        worker: this server's id (for the delivery lease).
        on_attempt: called after each attempt with (delivered, attempt) (metrics).
    """

    def __init__(
        self,
        store: JobStore,
        policy: WebhookPolicy,
        payload: Callable[[JobRecord], dict[str, Any]],
        worker: str,
        on_attempt: Callable[[bool, WebhookAttempt], None] | None = None,
        poll_s: float = 1.0,
    ) -> None:
        self.store = store
        self.policy = policy
        self.payload = payload
        self.worker = worker
        self.on_attempt = on_attempt
        self.poll_s = poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name="aural-webhooks", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """A job just finished: look for due webhooks now."""
        self._wake.set()

    def stop(self, timeout_s: float = 15.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.deliver_due()
            except Exception:  # a store hiccup must not end deliveries
                logger.exception("webhook dispatcher: store error; retrying")
                sent = 0
            if sent:
                continue
            self._wake.wait(self._idle_wait())
            self._wake.clear()

    def _idle_wait(self) -> float:
        try:
            due = self.store.next_webhook_at()
        except Exception:  # noqa: BLE001 - see _loop
            return self.poll_s
        if due is None:
            return self.poll_s
        return max(0.01, min(self.poll_s, due - time.time()))

    def deliver_due(self) -> int:
        """Send every webhook due now; how many attempts were made."""
        sent = 0
        while not self._stop.is_set():
            job = self.store.claim_webhook(self.worker, self.policy.timeout_s * 2 + 5.0)
            if job is None:
                return sent
            self._deliver(job)
            sent += 1
        return sent

    def _deliver(self, job: JobRecord) -> None:
        assert job.webhook_url is not None
        attempt_no = job.webhook_attempts + 1
        event = f"job.{job.status}"
        body = json.dumps(
            {"event": event, "job": self.payload(job)}, separators=(",", ":")
        ).encode()
        sent_at = time.time()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": _USER_AGENT,
            SIGNATURE_HEADER: sign(self.policy.secret, body, int(sent_at)),
            "X-Aural-Event": event,
            "X-Aural-Job-Id": job.id,
            "X-Aural-Delivery": f"{job.id}:{attempt_no}",
        }
        status: int | None = None
        error: str | None = None
        try:
            status = _post(job.webhook_url, body, headers, self.policy.timeout_s)
        except (OSError, ValueError) as err:  # refused, reset, timeout, bad URL
            error = f"{type(err).__name__}: {err}"[:500]
        delivered = status is not None and 200 <= status < 300
        if not delivered and error is None:
            error = f"the receiver answered HTTP {status}"
        record = WebhookAttempt(
            job.id,
            attempt_no,
            event,
            job.webhook_url,
            sent_at,
            status,
            None if delivered else error,
            time.time() - sent_at,
        )
        next_at = None
        if not delivered and attempt_no < self.policy.max_attempts:
            next_at = time.time() + retry_delay(self.policy, attempt_no)
        self.store.record_webhook(record, delivered, next_at)
        if not delivered:
            logger.warning(
                "webhook for %s, attempt %d: %s%s",
                job.id,
                attempt_no,
                error,
                "" if next_at is not None else "; giving up",
            )
        if self.on_attempt is not None:
            self.on_attempt(delivered, record)
