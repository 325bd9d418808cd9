"""The conversation simulator: seeded, references inside the audio, overlap as
asked, noise at the asked SNR."""

from __future__ import annotations

import numpy as np
import pytest

from aural.diarization.simulate import ConversationOptions, split_speakers
from aural.errors import ConfigError

pytestmark = pytest.mark.slow


def test_same_seed_same_conversation(make_conversation):
    a, b = make_conversation(3, 5), make_conversation(3, 5)
    assert a.reference == b.reference
    assert np.array_equal(a.waveform.samples, b.waveform.samples)
    assert make_conversation(3, 6).reference != a.reference


def test_references_inside_the_audio_and_speakers_alternate(make_conversation):
    conv = make_conversation(2, 1)
    duration = conv.waveform.num_samples / 16000
    assert len(conv.speakers) == 2
    assert all(0 <= t.start < t.end <= duration for t in conv.reference)
    placed = [t.speaker for t in conv.turns]
    assert all(x != y for x, y in zip(placed, placed[1:]))
    assert conv.overlap_seconds == 0.0
    assert set(conv.texts) == {t.utterance_id for t in conv.turns}


def test_overlap_share_is_near_the_target(make_conversation):
    conv = make_conversation(2, 3, overlap=0.1)
    speech = sum(t.end - t.start for t in conv.reference)
    assert 0.03 < conv.overlap_seconds / speech < 0.2


def test_options_are_checked():
    with pytest.raises(ConfigError, match="overlap"):
        ConversationOptions(overlap=0.9)
    with pytest.raises(ConfigError, match="num_speakers"):
        ConversationOptions(num_speakers=0)


def test_noise_needs_recordings(dev_clean_manifest):
    from aural.diarization.simulate import simulate_conversation

    with pytest.raises(ConfigError, match="noise"):
        simulate_conversation(
            dev_clean_manifest,
            ["1272", "1988"],
            ConversationOptions(snr_db=10),
            np.random.default_rng(0),
        )


def test_split_speakers_is_fixed_and_disjoint():
    tune, test = split_speakers(["b", "a", "d", "c"])
    assert (tune, test) == (["a", "c"], ["b", "d"])
