"""Batch transcription beyond one process: Ray Data over many machines, with a durable
ledger so a job survives the loss of a worker or of the driver.

Ray is optional (``pip install 'aural[ray]'``); importing this package does not import
it.
"""

from __future__ import annotations

from aural.distributed.ledger import LEDGER_NAME, Ledger, LedgerRecord, read_ledger
from aural.distributed.ray_batch import (
    EngineSpec,
    RayItem,
    RaySettings,
    TooManyFailuresError,
    is_url,
    list_sources,
    transcribe_on_ray,
)

__all__ = [
    "LEDGER_NAME",
    "EngineSpec",
    "Ledger",
    "LedgerRecord",
    "RayItem",
    "RaySettings",
    "TooManyFailuresError",
    "is_url",
    "list_sources",
    "read_ledger",
    "transcribe_on_ray",
]
