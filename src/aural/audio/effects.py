"""Reproducible acoustic degradations: additive noise at a chosen SNR and room
reverberation.

The evaluator uses these to measure robustness, and training augmentation reuses them,
so the mixing functions are pure numpy: float32 arrays in, a new float32 array out,
randomness only through the ``numpy.random.Generator`` the caller passes.
:class:`NoiseBank` is the only part that touches files; it loads a folder of noise or
impulse-response recordings once.

Example:
    >>> bank = NoiseBank("../shared/data/noise")
    >>> rng = np.random.default_rng(0)
    >>> noisy = mix_at_snr(speech, bank.sample(rng, len(speech)), 10.0, rng)
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from aural.audio.load import AUDIO_SUFFIXES, RAW_SUFFIXES, load
from aural.audio.waveform import SAMPLE_RATE
from aural.errors import AuralError, ConfigError, DatasetError

__all__ = [
    "NoiseBank",
    "convolve_rir",
    "crop_or_tile",
    "measure_snr_db",
    "mix_at_snr",
    "signal_power",
]

logger = logging.getLogger(__name__)


_BANK_SUFFIXES = tuple(s for s in AUDIO_SUFFIXES if s not in RAW_SUFFIXES)
_EPS = 1e-20
_SILENT_RETRIES = 20


def _as_mono_float32(samples: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(samples)
    if arr.ndim != 1:
        raise ConfigError(
            f"{name} must be a mono array of shape (num_samples,), got {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.floating):
        raise ConfigError(f"{name} must hold floats in [-1, 1], got dtype {arr.dtype}")
    return arr.astype(np.float32, copy=False)


def signal_power(samples: np.ndarray) -> float:
    """Mean square of ``samples`` (computed in float64)."""
    arr = np.asarray(samples, dtype=np.float64)
    return float(np.mean(arr * arr)) if arr.size else 0.0


def measure_snr_db(signal: np.ndarray, noise: np.ndarray) -> float:
    """Signal-to-noise ratio in dB between two arrays:
    ``10 log10(P_signal / P_noise)``."""
    return float(
        10.0
        * np.log10(max(signal_power(signal), _EPS) / max(signal_power(noise), _EPS))
    )


def crop_or_tile(
    noise: np.ndarray, num_samples: int, rng: np.random.Generator
) -> np.ndarray:
    """A stretch of ``num_samples`` from ``noise`` starting at a random offset.

    Noise shorter than ``num_samples`` is repeated (wrapping around) from the random
    offset.

    Args:
        noise: mono float samples, shape ``(n,)`` with ``n > 0``.
        num_samples: length of the result.
        rng: the source of the offset.

    Returns:
        float32 array of shape ``(num_samples,)``.
    """
    noise = _as_mono_float32(noise, "noise")
    if noise.size == 0:
        raise ConfigError(
            "noise is empty (0 samples); pick a noise recording with audio in it"
        )
    if num_samples < 0:
        raise ConfigError(f"num_samples must be >= 0, got {num_samples}")
    offset = int(rng.integers(0, noise.size))
    if noise.size >= num_samples and offset + num_samples <= noise.size:
        return noise[offset : offset + num_samples].copy()
    idx = (offset + np.arange(num_samples)) % noise.size
    return noise[idx]


def mix_at_snr(
    speech: np.ndarray, noise: np.ndarray, snr_db: float, rng: np.random.Generator
) -> np.ndarray:
    """Add ``noise`` to ``speech`` scaled so that the mixture has the requested SNR.

    The SNR is measured over the whole utterance:
    ``10 log10(P_speech / P_scaled_noise)`` with ``P`` the mean square. A random stretch
    of the noise is used (tiled when the noise is shorter than the speech; another
    offset is drawn when a stretch is all zeros); the offset comes from ``rng``, so the
    same seed gives the same mixture. The result is not clipped, so ``mix - speech`` is
    exactly the scaled noise and the SNR holds; callers that need [-1, 1] can scale the
    whole mixture, which leaves the SNR unchanged.

    Args:
        speech: mono float32 samples, shape ``(num_samples,)``.
        noise: mono float32 noise samples at the same sample rate, any length > 0.
        snr_db: the wanted speech-to-noise ratio in dB (may be negative).
        rng: random generator for the noise offset.

    Returns:
        float32 array, same shape as ``speech``. Silent speech is returned unchanged
        (no SNR can be defined against it).

    Raises:
        ConfigError: non-finite SNR, multi-channel input, or noise that is silent.
    """
    speech = _as_mono_float32(speech, "speech")
    if not np.isfinite(snr_db):
        raise ConfigError(f"snr_db must be a finite number of dB, got {snr_db!r}")
    p_speech = signal_power(speech)
    if p_speech <= 0.0 or speech.size == 0:
        return speech.copy()
    # Recordings with silent gaps can yield an all-zero stretch: draw another offset.
    for _ in range(_SILENT_RETRIES):
        segment = crop_or_tile(noise, speech.size, rng).astype(np.float64)
        p_noise = signal_power(segment)
        if p_noise > 0.0:
            break
    else:
        raise ConfigError(
            "the noise is silent (all zeros) wherever it was sampled, so no SNR can be "
            "reached; use a noise recording with audible content"
        )
    gain = np.sqrt(p_speech / (p_noise * 10.0 ** (snr_db / 10.0)))
    return (speech.astype(np.float64) + gain * segment).astype(np.float32)


def _fft_convolve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Full linear convolution of two 1-D float64 arrays through the real FFT."""
    n = a.size + b.size - 1
    size = 1 << (n - 1).bit_length()  # a power of two >= n: fast FFT sizes
    out = np.fft.irfft(np.fft.rfft(a, size) * np.fft.rfft(b, size), size)
    return out[:n]


