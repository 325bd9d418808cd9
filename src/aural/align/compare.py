"""Agreement between two alignments of the same transcript."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from aural.align.result import Alignment
from aural.errors import ConfigError

__all__ = ["BoundaryAgreement", "boundary_differences", "summarize_differences"]


@dataclass(frozen=True, slots=True)
class BoundaryAgreement:
    """Statistics of |Δ| (seconds) between matching word boundaries of two aligners."""

    num_words: int
    num_boundaries: int
    median: float
    mean: float
    p90: float
    p95: float
    within_100ms: float  # share of boundaries within 0.1 s
    within_200ms: float


def boundary_differences(a: Alignment, b: Alignment) -> np.ndarray:
    """|start_a - start_b| and |end_a - end_b| for every word both aligners placed.

    Words are matched by position and spelling (both align the same transcript; a word
    one aligner skipped is left out).

    Returns:
        Shape ``(num_matched_words, 2)``: start and end differences in seconds.
    """
    rows = []
    j = 0
    for w in a.words:
        k = next((k for k in range(j, len(b.words)) if b.words[k].text == w.text), None)
        if k is None:
            continue  # the other aligner skipped this word
        rows.append((abs(w.start - b.words[k].start), abs(w.end - b.words[k].end)))
        j = k + 1
    return np.array(rows, dtype=float).reshape(-1, 2)


def summarize_differences(diffs: Iterable[np.ndarray]) -> BoundaryAgreement:
    """Pool per-recording differences (from :func:`boundary_differences`) into
    statistics."""
    stacked = [d for d in diffs if d.size]
    if not stacked:
        raise ConfigError("no word was aligned by both aligners: nothing to compare")
    all_rows = np.vstack(stacked)
    flat = all_rows.ravel()
    return BoundaryAgreement(
        num_words=int(all_rows.shape[0]),
        num_boundaries=int(flat.size),
        median=float(np.median(flat)),
        mean=float(np.mean(flat)),
        p90=float(np.percentile(flat, 90)),
        p95=float(np.percentile(flat, 95)),
        within_100ms=float(np.mean(flat <= 0.1)),
        within_200ms=float(np.mean(flat <= 0.2)),
    )
