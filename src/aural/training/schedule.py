"""Learning-rate schedules: linear warm-up, then
cosine / inverse-sqrt / linear / constant."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from aural.training.config import OptimConfig

__all__ = ["LrFactor", "build_scheduler"]


@dataclass(frozen=True)
class LrFactor:
    """Multiplier of the peak learning rate at a given optimizer step (a picklable
    callable).

    Not slotted: ``LambdaLR.state_dict`` stores the callable's ``__dict__``.
    """

    warmup_steps: int
    total_steps: int
    schedule: str
    min_ratio: float

    def __call__(self, step: int) -> float:
        if self.warmup_steps and step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        if self.schedule == "constant":
            return 1.0
        if self.schedule == "inverse_sqrt":
            return max(
                self.min_ratio, math.sqrt(max(1, self.warmup_steps) / max(1, step))
            )
        span = max(1, self.total_steps - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / span)
        if self.schedule == "linear":
            shape = 1.0 - progress
        else:  # cosine
            shape = 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.min_ratio + (1.0 - self.min_ratio) * shape


def build_scheduler(
    optimizer: torch.optim.Optimizer, config: OptimConfig, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    factor = LrFactor(
        config.warmup_steps, total_steps, config.schedule, config.min_lr_ratio
    )
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
