"""Audio for fine-tuning: cached decoding, seeded waveform augmentation (aural's noise,
room responses, speed and pitch, plus the telephone channel) and transcripts in the
case a pretrained model expects."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from aural.finetune.channel import telephone
from aural.finetune.config import FinetuneConfig
from aural.training.augment import WaveformAugmenter
from aural.training.config import AugmentConfig
from aural.training.data import AudioCache, TrainUtterance

__all__ = ["AugmentedAudio", "sentence_case"]

SAMPLE_RATE = 16_000


class AugmentedAudio:
    """Training audio at 16 kHz, augmented the same way for the same (epoch, index)."""

    def __init__(self, config: FinetuneConfig) -> None:
        self.config = config
        self.cache = AudioCache(SAMPLE_RATE)
        self.augmenter = WaveformAugmenter(_expanded(config.augment), SAMPLE_RATE)

    @property
    def is_active(self) -> bool:
        """Whether any waveform effect is on (a frozen encoder's outputs can then not be
        cached)."""
        return self.augmenter.is_active or self.config.telephone.enabled

    def clean(self, utt: TrainUtterance) -> np.ndarray:
        return self.cache.get(utt)

    def train(
        self, utts: Sequence[TrainUtterance], indices: Sequence[int], epoch: int
    ) -> list[np.ndarray]:
        out = []
        seed = self.config.seed + self.config.augment.seed_offset
        tel = self.config.telephone
        for i in indices:
            wave = self.cache.get(utts[i])
            if self.is_active:
                rng = np.random.default_rng([seed, epoch, i])
                if self.augmenter.is_active:
                    wave = self.augmenter(wave, rng)
                if tel.enabled and rng.random() < tel.probability:
                    wave = telephone(wave, SAMPLE_RATE, tel.codec)
            out.append(wave)
        return out


def _expanded(config: AugmentConfig) -> AugmentConfig:
    """``$VARS`` and ``~`` expanded in the noise and room-response folders."""

    def expand(path: str) -> str:
        return os.path.expanduser(os.path.expandvars(path))

    return config.model_copy(
        update={
            "noise": config.noise.model_copy(
                update={"directory": expand(config.noise.directory)}
            ),
            "rir": config.rir.model_copy(
                update={"directory": expand(config.rir.directory)}
            ),
        }
    )


def sentence_case(text: str) -> str:
    """``HELLO THERE I AM`` -> ``Hello there I am``: all-capital transcripts
    (LibriSpeech) in the case Whisper writes; other text is returned unchanged."""
    letters = [c for c in text if c.isalpha()]
    if not letters or any(c.islower() for c in letters):
        return text
    words = text.lower().split()
    words = [
        "I" if w == "i" else ("I" + w[1:] if w.startswith("i'") else w) for w in words
    ]
    joined = " ".join(words)
    return joined[:1].upper() + joined[1:]
