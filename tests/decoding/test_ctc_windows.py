"""Window planning and stitching of CTC posteriors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aural.decoding.ctc_windows import Window, plan_windows, stitch_log_probs
from aural.errors import ConfigError


def test_short_input_is_one_window():
    assert plan_windows(1000, 4000, 500, 320) == [Window(0, 1000)]


def test_overlap_must_be_shorter_than_window():
    with pytest.raises(ConfigError, match="overlap"):
        plan_windows(10_000, 1000, 1000, 10)


@settings(max_examples=60, deadline=None)
@given(
    num_frames=st.integers(min_value=1, max_value=400),
    window_frames=st.integers(min_value=2, max_value=60),
    overlap_frac=st.floats(min_value=0.05, max_value=0.9),
)
def test_stitching_covers_every_frame_once(num_frames, window_frames, overlap_frac):
    frame = 4
    overlap_frames = max(1, min(window_frames - 1, int(window_frames * overlap_frac)))
    windows = plan_windows(
        num_frames * frame, window_frames * frame, overlap_frames * frame, frame
    )
    assert windows[0].start_sample == 0 and windows[-1].end_sample == num_frames * frame
    assert all(b.start_sample < a.end_sample for a, b in itertools.pairwise(windows))
    assert all(w.start_sample % frame == 0 for w in windows)
    # each window's "posterior" row t holds its global frame index: stitching must give
    # 0..N-1
    pieces = [
        np.arange(w.start_sample // frame, w.end_sample // frame, dtype=float)[:, None]
        for w in windows
    ]
    stitched = stitch_log_probs(windows, pieces, frame)
    assert stitched[:, 0].tolist() == list(range(num_frames))


def test_stitch_takes_the_middle_of_each_overlap():
    windows = [Window(0, 100), Window(60, 160)]
    pieces = [np.zeros((10, 1)), np.ones((10, 1))]
    stitched = stitch_log_probs(windows, pieces, 10)[:, 0]
    assert stitched.tolist() == [0] * 8 + [1] * 8  # overlap frames 6..9: two from each
