"""Incremental Silero VAD and the endpointer on real speech and on silence."""

from __future__ import annotations

import numpy as np

from aural.streaming.vad import (
    FRAME_SAMPLES,
    Endpointer,
    SileroStream,
    SpeechEnd,
    SpeechStart,
)

from .conftest import load_samples


def test_silero_stream_chunked_equals_whole(ldc_wav) -> None:
    samples = load_samples(ldc_wav)
    whole = SileroStream().push(samples)
    stream = SileroStream()
    parts = [stream.push(samples[i : i + 777]) for i in range(0, samples.size, 777)]
    chunked = np.concatenate(parts)
    assert whole.size == samples.size // FRAME_SAMPLES
    np.testing.assert_allclose(chunked, whole, atol=1e-5)
    assert whole.max() > 0.9  # there is speech in there


def test_endpointer_finds_the_utterance_inside_the_audio(ldc_wav) -> None:
    samples = load_samples(ldc_wav)
    padded = np.concatenate(
        [np.zeros(16000, np.float32), samples, np.zeros(16000, np.float32)]
    )
    ep = Endpointer(0.5, endpoint_silence_s=0.4, min_speech_s=0.25)
    events = ep.push(SileroStream().push(padded)) + ep.flush()
    starts = [e for e in events if isinstance(e, SpeechStart)]
    ends = [e for e in events if isinstance(e, SpeechEnd)]
    assert starts and len(ends) == len(starts)
    assert (
        16000 <= starts[0].sample <= 16000 + 16000
    )  # speech begins after the leading second
    assert all(e.is_speech for e in ends)
    assert (
        ends[-1].sample <= 16000 + samples.size
    )  # and ends before the trailing silence


def test_endpointer_on_silence_reports_nothing() -> None:
    rng = np.random.default_rng(0)
    quiet = (rng.standard_normal(48000) * 1e-4).astype(np.float32)
    ep = Endpointer(0.5, endpoint_silence_s=0.4, min_speech_s=0.25)
    assert ep.push(SileroStream().push(quiet)) + ep.flush() == []
