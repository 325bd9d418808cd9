"""Noise conditions: parsing SNRs and per-utterance seeding."""

from __future__ import annotations

import numpy as np
import pytest

from aural.errors import ConfigError
from aural.evaluation.robustness import (
    Degrader,
    condition_label,
    parse_snr,
    parse_snrs,
    utterance_rng,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("clean", None),
        ("CLEAN", None),
        (None, None),
        ("10", 10.0),
        ("0", 0.0),
        ("-5", -5.0),
        ("2.5", 2.5),
        ("20dB", 20.0),
        (15, 15.0),
    ],
)
def test_parse_snr_table(text, expected):
    assert parse_snr(text) == expected


@pytest.mark.parametrize("text", ["loud", "", "nan", "1e999", "10 dB!"])
def test_parse_snr_rejects_and_names_the_value(text):
    with pytest.raises(ConfigError, match=repr(text)[1:-1] or "SNR"):
        parse_snr(text)


def test_parse_snrs_keeps_order_and_drops_repeats():
    assert parse_snrs(["clean", "10", "0", "10.0", "clean"]) == (None, 10.0, 0.0)


def test_condition_labels_are_the_by_snr_keys():
    assert [condition_label(c) for c in (None, 10.0, 0.0, -2.5)] == [
        "clean",
        "10",
        "0",
        "-2.5",
    ]


def test_utterance_rng_depends_only_on_seed_id_and_purpose():
    a = utterance_rng(0, "utt-1", "snr=10").random(4)
    assert np.array_equal(a, utterance_rng(0, "utt-1", "snr=10").random(4))
    for other in (
        utterance_rng(1, "utt-1", "snr=10"),
        utterance_rng(0, "utt-2", "snr=10"),
        utterance_rng(0, "utt-1", "snr=0"),
    ):
        assert not np.array_equal(a, other.random(4))


def test_degrader_without_noise_refuses_noisy_conditions():
    with pytest.raises(ConfigError, match="noise"):
        Degrader().check([None, 10.0])
    Degrader().check([None])  # clean needs no noise


def test_reverberation_is_seeded_per_utterance_and_keeps_length(shared_data):
    from aural.audio import load
    from aural.audio.effects import NoiseBank

    clean = load(next((shared_data / "LibriSpeech" / "dev-clean").rglob("*.flac")))
    degrader = Degrader(seed=0, rirs=NoiseBank(shared_data / "rir"))
    a = degrader.reverberate(clean, "utt-1")
    assert a.num_samples == clean.num_samples and a.sample_rate == clean.sample_rate
    assert np.array_equal(a.samples, degrader.reverberate(clean, "utt-1").samples)
    assert not np.allclose(a.samples, clean.samples, atol=1e-3)
    assert (
        Degrader(seed=0).reverberate(clean, "utt-1") is clean
    )  # no room responses given
