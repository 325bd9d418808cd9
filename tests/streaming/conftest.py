"""Fixtures for streaming tests: loaded engines and real clips as PCM bytes."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest

from aural.streaming.pcm import to_pcm16  # noqa: F401 - re-exported for the tests
from aural.types import EndOfStream, Final, Partial, StreamEvent


@pytest.fixture(scope="session")
def whisper_engine():
    from aural.engines import create_engine

    return create_engine("whisper")


@pytest.fixture(scope="session")
def sphinx_engine():
    from aural.engines import create_engine

    return create_engine("sphinx")


@pytest.fixture(scope="session")
def dev_clean_clip(dev_clean: Path) -> Path:
    """A 4.8 s LibriSpeech dev-clean utterance."""
    return dev_clean / "1272" / "128104" / "1272-128104-0000.flac"


@pytest.fixture(scope="session")
def long_clip(dev_clean: Path) -> Path:
    """A 13 s LibriSpeech dev-clean utterance with pauses."""
    return dev_clean / "1272" / "141231" / "1272-141231-0002.flac"


def load_samples(path: Path) -> np.ndarray:
    from aural.audio import load

    return load(path, 16000).samples


def run_stream(session, data: bytes | np.ndarray, chunk: int) -> list[StreamEvent]:
    """Feed ``data`` in pieces of ``chunk`` bytes (or samples), then finish."""
    events: list[StreamEvent] = []
    for i in range(0, len(data), chunk):
        events += session.feed(data[i : i + chunk])
    events += session.finish()
    return events


def finals(events: Iterable[StreamEvent]) -> list[Final]:
    return [e for e in events if isinstance(e, Final)]


def partials(events: Iterable[StreamEvent]) -> list[Partial]:
    return [e for e in events if isinstance(e, Partial)]


def final_text(events: Iterable[StreamEvent]) -> str:
    return " ".join(f.segment.text for f in finals(events))


def check_invariants(events: list[StreamEvent], duration: float) -> None:
    """Finals in time order inside the audio, words inside their segment, one
    EndOfStream last."""
    assert isinstance(events[-1], EndOfStream)
    assert sum(isinstance(e, EndOfStream) for e in events) == 1
    last_end = 0.0
    for f in finals(events):
        seg = f.segment
        assert seg.text.strip()
        assert last_end - 1e-6 <= seg.start <= seg.end <= duration + 1e-3
        for w in seg.words:
            assert seg.start - 1e-6 <= w.start <= w.end <= seg.end + 1e-6
            assert w.start >= last_end - 1e-6
            last_end = w.end
        last_end = seg.end
    for p in partials(events):
        assert 0.0 <= p.start <= p.end <= duration + 1e-3


def wer(ref: str, hyp: str) -> float:
    import jiwer

    from aural.text.normalizers import get_normalizer

    norm = get_normalizer("whisper")
    return float(jiwer.wer(norm(ref) or "<empty>", norm(hyp) or "<empty>"))
