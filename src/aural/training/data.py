"""Training data: manifests from :func:`aural.data.load_dataset`, audio cache, batches.

The trainer only needs each utterance's id, audio source, transcript and duration; the
dataset readers (LibriSpeech, LJSpeech, FSDD, JSONL) live in :mod:`aural.data`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from aural.data.manifest import Utterance, load_utterance_audio, utterance_duration
from aural.errors import DatasetError
from aural.training.config import DataSource

__all__ = ["AudioCache", "TrainUtterance", "collate_audio", "read_sources", "split_dev"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrainUtterance:
    """What training needs of one utterance."""

    id: str
    source: Utterance  # the manifest entry (audio path, segment bounds, raw PCM rate)
    text: str
    duration: float  # seconds


def read_sources(
    sources: Sequence[DataSource],
    min_duration: float = 0.0,
    max_duration: float = float("inf"),
) -> list[TrainUtterance]:
    """Read every source, keep utterances with text within the duration range.

    Raises:
        DatasetError: a source cannot be read, or nothing is left after filtering.
    """
    out: list[TrainUtterance] = []
    for src in sources:
        manifest = _load_manifest(src)
        items = sorted(manifest, key=lambda u: str(u.id))
        if src.id_pattern is not None:
            pattern = re.compile(src.id_pattern)
            items = [u for u in items if pattern.fullmatch(str(u.id))]
        if src.limit is not None:
            items = items[: src.limit]
        for u in items:
            duration = utterance_duration(u)
            text = (u.text or "").strip()
            if text and min_duration <= duration <= max_duration:
                out.append(TrainUtterance(str(u.id), u, text, float(duration)))
    if not out:
        names = ", ".join(s.path for s in sources)
        raise DatasetError(
            f"no utterances with text between {min_duration} and {max_duration} s in "
            f"{names}; check the paths and data.min_duration / data.max_duration"
        )
    return out


def _load_manifest(src: DataSource) -> Any:
    from aural.data import load_dataset  # the dataset readers' public entry point

    return load_dataset(src.resolved_path(), kind=src.kind)


def split_dev(
    utterances: list[TrainUtterance], fraction: float, seed: int
) -> tuple[list[TrainUtterance], list[TrainUtterance]]:
    """Hold out ``fraction`` of the utterances (seeded) as a dev set."""
    if fraction <= 0.0:
        return utterances, []
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(utterances))
    num_dev = max(1, round(fraction * len(utterances)))
    dev_idx = set(order[:num_dev].tolist())
    train = [u for i, u in enumerate(utterances) if i not in dev_idx]
    dev = [u for i, u in enumerate(utterances) if i in dev_idx]
    return train, dev


class AudioCache:
    """Decoded mono audio at one rate, kept in memory after the first read."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._cache: dict[str, np.ndarray] = {}

    def get(self, utterance: TrainUtterance) -> np.ndarray:
        key = utterance.id
        if key not in self._cache:
            wave = load_utterance_audio(utterance.source, self.sample_rate)
            self._cache[key] = np.asarray(wave.samples, dtype=np.float32)
        return self._cache[key]


def collate_audio(waves: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-pad to ``(batch, max_samples)`` and return ``(audio, lengths)``."""
    lengths = torch.tensor([len(w) for w in waves], dtype=torch.long)
    batch = torch.zeros(len(waves), int(lengths.max()) if len(waves) else 0)
    for i, w in enumerate(waves):
        batch[i, : len(w)] = torch.from_numpy(np.ascontiguousarray(w))
    return batch, lengths
