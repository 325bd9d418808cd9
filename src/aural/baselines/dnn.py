"""A hybrid-style DNN acoustic model baseline: a frame-level phone classifier.

An MLP reads each 10 ms frame of MFCC + delta + delta-delta features together with
``context`` neighbours on each side (``2 * context + 1`` frames spliced) and predicts
one of :data:`~aural.baselines.phone_alignment.PHONES` (39 ARPAbet phones and
silence). Targets come from aural's own PocketSphinx forced alignments
(:mod:`aural.baselines.phone_alignment`); frames of words whose pronunciation was
guessed are left out. Speakers are held out for testing, so the frame accuracy is
speaker-independent.

Saved models are ``model.json`` plus ``weights.pt`` read with
``torch.load(weights_only=True)``; still treat model folders as trusted input.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aural.audio.features import FeatureOptions
from aural.baselines.corpora import LibriUtterance, load_samples
from aural.baselines.features import mfcc_with_deltas, speech_feature_options
from aural.baselines.phone_alignment import PHONES, PhoneAlignment
from aural.errors import (
    ConfigError,
    DatasetError,
    MissingDependencyError,
    ModelNotFoundError,
)
from aural.writers import write_atomic

__all__ = [
    "DnnOptions",
    "EpochStats",
    "FrameEvaluation",
    "FrameSet",
    "PhoneClassifier",
    "build_frame_set",
    "split_by_speaker",
    "train_phone_classifier",
]

logger = logging.getLogger(__name__)

MODEL_FORMAT = "aural-dnn-phone"
MODEL_VERSION = 1


@dataclass(frozen=True, slots=True)
class DnnOptions:
    """MLP shape and training settings.

    Args:
        context: frames spliced on each side of the centre frame.
        hidden_size: units per hidden layer.
        num_layers: hidden layers (ReLU, dropout after each).
        dropout: dropout probability in hidden layers.
        num_epochs: passes over the training frames.
        batch_size: frames per optimiser step.
        learning_rate: Adam learning rate (cosine-decayed to zero over training).
        weight_decay: AdamW weight decay.
        seed: seeds initialisation and shuffling.
    """

    context: int = 5
    hidden_size: int = 512
    num_layers: int = 3
    dropout: float = 0.15
    num_epochs: int = 8
    batch_size: int = 256
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0

    def __post_init__(self) -> None:
        checks = {
            "context": 0 <= self.context <= 50,
            "hidden_size": 1 <= self.hidden_size <= 8192,
            "num_layers": 1 <= self.num_layers <= 16,
            "dropout": 0.0 <= self.dropout < 1.0,
            "num_epochs": self.num_epochs >= 1,
            "batch_size": self.batch_size >= 1,
            "learning_rate": self.learning_rate > 0,
            "weight_decay": self.weight_decay >= 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ConfigError(
                    f"DnnOptions.{name} is out of range: {getattr(self, name)!r}"
                )


def _torch() -> Any:
    try:
        import torch
    except ImportError as err:
        raise MissingDependencyError(
            "the DNN baseline needs the 'torch' package, which is not installed; "
            "install `pip install torch==2.13.0` (CPU) and then `pip install "
            "'aural[baselines]'`"
        ) from err
    return torch


@dataclass(frozen=True, slots=True, eq=False)
class FrameSet:
    """Labelled frames of several utterances, spliced on demand.

    Attributes:
        features: every utterance's features, each padded with ``context`` repeated
            edge frames on both sides, concatenated: ``(total_rows, num_features)``.
        centers: row of each labelled frame in ``features``, shape ``(num_frames,)``.
        labels: class index of each labelled frame, shape ``(num_frames,)``.
        speakers: speaker of each labelled frame, shape ``(num_frames,)``.
        context: frames spliced on each side.
        utterance_ids: the utterances included.
    """

    features: np.ndarray
    centers: np.ndarray
    labels: np.ndarray
    speakers: np.ndarray
    context: int
    utterance_ids: tuple[str, ...]

    @property
    def num_frames(self) -> int:
        return len(self.labels)

    @property
    def input_size(self) -> int:
        return (2 * self.context + 1) * int(self.features.shape[1])

    def splice(self, rows: np.ndarray) -> np.ndarray:
        """Spliced inputs of the labelled frames at ``rows``:
        ``(len(rows), input_size)``."""
        offsets = np.arange(-self.context, self.context + 1)
        window: np.ndarray = self.features[
            self.centers[rows][:, None] + offsets[None, :]
        ]
        return window.reshape(len(rows), -1)


def build_frame_set(
    utterances: Sequence[LibriUtterance],
    alignments: Mapping[str, PhoneAlignment],
    feature_options: FeatureOptions | None = None,
    context: int = 5,
    progress: Callable[[int], None] | None = None,
) -> FrameSet:
    """Features and frame labels of the utterances that have an alignment.

    Frames labelled ``-1`` (guessed words) are left out; feature and label lengths
    are cut to the shorter of the two.

    Raises:
        DatasetError: if no utterance has an alignment with labelled frames.
    """
    opts = feature_options or speech_feature_options()
    blocks, centers, labels, speakers, ids = [], [], [], [], []
    offset = 0
    for utt in utterances:
        alignment = alignments.get(utt.utterance_id)
        if alignment is not None:
            feats = mfcc_with_deltas(load_samples(utt.path, opts.sample_rate), opts)
            frame_labels = alignment.frame_labels(PHONES)
            n = min(len(feats), len(frame_labels))
            keep = np.flatnonzero(frame_labels[:n] >= 0)
            if len(keep):
                padded = np.pad(feats[:n], ((context, context), (0, 0)), mode="edge")
                blocks.append(padded)
                centers.append(offset + context + keep)
                labels.append(frame_labels[keep])
                speakers.append(np.full(len(keep), utt.speaker, dtype=object))
                ids.append(utt.utterance_id)
                offset += len(padded)
        if progress is not None:
            progress(1)
    if not blocks:
        raise DatasetError(
            f"none of the {len(utterances)} utterances has an alignment with labelled "
            "frames"
        )
    return FrameSet(
        np.concatenate(blocks).astype(np.float32),
        np.concatenate(centers),
        np.concatenate(labels),
        np.concatenate(speakers),
        context,
        tuple(ids),
    )


def split_by_speaker(
    utterances: Sequence[LibriUtterance],
    test_subsets: Sequence[str] = ("dev-clean",),
    test_speakers: Sequence[str] | None = None,
) -> tuple[list[LibriUtterance], list[LibriUtterance]]:
    """Train/test split with no speaker on both sides.

    The test side is ``test_speakers`` when given, else every speaker of
    ``test_subsets``. Utterances of a test speaker never reach the training side.

    Raises:
        DatasetError: if either side ends up empty.
    """
    if test_speakers is not None:
        held = set(test_speakers)
    else:
        held = {u.speaker for u in utterances if u.subset in test_subsets}
    train = [u for u in utterances if u.speaker not in held]
    test = [u for u in utterances if u.speaker in held]
    if not train or not test:
        raise DatasetError(
            f"speaker split left {len(train)} training and {len(test)} test "
            f"utterances; held-out speakers: {sorted(held) or 'none'}"
        )
    return train, test


@dataclass(frozen=True, slots=True)
class EpochStats:
    """Training loss and frame accuracy after one epoch."""

    epoch: int
    loss: float
    train_accuracy: float


@dataclass(frozen=True, slots=True)
class FrameEvaluation:
    """Frame classification results on held-out speakers.

    Attributes:
        accuracy: fraction of labelled frames classified correctly.
        majority_accuracy: the accuracy of always answering the test set's most
            frequent class (the floor a classifier has to beat).
        majority_label: that class.
        num_frames: labelled test frames.
        by_speaker: frame accuracy per held-out speaker.
        confusion: counts, ``(len(PHONES), len(PHONES))``; rows reference, columns
            predicted.
    """

    accuracy: float
    majority_accuracy: float
    majority_label: str
    num_frames: int
    by_speaker: dict[str, float]
    confusion: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {
            "frame_accuracy": self.accuracy,
            "majority_class_accuracy": self.majority_accuracy,
            "majority_class": self.majority_label,
            "num_frames": self.num_frames,
            "by_speaker": dict(self.by_speaker),
            "labels": list(PHONES),
            "confusion": self.confusion.tolist(),
        }


def _build_mlp(input_size: int, options: DnnOptions) -> Any:
    nn = _torch().nn
    layers: list[Any] = []
    width = input_size
    for _ in range(options.num_layers):
        layers += [
            nn.Linear(width, options.hidden_size),
            nn.ReLU(),
            nn.Dropout(options.dropout),
        ]
        width = options.hidden_size
    layers.append(nn.Linear(width, len(PHONES)))
    return nn.Sequential(*layers)


class PhoneClassifier:
    """A trained MLP with the input normalisation it was trained with.

    Create one with :func:`train_phone_classifier` or :meth:`load`.
    """

    def __init__(
        self,
        network: Any,
        mean: np.ndarray,
        std: np.ndarray,
        options: DnnOptions,
        feature_options: FeatureOptions,
    ) -> None:
        self.network = network
        self.mean = mean.astype(np.float32)
        self.std = std.astype(np.float32)
        self.options = options
        self.feature_options = feature_options

    def predict(self, frames: FrameSet, batch_size: int = 4096) -> np.ndarray:
        """Predicted class index of every labelled frame, shape
        ``(frames.num_frames,)``."""
        torch = _torch()
        if frames.context != self.options.context:
            raise ConfigError(
                f"frames are spliced with context {frames.context}, the model expects "
                f"{self.options.context}"
            )
        self.network.eval()
        out = np.empty(frames.num_frames, dtype=np.int64)
        with torch.no_grad():
            for start in range(0, frames.num_frames, batch_size):
                rows = np.arange(start, min(start + batch_size, frames.num_frames))
                x = torch.from_numpy((frames.splice(rows) - self.mean) / self.std)
                out[rows] = self.network(x).argmax(dim=1).numpy()
        return out

    def evaluate(self, frames: FrameSet) -> FrameEvaluation:
        """Frame accuracy, per-speaker accuracy and confusion on ``frames``."""
        predicted = self.predict(frames)
        reference = frames.labels
        confusion = np.zeros((len(PHONES), len(PHONES)), dtype=np.int64)
        np.add.at(confusion, (reference, predicted), 1)
        counts = np.bincount(reference, minlength=len(PHONES))
        correct = predicted == reference
        by_speaker = {
            str(s): float(correct[frames.speakers == s].mean())
            for s in sorted(set(frames.speakers.tolist()))
        }
        return FrameEvaluation(
            accuracy=float(correct.mean()),
            majority_accuracy=float(counts.max() / counts.sum()),
            majority_label=PHONES[int(counts.argmax())],
            num_frames=frames.num_frames,
            by_speaker=by_speaker,
            confusion=confusion,
        )

    def save(self, folder: str | Path) -> Path:
        """Write ``model.json`` and ``weights.pt`` (state dict and normalisation) to
        ``folder``."""
        torch = _torch()
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        state = dict(self.network.state_dict())
        state["input_mean"] = torch.from_numpy(self.mean)
        state["input_std"] = torch.from_numpy(self.std)
        write_atomic(out / "weights.pt", lambda f: torch.save(state, f))
        meta = {
            "format": MODEL_FORMAT,
            "version": MODEL_VERSION,
            "labels": list(PHONES),
            "options": asdict(self.options),
            "feature_options": self.feature_options.to_dict(),
        }
        write_atomic(out / "model.json", json.dumps(meta, indent=2) + "\n")
        return out

    @classmethod
    def load(cls, folder: str | Path) -> PhoneClassifier:
        """Read a folder written by :meth:`save` (trusted input).

        Raises:
            ModelNotFoundError: if the files are missing or not an aural DNN phone
                model.
        """
        torch = _torch()
        root = Path(folder)
        try:
            meta = json.loads((root / "model.json").read_text(encoding="utf-8"))
            state = torch.load(
                root / "weights.pt", map_location="cpu", weights_only=True
            )
        except (OSError, ValueError, RuntimeError) as err:
            raise ModelNotFoundError(
                f"no readable DNN phone model in {root} (expected model.json and "
                f"weights.pt): {err}"
            ) from err
        if meta.get("format") != MODEL_FORMAT or meta.get("labels") != list(PHONES):
            raise ModelNotFoundError(
                f"{root / 'model.json'} is not an {MODEL_FORMAT} model"
            )
        options = DnnOptions(**meta["options"])
        feature_options = FeatureOptions.from_dict(meta["feature_options"])
        mean = state.pop("input_mean").numpy()
        std = state.pop("input_std").numpy()
        network = _build_mlp(len(mean), options)
        network.load_state_dict(state)
        network.eval()
        return cls(network, mean, std, options, feature_options)


def _input_statistics(frames: FrameSet) -> tuple[np.ndarray, np.ndarray]:
    mean = frames.features.mean(axis=0)
    std = np.sqrt(np.maximum(frames.features.var(axis=0), 1e-8))
    width = 2 * frames.context + 1
    return np.tile(mean, width), np.tile(std, width)


def train_phone_classifier(
    train: FrameSet,
    options: DnnOptions | None = None,
    feature_options: FeatureOptions | None = None,
    on_epoch: Callable[[EpochStats], None] | None = None,
) -> tuple[PhoneClassifier, list[EpochStats]]:
    """Train the MLP with cross-entropy on ``train``'s labelled frames.

    Args:
        train: training frames (from :func:`build_frame_set` with the same context).
        options: MLP and optimiser settings.
        feature_options: the MFCC settings behind ``train`` (saved with the model).
        on_epoch: called with each epoch's statistics.

    Returns:
        The trained classifier and the per-epoch statistics.
    """
    torch = _torch()
    opts = options or DnnOptions()
    if train.context != opts.context:
        raise ConfigError(
            f"frames are spliced with context {train.context}, options say "
            f"{opts.context}"
        )
    torch.manual_seed(opts.seed)
    rng = np.random.default_rng(opts.seed)
    mean, std = _input_statistics(train)
    network = _build_mlp(train.input_size, opts)
    optimiser = torch.optim.AdamW(
        network.parameters(), lr=opts.learning_rate, weight_decay=opts.weight_decay
    )
    steps_per_epoch = -(-train.num_frames // opts.batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimiser, T_max=max(1, steps_per_epoch * opts.num_epochs)
    )
    loss_fn = torch.nn.CrossEntropyLoss()
    history = []
    for epoch in range(1, opts.num_epochs + 1):
        network.train()
        order = rng.permutation(train.num_frames)
        total_loss, correct = 0.0, 0
        for start in range(0, train.num_frames, opts.batch_size):
            rows = order[start : start + opts.batch_size]
            x = torch.from_numpy((train.splice(rows) - mean) / std)
            y = torch.from_numpy(train.labels[rows])
            logits = network(x)
            loss = loss_fn(logits, y)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            scheduler.step()
            total_loss += loss.item() * len(rows)
            correct += int((logits.argmax(dim=1) == y).sum())
        stats = EpochStats(
            epoch, total_loss / train.num_frames, correct / train.num_frames
        )
        logger.info("epoch %d: loss %.4f, train accuracy %.4f", *asdict(stats).values())
        history.append(stats)
        if on_epoch is not None:
            on_epoch(stats)
    network.eval()
    classifier = PhoneClassifier(
        network, mean, std, opts, feature_options or speech_feature_options()
    )
    return classifier, history
