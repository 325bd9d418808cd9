"""A telephone channel: narrow band at 8 kHz and a speech codec.

``telephone(samples, 16000, codec="gsm")`` returns audio at the input rate that sounds
as if it went through a phone line: resampled to 8 kHz, band-passed to 300-3400 Hz (the
ITU-T G.712 voice band), passed through GSM 06.10 (full-rate, 13 kbit/s, as libsndfile
encodes it) or G.711 mu-law, and resampled back.
"""

from __future__ import annotations

import io
from typing import Literal

import numpy as np

from aural.audio import resample

__all__ = ["TELEPHONE_RATE", "telephone"]

TELEPHONE_RATE = 8000
_BAND = (300.0, 3400.0)

Codec = Literal["none", "mulaw", "gsm"]


def _band_pass(samples: np.ndarray, rate: int) -> np.ndarray:
    """300-3400 Hz with raised-cosine edges (100 Hz wide), in the frequency domain."""
    n = len(samples)
    if n == 0:
        return samples
    spectrum = np.fft.rfft(samples)
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    low, high = _BAND
    gain = np.ones_like(freqs)
    edge = 100.0
    gain[freqs < low - edge] = 0.0
    rise = (freqs >= low - edge) & (freqs < low)
    gain[rise] = 0.5 - 0.5 * np.cos(np.pi * (freqs[rise] - (low - edge)) / edge)
    gain[freqs > high + edge] = 0.0
    fall = (freqs > high) & (freqs <= high + edge)
    gain[fall] = 0.5 + 0.5 * np.cos(np.pi * (freqs[fall] - high) / edge)
    return np.fft.irfft(spectrum * gain, n).astype(np.float32)


def _mulaw(samples: np.ndarray) -> np.ndarray:
    """G.711 mu-law: companded to 8 bits and expanded back."""
    mu = 255.0
    x = np.clip(samples, -1.0, 1.0)
    y = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    q = np.round((y + 1.0) / 2.0 * mu) / mu * 2.0 - 1.0
    return (np.sign(q) * np.expm1(np.abs(q) * np.log1p(mu)) / mu).astype(np.float32)


def _gsm(samples: np.ndarray) -> np.ndarray:
    """GSM 06.10 round trip through libsndfile (8 kHz input)."""
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(
        buffer,
        np.clip(samples, -1.0, 1.0),
        TELEPHONE_RATE,
        format="WAV",
        subtype="GSM610",
    )
    buffer.seek(0)
    decoded, _ = sf.read(buffer, dtype="float32")
    return np.asarray(decoded[: len(samples)], dtype=np.float32)


def telephone(
    samples: np.ndarray, sample_rate: int, codec: Codec = "gsm"
) -> np.ndarray:
    """``samples`` (mono float32 at ``sample_rate``) as heard over a telephone line,
    returned at ``sample_rate`` with the same length."""
    narrow = resample(
        np.asarray(samples, dtype=np.float32), sample_rate, TELEPHONE_RATE
    )
    narrow = _band_pass(narrow, TELEPHONE_RATE)
    peak = float(np.abs(narrow).max()) if narrow.size else 0.0
    if peak > 1.0:
        narrow = narrow / peak
    if codec == "mulaw":
        narrow = _mulaw(narrow)
    elif codec == "gsm":
        narrow = _gsm(narrow)
    wide = resample(narrow, TELEPHONE_RATE, sample_rate).astype(np.float32)
    out = np.zeros(len(samples), dtype=np.float32)
    out[: min(len(out), len(wide))] = wide[: len(out)]
    return out
