"""Voice activity detection: where the speech is (Silero VAD, shipped with
faster-whisper)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aural.audio.waveform import SAMPLE_RATE, Waveform
from aural.errors import ConfigError


@dataclass(frozen=True, slots=True)
class VadOptions:
    """Voice activity detection settings (Silero VAD, shipped with faster-whisper)."""

    threshold: float = 0.5  # speech probability above which a frame counts as speech
    min_speech_duration_ms: int = 250  # drop speech regions shorter than this
    min_silence_duration_ms: int = 500  # silence needed to split two regions
    speech_pad_ms: int = 200  # padding added on both sides of each region

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"VAD threshold must be in (0, 1), got {self.threshold}")
        for name in (
            "min_speech_duration_ms",
            "min_silence_duration_ms",
            "speech_pad_ms",
        ):
            if getattr(self, name) < 0:
                raise ConfigError(f"VAD {name} must be >= 0, got {getattr(self, name)}")


def speech_regions(
    waveform: Waveform,
    options: VadOptions | None = None,
    *,
    max_speech_s: float = float("inf"),
) -> list[tuple[float, float]]:
    """Speech regions ``[(start, end), ...]`` in seconds, in time order,
    non-overlapping.

    Args:
        waveform: mono audio at 16 kHz.
        options: VAD settings (None = defaults).
        max_speech_s: split regions longer than this (seconds).
    """
    from faster_whisper.vad import VadOptions as _FwVad
    from faster_whisper.vad import get_speech_timestamps

    if waveform.sample_rate != SAMPLE_RATE or waveform.num_channels != 1:
        raise ConfigError(
            f"VAD needs mono 16 kHz audio, got {waveform.num_channels} channel(s) at "
            f"{waveform.sample_rate} Hz; use aural.audio.load() first"
        )
    o = options or VadOptions()
    stamps = get_speech_timestamps(
        np.ascontiguousarray(waveform.samples, dtype=np.float32),
        _FwVad(
            threshold=o.threshold,
            min_speech_duration_ms=o.min_speech_duration_ms,
            min_silence_duration_ms=o.min_silence_duration_ms,
            speech_pad_ms=o.speech_pad_ms,
            max_speech_duration_s=max_speech_s,
        ),
    )
    return [(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps]
