"""Input conditioning: make hostile-but-valid recordings look like the audio models
expect.

Every engine runs its input through :func:`condition` (``Engine.check_waveform``).
Ordinary recordings come back untouched, the same array, so results stay bit-identical
to the raw engines. Only inputs far outside the usual range change:

- non-finite samples (NaN, +-inf in float files) become silence, not full-scale clicks;
- a DC offset larger than twice the signal's rms (cheap microphones, some USB
  interfaces) is removed: speech riding on such an offset gives Whisper and Silero VAD
  little or nothing. Smaller offsets are left alone: LibriVox recordings carry offsets
  up to 1.6x their rms, and Whisper, trained on such audio, transcribes them as well
  with the offset as without;
- float samples beyond full scale (unnormalised DSP output) are scaled back to it:
  Whisper's log-mel features leave their trained range and it returns nothing;
- very quiet recordings (peak under -26 dBFS) are raised towards a normal level, by at
  most 40 dB: Silero VAD misses speech peaking under about -50 dBFS. The cap keeps
  16-bit dither and digital near-silence quiet.

Streams (:class:`StreamConditioner`) get the first three, causally. They do not get the
quiet-recording gain: before speech starts a stream's level is its room noise, which
that gain would raise to speech level.
"""

from __future__ import annotations

import logging

import numpy as np

__all__ = ["MAX_GAIN", "QUIET_PEAK", "TARGET_PEAK", "StreamConditioner", "condition"]

logger = logging.getLogger(__name__)

DC_LIMIT = 1e-3  # |mean| at most this is never treated as an offset
DC_RATIO = 2.0  # an offset is removed when it exceeds this many times the signal's rms
QUIET_PEAK = 0.05  # -26 dBFS: recordings peaking below this are raised
TARGET_PEAK = 0.5  # -6 dBFS: where quiet recordings are raised to
MAX_GAIN = 100.0  # +40 dB at most
DC_TIME_S = 2.0  # streams: time constant of the running DC estimate


def _is_offset(mean: float, rms: float) -> bool:
    """True when a signal's ``mean`` is a DC offset to remove (see the module
    docstring)."""
    return abs(mean) > DC_LIMIT and abs(mean) > DC_RATIO * rms


def condition(samples: np.ndarray, name: str = "input") -> np.ndarray:
    """``samples`` (mono float) ready for a recogniser: see the module docstring.

    Returns ``samples`` itself when nothing needs changing, else a new float32 array.
    """
    out = samples
    if out.size == 0:
        return out
    if not np.isfinite(out).all():
        out = np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
        logger.info("%s: non-finite samples replaced by silence", name)
    mean = float(np.mean(out, dtype=np.float64))
    if _is_offset(mean, float(np.std(out, dtype=np.float64))):
        out = out - np.float32(mean)
        logger.info("%s: removed a DC offset of %.3g", name, mean)
    peak = float(np.max(np.abs(out)))
    if peak > 1.0:
        out = out * np.float32(1.0 / peak)
        logger.info(
            "%s: samples beyond full scale (peak %.3g) scaled into [-1, 1]", name, peak
        )
    elif 0.0 < peak < QUIET_PEAK:
        gain = min(TARGET_PEAK / peak, MAX_GAIN)
        out = out * np.float32(gain)
        logger.info(
            "%s: quiet recording (peak %.1f dBFS) raised by %.1f dB",
            name,
            20 * np.log10(peak),
            20 * np.log10(gain),
        )
    return out if out is samples else out.astype(np.float32, copy=False)


class StreamConditioner:
    """:func:`condition` for audio that arrives in chunks, without looking ahead.

    The DC offset is tracked as a running mean (time constant :data:`DC_TIME_S`) and
    taken out from the moment it passes the rule :func:`condition` uses; samples beyond
    full scale are scaled by the loudest peak seen so far. Ordinary streams pass through
    untouched (the same arrays).
    """

    def __init__(self, sample_rate: int, name: str = "stream") -> None:
        self._time_samples = DC_TIME_S * sample_rate
        self._mean = 0.0
        self._var = 0.0  # running variance around the chunk means
        self._dc = False
        self._seen = 0
        self._peak = 1.0
        self._name = name

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        if samples.size == 0:
            return samples
        out = samples
        if not np.isfinite(out).all():
            out = np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
        # running mean: the first second sets it, later chunks move it with weight n / T
        weight = min(
            1.0, samples.size / min(self._time_samples, self._seen + samples.size)
        )
        chunk_mean = float(np.mean(out, dtype=np.float64))
        self._mean += weight * (chunk_mean - self._mean)
        # in float64: float32 samples near 1e30 (broken float streams) overflow when
        # squared
        centred = out.astype(np.float64) - chunk_mean
        self._var += weight * (float(np.mean(np.square(centred))) - self._var)
        self._seen += samples.size
        if not self._dc and _is_offset(self._mean, self._var**0.5):
            self._dc = True  # latched: switching back and forth would add steps
        if self._dc:
            out = out - np.float32(self._mean)
        peak = float(np.max(np.abs(out)))
        if peak > self._peak:
            if self._peak == 1.0:
                logger.info(
                    "%s: samples beyond full scale (peak %.3g) scaled", self._name, peak
                )
            self._peak = peak
        if self._peak > 1.0:
            out = out * np.float32(1.0 / self._peak)
        return out if out is samples else out.astype(np.float32, copy=False)
