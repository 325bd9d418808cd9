"""Window planning and stitching for CTC models on long audio.

Long inputs are cut into overlapping windows whose starts fall on frame boundaries; each
window's log posteriors are computed separately and stitched back into one
``(num_frames, vocab_size)`` array, taking every frame from the window in which it lies
furthest from an edge (the cut sits in the middle of each overlap).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aural.errors import ConfigError

__all__ = ["Window", "plan_windows", "stitch_log_probs"]


@dataclass(frozen=True, slots=True)
class Window:
    """A stretch of input samples ``[start_sample, end_sample)`` decoded on its own."""

    start_sample: int
    end_sample: int

    @property
    def num_samples(self) -> int:
        return self.end_sample - self.start_sample


def plan_windows(
    num_samples: int, window_samples: int, overlap_samples: int, frame_samples: int = 1
) -> list[Window]:
    """Cover ``num_samples`` with windows of ``window_samples`` overlapping by
    ``overlap_samples``.

    Args:
        num_samples: input length.
        window_samples: longest window.
        overlap_samples: samples shared by neighbouring windows.
        frame_samples: window starts are multiples of this (the model's samples per
            frame), so every window's frames fall on the global frame grid.

    Returns:
        Windows in order; a single window when the input fits in one. The last window
        ends at ``num_samples``.

    Raises:
        ConfigError: the overlap is not smaller than the window.
    """
    if window_samples <= 0 or frame_samples <= 0 or overlap_samples < 0:
        raise ConfigError(
            f"window ({window_samples}), frame ({frame_samples}) must be > 0 and "
            f"overlap ({overlap_samples}) >= 0 samples"
        )
    step = (window_samples - overlap_samples) // frame_samples * frame_samples
    if step <= 0:
        raise ConfigError(
            f"window overlap ({overlap_samples} samples) must be shorter than the "
            f"window ({window_samples} samples) by at least one frame "
            f"({frame_samples} samples)"
        )
    if num_samples <= window_samples:
        return [Window(0, num_samples)]
    windows = []
    start = 0
    while True:
        end = min(start + window_samples, num_samples)
        windows.append(Window(start, end))
        if end >= num_samples:
            return windows
        start += step


def stitch_log_probs(
    windows: Sequence[Window], pieces: Sequence[np.ndarray], frame_samples: int
) -> np.ndarray:
    """Join per-window log posteriors into one array on the global frame grid.

    Args:
        windows: the windows from :func:`plan_windows`, in order.
        pieces: each window's log posteriors, shape ``(frames_k, vocab_size)``.
        frame_samples: samples per output frame.

    Returns:
        ``(num_frames, vocab_size)``: frames up to the middle of each overlap come from
        the earlier window, the rest from the later one.
    """
    if len(windows) != len(pieces) or not pieces:
        raise ConfigError(
            f"need one piece per window, got {len(pieces)} for {len(windows)}"
        )
    firsts = [w.start_sample // frame_samples for w in windows]
    cuts = []  # global frame where window k hands over to window k + 1
    for k in range(len(windows) - 1):
        end_k = firsts[k] + pieces[k].shape[0]
        overlap = end_k - firsts[k + 1]
        cuts.append(firsts[k + 1] + (overlap + 1) // 2 if overlap > 0 else end_k)
    parts = []
    for k, piece in enumerate(pieces):
        lo = cuts[k - 1] - firsts[k] if k > 0 else 0
        hi = cuts[k] - firsts[k] if k + 1 < len(pieces) else piece.shape[0]
        parts.append(piece[max(lo, 0) : max(lo, hi, 0)])
    return np.concatenate(parts, axis=0)
