"""Isolated-word recognition with one left-to-right GMM-HMM per word (the classic
baseline).

Each word gets a left-to-right HMM whose states emit diagonal-covariance Gaussian
mixtures over MFCC + delta + delta-delta frames (hmmlearn's ``GMMHMM``). Training is a
flat start (each example cut into equal parts, one per state, k-means within each
state) followed by Baum-Welch; recognition picks the word whose model gives the
highest log-likelihood. :func:`evaluate_speaker_folds` runs the speaker-independent
protocol on Free Spoken Digit: train on every speaker but one, test on that one,
rotating over the speakers.

Saved models are a folder holding ``model.json`` (settings, vocabulary) and
``parameters.npz`` (plain float arrays, read with ``allow_pickle=False``), so loading a
model never runs code from the file. Treat model folders as trusted input all the same:
a crafted file can still make the recogniser return wrong answers.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aural.audio.features import FeatureOptions
from aural.baselines.corpora import DigitRecording, load_samples
from aural.baselines.features import digit_feature_options, mfcc_with_deltas
from aural.errors import (
    ConfigError,
    DatasetError,
    MissingDependencyError,
    ModelNotFoundError,
)
from aural.writers import write_atomic

__all__ = [
    "DigitEvaluation",
    "FoldResult",
    "GmmHmmOptions",
    "WordHmmRecognizer",
    "evaluate_speaker_folds",
    "extract_digit_features",
]

logger = logging.getLogger(__name__)

MODEL_FORMAT = "aural-gmm-hmm"
MODEL_VERSION = 1
_PARAMS = ("startprob", "transmat", "weights", "means", "covars")


@dataclass(frozen=True, slots=True)
class GmmHmmOptions:
    """Topology and training settings of each word model.

    Args:
        num_states: emitting states of each left-to-right word HMM.
        num_mixtures: diagonal Gaussians per state.
        num_iterations: Baum-Welch iterations at most.
        self_loop_prob: initial probability of staying in a state.
        min_covar: variance floor added to every diagonal covariance.
        seed: seeds k-means initialisation, so training is repeatable.
    """

    num_states: int = 5
    num_mixtures: int = 3
    num_iterations: int = 15
    self_loop_prob: float = 0.6
    min_covar: float = 1e-3
    seed: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.num_states <= 20:
            raise ConfigError(f"num_states must be in [1, 20], got {self.num_states}")
        if not 1 <= self.num_mixtures <= 32:
            raise ConfigError(
                f"num_mixtures must be in [1, 32], got {self.num_mixtures}"
            )
        if self.num_iterations < 1:
            raise ConfigError(f"num_iterations must be >= 1, got {self.num_iterations}")
        if not 0.0 < self.self_loop_prob < 1.0:
            raise ConfigError(
                f"self_loop_prob must be in (0, 1), got {self.self_loop_prob}"
            )
        if self.min_covar <= 0:
            raise ConfigError(f"min_covar must be positive, got {self.min_covar}")


@functools.lru_cache(maxsize=1)
def _gmmhmm_class() -> Any:
    """hmmlearn's ``GMMHMM`` with the diagonal-covariance emission terms vectorised.

    hmmlearn computes the mixture densities state by state through
    ``scipy.special.logsumexp``, whose per-call overhead dominates training on short
    digit recordings. The subclass overrides the two emission hooks hmmlearn documents
    for custom models, computing every state and mixture at once; the HMM recursions,
    the M-step and the model format stay hmmlearn's.
    """
    try:
        from hmmlearn.base import BaseHMM  # type: ignore[import-untyped]
        from hmmlearn.hmm import GMMHMM  # type: ignore[import-untyped]
    except ImportError as err:
        raise MissingDependencyError(
            "the GMM-HMM baseline needs the 'hmmlearn' package, which is not "
            "installed; install it with `pip install 'aural[baselines]'`"
        ) from err

    def _logsumexp(a: np.ndarray) -> np.ndarray:
        peak = np.max(a, axis=-1, keepdims=True)
        peak = np.where(np.isfinite(peak), peak, 0.0)
        with np.errstate(under="ignore", divide="ignore"):
            total: np.ndarray = peak + np.log(
                np.exp(a - peak).sum(axis=-1, keepdims=True)
            )
        return total[..., 0]

    class DiagGMMHMM(GMMHMM):  # type: ignore[misc]
        def _log_weighted_densities(self, X: np.ndarray) -> np.ndarray:
            """log(w_sm N(x_t; mu_sm, diag(var_sm))), shape
            ``(T, states, mixtures)``."""
            num_states, num_mix, dim = self.means_.shape
            precision = 1.0 / self.covars_
            with np.errstate(divide="ignore"):
                const = np.log(self.weights_) - 0.5 * (
                    dim * np.log(2 * np.pi) + np.log(self.covars_).sum(axis=-1)
                )
            flat_p = precision.reshape(-1, dim)
            flat_mp = (self.means_ * precision).reshape(-1, dim)
            quad = (X**2) @ flat_p.T - 2.0 * (X @ flat_mp.T)
            quad += (self.means_**2 * precision).sum(axis=-1).reshape(-1)
            out: np.ndarray = (const.reshape(-1) - 0.5 * quad).reshape(
                len(X), num_states, num_mix
            )
            return out

        def _compute_log_likelihood(self, X: np.ndarray) -> np.ndarray:
            return _logsumexp(self._log_weighted_densities(X))

        def _accumulate_sufficient_statistics(
            self,
            stats: dict[str, Any],
            X: np.ndarray,
            lattice: np.ndarray,
            post_comp: np.ndarray,
            fwdlattice: np.ndarray,
            bwdlattice: np.ndarray,
        ) -> None:
            BaseHMM._accumulate_sufficient_statistics(
                self, stats, X, lattice, post_comp, fwdlattice, bwdlattice
            )
            log_dens = self._log_weighted_densities(X)
            with np.errstate(under="ignore"):
                post_mix = np.exp(log_dens - _logsumexp(log_dens)[..., None])
                post_comp_mix = post_comp[:, :, None] * post_mix
            stats["post_mix_sum"] += post_comp_mix.sum(axis=0)
            stats["post_sum"] += post_comp.sum(axis=0)
            if "m" in self.params:
                stats["m_n"] += np.einsum("ijk,il->jkl", post_comp_mix, X)
            if "c" in self.params:
                centered = X[:, None, None, :] - self.means_
                stats["c_n"] += np.einsum("ijk,ijkl->jkl", post_comp_mix, centered**2)

    return DiagGMMHMM


def _left_to_right(num_states: int, self_loop: float) -> tuple[np.ndarray, np.ndarray]:
    start = np.zeros(num_states)
    start[0] = 1.0
    trans = np.zeros((num_states, num_states))
    for i in range(num_states - 1):
        trans[i, i], trans[i, i + 1] = self_loop, 1.0 - self_loop
    trans[-1, -1] = 1.0
    return start, trans


def _flat_start(
    sequences: Sequence[np.ndarray], options: GmmHmmOptions
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights, means and diagonal covariances from an equal split of each example."""
    from sklearn.cluster import KMeans  # type: ignore[import-untyped]

    per_state: list[list[np.ndarray]] = [[] for _ in range(options.num_states)]
    for seq in sequences:
        bounds = np.linspace(0, len(seq), options.num_states + 1).round().astype(int)
        for s in range(options.num_states):
            part = seq[bounds[s] : max(bounds[s + 1], bounds[s] + 1)]
            per_state[s].append(part)
    dim = sequences[0].shape[1]
    weights = np.zeros((options.num_states, options.num_mixtures))
    means = np.zeros((options.num_states, options.num_mixtures, dim))
    covars = np.zeros((options.num_states, options.num_mixtures, dim))
    for s, parts in enumerate(per_state):
        frames = np.concatenate(parts).astype(np.float64)
        if len(frames) >= options.num_mixtures:
            km = KMeans(options.num_mixtures, n_init=3, random_state=options.seed + s)
            labels = km.fit_predict(frames)
        else:
            labels = np.arange(len(frames)) % options.num_mixtures
        global_var = frames.var(axis=0) + options.min_covar
        for m in range(options.num_mixtures):
            members = frames[labels == m]
            if len(members) == 0:
                members = frames
            weights[s, m] = max(len(members), 1)
            means[s, m] = members.mean(axis=0)
            covars[s, m] = (
                members.var(axis=0) + options.min_covar
                if len(members) > 1
                else global_var
            )
        weights[s] /= weights[s].sum()
    return weights, means, covars


