"""End-to-end baseline experiments: data folder in, report folder out.

These are what ``aural baseline gmm-hmm`` / ``aural baseline dnn`` and the benchmark
script run. Progress is reported through a callback ``progress(stage, done, total)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aural.baselines.corpora import DigitRecording, scan_fsdd, scan_librispeech
from aural.baselines.features import digit_feature_options, speech_feature_options
from aural.errors import ConfigError, DatasetError

__all__ = [
    "DnnRun",
    "GmmHmmRun",
    "ProgressCallback",
    "run_dnn",
    "run_gmm_hmm",
    "select_digit_recordings",
]

ProgressCallback = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: ``stage`` names the step, counts are in its
units."""


def _noop(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True, slots=True)
class GmmHmmRun:
    """What :func:`run_gmm_hmm` produced."""

    results: dict[str, Any]
    files: dict[str, Path]


@dataclass(frozen=True, slots=True)
class DnnRun:
    """What :func:`run_dnn` produced."""

    results: dict[str, Any]
    files: dict[str, Path]


def select_digit_recordings(
    recordings: Sequence[DigitRecording], per_speaker_limit: int | None
) -> list[DigitRecording]:
    """Keep at most ``per_speaker_limit`` recordings of each digit per speaker (lowest
    index)."""
    if per_speaker_limit is None:
        return list(recordings)
    if per_speaker_limit < 1:
        raise ConfigError(f"per-speaker limit must be >= 1, got {per_speaker_limit}")
    return [r for r in recordings if r.index < per_speaker_limit]


