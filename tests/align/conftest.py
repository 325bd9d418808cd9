"""Real clips with reference transcripts for the alignment tests."""

from __future__ import annotations

from pathlib import Path

import pytest


def reference(flac: Path) -> str:
    """The LibriSpeech reference transcript of ``flac``."""
    trans = next(flac.parent.glob("*.trans.txt"))
    for line in trans.read_text().splitlines():
        uid, text = line.split(" ", 1)
        if uid == flac.stem:
            return text
    raise KeyError(flac.stem)


@pytest.fixture(scope="session")
def aligned_clips(dev_clean: Path) -> list[tuple[Path, str]]:
    """dev-clean clips whose audio matches their reference (1272-128104-0000 does
    not)."""
    names = [
        "1988/24833/1988-24833-0001",
        "2412/153948/2412-153948-0002",
        "3752/4944/3752-4944-0000",
    ]
    return [
        (dev_clean / f"{n}.flac", reference(dev_clean / f"{n}.flac")) for n in names
    ]


@pytest.fixture(scope="session")
def whisper_aligner():
    from aural.align import create_aligner

    return create_aligner("whisper", cpu_threads=2)


@pytest.fixture(scope="session")
def sphinx_aligner():
    from aural.align import create_aligner

    return create_aligner("sphinx")
