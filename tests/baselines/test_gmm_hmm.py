"""GMM-HMM isolated-digit recogniser on real Free Spoken Digit recordings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aural.baselines.corpora import scan_fsdd
from aural.baselines.features import digit_feature_options
from aural.baselines.gmm_hmm import (
    DigitEvaluation,
    GmmHmmOptions,
    WordHmmRecognizer,
    evaluate_speaker_folds,
    extract_digit_features,
)
from aural.errors import ConfigError, DatasetError, ModelNotFoundError

HELD_OUT = "theo"
# Small but real: all 10 digits, 5 recordings of each from the 5 training speakers
# (250), tested on 5 of each from the held-out speaker (50). Chance is 10 %.
PER_SPEAKER = 5
OPTIONS = GmmHmmOptions(num_states=4, num_mixtures=2, num_iterations=3, seed=0)


@pytest.fixture(scope="module")
def subset(fsdd_dir: Path):
    recordings = [r for r in scan_fsdd(fsdd_dir) if r.index < PER_SPEAKER]
    return recordings, extract_digit_features(recordings, digit_feature_options())


@pytest.fixture(scope="module")
def trained(subset) -> tuple[DigitEvaluation, WordHmmRecognizer]:
    recordings, features = subset
    models: list[WordHmmRecognizer] = []
    evaluation = evaluate_speaker_folds(
        recordings,
        features,
        OPTIONS,
        feature_options=digit_feature_options(),
        held_out_speakers=[HELD_OUT],
        on_fold=lambda fold, model: models.append(model),
    )
    return evaluation, models[0]


@pytest.fixture(scope="module")
def evaluation(trained) -> DigitEvaluation:
    return trained[0]


@pytest.fixture(scope="module")
def recognizer(trained) -> WordHmmRecognizer:
    return trained[1]


def test_scan_fsdd_finds_six_speakers_ten_digits(fsdd_dir: Path):
    recordings = scan_fsdd(fsdd_dir)
    assert len(recordings) == 3000
    assert len({r.speaker for r in recordings}) == 6
    assert {r.digit for r in recordings} == {str(d) for d in range(10)}


def test_evaluate_speaker_folds_held_out_speaker_well_above_chance(evaluation):
    (fold,) = evaluation.folds
    assert fold.speaker == HELD_OUT
    assert fold.num_train == 250 and fold.num_test == 50
    assert fold.accuracy >= 0.6, evaluation.to_dict()["by_speaker"]
    assert evaluation.confusion.sum() == 50
    assert np.trace(evaluation.confusion) == fold.num_correct
    # the confusion rows are the reference digits: 5 test recordings each
    assert evaluation.confusion.sum(axis=1).tolist() == [5] * 10


def test_evaluation_to_dict_reports_wer_equal_to_error_rate(evaluation):
    data = evaluation.to_dict()
    assert data["wer"] == pytest.approx(1.0 - data["accuracy"])
    assert data["by_speaker"][HELD_OUT]["num_test"] == 50
    assert data["labels"] == [str(d) for d in range(10)]


def test_word_models_stay_left_to_right_after_training(recognizer):
    for model in recognizer._models.values():
        trans = model.transmat_
        assert np.allclose(np.tril(trans, -1), 0.0)  # never go back
        assert np.allclose(np.triu(trans, 2), 0.0)  # never skip a state
        assert model.startprob_[0] == pytest.approx(1.0)


def test_save_load_round_trip_gives_identical_predictions(recognizer, subset, tmp_path):
    recordings, features = subset
    test = [
        f for r, f in zip(recordings, features, strict=True) if r.speaker == HELD_OUT
    ]
    recognizer.save(tmp_path / "model")
    loaded = WordHmmRecognizer.load(tmp_path / "model")
    assert loaded.words == recognizer.words
    assert loaded.options == recognizer.options
    assert loaded.feature_options == recognizer.feature_options
    assert loaded.predict_batch(test) == recognizer.predict_batch(test)
    assert loaded.scores(test[0]) == pytest.approx(recognizer.scores(test[0]), rel=1e-9)


def test_recognize_reads_an_audio_file(recognizer, evaluation, fsdd_dir: Path):
    (fold,) = evaluation.folds
    # theo's recordings 0-4 were the test set: reading the file gives the same answer
    for digit in ("0", "7"):
        index = fold.references.index(digit)
        assert (
            recognizer.recognize(fsdd_dir / f"{digit}_theo_0.wav")
            == fold.hypotheses[index]
        )


def test_load_missing_model_names_the_folder(tmp_path):
    with pytest.raises(ModelNotFoundError, match="nowhere"):
        WordHmmRecognizer.load(tmp_path / "nowhere")


def test_load_rejects_a_foreign_model_json(tmp_path, recognizer):
    folder = recognizer.save(tmp_path / "m")
    (folder / "model.json").write_text('{"format": "something-else", "version": 1}')
    with pytest.raises(ModelNotFoundError, match=r"model\.json"):
        WordHmmRecognizer.load(folder)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("num_states", 0),
        ("num_mixtures", 0),
        ("num_iterations", 0),
        ("self_loop_prob", 1.0),
    ],
)
def test_options_reject_out_of_range_values(field, value):
    with pytest.raises(ConfigError, match=field):
        GmmHmmOptions(**{field: value})


def test_folds_need_two_speakers(subset):
    recordings, features = subset
    only = [
        (r, f)
        for r, f in zip(recordings, features, strict=True)
        if r.speaker == HELD_OUT
    ]
    with pytest.raises(DatasetError, match="2 speakers"):
        evaluate_speaker_folds([r for r, _ in only], [f for _, f in only], OPTIONS)


def test_scan_fsdd_rejects_a_folder_without_recordings(tmp_path):
    (tmp_path / "notes.txt").write_text("no audio")
    with pytest.raises(DatasetError, match=str(tmp_path)):
        scan_fsdd(tmp_path)
