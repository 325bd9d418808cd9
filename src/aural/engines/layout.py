"""How decodes are laid out on the machine: threads per decode and decodes side by side.

One rule for every workload, chosen from measurement (``benchmarks/thread_layout.py``,
results in ``benchmarks/results/thread_layout.md``) rather than assumed:

* **one thread per decode.** Whisper's decoder steps are small; a second intra-op thread
  mostly waits on the first. On this project's 2-core Xeon one decode with two threads
  took 2.2x as long as with one (RTF 0.052-0.059 against 0.024-0.025).
* **one decode at a time for one short input**, and **one decode per free core** (at
  most :data:`MAX_DECODES`) when there is more to decode: a batch, a long input cut into
  chunks, a server's requests. Two single-thread decodes side by side did 1.8x the work
  of one on the same machine. Cores that other processes keep busy at that moment are
  not counted (sampled from ``/proc/stat`` for :data:`SAMPLE_S`): with one core busy,
  two decodes side by side were slower than one.

How many inputs share one batched call is an option (``DecodeOptions.batch_size``),
owned by the engine's default for its device
(:meth:`aural.engines.base.Engine.batch_size`).

``AURAL_THREADS`` / ``AURAL_DECODES`` (or the explicit arguments: the CLI's
``--threads`` and ``--workers``) override the rule.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Literal

from aural.errors import ConfigError

__all__ = [
    "MAX_DECODES",
    "Layout",
    "Workload",
    "busy_cores",
    "choose_layout",
    "usable_cores",
]

Workload = Literal["single", "batch", "long", "server", "stream"]
MAX_DECODES = 4  # beyond four decodes the memory of the replicas grows for little gain
SAMPLE_S = 0.1  # how long /proc/stat is watched for other processes' load
BUSY_FRACTION = 0.6  # a core this busy with other work is not counted as free


@dataclass(frozen=True, slots=True)
class Layout:
    """Threads per decode and decodes side by side."""

    threads: int
    decodes: int

    def __post_init__(self) -> None:
        for name in ("threads", "decodes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(
                    f"layout {name} must be an integer >= 1, got {value!r}"
                )


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity mask, else the core count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _cpu_jiffies() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs from /proc/stat (None where there is none)."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_cores(sample_s: float = SAMPLE_S) -> int:
    """Cores kept busy by other processes right now (0 when it cannot be told).

    Measured over ``sample_s`` seconds while this process sleeps, so the load is
    others'.
    """
    before = _cpu_jiffies()
    if before is None:
        return 0
    time.sleep(sample_s)
    after = _cpu_jiffies()
    if after is None or after[1] <= before[1]:
        return 0
    fraction = (after[0] - before[0]) / (after[1] - before[1])  # of all CPUs
    cores = os.cpu_count() or 1
    return int(fraction * cores + (1 - BUSY_FRACTION))


def _env_int(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)


def choose_layout(
    workload: Workload,
    *,
    threads: int | None = None,
    decodes: int | None = None,
    cores: int | None = None,
) -> Layout:
    """The layout for ``workload`` on this machine (None = the rule; see module doc).

    Args:
        workload: ``single`` (one short input at a time), ``batch`` (many inputs),
            ``long`` (one input long enough to cut into chunks), ``server`` (concurrent
            requests) or ``stream`` (live streams, one decode each).
        threads: intra-op threads per decode (override).
        decodes: decodes side by side (override).
        cores: the free cores to plan for (default: :func:`usable_cores` less
            :func:`busy_cores`).
    """
    threads = threads or _env_int("AURAL_THREADS") or 1
    if decodes is None:
        decodes = _env_int("AURAL_DECODES")
    if decodes is None:
        if workload in ("single", "stream"):
            decodes = 1
        else:
            free = cores or max(1, usable_cores() - busy_cores())
            decodes = max(1, min(MAX_DECODES, free // threads))
    return Layout(threads=threads, decodes=decodes)
