"""Clustering speaker embeddings: agglomerative over-clustering refined by merging
close clusters with a size-dependent bar (the default), spectral with an eigengap
speaker count (NME-SC), and k-means with a known count (the baseline). All take
L2-normalised embeddings ``(num_windows, dim)`` and return one integer label per
window, ``0..k-1``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "spectral_cluster",
    "agglomerative_cluster",
    "kmeans_cluster",
    "merge_close_clusters",
    "merge_clusters",
    "merge_bar",
    "absorb_small_clusters",
    "centroids",
]

Labels = NDArray[np.int64]
Embeddings = NDArray[np.float32]


def _kmeans(x: NDArray[np.floating], k: int, seed: int = 0) -> Labels:
    from sklearn.cluster import KMeans

    if k >= len(x):
        return np.arange(len(x), dtype=np.int64)
    km = KMeans(n_clusters=k, n_init=10, random_state=seed)
    return np.asarray(km.fit_predict(x), dtype=np.int64)


def kmeans_cluster(embeddings: Embeddings, num_speakers: int) -> Labels:
    """k-means on the embeddings with the given count (the plain baseline)."""
    if len(embeddings) == 0:
        return np.zeros(0, dtype=np.int64)
    return _relabel(_kmeans(embeddings, num_speakers))


def _laplacian_eigen(
    affinity: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    degree = affinity.sum(axis=1)
    laplacian = np.diag(degree) - affinity
    values, vectors = np.linalg.eigh(laplacian)
    return values, vectors


def _pruned_affinity(similarity: NDArray[np.float64], keep: int) -> NDArray[np.float64]:
    """Keep each row's ``keep`` most similar neighbours (binarised), symmetrised."""
    n = len(similarity)
    top = np.argsort(-similarity, axis=1)[:, :keep]
    binary = np.zeros((n, n))
    binary[np.arange(n)[:, None], top] = 1.0
    return 0.5 * (binary + binary.T)


def _eigengap_count(
    values: NDArray[np.float64], min_k: int, max_k: int
) -> tuple[int, float]:
    """The count ``k`` in ``[min_k, max_k]`` with the largest gap
    ``values[k] - values[k-1]`` and that gap (relative to the largest eigenvalue)."""
    max_k = min(max_k, len(values) - 1)
    if max_k < max(min_k, 1):
        return max(1, min(min_k, len(values))), 0.0
    gaps = np.diff(values[: max_k + 1])  # gaps[i] = values[i+1] - values[i]
    lo = max(min_k, 1)
    k = lo + int(np.argmax(gaps[lo - 1 : max_k]))
    return k, float(gaps[k - 1] / max(values[-1], 1e-10))


def spectral_cluster(
    embeddings: Embeddings,
    *,
    num_speakers: int | None = None,
    min_speakers: int = 1,
    max_speakers: int = 8,
) -> Labels:
    """Spectral clustering with the speaker count from the eigengap (NME-SC: Park et
    al., "Auto-tuning spectral clustering for speaker diarization using normalized
    maximum eigengap", 2019).

    The cosine affinity is pruned to each row's ``p`` nearest neighbours; ``p`` is
    the one with the smallest ``p / eigengap``, and the count is the index of the
    largest eigengap of that graph's Laplacian. A count of one is not decided here:
    the count never goes below 2 when two or more are allowed, and
    :func:`merge_clusters` joins clusters of one voice afterwards.
    """
    n = len(embeddings)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if num_speakers == 1 or n < 3 or max_speakers == 1:
        return np.zeros(n, dtype=np.int64)
    similarity = np.clip(embeddings @ embeddings.T, 0.0, 1.0).astype(np.float64)
    lo = max(min_speakers, 2) if num_speakers is None else num_speakers
    hi = max_speakers if num_speakers is None else num_speakers
    candidates = sorted({max(2, int(n * f)) for f in np.linspace(0.05, 0.5, 10)})
    best: tuple[float, NDArray[np.float64], int] | None = None
    for keep in candidates:
        values, vectors = _laplacian_eigen(_pruned_affinity(similarity, keep))
        k, gap = _eigengap_count(values, lo, hi)
        ratio = (keep / n) / max(gap, 1e-10)
        if best is None or ratio < best[0]:
            best = (ratio, vectors, k)
    assert best is not None  # candidates is never empty
    _, vectors, k = best
    k = num_speakers or k
    spectral = vectors[:, :k]
    spectral = spectral / np.maximum(
        np.linalg.norm(spectral, axis=1, keepdims=True), 1e-10
    )
    return _relabel(_kmeans(spectral, k))