def _train_word_model(sequences: Sequence[np.ndarray], options: GmmHmmOptions) -> Any:
    gmmhmm = _gmmhmm_class()
    model = gmmhmm(
        n_components=options.num_states,
        n_mix=options.num_mixtures,
        covariance_type="diag",
        min_covar=options.min_covar,
        n_iter=options.num_iterations,
        random_state=options.seed,
        init_params="",
        params="tmcw",
    )
    model.startprob_, model.transmat_ = _left_to_right(
        options.num_states, options.self_loop_prob
    )
    model.weights_, model.means_, model.covars_ = _flat_start(sequences, options)
    data = np.concatenate(sequences).astype(np.float64)
    lengths = [len(seq) for seq in sequences]
    with warnings.catch_warnings():
        # hmmlearn warns when a zero transition stays zero: that is the topology we
        # want.
        warnings.simplefilter("ignore", RuntimeWarning)
        model.fit(data, lengths)
    return model


class WordHmmRecognizer:
    """One trained GMM-HMM per word; :meth:`predict` returns the most likely word.

    Create one with :meth:`train` or :meth:`load`.
    """

    def __init__(
        self,
        models: Mapping[str, Any],
        options: GmmHmmOptions,
        feature_options: FeatureOptions,
    ) -> None:
        if not models:
            raise ConfigError("a WordHmmRecognizer needs at least one word model")
        self._models = dict(sorted(models.items()))
        self.options = options
        self.feature_options = feature_options

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self._models)

    @classmethod
    def train(
        cls,
        examples: Mapping[str, Sequence[np.ndarray]],
        options: GmmHmmOptions | None = None,
        feature_options: FeatureOptions | None = None,
    ) -> WordHmmRecognizer:
        """Train one model per word.

        Args:
            examples: word -> feature matrices, each ``(num_frames, num_features)``.
            options: topology and training settings.
            feature_options: how the features were computed (saved with the model).

        Raises:
            DatasetError: if a word has no example, or an example is shorter than
                the number of states.
        """
        opts = options or GmmHmmOptions()
        models = {}
        for word, sequences in sorted(examples.items()):
            usable = [seq for seq in sequences if len(seq) >= opts.num_states]
            if not usable:
                raise DatasetError(
                    f"word {word!r} has no example with at least {opts.num_states} "
                    "frames"
                )
            models[word] = _train_word_model(usable, opts)
        return cls(models, opts, feature_options or digit_feature_options())

    def scores(self, features: np.ndarray) -> dict[str, float]:
        """Log-likelihood of ``features`` (``(num_frames, num_features)``) under each
        word."""
        x = np.asarray(features, dtype=np.float64)
        out = {}
        for word, model in self._models.items():
            try:
                out[word] = float(model.score(x))
            except ValueError:  # too short for the topology
                out[word] = -math.inf
        return out

    def predict(self, features: np.ndarray) -> str:
        """The word whose model scores ``features`` highest."""
        scores = self.scores(features)
        return max(scores, key=lambda word: scores[word])

    def predict_batch(self, batch: Sequence[np.ndarray]) -> list[str]:
        return [self.predict(features) for features in batch]

    def recognize(self, path: str | Path) -> str:
        """Recognise the word spoken in one audio file."""
        samples = load_samples(Path(path), self.feature_options.sample_rate)
        return self.predict(mfcc_with_deltas(samples, self.feature_options))

    def save(self, folder: str | Path) -> Path:
        """Write ``model.json`` and ``parameters.npz`` into ``folder`` (created if
        needed)."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for i, model in enumerate(self._models.values()):
            arrays.update(
                {
                    f"{i}_startprob": model.startprob_,
                    f"{i}_transmat": model.transmat_,
                    f"{i}_weights": model.weights_,
                    f"{i}_means": model.means_,
                    f"{i}_covars": model.covars_,
                }
            )
        write_atomic(out / "parameters.npz", lambda f: np.savez(f, **arrays))
        meta = {
            "format": MODEL_FORMAT,
            "version": MODEL_VERSION,
            "words": list(self._models),
            "options": asdict(self.options),
            "feature_options": self.feature_options.to_dict(),
        }
        write_atomic(out / "model.json", json.dumps(meta, indent=2) + "\n")
        return out

    @classmethod
    def load(cls, folder: str | Path) -> WordHmmRecognizer:
        """Read a model folder written by :meth:`save` (trusted input, see the module
        doc).

        Raises:
            ModelNotFoundError: if the folder, ``model.json`` or ``parameters.npz`` is
                missing or not an aural GMM-HMM model.
        """
        root = Path(folder)
        try:
            meta = json.loads((root / "model.json").read_text(encoding="utf-8"))
            params = np.load(root / "parameters.npz", allow_pickle=False)
        except (OSError, ValueError) as err:
            raise ModelNotFoundError(
                f"no readable GMM-HMM model in {root} (expected model.json and "
                f"parameters.npz written by `aural baseline gmm-hmm`): {err}"
            ) from err
        if meta.get("format") != MODEL_FORMAT or meta.get("version") != MODEL_VERSION:
            raise ModelNotFoundError(
                f"{root / 'model.json'} is not an {MODEL_FORMAT} v{MODEL_VERSION} model"
            )
        options = GmmHmmOptions(**meta["options"])
        feature_options = FeatureOptions.from_dict(meta["feature_options"])
        gmmhmm = _gmmhmm_class()
        models = {}
        with params:
            for i, word in enumerate(meta["words"]):
                model = gmmhmm(
                    n_components=options.num_states,
                    n_mix=options.num_mixtures,
                    covariance_type="diag",
                    min_covar=options.min_covar,
                )
                model.startprob_ = params[f"{i}_startprob"]
                model.transmat_ = params[f"{i}_transmat"]
                model.weights_ = params[f"{i}_weights"]
                model.means_ = params[f"{i}_means"]
                model.covars_ = params[f"{i}_covars"]
                model.n_features = model.means_.shape[2]
                models[word] = model
        return cls(models, options, feature_options)


@dataclass(frozen=True, slots=True)
class FoldResult:
    """Results on one held-out speaker.

    Attributes:
        speaker: the held-out speaker.
        num_train: training recordings (all other speakers).
        references: the spoken word of each test recording.
        hypotheses: the recognised word of each test recording.
    """

    speaker: str
    num_train: int
    references: tuple[str, ...]
    hypotheses: tuple[str, ...]

    @property
    def num_test(self) -> int:
        return len(self.references)

    @property
    def num_correct(self) -> int:
        return sum(
            r == h for r, h in zip(self.references, self.hypotheses, strict=True)
        )

    @property
    def accuracy(self) -> float:
        return self.num_correct / self.num_test if self.num_test else 0.0


@dataclass(frozen=True, slots=True)
class DigitEvaluation:
    """Speaker-independent results of the GMM-HMM digit recogniser.

    Attributes:
        labels: the words, in the order of the confusion matrix rows and columns.
        folds: one result per held-out speaker.
        confusion: counts, shape ``(len(labels), len(labels))``; rows are the
            reference word, columns the recognised word, summed over folds.
        options: the GMM-HMM settings used.
        feature_options: the MFCC settings used.
    """

    labels: tuple[str, ...]
    folds: tuple[FoldResult, ...]
    confusion: np.ndarray
    options: GmmHmmOptions
    feature_options: FeatureOptions

    @property
    def num_test(self) -> int:
        return sum(f.num_test for f in self.folds)

    @property
    def accuracy(self) -> float:
        """Accuracy over every test recording of every fold."""
        total = self.num_test
        return sum(f.num_correct for f in self.folds) / total if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready results; ``wer`` comes from
        :func:`aural.evaluation.metrics.corpus_wer` (for isolated words it equals the
        error rate)."""
        from aural.evaluation.metrics import corpus_wer

        def _wer(folds: Sequence[FoldResult]) -> float:
            refs = [r for f in folds for r in f.references]
            hyps = [h for f in folds for h in f.hypotheses]
            return corpus_wer(refs, hyps).wer if refs else 0.0

        return {
            "task": (
                "isolated digits, speaker-independent (train on the other speakers)"
            ),
            "accuracy": self.accuracy,
            "wer": _wer(self.folds),
            "num_test": self.num_test,
            "by_speaker": {
                f.speaker: {
                    "accuracy": f.accuracy,
                    "wer": _wer([f]),
                    "num_test": f.num_test,
                    "num_correct": f.num_correct,
                    "num_train": f.num_train,
                }
                for f in self.folds
            },
            "labels": list(self.labels),
            "confusion": self.confusion.tolist(),
            "options": asdict(self.options),
            "feature_options": self.feature_options.to_dict(),
        }


