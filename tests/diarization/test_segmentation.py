"""Windows, resegmentation and turns: the pure time arithmetic of diarization."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aural.diarization.segmentation import (
    labels_to_turns,
    plan_windows,
    viterbi_labels,
)
from aural.types import Turn


@given(
    st.lists(st.tuples(st.floats(0, 100), st.floats(0.05, 20)), min_size=1, max_size=8),
    st.floats(0.5, 3.0),
    st.floats(0.1, 1.0),
)
def test_plan_windows_cover_every_region(
    raw: list[tuple[float, float]], window_s: float, hop_frac: float
) -> None:
    regions, t = [], 0.0
    for gap, length in raw:
        regions.append((t + gap, t + gap + length))
        t = regions[-1][1]
    hop_s = window_s * hop_frac
    windows = plan_windows(regions, t + 1.0, window_s, hop_s)
    for index, (start, end) in enumerate(regions):
        mine = [w for w in windows if w[2] == index]
        assert mine, "every region gets a window"
        assert min(w[0] for w in mine) <= start + 1e-9
        assert max(w[1] for w in mine) >= end - 1e-9
        assert all(0.0 <= w[0] < w[1] <= t + 1.0 for w in mine)
    assert [w[0] for w in windows] == sorted(w[0] for w in windows)


def test_viterbi_ignores_a_single_noisy_window() -> None:
    scores = np.array([[0.9, 0.8]] * 4 + [[0.80, 0.85]] + [[0.9, 0.8]] * 4)
    assert viterbi_labels(scores, 0.2).tolist() == [0] * 9
    assert viterbi_labels(scores, 0.0)[4] == 1


def test_viterbi_follows_a_real_change() -> None:
    scores = np.array([[0.9, 0.6]] * 5 + [[0.6, 0.9]] * 5)
    assert viterbi_labels(scores, 0.2).tolist() == [0] * 5 + [1] * 5


def test_labels_to_turns_changes_halfway_between_window_centres() -> None:
    regions = [(0.0, 4.0), (5.0, 6.0)]
    windows = plan_windows(regions, 6.0, 1.5, 0.5)
    labels = [0 if (w[0] + w[1]) / 2 < 2.0 else 1 for w in windows]
    labels[-1] = 0  # the second region is speaker 0 again
    turns = labels_to_turns(regions, windows, labels)
    assert turns == [Turn(0.0, 2.0, "S1"), Turn(2.0, 4.0, "S2"), Turn(5.0, 6.0, "S1")]


def test_labels_to_turns_absorbs_short_runs_and_renames() -> None:
    regions = [(0.0, 3.0)]
    windows = [(0.0, 1.0, 0), (0.1, 1.1, 0), (2.0, 3.0, 0)]
    # the run of label 1 between centres 0.55 and 2.5 is 0.975 s long: kept at 0.5,
    # absorbed at 1.5 (and then S1 is the only name)
    assert len(labels_to_turns(regions, windows, [1, 0, 1], min_turn_s=0.5)) == 3
    turns = labels_to_turns(regions, windows, [2, 2, 0], min_turn_s=1.5)
    assert {t.speaker for t in turns} == {"S1"}
    assert turns[0].start == 0.0 and turns[-1].end == 3.0


@pytest.mark.parametrize("n", [0, 1])
def test_viterbi_tiny_inputs(n: int) -> None:
    assert len(viterbi_labels(np.ones((n, 3)), 0.1)) == n
