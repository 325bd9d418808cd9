"""The diarization pipeline: VAD -> windows -> embeddings -> clustering ->
resegmentation -> turns -> overlaps at changes without a pause."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from aural.audio import SAMPLE_RATE, Waveform, load
from aural.audio.load import AudioSource
from aural.audio.vad import speech_regions
from aural.diarization.clustering import (
    agglomerative_cluster,
    centroids,
    kmeans_cluster,
    merge_clusters,
    spectral_cluster,
)
from aural.diarization.embedders import Embedder, load_embedder
from aural.diarization.options import DiarizationOptions
from aural.diarization.overlap import add_overlaps, frame_levels
from aural.diarization.segmentation import (
    Region,
    Window,
    labels_to_turns,
    plan_windows,
    viterbi_labels,
)
from aural.types import Turn

__all__ = ["Diarizer", "diarize", "DiarizationTrace", "label_windows"]

log = logging.getLogger(__name__)

# Spectral clustering needs a dense eigendecomposition: beyond this many windows
# (about 25 min at a 0.5 s hop) an even subsample is clustered and the other windows
# go to the nearest centroid.
_MAX_CLUSTER_WINDOWS = 3000
_RESEGMENT_ITERATIONS = 2


@dataclass(frozen=True, slots=True)
class DiarizationTrace:
    """The intermediate results of one run, for tests, tuning and plots."""

    duration: float  # seconds of input audio
    regions: tuple[Region, ...]  # speech regions from VAD, seconds
    windows: tuple[Window, ...]  # embedding windows (start s, end s, region index)
    embeddings: NDArray[np.float32]  # (num_windows, dim)
    cluster_labels: NDArray[np.int64]  # labels after clustering and merging
    labels: NDArray[np.int64]  # labels after resegmentation
    turns: tuple[Turn, ...]
    levels: NDArray[np.float32]  # signal level per 10 ms frame, dB


def _cluster(
    embeddings: NDArray[np.float32], o: DiarizationOptions
) -> NDArray[np.int64]:
    if o.clustering == "kmeans":
        assert o.num_speakers is not None  # DiarizationOptions checks this
        return kmeans_cluster(embeddings, o.num_speakers)
    if o.clustering == "spectral" and o.num_speakers is None:
        labels = spectral_cluster(
            embeddings, min_speakers=o.min_speakers, max_speakers=o.max_speakers
        )
    else:
        # over-cluster by average linkage; merging below finds the speakers
        labels = agglomerative_cluster(
            embeddings,
            distance_threshold=o.distance_threshold,
            min_speakers=max(o.min_speakers, o.num_speakers or 1),
            max_speakers=len(embeddings),
        )
    merge = {
        "merge_threshold": o.merge_threshold,
        "small_merge_threshold": o.small_merge_threshold,
        "size_slope": o.merge_size_slope,
    }
    if o.num_speakers is not None:
        # told the count: the same merging, forced on to that many clusters
        return merge_clusters(embeddings, labels, num_clusters=o.num_speakers, **merge)
    labels = merge_clusters(embeddings, labels, min_clusters=o.min_speakers, **merge)
    if len(np.unique(labels)) > o.max_speakers:
        labels = merge_clusters(
            embeddings, labels, num_clusters=o.max_speakers, **merge
        )
    return labels


def _cluster_all(
    embeddings: NDArray[np.float32], o: DiarizationOptions
) -> NDArray[np.int64]:
    n = len(embeddings)
    if n <= _MAX_CLUSTER_WINDOWS:
        return _cluster(embeddings, o)
    pick = np.linspace(0, n - 1, _MAX_CLUSTER_WINDOWS).round().astype(int)
    labels = _cluster(embeddings[pick], o)
    return np.asarray(
        np.argmax(embeddings @ centroids(embeddings[pick], labels).T, axis=1),
        dtype=np.int64,
    )


def _resegment(
    embeddings: NDArray[np.float32],
    windows: Sequence[Window],
    labels: NDArray[np.int64],
    switch_penalty: float,
) -> NDArray[np.int64]:
    """Relabel each region's windows by their similarity to the speaker centroids,
    with a cost per change of speaker (Viterbi), re-estimating the centroids."""
    region_of = np.array([w[2] for w in windows])
    for _ in range(_RESEGMENT_ITERATIONS):
        k = int(labels.max()) + 1
        scores = embeddings @ centroids(embeddings, labels).T
        new = labels.copy()
        for region in np.unique(region_of):
            idx = np.flatnonzero(region_of == region)
            new[idx] = viterbi_labels(scores[idx], switch_penalty)
        if len(np.unique(new)) < k:  # a speaker vanished: keep the clustering's view
            break
        labels = new
    return labels


class Diarizer:
    """Who spoke when, with the embedder loaded once for many inputs.

    Example:
        >>> diarizer = Diarizer(DiarizationOptions(max_speakers=4))
        >>> for turn in diarizer.diarize("meeting.wav"):  # doctest: +SKIP
        ...     print(turn.start, turn.end, turn.speaker)
    """

    def __init__(
        self,
        options: DiarizationOptions | None = None,
        *,
        embedder: Embedder | None = None,
    ) -> None:
        self.options = options or DiarizationOptions()
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder(self.options.embedder)
        return self._embedder

    def diarize(
        self, source: AudioSource | Waveform, options: DiarizationOptions | None = None
    ) -> list[Turn]:
        """Speaker turns of ``source`` in time order (labels ``S1``, ``S2``...).

        Args:
            source: a path, bytes, a binary file object or a :class:`Waveform`.
            options: settings for this call (None = the diarizer's).

        Raises:
            AudioDecodeError: the audio cannot be decoded.
        """
        return list(self.trace(source, options).turns)

    def trace(
        self, source: AudioSource | Waveform, options: DiarizationOptions | None = None
    ) -> DiarizationTrace:
        """:meth:`diarize` with every intermediate result."""
        o = options or self.options
        waveform = load(source, SAMPLE_RATE)
        duration = waveform.num_samples / SAMPLE_RATE
        regions = tuple(speech_regions(waveform, o.vad))
        windows = tuple(plan_windows(regions, duration, o.window_s, o.hop_s))
        samples = np.asarray(waveform.samples, dtype=np.float32)
        spans = [
            (int(s * SAMPLE_RATE), max(int(e * SAMPLE_RATE), int(s * SAMPLE_RATE) + 1))
            for s, e, _ in windows
        ]
        embeddings = self.embedder.embed(samples, spans)
        levels = frame_levels(samples, SAMPLE_RATE)
        clustered, labels, turns = label_windows(
            regions, windows, embeddings, o, levels=levels
        )
        log.debug(
            "%d speech regions, %d windows, %d speakers",
            len(regions),
            len(windows),
            len({t.speaker for t in turns}),
        )
        return DiarizationTrace(
            duration,
            regions,
            windows,
            embeddings,
            clustered,
            labels,
            tuple(turns),
            levels,
        )


def label_windows(
    regions: Sequence[Region],
    windows: Sequence[Window],
    embeddings: NDArray[np.float32],
    options: DiarizationOptions,
    *,
    levels: NDArray[np.float32] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.int64], list[Turn]]:
    """The stages after the embeddings: clustering (with speaker counting),
    resegmentation, turns, and overlaps at changes without a pause (given the
    signal ``levels`` of :func:`aural.diarization.overlap.frame_levels`). Separate
    so that tuning and baselines can reuse one set of embeddings.

    Returns:
        The clustering's labels, the labels after resegmentation, and the turns.
    """
    if len(windows) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, []
    from threadpoolctl import threadpool_limits

    # the matrices are small (windows x windows): BLAS threads only wait on each other
    with threadpool_limits(1):
        clustered = _cluster_all(embeddings, options)
        labels = clustered
        if options.switch_penalty >= 0 and options.clustering != "kmeans":
            labels = _resegment(embeddings, windows, clustered, options.switch_penalty)
    turns = labels_to_turns(regions, windows, labels, min_turn_s=options.min_turn_s)
    if levels is not None and options.overlap_s > 0:
        turns = add_overlaps(turns, levels, reach_s=options.overlap_s)
    return clustered, labels, turns


def diarize(
    source: AudioSource | Waveform,
    options: DiarizationOptions | None = None,
    *,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
) -> list[Turn]:
    """Who spoke when: speaker turns of ``source`` in time order.

    Args:
        source: a path, bytes, a binary file object or a :class:`Waveform`.
        options: all settings (None = defaults).
        num_speakers: shortcut for ``options.num_speakers`` (the known count).
        min_speakers: shortcut for ``options.min_speakers``.
        max_speakers: shortcut for ``options.max_speakers``.

    Example:
        >>> from aural.diarization import diarize
        >>> turns = diarize("interview.wav", num_speakers=2)  # doctest: +SKIP
    """
    o = options or DiarizationOptions()
    changes = {
        k: v
        for k, v in {
            "num_speakers": num_speakers,
            "min_speakers": min_speakers,
            "max_speakers": max_speakers,
        }.items()
        if v is not None
    }
    if changes:
        o = replace(o, **changes)
    return Diarizer(o).diarize(source)
