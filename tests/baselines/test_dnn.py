"""DNN frame-level phone classifier trained on aural's own alignments of real speech."""

from __future__ import annotations

import numpy as np
import pytest

from aural.baselines.dnn import (
    DnnOptions,
    PhoneClassifier,
    build_frame_set,
    split_by_speaker,
    train_phone_classifier,
)
from aural.baselines.features import speech_feature_options, splice_frames
from aural.baselines.phone_alignment import PHONES
from aural.errors import ConfigError, DatasetError, ModelNotFoundError

TEST_SPEAKER = "3752"
# Tiny but real: ~8 dev-clean utterances of 3 speakers for training, the 4th speaker
# held out.
OPTIONS = DnnOptions(
    context=3,
    hidden_size=128,
    num_layers=2,
    dropout=0.1,
    num_epochs=6,
    batch_size=128,
    learning_rate=2e-3,
    seed=0,
)


@pytest.fixture(scope="module")
def frames(dev_utterances, dev_alignments):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    alignments = dev_alignments[0]
    train_utts, test_utts = split_by_speaker(
        dev_utterances, test_speakers=[TEST_SPEAKER]
    )
    options = speech_feature_options()
    return (
        build_frame_set(train_utts, alignments, options, OPTIONS.context),
        build_frame_set(test_utts, alignments, options, OPTIONS.context),
    )


@pytest.fixture(scope="module")
def trained(frames):
    train, _ = frames
    return train_phone_classifier(train, OPTIONS, speech_feature_options())


def test_split_by_speaker_keeps_speakers_apart(dev_utterances):
    train, test = split_by_speaker(dev_utterances, test_speakers=[TEST_SPEAKER])
    assert {u.speaker for u in test} == {TEST_SPEAKER}
    assert TEST_SPEAKER not in {u.speaker for u in train}


def test_split_by_speaker_rejects_an_empty_side(dev_utterances):
    with pytest.raises(DatasetError, match="held-out speakers"):
        split_by_speaker(dev_utterances, test_speakers=["no-such-speaker"])
    # by default every dev-clean speaker is held out, which leaves nothing to train on
    with pytest.raises(DatasetError, match="0 training"):
        split_by_speaker(dev_utterances)


def test_frame_set_splices_like_splice_frames(frames):
    train, _ = frames
    assert train.input_size == (2 * OPTIONS.context + 1) * 39
    assert set(np.unique(train.labels)) <= set(range(len(PHONES)))
    # the first utterance's block starts at row 0: rebuild its unpadded features
    first_center = train.centers[0]
    block = train.features[: first_center + 50]
    unpadded = block[OPTIONS.context :]
    expected = splice_frames(unpadded, OPTIONS.context)[first_center - OPTIONS.context]
    np.testing.assert_array_equal(train.splice(np.array([0]))[0], expected)


def test_dnn_learns_above_the_majority_class_on_a_held_out_speaker(frames, trained):
    _, test = frames
    classifier, history = trained
    assert [h.epoch for h in history] == list(range(1, OPTIONS.num_epochs + 1))
    assert history[-1].loss < history[0].loss
    evaluation = classifier.evaluate(test)
    assert set(evaluation.by_speaker) == {TEST_SPEAKER}
    assert evaluation.num_frames == test.num_frames
    assert evaluation.confusion.sum() == test.num_frames
    assert evaluation.accuracy > evaluation.majority_accuracy + 0.05, (
        evaluation.to_dict()
    )


def test_save_load_round_trip_gives_identical_predictions(frames, trained, tmp_path):
    _, test = frames
    classifier, _ = trained
    classifier.save(tmp_path / "dnn")
    loaded = PhoneClassifier.load(tmp_path / "dnn")
    assert loaded.options == classifier.options
    assert loaded.feature_options == classifier.feature_options
    np.testing.assert_array_equal(loaded.predict(test), classifier.predict(test))


def test_load_missing_model_names_the_folder(tmp_path):
    with pytest.raises(ModelNotFoundError, match="missing-dnn"):
        PhoneClassifier.load(tmp_path / "missing-dnn")


def test_context_mismatch_is_a_config_error(frames, trained):
    train, _ = frames
    with pytest.raises(ConfigError, match="context"):
        train_phone_classifier(train, DnnOptions(context=OPTIONS.context + 1))


@pytest.mark.parametrize(
    ("field", "value"), [("context", -1), ("dropout", 1.0), ("num_epochs", 0)]
)
def test_options_reject_out_of_range_values(field, value):
    with pytest.raises(ConfigError, match=field):
        DnnOptions(**{field: value})