def convolve_rir(speech: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """Reverberate ``speech`` with a room impulse response.

    The response is aligned on its direct path (its largest peak), so the output keeps
    the timing of the input, and it is cut to the input's length. The output is scaled
    to the input's energy, so a later :func:`mix_at_snr` sees the same speech level.

    Args:
        speech: mono float32 samples, shape ``(num_samples,)``.
        rir: mono float impulse response at the same sample rate, shape ``(n,)``.

    Returns:
        float32 array of shape ``(num_samples,)``.

    Raises:
        ConfigError: multi-channel input, or an empty or all-zero impulse response.
    """
    speech = _as_mono_float32(speech, "speech")
    rir = _as_mono_float32(rir, "rir")
    if rir.size == 0 or not np.any(rir):
        raise ConfigError(
            "the room impulse response is empty or all zeros; pick another one"
        )
    if speech.size == 0:
        return speech.copy()
    direct = int(np.argmax(np.abs(rir)))
    wet = _fft_convolve(speech.astype(np.float64), rir.astype(np.float64))
    wet = wet[direct : direct + speech.size]
    p_in, p_out = signal_power(speech), signal_power(wet)
    if p_out > 0.0:
        wet = wet * np.sqrt(p_in / p_out)
    return wet.astype(np.float32)


class NoiseBank:
    """The recordings of one folder (noise or impulse responses), loaded once.

    Every audio file directly in ``directory`` (see
    :data:`aural.audio.load.AUDIO_SUFFIXES`; headerless PCM, which has no sample rate to
    read, is left out) is decoded with :func:`aural.audio.load` to mono float32 at
    ``sample_rate``, in file-name order, so a seeded generator picks the same recordings
    on every machine.

    Args:
        directory: folder holding the recordings.
        sample_rate: rate to resample every recording to (Hz).
        label: what the folder is called in error messages.
        option: the caller's option that names the folder (``"noise_dir"``), put in the
            errors' ``options`` so a front end can name its own spelling of it.

    Raises:
        DatasetError: the folder is missing, holds no audio, or a file cannot be
            decoded.
    """

    __slots__ = ("_clips", "directory", "names", "sample_rate")

    def __init__(
        self,
        directory: str | os.PathLike[str],
        sample_rate: int = SAMPLE_RATE,
        label: str = "noise folder",
        option: str | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.sample_rate = int(sample_rate)
        if not self.directory.is_dir():
            raise DatasetError(
                f"{label} {str(self.directory)!r} does not exist; "
                "pass a folder of noise or impulse-response recordings",
                options=(option,) if option else (),
            )
        files = sorted(
            p
            for p in self.directory.iterdir()
            if p.is_file() and p.suffix.lower() in _BANK_SUFFIXES
        )
        clips: list[np.ndarray] = []
        names: list[str] = []
        for path in files:
            try:
                wave = load(path, sample_rate=self.sample_rate)
            except AuralError as err:
                raise DatasetError(
                    f"cannot use {str(path)!r} from the {label}: {err}; "
                    "remove it or fix the file",
                    options=(option,) if option else (),
                ) from err
            samples = np.asarray(wave.samples, dtype=np.float32)
            if samples.ndim == 2:  # load() gives mono; keep the bank robust regardless
                samples = samples.mean(axis=1, dtype=np.float32)
            if samples.size == 0 or not np.any(samples):
                logger.warning("skipping silent recording %s", path)
                continue
            clips.append(samples)
            names.append(path.name)
        if not clips:
            raise DatasetError(
                f"{label} {str(self.directory)!r} holds no usable audio "
                f"({', '.join(sorted(_BANK_SUFFIXES))})",
                options=(option,) if option else (),
            )
        self.names: tuple[str, ...] = tuple(names)
        self._clips: tuple[np.ndarray, ...] = tuple(clips)

    def __len__(self) -> int:
        return len(self._clips)

    def __getitem__(self, index: int) -> np.ndarray:
        return self._clips[index]

    def pick(self, rng: np.random.Generator) -> tuple[str, np.ndarray]:
        """One whole recording chosen with ``rng``: ``(file name, samples)``."""
        i = int(rng.integers(0, len(self._clips)))
        return self.names[i], self._clips[i]

    def sample(self, rng: np.random.Generator, num_samples: int) -> np.ndarray:
        """A random stretch of ``num_samples`` from a randomly chosen recording."""
        _, clip = self.pick(rng)
        return crop_or_tile(clip, num_samples, rng)
