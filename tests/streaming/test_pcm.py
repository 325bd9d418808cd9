"""PcmInput: bytes carry-over, float32 arrays, incremental resampling, input errors."""

from __future__ import annotations

import numpy as np
import pytest

from aural.errors import ConfigError
from aural.streaming.pcm import PcmInput


def _tone(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def test_pcm_input_odd_byte_chunks_match_whole_input() -> None:
    samples = _tone(0.5, 16000)
    data = (samples * 32767).astype("<i2").tobytes()
    whole = PcmInput(16000).push(data)
    chunked = PcmInput(16000)
    parts = [chunked.push(data[i : i + 37]) for i in range(0, len(data), 37)]
    assert chunked.pending_bytes == 0
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    np.testing.assert_allclose(whole, samples, atol=1 / 16384)


def test_pcm_input_keeps_a_partial_sample_for_the_next_chunk() -> None:
    pcm = PcmInput(16000, "pcm_f32le")
    data = np.array([0.25, -0.5], dtype="<f4").tobytes()
    assert pcm.push(data[:3]).size == 0
    assert pcm.pending_bytes == 3
    np.testing.assert_array_equal(pcm.push(data[3:]), [0.25, -0.5])


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_pcm_input_resamples_incrementally_to_16k(rate: int) -> None:
    samples = _tone(1.0, rate)
    pcm = PcmInput(rate, "pcm_f32le")
    out = [pcm.push(samples[i : i + 1001]) for i in range(0, samples.size, 1001)]
    out.append(pcm.flush())
    total = np.concatenate(out)
    assert abs(total.size - 16000) <= 2
    # still a 440 Hz tone: dominant frequency bin of the resampled signal
    spectrum = np.abs(np.fft.rfft(total[2000:14000]))
    peak_hz = np.argmax(spectrum) * 16000 / 12000
    assert abs(peak_hz - 440) < 5


@pytest.mark.parametrize(
    "chunk",
    [
        "text",
        [0.1, 0.2],
        np.zeros(10, dtype=np.int16),
        np.zeros(10, dtype=np.float64),
        np.zeros((10, 2), dtype=np.float32),
    ],
)
def test_pcm_input_rejects_bad_chunks(chunk: object) -> None:
    with pytest.raises(ConfigError, match="chunk"):
        PcmInput(16000).push(chunk)  # type: ignore[arg-type]


@pytest.mark.parametrize("rate", [0, -16000, 1000, 500_000, 16000.5, True, "16000"])
def test_pcm_input_rejects_bad_rates(rate: object) -> None:
    with pytest.raises(ConfigError, match="sample_rate"):
        PcmInput(rate)  # type: ignore[arg-type]


def test_pcm_input_rejects_unknown_encoding() -> None:
    with pytest.raises(ConfigError, match="mp3"):
        PcmInput(16000, "mp3")
