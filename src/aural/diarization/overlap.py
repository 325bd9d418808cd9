"""Two speakers at once where one hands over to the other without a pause.

Window embeddings give one speaker per moment, so speech where two people talk is
half missed. Where the speaker changes inside one speech region and the signal level
does not dip around the change (no pause between the two), the two voices most
likely overlap there: each of the two turns is extended ``reach_s`` seconds into the
other. A change with a pause (the level falls at least halfway from the speech level
to the recording's noise floor, digital silence aside) is left as it is.

Pure functions on levels and turns; the levels come from :func:`frame_levels`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from aural.types import Turn

__all__ = ["FRAME_S", "frame_levels", "overlapping_changes", "add_overlaps"]

FRAME_S = 0.01  # one level per 10 ms
_SMOOTH_FRAMES = 5  # levels averaged over 50 ms (power) before looking for dips
_FLOOR_PERCENTILE = 10  # the recording's noise floor, among frames above _SILENT_DB
_SILENT_DB = -90.0
_CONTEXT_S = 3.0  # speech level: median over this much of each turn by the change


def frame_levels(
    samples: NDArray[np.floating], sample_rate: int
) -> NDArray[np.float32]:
    """The level of each 10 ms frame in dB (power, 50 ms moving average)."""
    hop = max(1, int(round(FRAME_S * sample_rate)))
    x = np.asarray(samples, dtype=np.float32)
    n = len(x) // hop
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    power = np.mean(np.square(x[: n * hop].reshape(n, hop), dtype=np.float64), axis=1)
    kernel = np.ones(_SMOOTH_FRAMES) / _SMOOTH_FRAMES
    power = np.convolve(power, kernel, mode="same")
    return (10 * np.log10(power + 1e-10)).astype(np.float32)


def _frames(
    levels: NDArray[np.float32], start: float, end: float
) -> NDArray[np.float32]:
    lo = max(int(start / FRAME_S), 0)
    hi = min(max(int(end / FRAME_S), lo + 1), len(levels))
    return levels[lo:hi]


def overlapping_changes(
    turns: Sequence[Turn],
    levels: NDArray[np.float32],
    *,
    span_s: float = 0.3,
    dip: float = 0.5,
) -> list[int]:
    """Indices ``i`` (into ``sorted(turns)``) of the changes from turn ``i`` to turn
    ``i + 1`` that look overlapped: the two turns touch, have different speakers,
    and within ``span_s`` of the change the level never falls ``dip`` of the way
    from the speech level to the noise floor."""
    ts = sorted(turns)
    if len(ts) < 2 or len(levels) == 0:
        return []
    # digital silence (padding, muted stretches) is not the room's noise floor: a
    # floor of -100 dB would hide real pauses at the noise level
    heard = levels[levels > _SILENT_DB]
    floor = float(np.percentile(heard if heard.size else levels, _FLOOR_PERCENTILE))
    out = []
    for i, (a, b) in enumerate(zip(ts, ts[1:])):
        if a.speaker == b.speaker or abs(a.end - b.start) > 1e-6:
            continue
        change = a.end
        near = _frames(levels, change - span_s, change + span_s)
        context = _frames(
            levels, max(a.start, change - _CONTEXT_S), min(b.end, change + _CONTEXT_S)
        )
        if len(near) == 0 or len(context) == 0:
            continue
        speech = float(np.median(context))
        if float(near.min()) > floor + dip * (speech - floor):
            out.append(i)
    return out


def add_overlaps(
    turns: Sequence[Turn],
    levels: NDArray[np.float32],
    *,
    reach_s: float,
    span_s: float = 0.3,
    dip: float = 0.5,
) -> list[Turn]:
    """``turns`` (sorted) with the two turns of each change that
    :func:`overlapping_changes` finds extended ``reach_s`` into each other (never
    beyond the other turn)."""
    ts = sorted(turns)
    if reach_s <= 0:
        return ts
    changes = set(overlapping_changes(ts, levels, span_s=span_s, dip=dip))
    out = []
    for i, t in enumerate(ts):
        start, end = t.start, t.end
        if i - 1 in changes:
            start = max(ts[i - 1].start, start - reach_s)
        if i in changes:
            end = min(ts[i + 1].end, end + reach_s)
        out.append(Turn(start, end, t.speaker))
    return sorted(out)
