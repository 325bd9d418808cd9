"""WorkerPool admission control with real threads."""

from __future__ import annotations

import asyncio
import threading

import pytest

from aural.serving.errors import ApiError
from aural.serving.pool import WorkerPool


def test_admits_workers_plus_queue_then_429():
    pool = WorkerPool(workers=1, queue=2, retry_after_s=3, name="t")
    slots = [pool.admit() for _ in range(3)]
    with pytest.raises(ApiError) as err:
        pool.admit()
    assert err.value.status == 429
    assert err.value.headers == {"Retry-After": "3"}
    slots[0].release()
    slots[0].release()  # a second release is a no-op
    assert pool.admitted == 2
    pool.admit()
    pool.shutdown()


def test_run_reports_running_and_queued_work():
    pool = WorkerPool(workers=1, queue=1, retry_after_s=1, name="t")
    gate = threading.Event()

    async def scenario() -> list[int]:
        first = asyncio.create_task(pool.run(pool.admit(), gate.wait, 30))
        second = asyncio.create_task(pool.run(pool.admit(), lambda: 7, 30))
        await asyncio.sleep(0.2)
        assert (pool.running, pool.queue_depth, pool.admitted) == (1, 1, 2)
        gate.set()
        return [await first, await second]

    assert asyncio.run(scenario()) == [True, 7]
    assert pool.admitted == 0 and pool.running == 0
    pool.shutdown()


def test_timeout_is_503_and_slot_is_held_until_the_thread_ends():
    pool = WorkerPool(workers=1, queue=0, retry_after_s=1, name="t")
    gate = threading.Event()

    async def scenario() -> None:
        with pytest.raises(ApiError) as err:
            await pool.run(pool.admit(), gate.wait, 0.2)
        assert err.value.status == 503 and err.value.type == "timeout"
        assert pool.admitted == 1  # the thread still works: capacity is not freed yet
        with pytest.raises(ApiError):
            pool.admit()
        gate.set()
        for _ in range(100):
            if pool.admitted == 0:
                break
            await asyncio.sleep(0.02)
        assert pool.admitted == 0

    asyncio.run(scenario())
    pool.shutdown()


def test_errors_in_work_propagate_and_free_the_slot():
    pool = WorkerPool(workers=2, queue=0, retry_after_s=1, name="t")

    def boom() -> None:
        raise ValueError("bad input")

    async def scenario() -> None:
        with pytest.raises(ValueError, match="bad input"):
            await pool.run(pool.admit(), boom, 5)

    asyncio.run(scenario())
    assert pool.admitted == 0
    pool.shutdown()


def test_shut_down_pool_answers_503():
    pool = WorkerPool(workers=1, queue=0, retry_after_s=1, name="t")
    pool.shutdown()

    async def scenario() -> None:
        with pytest.raises(ApiError) as err:
            await pool.run(pool.admit(), lambda: 1, 5)
        assert err.value.status == 503

    asyncio.run(scenario())
    assert pool.admitted == 0
