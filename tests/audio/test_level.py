"""aural.audio.level.condition, alone and through the default engine on real speech."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aural.audio import Waveform, load
from aural.audio.level import (
    MAX_GAIN,
    QUIET_PEAK,
    TARGET_PEAK,
    StreamConditioner,
    condition,
)
from aural.decoding.options import DecodeOptions


@pytest.fixture(scope="module")
def speech(jfk_flac: Path) -> np.ndarray:
    return load(jfk_flac).samples


def test_ordinary_speech_is_returned_untouched(speech: np.ndarray) -> None:
    assert condition(speech) is speech


def test_non_finite_samples_become_silence() -> None:
    x = np.full(1000, 0.2, np.float32) * np.sign(np.sin(np.arange(1000)))
    x[::100] = np.inf
    x[50::100] = np.nan
    y = condition(x)
    assert np.isfinite(y).all()
    assert y[0] == 0 and y[50] == 0  # silence, not full-scale clicks
    assert y.dtype == np.float32


def test_dc_offset_removed(speech: np.ndarray) -> None:
    y = condition(speech * 0.1 + 0.8)
    assert abs(float(y.mean())) < 1e-4
    np.testing.assert_allclose(y, (speech - speech.mean()) * 0.1, atol=1e-4)
    # an offset under twice the rms stays: real recordings carry such offsets and
    # Whisper was trained on them
    mild = speech + np.float32(1.5 * speech.std())
    assert condition(mild) is mild


def test_beyond_full_scale_scaled_back(speech: np.ndarray) -> None:
    loud = speech * 1000
    y = condition(loud)
    assert np.abs(y).max() == pytest.approx(1.0)
    assert np.corrcoef(y, loud)[0, 1] > 0.9999  # the same signal, only scaled


def test_quiet_raised_with_a_cap(speech: np.ndarray) -> None:
    peak = float(np.abs(speech).max())
    quiet = speech * (QUIET_PEAK / 10 / peak)
    assert np.abs(condition(quiet)).max() == pytest.approx(TARGET_PEAK, rel=1e-4)
    dither = np.random.default_rng(0).uniform(-3e-5, 3e-5, 16000).astype(np.float32)
    assert (
        np.abs(condition(dither)).max() <= 3e-5 * MAX_GAIN + 1e-6
    )  # stays near-silent
    zeros = np.zeros(16000, np.float32)
    assert condition(zeros) is zeros


@pytest.mark.parametrize(
    "name,transform",
    [
        ("unnormalised float, peak ~800", lambda x: x * 1000),
        ("DC offset 0.8", lambda x: x * 0.1 + 0.8),
        ("peak -50 dBFS", lambda x: x * (0.003 / np.abs(x).max())),
        (
            "inf every 1000 samples",
            lambda x: np.where(np.arange(x.size) % 1000 == 0, np.inf, x),
        ),
    ],
)
def test_engine_transcribes_hostile_levels(
    whisper_engine, speech: np.ndarray, name: str, transform
) -> None:
    # each of these gave an empty or damaged transcript before conditioning
    w = Waveform(transform(speech).astype(np.float32), 16000)
    text = whisper_engine.transcribe(w, DecodeOptions()).text.lower()
    assert "what your country can do for you" in text, (name, text)


def test_quiet_noise_stays_empty(whisper_engine, shared_data: Path) -> None:
    # raising quiet recordings must not turn quiet noise into words
    for name in ("noise2.wav", "noise3.wav", "noise5.wav"):
        x = load(shared_data / "noise" / name).samples
        w = Waveform((x * (0.002 / np.abs(x).max())).astype(np.float32), 16000)
        assert whisper_engine.transcribe(w, DecodeOptions()).text == "", name


# --- streams --------------------------------------------------------------------------


def _chunks(x: np.ndarray, n: int = 1600) -> list[np.ndarray]:
    return [x[i : i + n] for i in range(0, x.size, n)]


def test_stream_conditioner_passes_ordinary_speech_untouched(
    speech: np.ndarray,
) -> None:
    cond = StreamConditioner(16000)
    assert all(cond(c) is c for c in _chunks(speech))


def test_stream_conditioner_removes_dc_and_scales_causally(speech: np.ndarray) -> None:
    cond = StreamConditioner(16000)
    out = np.concatenate([cond(c) for c in _chunks(speech * 0.1 + 0.8)])
    assert abs(float(out[:1600].mean())) < 0.02  # the first chunk sets the estimate
    assert abs(float(out.mean())) < 1e-3
    cond = StreamConditioner(16000)
    loud = np.concatenate([cond(c) for c in _chunks(speech * 1000)])
    assert np.abs(loud).max() <= 1.0 + 1e-6
    bad = speech.copy()
    bad[::500] = np.nan
    assert np.isfinite(
        np.concatenate([StreamConditioner(16000)(c) for c in _chunks(bad)])
    ).all()


@pytest.mark.parametrize("transform", [lambda x: x * 1000, lambda x: x * 0.1 + 0.8])
def test_streaming_session_hears_hostile_levels(
    whisper_engine, speech: np.ndarray, transform
) -> None:
    from aural.streaming import StreamingOptions
    from aural.types import Final

    session = whisper_engine.stream(
        DecodeOptions(),
        encoding="pcm_f32le",
        streaming=StreamingOptions(max_lag_s=600.0, partials=False),
    )
    events = []
    for chunk in _chunks(transform(speech).astype(np.float32), 4000):
        events += session.feed(chunk)
    events += session.finish()
    text = " ".join(e.segment.text for e in events if isinstance(e, Final)).lower()
    assert "your country can do for you" in text, text


def test_stream_conditioner_huge_float_samples_without_overflow_warnings() -> None:
    import warnings

    chunk = np.tile(np.array([1e30, -1e30], np.float32), 800)  # a broken float stream
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow RuntimeWarning would raise
        out = StreamConditioner(16000)(chunk)
    assert np.isfinite(out).all() and np.abs(out).max() <= 1.0