def agglomerative_cluster(
    embeddings: Embeddings,
    *,
    num_speakers: int | None = None,
    min_speakers: int = 1,
    max_speakers: int = 8,
    distance_threshold: float = 0.3,
) -> Labels:
    """Average-linkage clustering on cosine distance, cut at ``distance_threshold``
    (or at ``num_speakers`` clusters), with the count kept within the bounds."""
    from scipy.cluster.hierarchy import fcluster, linkage

    n = len(embeddings)
    if n < 2:
        return np.zeros(n, dtype=np.int64)
    tree = linkage(embeddings.astype(np.float64), method="average", metric="cosine")
    if num_speakers is not None:
        labels = fcluster(tree, num_speakers, criterion="maxclust")
    else:
        labels = fcluster(tree, distance_threshold, criterion="distance")
        count = len(np.unique(labels))
        if not min_speakers <= count <= max_speakers:
            bound = min(max(count, min_speakers), max_speakers)
            labels = fcluster(tree, bound, criterion="maxclust")
    return _relabel(np.asarray(labels, dtype=np.int64))


def centroids(embeddings: Embeddings, labels: Labels) -> NDArray[np.float32]:
    """The normalised mean embedding of each label ``0..max(labels)``."""
    k = int(labels.max()) + 1 if len(labels) else 0
    out = np.zeros((k, embeddings.shape[1]), dtype=np.float32)
    for c in range(k):
        mean = embeddings[labels == c].mean(axis=0)
        out[c] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return out


def merge_close_clusters(
    embeddings: Embeddings, labels: Labels, threshold: float, min_clusters: int = 1
) -> Labels:
    """Join the two clusters with the most similar centroids while that cosine
    similarity is at least ``threshold`` and more than ``min_clusters`` remain."""
    labels = labels.copy()
    while len(np.unique(labels)) > min_clusters:
        c = centroids(embeddings, labels)
        sim = c @ c.T
        np.fill_diagonal(sim, -np.inf)
        i, j = np.unravel_index(int(np.argmax(sim)), sim.shape)
        if sim[i, j] < threshold:
            break
        labels[labels == max(i, j)] = min(i, j)
        labels = _relabel(labels)
    return labels


def merge_bar(
    sizes: NDArray[np.integer],
    *,
    merge_threshold: float,
    small_merge_threshold: float,
    size_slope: float,
) -> NDArray[np.float64]:
    """The centroid similarity at or above which each pair of clusters is one
    speaker: ``small_merge_threshold + size_slope * ln(n)`` for ``n`` windows in the
    smaller cluster of the pair, capped at ``merge_threshold``.

    A centroid of a few windows is noisy, so a small cluster joins another at a
    lower similarity (it must be clearly unlike every other cluster to count as a
    speaker of its own, yet a distinct voice heard for a second or two still can);
    two large clusters are precise, and two similar voices measured over many
    windows are kept apart up to the cap.
    """
    n = np.minimum(sizes[:, None], sizes[None, :]).astype(np.float64)
    bar = small_merge_threshold + size_slope * np.log(np.maximum(n, 1.0))
    return np.minimum(bar, merge_threshold)


def merge_clusters(
    embeddings: Embeddings,
    labels: Labels,
    *,
    merge_threshold: float,
    small_merge_threshold: float,
    size_slope: float,
    min_clusters: int = 1,
    num_clusters: int | None = None,
) -> Labels:
    """Join clusters pair by pair, the pair whose centroid similarity exceeds its
    bar (:func:`merge_bar`, which rises with the smaller cluster's size) by the most
    first.

    Merging stops when no pair reaches its bar or ``min_clusters`` remain; with
    ``num_clusters`` it goes on, best pair first, until exactly that many remain.
    """
    labels = labels.copy()
    stop = num_clusters if num_clusters is not None else min_clusters
    while len(np.unique(labels)) > max(stop, 1):
        c = centroids(embeddings, labels)
        bar = merge_bar(
            np.bincount(labels),
            merge_threshold=merge_threshold,
            small_merge_threshold=small_merge_threshold,
            size_slope=size_slope,
        )
        gain = c @ c.T - bar
        np.fill_diagonal(gain, -np.inf)
        i, j = np.unravel_index(int(np.argmax(gain)), gain.shape)
        if num_clusters is None and gain[i, j] < 0:
            break
        labels[labels == max(i, j)] = min(i, j)
        labels = _relabel(labels)
    return labels


def absorb_small_clusters(
    embeddings: Embeddings, labels: Labels, min_size: int
) -> Labels:
    """Give the windows of clusters smaller than ``min_size`` to the nearest other
    cluster (smallest first), until every cluster has ``min_size`` windows or one
    cluster is left."""
    labels = labels.copy()
    while True:
        sizes = np.bincount(labels)
        if len(sizes) <= 1 or sizes.min() >= min_size:
            return labels
        small = int(np.argmin(sizes))
        keep = np.array([j for j in range(len(sizes)) if j != small])
        c = centroids(embeddings, labels)[keep]
        mine = labels == small
        labels[mine] = keep[np.argmax(embeddings[mine] @ c.T, axis=1)]
        labels = _relabel(labels)


def _relabel(labels: Labels) -> Labels:
    """Labels renumbered ``0..k-1`` in order of first appearance."""
    mapping: dict[int, int] = {}
    for x in labels.tolist():
        mapping.setdefault(x, len(mapping))
    return np.array([mapping[x] for x in labels.tolist()], dtype=np.int64)
