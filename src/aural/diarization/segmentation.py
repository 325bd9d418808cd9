"""Windows over speech, resegmentation and turns: the time arithmetic of diarization.

Pure functions on seconds and label arrays; no audio, no models.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from aural.types import Turn

__all__ = ["plan_windows", "viterbi_labels", "labels_to_turns", "speaker_names"]

Region = tuple[float, float]
Window = tuple[float, float, int]  # start s, end s, index of its speech region

_MIN_WINDOW_S = 0.4  # shorter regions are widened to this, where the audio allows


def plan_windows(
    regions: Sequence[Region], duration: float, window_s: float, hop_s: float
) -> list[Window]:
    """Embedding windows over each speech region, in time order.

    A region longer than ``window_s`` gets windows every ``hop_s`` plus one ending at
    the region's end; a shorter region gets one window over all of it (widened to
    0.4 s within ``[0, duration]``). Every region gets at least one window.
    """
    windows: list[Window] = []
    for index, (start, end) in enumerate(regions):
        if end - start <= window_s:
            pad = max(0.0, (_MIN_WINDOW_S - (end - start)) / 2)
            windows.append((max(0.0, start - pad), min(duration, end + pad), index))
            continue
        t = start
        while t + window_s <= end + 1e-9:
            windows.append((t, t + window_s, index))
            t += hop_s
        if windows[-1][1] < end - 1e-9:
            windows.append((end - window_s, end, index))
    return windows


def viterbi_labels(
    scores: NDArray[np.floating], switch_penalty: float
) -> NDArray[np.int64]:
    """The label path maximising ``sum(scores[t, label_t]) - switch_penalty *
    (number of changes)``.

    Args:
        scores: ``(num_windows, num_speakers)`` similarity of each window to each
            speaker.
        switch_penalty: the cost of one change of speaker.
    """
    n, k = scores.shape
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    total = scores[0].astype(np.float64).copy()
    back = np.zeros((n, k), dtype=np.int64)
    for t in range(1, n):
        stay = total
        best_prev = int(np.argmax(total))
        switch = total[best_prev] - switch_penalty
        take_switch = switch > stay
        back[t] = np.where(take_switch, best_prev, np.arange(k))
        total = np.where(take_switch, switch, stay) + scores[t]
    path = np.zeros(n, dtype=np.int64)
    path[-1] = int(np.argmax(total))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def speaker_names(labels: Sequence[int]) -> dict[int, str]:
    """``S1``, ``S2``... in order of first appearance."""
    names: dict[int, str] = {}
    for label in labels:
        names.setdefault(int(label), f"S{len(names) + 1}")
    return names


def _absorb_short_runs(
    runs: list[list[float | int]], min_turn_s: float
) -> list[list[float | int]]:
    """Give runs shorter than ``min_turn_s`` to the previous run (or the next)."""
    changed = True
    while changed and len(runs) > 1:
        changed = False
        for i, (start, end, _) in enumerate(runs):
            if end - start < min_turn_s:
                j = i - 1 if i > 0 else i + 1
                runs[j][0] = min(runs[j][0], start)
                runs[j][1] = max(runs[j][1], end)
                del runs[i]
                changed = True
                break
    merged: list[list[float | int]] = []
    for run in runs:
        if merged and merged[-1][2] == run[2]:
            merged[-1][1] = run[1]
        else:
            merged.append(run)
    return merged


def labels_to_turns(
    regions: Sequence[Region],
    windows: Sequence[Window],
    labels: Sequence[int],
    *,
    min_turn_s: float = 0.0,
) -> list[Turn]:
    """Turns from per-window labels: within a region, the change between two windows
    falls halfway between their centres; runs shorter than ``min_turn_s`` join a
    neighbour; speakers are named ``S1``, ``S2``... in order of first appearance."""
    names = speaker_names(labels)
    turns: list[Turn] = []
    by_region: dict[int, list[tuple[float, int]]] = {}
    for (start, end, index), label in zip(windows, labels):
        by_region.setdefault(index, []).append(((start + end) / 2, int(label)))
    for index, (r_start, r_end) in enumerate(regions):
        items = by_region.get(index)
        if not items:
            continue
        runs: list[list[float | int]] = []
        for i, (_, label) in enumerate(items):
            start = r_start if i == 0 else (items[i - 1][0] + items[i][0]) / 2
            end = r_end if i == len(items) - 1 else (items[i][0] + items[i + 1][0]) / 2
            if runs and runs[-1][2] == label:
                runs[-1][1] = end
            else:
                runs.append([start, end, label])
        for start, end, label in _absorb_short_runs(runs, min_turn_s):
            if end > start:
                turns.append(Turn(float(start), float(end), names[int(label)]))
    turns.sort()
    # absorbed runs can leave a name unused: renumber S1, S2... as they appear
    final = speaker_names([int(t.speaker[1:]) for t in turns])
    return [Turn(t.start, t.end, final[int(t.speaker[1:])]) for t in turns]
