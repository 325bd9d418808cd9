"""Diarization settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

from aural.audio.vad import VadOptions
from aural.diarization.embedders import EMBEDDERS, EmbedderName
from aural.errors import ConfigError, OptionConflictError

__all__ = ["Clustering", "CLUSTERINGS", "DiarizationOptions", "DIARIZATION_VAD"]

Clustering = Literal["spectral", "agglomerative", "kmeans"]
CLUSTERINGS: tuple[str, ...] = get_args(Clustering)

# Less padding than transcription's VAD (padding is speech time a DER counts as false
# alarm); tuned on held-out speakers (docs/diarization.md): 100 ms padding and 500 ms
# pauses took DER from 6.5 % to 4.1 % against 60 ms / 300 ms.
DIARIZATION_VAD = VadOptions(
    threshold=0.5,
    min_speech_duration_ms=200,
    min_silence_duration_ms=500,
    speech_pad_ms=100,
)


@dataclass(frozen=True, slots=True)
class DiarizationOptions:
    """How :func:`aural.diarization.diarize` finds who spoke when.

    Give ``num_speakers`` when the count is known; otherwise it is estimated between
    ``min_speakers`` and ``max_speakers``.
    """

    num_speakers: int | None = None  # the known speaker count (None = estimate it)
    min_speakers: int = 1  # lower bound of the estimated count
    max_speakers: int = 8  # upper bound of the estimated count
    embedder: EmbedderName = "resemblyzer"  # speaker embedding back-end
    # agglomerative (average linkage cut at distance_threshold, then clusters merged
    # by merge_clusters: the count; told the count, the merging goes on to it),
    # spectral (NME-SC eigengap count, then the same merging) or kmeans (needs
    # num_speakers: the baseline)
    clustering: Clustering = "agglomerative"
    window_s: float = 1.5  # length of each embedding window, seconds
    hop_s: float = 0.5  # step between windows, seconds
    # two clusters are one speaker when their centroids' cosine similarity reaches
    # small_merge_threshold + merge_size_slope * ln(windows in the smaller cluster),
    # capped at merge_threshold: 0.57 for one window, 0.65 for two, 0.76 for five,
    # 0.88 from 14 on (fitted on the tuning half of the LibriSpeech speakers,
    # docs/diarization.md)
    merge_threshold: float = 0.88
    small_merge_threshold: float = 0.57
    merge_size_slope: float = 0.117
    # agglomerative: cosine distance at which average linkage stops (over-clusters;
    # the merging above then joins clusters of one voice)
    distance_threshold: float = 0.3
    # resegmentation: log-score cost of a speaker change between two windows
    switch_penalty: float = 0.15
    min_turn_s: float = 0.3  # turns shorter than this go to a neighbour
    # where the speaker changes without a pause (no dip in the level), the two
    # voices likely overlap: each turn reaches this far into the other (0 = one
    # speaker at a time; aural.diarization.overlap)
    overlap_s: float = 0.3
    vad: VadOptions = field(default_factory=lambda: DIARIZATION_VAD)

    def __post_init__(self) -> None:
        if self.embedder not in EMBEDDERS:
            raise ConfigError(
                f"unknown embedder {self.embedder!r}; use one of {', '.join(EMBEDDERS)}"
            )
        if self.clustering not in CLUSTERINGS:
            raise ConfigError(
                f"unknown clustering {self.clustering!r}; use one of "
                f"{', '.join(CLUSTERINGS)}"
            )
        if self.num_speakers is not None and self.num_speakers < 1:
            raise ConfigError(f"num_speakers must be >= 1, got {self.num_speakers}")
        if not 1 <= self.min_speakers <= self.max_speakers:
            raise ConfigError(
                f"need 1 <= min_speakers <= max_speakers, got {self.min_speakers} "
                f"and {self.max_speakers}"
            )
        if self.num_speakers is not None and not (
            self.min_speakers <= self.num_speakers <= self.max_speakers
        ):
            raise OptionConflictError(
                f"num_speakers={self.num_speakers} is outside min_speakers="
                f"{self.min_speakers}..max_speakers={self.max_speakers}; give the "
                "count or the bounds, not both"
            )
        if self.clustering == "kmeans" and self.num_speakers is None:
            raise OptionConflictError(
                "clustering='kmeans' needs num_speakers (it cannot count speakers)"
            )
        if not 0 < self.hop_s <= self.window_s:
            raise ConfigError(
                f"need 0 < hop_s <= window_s, got hop_s={self.hop_s} and "
                f"window_s={self.window_s}"
            )
        if self.merge_size_slope < 0:
            raise ConfigError(
                f"merge_size_slope must be >= 0, got {self.merge_size_slope}"
            )
        if self.min_turn_s < 0:
            raise ConfigError(f"min_turn_s must be >= 0, got {self.min_turn_s}")
        if self.overlap_s < 0:
            raise ConfigError(f"overlap_s must be >= 0, got {self.overlap_s}")
