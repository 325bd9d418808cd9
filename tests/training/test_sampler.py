"""Length-bucketed batches: budget respected, deterministic, curriculum, DDP shards."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from aural.errors import ConfigError
from aural.training.sampler import BucketBatchSampler
from aural.training.schedule import LrFactor

DURATIONS = tuple(
    np.random.default_rng(0).uniform(0.5, 15.0, size=200).round(2).tolist()
)


def test_batches_cover_everything_once_within_budget() -> None:
    s = BucketBatchSampler(DURATIONS, batch_seconds=40.0, max_batch_size=8, seed=1)
    for epoch in range(3):
        batches = s.batches(epoch)
        flat = sorted(i for b in batches for i in b)
        assert flat == list(range(len(DURATIONS)))
        for b in batches:
            assert len(b) <= 8
            assert len(b) == 1 or max(DURATIONS[i] for i in b) * len(b) <= 40.0
        spreads = [
            max(DURATIONS[i] for i in b) / min(DURATIONS[i] for i in b)
            for b in batches
            if len(b) > 1
        ]
        assert np.median(spreads) < 1.5  # similar lengths share a batch


def test_batches_are_deterministic_and_vary_by_epoch() -> None:
    a = BucketBatchSampler(DURATIONS, 40.0, 8, seed=1)
    b = BucketBatchSampler(DURATIONS, 40.0, 8, seed=1)
    assert a.batches(2) == b.batches(2)
    assert a.batches(2) != a.batches(3)


def test_curriculum_goes_short_to_long() -> None:
    s = BucketBatchSampler(DURATIONS, 40.0, 8, seed=1, curriculum_epochs=1)
    order = [DURATIONS[i] for b in s.batches(0) for i in b]
    assert order == sorted(order)
    later = [DURATIONS[i] for b in s.batches(1) for i in b]
    assert later != sorted(later)


def test_ranks_get_disjoint_equal_shares() -> None:
    shards = [
        BucketBatchSampler(DURATIONS, 40.0, 8, seed=1, rank=r, world_size=3).batches(0)
        for r in range(3)
    ]
    assert len({len(s) for s in shards}) == 1
    seen = [i for s in shards for b in s for i in b]
    assert len(seen) == len(set(seen))
    with pytest.raises(ConfigError, match="rank 3"):
        BucketBatchSampler(DURATIONS, 40.0, 8, rank=3, world_size=3)


@pytest.mark.parametrize("schedule", ["cosine", "linear", "inverse_sqrt", "constant"])
def test_lr_schedule_warms_up_then_decays(schedule: str) -> None:
    f = LrFactor(warmup_steps=10, total_steps=100, schedule=schedule, min_ratio=0.1)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert all(f(i) <= f(i + 1) for i in range(9))
    tail = [f(i) for i in range(10, 100)]
    assert all(x >= y - 1e-12 for x, y in itertools.pairwise(tail))
    assert min(tail) >= 0.1 - 1e-12
