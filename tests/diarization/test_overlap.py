"""The overlap step: two speakers where one hands over to the other without a
pause, from the signal level around the change."""

from __future__ import annotations

import numpy as np
import pytest

from aural.diarization.overlap import (
    FRAME_S,
    add_overlaps,
    frame_levels,
    overlapping_changes,
)
from aural.evaluation.diarization import diarization_error_rate
from aural.types import Turn

TURNS = [Turn(0.0, 4.0, "S1"), Turn(4.0, 8.0, "S2"), Turn(8.0, 12.0, "S1")]


def _levels(dips: list[float], seconds: float = 14.0) -> np.ndarray:
    """Speech at -20 dB from 0 to 12 s, silence (-70 dB) after, and a 0.3 s pause
    centred on each of ``dips``."""
    t = np.arange(int(seconds / FRAME_S)) * FRAME_S
    levels = np.where(t < 12.0, -20.0, -70.0)
    for d in dips:
        levels[np.abs(t - d) < 0.15] = -70.0
    return levels.astype(np.float32)


def test_change_without_a_pause_is_overlapped() -> None:
    levels = _levels(dips=[8.0])  # a pause at the second change only
    assert overlapping_changes(TURNS, levels) == [0]
    out = add_overlaps(TURNS, levels, reach_s=0.3)
    assert out == [Turn(0.0, 4.3, "S1"), Turn(3.7, 8.0, "S2"), Turn(8.0, 12.0, "S1")]


def test_no_overlap_across_pauses_same_speaker_or_gaps() -> None:
    levels = _levels(dips=[4.0, 8.0])
    assert overlapping_changes(TURNS, levels) == []
    same = [Turn(0.0, 4.0, "S1"), Turn(4.0, 8.0, "S1")]
    assert overlapping_changes(same, _levels([])) == []
    apart = [Turn(0.0, 3.9, "S1"), Turn(4.0, 8.0, "S2")]
    assert overlapping_changes(apart, _levels([])) == []
    assert add_overlaps(TURNS, _levels([]), reach_s=0.0) == TURNS


def test_digital_silence_is_not_the_noise_floor() -> None:
    # 4 s of padding at exact zero (-100 dB), then speech at -20 dB over a room
    # noise at -50 dB: a pause at the noise level is still a pause
    levels = _levels(dips=[8.0], seconds=16.0)
    levels[levels < -60] = -50.0  # pauses and the tail at the room's noise
    levels = np.concatenate([np.full(400, -100.0, np.float32), levels])
    shifted = [Turn(t.start + 4.0, t.end + 4.0, t.speaker) for t in TURNS]
    assert overlapping_changes(shifted, levels) == [0]


def test_reach_never_passes_the_other_turn() -> None:
    short = [Turn(0.0, 4.0, "S1"), Turn(4.0, 4.2, "S2"), Turn(4.2, 8.0, "S1")]
    out = add_overlaps(short, _levels([]), reach_s=0.5)
    # S1 reaches to the end of S2's short turn, not 0.5 s past the change; the
    # second S1 turn reaches back to S2's start
    spans = [x for t in out for x in (t.start, t.end)]
    assert spans == pytest.approx([0.0, 4.2, 3.5, 4.7, 4.0, 8.0])


def test_frame_levels_follow_the_signal() -> None:
    rng = np.random.default_rng(0)
    loud = 0.1 * rng.standard_normal(16000).astype(np.float32)
    samples = np.concatenate([loud, 0.1 * loud])  # 1 s, then 20 dB lower
    levels = frame_levels(samples, 16000)
    assert len(levels) == 200
    assert np.median(levels[:100]) - np.median(levels[100:]) == pytest.approx(20, abs=1)
    assert len(frame_levels(np.zeros(10, np.float32), 16000)) == 0


@pytest.mark.slow
def test_overlap_step_lowers_der_on_overlapped_conversations(
    diarizer, make_conversation
):
    """On conversations with 10 % overlap (dev-clean speakers, never used for
    tuning; seeds fixed in advance), the step lowers missed speech and DER."""
    from dataclasses import replace

    from aural.diarization.pipeline import label_windows

    refs, with_step, without = {}, {}, {}
    plain = replace(diarizer.options, overlap_s=0.0)
    for k, seed in ((2, 5), (3, 6), (4, 7)):
        conv = make_conversation(k, seed, overlap=0.1)
        trace = diarizer.trace(conv.waveform)
        name = f"{k}/{seed}"
        refs[name] = list(conv.reference)
        with_step[name] = list(trace.turns)
        without[name] = label_windows(
            trace.regions, trace.windows, trace.embeddings, plain, levels=trace.levels
        )[2]
    a, _ = diarization_error_rate(refs, with_step, collar=0.25)
    b, _ = diarization_error_rate(refs, without, collar=0.25)
    assert a.miss < b.miss, (a, b)
    assert a.der < b.der, (a, b)
