"""Clustering: speaker counts on synthetic speaker embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from aural.diarization.clustering import (
    agglomerative_cluster,
    kmeans_cluster,
    merge_close_clusters,
    merge_clusters,
    spectral_cluster,
)


def _speakers(
    k: int, per: int, spread: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, 64))
    labels = np.repeat(np.arange(k), per)
    x = centres[labels] + spread * rng.normal(size=(k * per, 64))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), labels


def _agree(a: np.ndarray, b: np.ndarray) -> float:
    """Share of pairs both labelings put together or apart."""
    same_a, same_b = a[:, None] == a[None, :], b[:, None] == b[None, :]
    return float(np.mean(same_a == same_b))


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_spectral_counts_speakers(k: int) -> None:
    x, truth = _speakers(k, 30, 0.6, seed=k)
    labels = spectral_cluster(x, max_speakers=8)
    assert len(np.unique(labels)) == k
    assert _agree(labels, truth) > 0.98


def test_spectral_with_known_count() -> None:
    x, truth = _speakers(3, 20, 0.8)
    assert len(np.unique(spectral_cluster(x, num_speakers=3))) == 3


def test_merge_joins_one_voice_split_in_two() -> None:
    x, _ = _speakers(1, 40, 0.3)
    split = np.array([0] * 20 + [1] * 20)
    assert np.unique(merge_close_clusters(x, split, 0.8)).tolist() == [0]
    y, truth = _speakers(2, 20, 0.3)
    assert len(np.unique(merge_close_clusters(y, truth, 0.8))) == 2


def test_agglomerative_threshold_and_count() -> None:
    x, truth = _speakers(3, 20, 0.5)
    assert _agree(agglomerative_cluster(x, distance_threshold=0.5), truth) > 0.98
    assert len(np.unique(agglomerative_cluster(x, num_speakers=2))) == 2


def test_kmeans_baseline_and_empty_inputs() -> None:
    x, truth = _speakers(2, 10, 0.3)
    assert _agree(kmeans_cluster(x, 2), truth) == 1.0
    empty = np.zeros((0, 8), dtype=np.float32)
    assert len(spectral_cluster(empty)) == len(kmeans_cluster(empty, 2)) == 0


def test_merge_clusters_keeps_a_brief_distinct_voice() -> None:
    # two talkative speakers and one who spoke for two windows: the small cluster
    # is unlike both, so it stays a speaker; a small cluster of a known voice joins
    x, truth = _speakers(3, 20, 0.3, seed=7)
    brief = np.concatenate([x[truth != 2], x[truth == 2][:2]])
    labels = np.array([0] * 20 + [1] * 20 + [2] * 2)
    kept = merge_clusters(
        brief, labels, merge_threshold=0.8, small_size=5, small_threshold=0.6
    )
    assert len(np.unique(kept)) == 3
    stray = labels.copy()
    stray[:2] = 2  # two windows of speaker 0 split off
    joined = merge_clusters(
        brief[:40], stray[:40], merge_threshold=0.8, small_size=5, small_threshold=0.6
    )
    assert len(np.unique(joined)) == 2
    assert _agree(joined, truth[:40]) == 1.0


def test_merge_clusters_forced_to_a_count() -> None:
    x, truth = _speakers(3, 15, 0.4, seed=2)
    over = np.arange(len(x)) % 9  # nine mixed clusters
    over = np.where(truth == 0, over % 3, over % 3 + 3 * truth)
    labels = merge_clusters(
        x, over, merge_threshold=0.99, small_size=5, small_threshold=0.99,
        num_clusters=3,
    )  # fmt: skip
    assert len(np.unique(labels)) == 3
    assert _agree(labels, truth) > 0.98
