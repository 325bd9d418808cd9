"""Fixtures for the baselines: the Free Spoken Digit folder and cached dev-clean
alignments."""

from __future__ import annotations

from pathlib import Path

import pytest

from aural.baselines.corpora import LibriUtterance, scan_librispeech
from aural.baselines.phone_alignment import PhoneAligner, PhoneAlignment, align_corpus


@pytest.fixture(scope="session")
def fsdd_dir(shared_data: Path) -> Path:
    return shared_data / "fsdd" / "recordings"


@pytest.fixture(scope="session")
def dev_utterances(dev_clean: Path) -> list[LibriUtterance]:
    return scan_librispeech(dev_clean)


@pytest.fixture(scope="session")
def aligner() -> PhoneAligner:
    return PhoneAligner()


@pytest.fixture(scope="session")
def dev_alignments(
    dev_utterances: list[LibriUtterance],
    aligner: PhoneAligner,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, PhoneAlignment], dict[str, str], Path]:
    """PocketSphinx alignments of every dev-clean utterance, aligned once per
    session."""
    cache = tmp_path_factory.mktemp("alignments")
    done, failed = align_corpus(dev_utterances, cache, aligner)
    return done, failed, cache
