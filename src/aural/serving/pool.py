"""A bounded pool of worker threads with a bounded waiting line.

Transcription is CPU work in native code that releases the GIL (CTranslate2,
PocketSphinx), so threads give real parallelism without copying models into processes.
Capacity is ``workers + queue`` *admitted* requests; the next one is refused at once
(429 with Retry-After) instead of piling up until the server runs out of memory or time.
A request is admitted once its upload has fully arrived, so a slow client never holds
decode capacity. A slot is held from admission until the work really finishes in its
thread, so a request that timed out does not free capacity its thread is still using.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from aural.serving.errors import ApiError

__all__ = ["Slot", "WorkerPool"]

T = TypeVar("T")


class Slot:
    """One admitted request's claim on the pool; release it exactly once."""

    __slots__ = ("_pool", "_released")

    def __init__(self, pool: WorkerPool) -> None:
        self._pool = pool
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._pool._release()


class WorkerPool:
    """Threads that run blocking work for async handlers, with admission control.

    Args:
        workers: threads running work at the same time.
        queue: admitted requests allowed to wait for a thread.
        retry_after_s: the Retry-After hint sent when full.
        name: thread name prefix.
    """

    def __init__(self, workers: int, queue: int, retry_after_s: int, name: str) -> None:
        self.workers = workers
        self.capacity = workers + queue
        self.retry_after_s = retry_after_s
        self._executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix=name
        )
        self._lock = threading.Lock()
        self._admitted = 0
        self._running = 0

    @property
    def admitted(self) -> int:
        """Requests admitted and not yet finished (waiting or running)."""
        return self._admitted

    @property
    def running(self) -> int:
        """Work items executing in a thread right now."""
        return self._running

    @property
    def queue_depth(self) -> int:
        """Admitted requests not yet running."""
        return max(0, self._admitted - self._running)

    def _overloaded(self) -> ApiError:
        return ApiError.retry_later(
            429,
            "overloaded",
            f"the server is busy ({self._admitted} requests in progress, limit "
            f"{self.capacity}); retry after {self.retry_after_s} s",
            self.retry_after_s,
        )

    def check_room(self) -> None:
        """Raise 429 when the pool is full now, without claiming anything.

        Handlers call it before receiving an upload, so a client is refused at once
        rather than after sending its whole file; the slot itself is claimed with
        :meth:`admit` once the upload is complete.

        Raises:
            ApiError: 429 ``overloaded`` with a Retry-After header.
        """
        with self._lock:
            if self._admitted >= self.capacity:
                raise self._overloaded()

    def admit(self) -> Slot:
        """Claim a slot or raise 429 when ``workers + queue`` requests are already in.

        Raises:
            ApiError: 429 ``overloaded`` with a Retry-After header.
        """
        with self._lock:
            if self._admitted >= self.capacity:
                raise self._overloaded()
            self._admitted += 1
        return Slot(self)

    def _release(self) -> None:
        with self._lock:
            self._admitted -= 1

    def _wrap(self, fn: Callable[[], T]) -> Callable[[], T]:
        def run() -> T:
            with self._lock:
                self._running += 1
            try:
                return fn()
            finally:
                with self._lock:
                    self._running -= 1

        return run

    async def run(self, slot: Slot, fn: Callable[[], T], timeout_s: float | None) -> T:
        """Run ``fn`` in a worker thread; the slot is released when it really ends.

        Args:
            slot: the claim from :meth:`admit` (released here, whatever happens).
            fn: the blocking work.
            timeout_s: seconds to wait for the result (None = no limit).

        Raises:
            ApiError: 503 ``timeout`` when the result does not come in time (work not
                yet started is cancelled; started work finishes in its thread).
        """
        try:
            future: Future[T] = self._executor.submit(self._wrap(fn))
        except RuntimeError:  # executor shut down: the server is stopping
            slot.release()
            raise ApiError.retry_later(
                503,
                "shutting_down",
                "the server is shutting down; retry later",
                self.retry_after_s,
            ) from None
        future.add_done_callback(lambda _f: slot.release())
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout_s)
        except TimeoutError:
            future.cancel()
            raise ApiError.retry_later(
                503,
                "timeout",
                f"the request did not finish within {timeout_s:g} s; send shorter "
                "audio or retry later",
                self.retry_after_s,
            ) from None

    async def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in a worker thread without admission control (streams)."""
        return await asyncio.wrap_future(self._executor.submit(self._wrap(fn)))

    def shutdown(self, wait: bool = True) -> None:
        """Stop accepting work; with ``wait`` let running and queued work finish."""
        self._executor.shutdown(wait=wait, cancel_futures=not wait)
