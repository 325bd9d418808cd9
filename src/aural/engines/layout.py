"""How work is laid out on the machine: threads per decode, decodes side by side, batch size.

One rule for every workload, chosen from measurement (``benchmarks/thread_layout.py``,
results in ``benchmarks/results/thread_layout.md``) rather than assumed:

* **one thread per decode.** Whisper's decoder steps are small; a second intra-op thread
  mostly waits on the first. On this project's 2-core Xeon a single decode with one
  thread was as fast as or faster than with two, and much faster once another process
  was busy (threads waiting on each other), which is what users' machines look like.
* **one decode per usable core** (the CPUs this process may run on, at most
  :data:`MAX_DECODES`) when there is more than one thing to decode: a batch, a long
  input cut into chunks, a server's requests, streams.
* **batches of** :data:`BATCH_SIZE` short inputs per call.

``AURAL_THREADS`` / ``AURAL_DECODES`` (or the explicit arguments, the CLI's ``--threads``
and ``--workers``) override the rule.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from aural.errors import ConfigError

__all__ = ["BATCH_SIZE", "MAX_DECODES", "Layout", "Workload", "choose_layout", "usable_cores"]

Workload = Literal["single", "batch", "long", "server", "stream"]
MAX_DECODES = 4  # beyond four decodes the memory of the replicas grows for little gain
BATCH_SIZE = 4  # short inputs per batched call (CTranslate2 gains <= 8 % at 4, loses at 8+)


@dataclass(frozen=True, slots=True)
class Layout:
    """Threads per decode, decodes side by side, inputs per batched call."""

    threads: int
    decodes: int
    batch_size: int = BATCH_SIZE

    def __post_init__(self) -> None:
        for name in ("threads", "decodes", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"layout {name} must be an integer >= 1, got {value!r}")


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity mask, else the core count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


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
    batch_size: int | None = None,
    cores: int | None = None,
) -> Layout:
    """The layout for ``workload`` on this machine (None = the rule; see module doc).

    Args:
        workload: ``single`` (one short input at a time), ``batch`` (many inputs),
            ``long`` (one input long enough to cut into chunks), ``server`` (concurrent
            requests) or ``stream`` (live streams).
        threads: intra-op threads per decode (override).
        decodes: decodes side by side (override).
        batch_size: inputs per batched call (override).
        cores: the cores to plan for (default: :func:`usable_cores`).
    """
    cores = cores or usable_cores()
    threads = threads or _env_int("AURAL_THREADS") or 1
    if decodes is None:
        decodes = _env_int("AURAL_DECODES")
    if decodes is None:
        decodes = 1 if workload == "single" else max(1, min(MAX_DECODES, cores // threads))
    return Layout(threads=threads, decodes=decodes, batch_size=batch_size or BATCH_SIZE)
