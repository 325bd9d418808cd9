"""PocketSphinx native streaming on real recordings."""

from __future__ import annotations

import numpy as np
import pytest

from aural.audio import load
from aural.decoding.options import DecodeOptions
from aural.errors import ConfigError
from aural.streaming import StreamingOptions
from aural.types import EndOfStream, Partial

from .conftest import check_invariants, final_text, finals, run_stream, to_pcm16, wer

# Streaming endpoints (PocketSphinx's endpointer) and offline VAD regions (Silero) cut
# the audio differently, so the 3-gram LM sees different contexts; the texts stay close.
MAX_WER_VS_OFFLINE = 0.35
# a busy test machine must not turn partials off: keep the schedule deterministic
NO_DEGRADE = StreamingOptions(max_lag_s=600.0)


@pytest.fixture(scope="module")
def sphinx_reference(sphinx_engine, dev_clean_clip):
    wave = load(dev_clean_clip, 16000)
    session = sphinx_engine.stream(DecodeOptions(), streaming=NO_DEGRADE)
    events = run_stream(session, to_pcm16(wave.samples), 4000)
    return wave, events, session.stats


def test_sphinx_stream_partials_finals_and_offline(
    sphinx_engine, sphinx_reference
) -> None:
    wave, events, stats = sphinx_reference
    check_invariants(events, wave.duration)
    assert any(isinstance(e, Partial) and e.text for e in events)
    first_partial = next(i for i, e in enumerate(events) if isinstance(e, Partial))
    assert first_partial < next(i for i, e in enumerate(events) if e in finals(events))
    offline = sphinx_engine.transcribe(wave).text
    assert wer(offline, final_text(events)) <= MAX_WER_VS_OFFLINE
    assert stats.finals == len(finals(events)) >= 1
    assert stats.audio_s == pytest.approx(wave.duration, abs=0.01)


@pytest.mark.parametrize("chunk", [37, 10**9])
def test_sphinx_stream_chunk_sizes_agree(
    sphinx_engine, sphinx_reference, chunk: int
) -> None:
    wave, reference, _ = sphinx_reference
    session = sphinx_engine.stream(DecodeOptions(), streaming=NO_DEGRADE)
    events = run_stream(session, to_pcm16(wave.samples), chunk)
    check_invariants(events, wave.duration)
    assert [f.segment for f in finals(events)] == [f.segment for f in finals(reference)]


def test_sphinx_stream_silence_gives_no_finals(sphinx_engine) -> None:
    silence = np.zeros(3 * 16000, dtype=np.float32)
    events = run_stream(sphinx_engine.stream(encoding="pcm_f32le"), silence, 1600)
    assert events == [EndOfStream()]


def test_sphinx_stream_rejects_hotwords(sphinx_engine) -> None:
    with pytest.raises(ConfigError, match="hotwords"):
        sphinx_engine.stream(DecodeOptions(hotwords=("aural",)))
