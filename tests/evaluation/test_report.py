"""Scoring and report helpers that need no engine: bins, word confidences, JSON
safety."""

from __future__ import annotations

import json
import math

import pytest

from aural.evaluation.report import (
    DURATION_BINS,
    _json_safe,
    _word_probabilities,
    duration_bin,
)
from aural.text.normalizers import get_normalizer


@pytest.mark.parametrize(
    ("seconds", "label"),
    [
        (0.0, "0-5"),
        (4.999, "0-5"),
        (5.0, "5-10"),
        (9.99, "5-10"),
        (10.0, "10+"),
        (35.0, "10+"),
    ],
)
def test_duration_bins_include_the_lower_edge(seconds, label):
    assert duration_bin(seconds) == label
    assert label in DURATION_BINS


def test_word_probabilities_follow_the_normalised_words():
    normalize = get_normalizer("whisper")
    words = (("Mr.", 0.9), ("Quilter's", 0.5), ("gospel.", 0.8))
    hyp = normalize("Mr. Quilter's gospel.").split()
    assert hyp == ["mister", "quilter", "is", "gospel"]
    assert _word_probabilities(words, hyp, normalize) == (0.9, 0.5, 0.5, 0.8)


def test_word_probabilities_give_up_when_context_changes_the_words():
    normalize = get_normalizer("whisper")
    words = (("twenty", 0.9), ("five", 0.7))
    hyp = normalize("twenty five").split()
    assert hyp == ["25"]
    assert _word_probabilities(words, hyp, normalize) is None
    assert _word_probabilities((), [], normalize) == ()


def test_json_safe_turns_nan_and_inf_into_null():
    doc = _json_safe({"a": math.nan, "b": [math.inf, 1.5], "c": {"d": -math.inf}})
    assert json.loads(json.dumps(doc, allow_nan=False)) == {
        "a": None,
        "b": [None, 1.5],
        "c": {"d": None},
    }