def run_gmm_hmm(
    data: str | Path,
    output_dir: str | Path,
    options: Any = None,
    *,
    held_out_speakers: Sequence[str] | None = None,
    per_speaker_limit: int | None = None,
    save_model: str | Path | None = None,
    progress: ProgressCallback | None = None,
) -> GmmHmmRun:
    """Speaker-independent GMM-HMM digit recognition on a Free Spoken Digit folder.

    Args:
        data: the ``recordings`` folder (``<digit>_<speaker>_<index>.wav``).
        output_dir: where results.json, report.md and the PNG plots go.
        options: :class:`~aural.baselines.gmm_hmm.GmmHmmOptions` (``None``: defaults).
        held_out_speakers: folds to run; ``None`` rotates over every speaker.
        per_speaker_limit: use only recordings with index below this (quick runs).
        save_model: also train on every speaker and save the model to this folder.
        progress: called as work advances.

    Raises:
        DatasetError: missing folder, no recordings, unknown held-out speaker.
    """
    from aural.baselines.gmm_hmm import (
        GmmHmmOptions,
        WordHmmRecognizer,
        evaluate_speaker_folds,
        extract_digit_features,
    )
    from aural.baselines.reports import write_gmm_hmm_report

    report = progress or _noop
    opts = options or GmmHmmOptions()
    started = time.perf_counter()
    recordings = select_digit_recordings(scan_fsdd(data), per_speaker_limit)
    speakers = sorted({r.speaker for r in recordings})
    unknown = sorted(set(held_out_speakers or ()) - set(speakers))
    if unknown:
        raise DatasetError(
            f"held-out speakers {', '.join(unknown)} have no recordings in {data}; "
            f"speakers found: {', '.join(speakers)}"
        )
    feature_options = digit_feature_options()
    done = [0]

    def _feature_step(n: int) -> None:
        done[0] += n
        report("features", done[0], len(recordings))

    features = extract_digit_features(recordings, feature_options, _feature_step)
    folds = list(held_out_speakers) if held_out_speakers else speakers
    finished = [0]

    def _fold_step(*_: object) -> None:
        finished[0] += 1
        report("folds", finished[0], len(folds))

    report("folds", 0, len(folds))
    evaluation = evaluate_speaker_folds(
        recordings,
        features,
        opts,
        feature_options=feature_options,
        held_out_speakers=folds,
        on_fold=_fold_step,
    )
    extra: dict[str, Any] = {
        "data": str(data),
        "num_recordings": len(recordings),
        "speakers": speakers,
        "per_speaker_limit": per_speaker_limit,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if save_model is not None:
        report("final model", 0, 1)
        by_word: dict[str, list[Any]] = {}
        for rec, feats in zip(recordings, features, strict=True):
            by_word.setdefault(rec.digit, []).append(feats)
        WordHmmRecognizer.train(by_word, opts, feature_options).save(save_model)
        extra["model"] = str(save_model)
        report("final model", 1, 1)
    files = write_gmm_hmm_report(evaluation, output_dir, extra)
    return GmmHmmRun(evaluation.to_dict() | extra, files)


def run_dnn(
    data: str | Path,
    output_dir: str | Path,
    options: Any = None,
    *,
    alignment_cache: str | Path | None = None,
    test_speakers: Sequence[str] | None = None,
    train_limit: int | None = None,
    save_model: str | Path | None = None,
    progress: ProgressCallback | None = None,
) -> DnnRun:
    """Train and test the DNN phone classifier on a LibriSpeech folder.

    Args:
        data: the LibriSpeech root (or one subset folder).
        output_dir: where results.json, report.md and the PNG plots go.
        options: :class:`~aural.baselines.dnn.DnnOptions` (``None``: defaults).
        alignment_cache: folder of cached PocketSphinx alignments
            (``None``: ``output_dir/alignments``).
        test_speakers: held-out speakers; ``None`` holds out the speakers of
            ``dev-clean``.
        train_limit: use at most this many training utterances (quick runs).
        save_model: save the trained classifier to this folder.
        progress: called as work advances.

    Raises:
        DatasetError: missing folder, no utterances, an empty side of the split.
    """
    from aural.baselines.dnn import (
        DnnOptions,
        build_frame_set,
        split_by_speaker,
        train_phone_classifier,
    )
    from aural.baselines.phone_alignment import align_corpus
    from aural.baselines.reports import write_dnn_report

    report = progress or _noop
    opts = options or DnnOptions()
    started = time.perf_counter()
    utterances = scan_librispeech(data)
    train_utts, test_utts = split_by_speaker(utterances, test_speakers=test_speakers)
    if train_limit is not None:
        if train_limit < 1:
            raise ConfigError(
                f"training utterance limit must be >= 1, got {train_limit}"
            )
        train_utts = train_utts[:train_limit]
    wanted = train_utts + test_utts
    cache = (
        Path(alignment_cache) if alignment_cache else Path(output_dir) / "alignments"
    )
    count = [0]

    def _step(stage: str, total: int) -> Callable[[int], None]:
        count[0] = 0

        def advance(n: int) -> None:
            count[0] += n
            report(stage, count[0], total)

        return advance

    alignments, failures = align_corpus(
        wanted, cache, progress=_step("aligning", len(wanted))
    )
    feature_options = speech_feature_options()
    train = build_frame_set(
        train_utts,
        alignments,
        feature_options,
        opts.context,
        _step("train features", len(train_utts)),
    )
    test = build_frame_set(
        test_utts,
        alignments,
        feature_options,
        opts.context,
        _step("test features", len(test_utts)),
    )
    overlap = set(test.speakers.tolist()) & set(train.speakers.tolist())
    if overlap:  # split_by_speaker guarantees this; a report must never mix them
        raise DatasetError(
            f"speakers {sorted(overlap)} are in both training and test frames"
        )
    report("epochs", 0, opts.num_epochs)
    classifier, history = train_phone_classifier(
        train,
        opts,
        feature_options,
        on_epoch=lambda stats: report("epochs", stats.epoch, opts.num_epochs),
    )
    evaluation = classifier.evaluate(test)
    if save_model is not None:
        classifier.save(save_model)
    extra: dict[str, Any] = {
        "options": asdict(opts),
        "feature_options": feature_options.to_dict(),
        "alignment": {
            "aligner": "pocketsphinx en-us (two-pass phone alignment)",
            "cache": str(cache),
        },
        "data": {
            "folder": str(data),
            "train_utterances": len(train.utterance_ids),
            "train_speakers": len(set(train.speakers.tolist())),
            "train_frames": train.num_frames,
            "test_utterances": len(test.utterance_ids),
            "test_speakers": len(set(test.speakers.tolist())),
            "alignment_failures": failures,
        },
        "seconds": round(time.perf_counter() - started, 1),
    }
    if save_model is not None:
        extra["model"] = str(save_model)
    files = write_dnn_report(evaluation, history, output_dir, extra)
    return DnnRun({"test": evaluation.to_dict(), **extra}, files)
