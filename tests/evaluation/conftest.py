"""Fixtures of the evaluation tests: short real LibriSpeech utterances and real
engines."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from aural.audio import Waveform
from aural.data import Manifest, load_dataset
from aural.decoding.options import DecodeOptions
from aural.engines import Engine, create_engine
from aural.engines.base import Segments
from aural.types import Transcript


class CountingEngine(Engine):
    """A real engine that counts how many waveforms it was asked to decode."""

    def __init__(self, inner: Engine) -> None:
        self.inner = inner
        self.name = inner.name
        self.model_id = inner.model_id
        self.sample_rate = inner.sample_rate
        self.capabilities = inner.capabilities
        self.decoded = 0

    def check_options(self, options: DecodeOptions) -> None:
        self.inner.check_options(options)

    def decode(self, waveform: Waveform, options: DecodeOptions) -> Segments:
        self.decoded += 1
        return self.inner.decode(waveform, options)

    def transcribe(
        self, waveform: Waveform, options: DecodeOptions | None = None
    ) -> Transcript:
        self.decoded += 1
        return self.inner.transcribe(waveform, options)

    def transcribe_batch(
        self, waveforms: Sequence[Waveform], options: DecodeOptions | None = None
    ) -> list[Transcript]:
        self.decoded += len(waveforms)
        return self.inner.transcribe_batch(waveforms, options)


@pytest.fixture(scope="session")
def librispeech(shared_data: Path) -> Manifest:
    return load_dataset(shared_data / "LibriSpeech" / "dev-clean")


@pytest.fixture(scope="session")
def short_manifest(librispeech: Manifest) -> Manifest:
    """Three dev-clean utterances of one speaker, 3.2-4.4 s each."""
    m = librispeech.subset(speakers=["3752"])
    assert len(m) == 3
    return m


@pytest.fixture(scope="session")
def noise_dir(shared_data: Path) -> Path:
    return shared_data / "noise"


@pytest.fixture(scope="session")
def sphinx_engine() -> Engine:
    return create_engine("sphinx")


@pytest.fixture(scope="session")
def whisper_engine() -> Engine:
    return create_engine("whisper", "tiny.en")


@pytest.fixture
def counting_sphinx(sphinx_engine: Engine) -> CountingEngine:
    return CountingEngine(sphinx_engine)


@pytest.fixture
def counting_whisper(whisper_engine: Engine) -> CountingEngine:
    return CountingEngine(whisper_engine)
