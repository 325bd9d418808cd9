"""Clustering: speaker counts on synthetic speaker embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from aural.diarization.clustering import (
    agglomerative_cluster,
    kmeans_cluster,
    merge_bar,
    merge_close_clusters,
    merge_clusters,
    spectral_cluster,
)
from aural.diarization.options import DiarizationOptions

DEFAULTS = DiarizationOptions()
BARS = {
    "merge_threshold": DEFAULTS.merge_threshold,
    "small_merge_threshold": DEFAULTS.small_merge_threshold,
    "size_slope": DEFAULTS.merge_size_slope,
}


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


def test_merge_bar_rises_with_the_smaller_cluster_and_is_capped() -> None:
    sizes = np.array([1, 2, 5, 14, 400])
    bar = merge_bar(sizes, **BARS)
    assert np.allclose(bar, bar.T)
    # each pair's bar is set by its smaller cluster
    assert np.allclose(bar[0], bar[0, 0]) and np.allclose(bar[:, 0], bar[0, 0])
    row = bar[-1]  # the largest cluster against each size
    assert np.all(np.diff(row[:4]) > 0) and row[4] >= row[3]
    assert row[0] == pytest.approx(DEFAULTS.small_merge_threshold)
    assert row[-1] == pytest.approx(DEFAULTS.merge_threshold)
    assert np.all(row <= DEFAULTS.merge_threshold)


def _pair(similarity: float, per: int, seed: int = 0) -> np.ndarray:
    """Two tight clusters of ``per`` unit vectors whose centroids have about the
    given cosine similarity."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=64)
    a /= np.linalg.norm(a)
    b = rng.normal(size=64)
    b -= (b @ a) * a
    b /= np.linalg.norm(b)
    c = similarity * a + np.sqrt(1 - similarity**2) * b
    noise = 0.05 * rng.normal(size=(2, per, 64))
    x = np.concatenate([a + noise[0], c + noise[1]])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


@pytest.mark.parametrize(("similarity", "per", "joined"), [
    (0.85, 20, False),  # two similar voices, heard at length: two speakers
    (0.93, 20, True),  # one voice split in two: above the cap, joined
    (0.85, 2, True),  # two windows as alike as that: noise, joined
    (0.45, 2, False),  # two windows unlike the rest: a brief distinct voice
])  # fmt: skip
def test_merge_clusters_bar_depends_on_size(
    similarity: float, per: int, joined: bool
) -> None:
    x = _pair(similarity, 30)
    # the second cluster keeps only `per` windows
    x = np.concatenate([x[:30], x[30 : 30 + per]])
    labels = np.array([0] * 30 + [1] * per)
    merged = merge_clusters(x, labels, **BARS)
    assert (len(np.unique(merged)) == 1) is joined


def test_merge_clusters_keeps_a_brief_distinct_voice() -> None:
    # two talkative speakers and one who spoke for two windows: the small cluster
    # is unlike both, so it stays a speaker; a small cluster of a known voice joins
    x, truth = _speakers(3, 20, 0.3, seed=7)
    brief = np.concatenate([x[truth != 2], x[truth == 2][:2]])
    labels = np.array([0] * 20 + [1] * 20 + [2] * 2)
    kept = merge_clusters(brief, labels, **BARS)
    assert len(np.unique(kept)) == 3
    stray = labels.copy()
    stray[:2] = 2  # two windows of speaker 0 split off
    joined = merge_clusters(brief[:40], stray[:40], **BARS)
    assert len(np.unique(joined)) == 2
    assert _agree(joined, truth[:40]) == 1.0


def test_merge_clusters_forced_to_a_count() -> None:
    x, truth = _speakers(3, 15, 0.4, seed=2)
    over = np.arange(len(x)) % 9  # nine mixed clusters
    over = np.where(truth == 0, over % 3, over % 3 + 3 * truth)
    labels = merge_clusters(
        x, over, merge_threshold=0.99, small_merge_threshold=0.99, size_slope=0.0,
        num_clusters=3,
    )  # fmt: skip
    assert len(np.unique(labels)) == 3
    assert _agree(labels, truth) > 0.98
