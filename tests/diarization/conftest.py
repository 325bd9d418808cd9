"""Fixtures for the diarization tests: simulated conversations from LibriSpeech
dev-clean (speakers never used for tuning) and the diarizer, loaded once."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def diarizer():  # type: ignore[no-untyped-def]
    if importlib.util.find_spec("resemblyzer") is None:
        pytest.skip("needs aural[diarize] (resemblyzer's encoder weights)")
    from aural.diarization import Diarizer

    return Diarizer()


@pytest.fixture(scope="session")
def dev_clean_manifest(dev_clean: Path):  # type: ignore[no-untyped-def]
    from aural.data import load_dataset

    return load_dataset(dev_clean)


@pytest.fixture(scope="session")
def make_conversation(dev_clean_manifest):  # type: ignore[no-untyped-def]
    from aural.diarization.simulate import (
        ConversationOptions,
        simulate_conversation,
        speakers_of,
    )

    speakers = sorted(speakers_of(dev_clean_manifest))

    def make(k: int, seed: int, noises=(), **changes: object):  # type: ignore[no-untyped-def]
        rng = np.random.default_rng(seed)
        chosen = [speakers[i] for i in rng.choice(len(speakers), k, replace=False)]
        options = ConversationOptions(num_speakers=k, max_turn_s=4.0, **changes)
        return simulate_conversation(
            dev_clean_manifest, chosen, options, rng, noises=noises
        )

    return make


@pytest.fixture(scope="session")
def noises(shared_data: Path) -> list[np.ndarray]:
    """The shared noise recordings, 16 kHz mono."""
    from aural.audio import load

    return [
        np.asarray(load(p, 16000).samples, dtype=np.float32)
        for p in sorted((shared_data / "noise").glob("*.wav"))
    ]


@pytest.fixture(scope="session")
def ami_dir(shared_data: Path) -> Path:
    return shared_data / "diarization"
