"""Noise conditions for robustness evaluation: which SNRs, and the seeded degradation.

A condition is one SNR in dB, or ``None`` for the clean input. Every utterance gets its
own random generator derived from ``(seed, utterance id, condition)``, so the mixture an
utterance receives does not depend on which other utterances are evaluated or in which
order: a resumed run, a ``--limit`` run and a full run degrade shared utterances the
same.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from aural.audio.effects import NoiseBank, convolve_rir, mix_at_snr
from aural.audio.waveform import Waveform
from aural.errors import ConfigError

__all__ = [
    "Condition",
    "Degrader",
    "condition_label",
    "parse_snr",
    "parse_snrs",
    "utterance_rng",
]

Condition = float | None
"""An SNR in dB, or ``None`` for clean (no added noise)."""

CLEAN_LABEL = "clean"


def parse_snr(value: str | float | None) -> Condition:
    """``"clean"`` / ``None`` -> ``None``; ``"10"`` / ``10`` -> ``10.0``.

    Raises:
        ConfigError: for anything that is neither ``clean`` nor a finite number.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in (CLEAN_LABEL, "none", "inf"):
            return None
        text = text.removesuffix("db").strip()
        try:
            number = float(text)
        except ValueError:
            raise ConfigError(
                f"invalid SNR {value!r}: give a number of dB (e.g. 10, 0, -5) or "
                "'clean'"
            ) from None
    else:
        number = float(value)
    if not math.isfinite(number):
        raise ConfigError(f"invalid SNR {value!r}: use 'clean' for no noise")
    return number


def parse_snrs(values: Iterable[str | float | None]) -> tuple[Condition, ...]:
    """Parse many SNRs, dropping repeats but keeping the order given."""
    result: list[Condition] = []
    for v in values:
        c = parse_snr(v)
        if c not in result:
            result.append(c)
    return tuple(result)


def condition_label(condition: Condition) -> str:
    """``"clean"`` or the SNR as ``"10"`` / ``"-2.5"`` (the key used in ``by_snr``)."""
    if condition is None:
        return CLEAN_LABEL
    return f"{condition:g}"


def utterance_rng(seed: int, utterance_id: str, purpose: str) -> np.random.Generator:
    """A generator that depends only on ``(seed, utterance id, purpose)``."""
    key = zlib.crc32(f"{utterance_id}\x00{purpose}".encode())
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, key])


@dataclass(frozen=True, slots=True)
class Degrader:
    """Applies the optional room response and the noise of one condition to a waveform.

    Attributes:
        seed: base seed of every per-utterance generator.
        noise: noise recordings (needed when any condition has an SNR).
        rirs: impulse responses; when given, every condition (clean too) is
            reverberated.
    """

    seed: int = 0
    noise: NoiseBank | None = None
    rirs: NoiseBank | None = None

    def check(self, conditions: Sequence[Condition]) -> None:
        """Raise when a noisy condition is asked for without noise recordings."""
        noisy = [c for c in conditions if c is not None]
        if noisy and self.noise is None:
            raise ConfigError(
                f"SNR {condition_label(noisy[0])} dB needs noise recordings: pass a "
                "folder of them as noise_dir (e.g. ../shared/data/noise)",
                options=("noise_dir",),
            )

    def reverberate(self, waveform: Waveform, utterance_id: str) -> Waveform:
        """The waveform convolved with a seeded choice of room response (or as it
        is)."""
        if self.rirs is None:
            return waveform
        rng = utterance_rng(self.seed, utterance_id, "rir")
        _, rir = self.rirs.pick(rng)
        return Waveform(convolve_rir(waveform.samples, rir), waveform.sample_rate)

    def degrade(
        self, waveform: Waveform, utterance_id: str, condition: Condition
    ) -> Waveform:
        """Noise at ``condition`` dB added to ``waveform`` (already reverberated, if
        wanted).

        Args:
            waveform: mono input at the noise bank's sample rate.
            utterance_id: seeds the choice of noise recording and offset.
            condition: the SNR in dB, or ``None`` to return the input unchanged.
        """
        if condition is None:
            return waveform
        if self.noise is None:
            raise ConfigError(
                "a noisy condition needs noise recordings (noise_dir)",
                options=("noise_dir",),
            )
        if waveform.sample_rate != self.noise.sample_rate:
            raise ConfigError(
                f"audio at {waveform.sample_rate} Hz cannot be mixed with noise "
                f"loaded at {self.noise.sample_rate} Hz; load both at the same rate"
            )
        rng = utterance_rng(self.seed, utterance_id, f"snr={condition!r}")
        _, noise = self.noise.pick(rng)
        return Waveform(
            mix_at_snr(waveform.samples, noise, condition, rng), waveform.sample_rate
        )
