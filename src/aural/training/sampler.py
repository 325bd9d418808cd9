"""Length-bucketed batches, a curriculum by length, and sharding across DDP ranks.

Batches are a pure function of ``(durations, epoch, seed)``: the trainer remembers only
the epoch and how many batches of it were consumed, so resuming needs no sampler state
beyond two integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aural.errors import ConfigError

__all__ = ["BucketBatchSampler"]


@dataclass(frozen=True, slots=True)
class BucketBatchSampler:
    """Groups utterances of similar length so padding stays small.

    Attributes:
        durations: seconds per utterance (index = utterance index).
        batch_seconds: most padded seconds per batch (longest item x batch size).
        max_batch_size: most utterances per batch.
        seed: shuffling seed.
        curriculum_epochs: epochs that go strictly from short to long, unshuffled.
        rank: this process's rank; world_size: number of processes (DDP). Each rank gets
            every ``world_size``-th batch, and all ranks the same number of batches.
        shuffle: shuffle lengths within a small jitter and batch order after the
            curriculum.
    """

    durations: tuple[float, ...]
    batch_seconds: float
    max_batch_size: int
    seed: int = 0
    curriculum_epochs: int = 0
    rank: int = 0
    world_size: int = 1
    shuffle: bool = True

    def __post_init__(self) -> None:
        if not self.durations:
            raise ConfigError("cannot batch an empty dataset")
        if not 0 <= self.rank < self.world_size:
            raise ConfigError(
                f"rank {self.rank} is outside world size {self.world_size}"
            )
        if self.batch_seconds <= 0 or self.max_batch_size < 1:
            raise ConfigError("batch_seconds must be > 0 and max_batch_size >= 1")

    @classmethod
    def from_durations(
        cls, durations: Sequence[float], **kwargs: object
    ) -> BucketBatchSampler:
        return cls(tuple(float(d) for d in durations), **kwargs)  # type: ignore[arg-type]

    def _all_batches(self, epoch: int) -> list[list[int]]:
        d = np.asarray(self.durations)
        rng = np.random.default_rng([self.seed, epoch])
        in_curriculum = epoch < self.curriculum_epochs or not self.shuffle
        if in_curriculum:
            order = np.argsort(d, kind="stable")
        else:  # jitter lengths by up to 10 % so batch membership varies between epochs
            order = np.argsort(d * rng.uniform(0.9, 1.1, size=d.size), kind="stable")
        batches: list[list[int]] = []
        current: list[int] = []
        longest = 0.0
        for i in order.tolist():
            new_longest = max(longest, d[i])
            if current and (
                new_longest * (len(current) + 1) > self.batch_seconds
                or len(current) >= self.max_batch_size
            ):
                batches.append(current)
                current, new_longest = [], d[i]
            current.append(i)
            longest = new_longest
        if current:
            batches.append(current)
        if not in_curriculum:
            batches = [batches[j] for j in rng.permutation(len(batches)).tolist()]
        return batches

    def batches(self, epoch: int) -> list[list[int]]:
        """This rank's batches for ``epoch`` (lists of utterance indices)."""
        allb = self._all_batches(epoch)
        usable = (
            len(allb) - len(allb) % self.world_size
            if len(allb) >= self.world_size
            else 0
        )
        if usable == 0:  # fewer batches than ranks: every rank repeats the first ones
            return [allb[(self.rank) % len(allb)]]
        return allb[self.rank : usable : self.world_size]

    def __len__(self) -> int:
        return len(self.batches(0))