def extract_digit_features(
    recordings: Sequence[DigitRecording],
    feature_options: FeatureOptions | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[np.ndarray]:
    """MFCC + deltas of each recording, in order; ``progress(1)`` after each one."""
    opts = feature_options or digit_feature_options()
    out = []
    for rec in recordings:
        out.append(mfcc_with_deltas(load_samples(rec.path, opts.sample_rate), opts))
        if progress is not None:
            progress(1)
    return out


def evaluate_speaker_folds(
    recordings: Sequence[DigitRecording],
    features: Sequence[np.ndarray],
    options: GmmHmmOptions | None = None,
    *,
    feature_options: FeatureOptions | None = None,
    held_out_speakers: Sequence[str] | None = None,
    on_fold: Callable[[FoldResult, WordHmmRecognizer], None] | None = None,
) -> DigitEvaluation:
    """Train on all speakers but one and test on that one, for each held-out speaker.

    Args:
        recordings: the recordings, parallel to ``features``.
        features: feature matrices from :func:`extract_digit_features`.
        options: GMM-HMM settings.
        feature_options: the MFCC settings behind ``features`` (recorded in the result).
        held_out_speakers: speakers to rotate over; ``None`` means every speaker.
        on_fold: called with each fold's result and its trained recogniser as it
            finishes.

    Raises:
        DatasetError: if fewer than two speakers are present, or a held-out speaker
            has no recording.
    """
    opts = options or GmmHmmOptions()
    if len(recordings) != len(features):
        raise ConfigError(
            f"recordings ({len(recordings)}) and features ({len(features)}) differ in "
            "length"
        )
    speakers = sorted({r.speaker for r in recordings})
    if len(speakers) < 2:
        raise DatasetError(
            f"speaker-independent folds need >= 2 speakers, found {speakers}"
        )
    folds_for = list(held_out_speakers) if held_out_speakers is not None else speakers
    missing = [s for s in folds_for if s not in speakers]
    if missing:
        raise DatasetError(
            f"held-out speakers {missing} have no recordings (found {speakers})"
        )
    labels = tuple(sorted({r.digit for r in recordings}))
    index = {label: i for i, label in enumerate(labels)}
    confusion = np.zeros((len(labels), len(labels)), dtype=np.int64)
    results = []
    for speaker in folds_for:
        train: dict[str, list[np.ndarray]] = {}
        test = []
        for rec, feats in zip(recordings, features, strict=True):
            if rec.speaker == speaker:
                test.append((rec.digit, feats))
            else:
                train.setdefault(rec.digit, []).append(feats)
        recognizer = WordHmmRecognizer.train(train, opts, feature_options)
        hypotheses = recognizer.predict_batch([feats for _, feats in test])
        references = [reference for reference, _ in test]
        for reference, hypothesis in zip(references, hypotheses, strict=True):
            confusion[index[reference], index[hypothesis]] += 1
        fold = FoldResult(
            speaker,
            sum(len(v) for v in train.values()),
            tuple(references),
            tuple(hypotheses),
        )
        logger.info(
            "held-out %s: %d/%d correct", speaker, fold.num_correct, fold.num_test
        )
        results.append(fold)
        if on_fold is not None:
            on_fold(fold, recognizer)
    return DigitEvaluation(
        labels,
        tuple(results),
        confusion,
        opts,
        feature_options or digit_feature_options(),
    )
