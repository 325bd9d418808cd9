"""The DER scorer against the 68 NIST md-eval-22 test vectors, plus JER, speaker
counts and the word-level speaker error."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from aural.diarization import parse_rttm, read_rttm, read_uem
from aural.evaluation.diarization import (
    DiarizationScore,
    diarization_error_rate,
    jaccard_error_rate,
    score_diarization,
    speaker_count_accuracy,
    word_speaker_error,
)
from aural.types import Turn, Word


def _vectors() -> list[dict]:
    # parametrisation needs the list at collection time, before fixtures run; the
    # same lookup as the shared_data fixture
    env = os.environ.get("AURAL_TEST_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "data"
    index = root / "diarization" / "der_vectors" / "vectors.jsonl"
    if not index.is_file():
        return []
    return [json.loads(line) for line in index.read_text().splitlines() if line]


VECTORS = _vectors()


@pytest.fixture(scope="module")
def der_vectors(shared_data: Path) -> Path:
    return shared_data / "diarization" / "der_vectors"


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_der_matches_md_eval_vector(vector: dict, der_vectors: Path) -> None:
    ref = read_rttm(der_vectors / vector["ref"])
    hyp = read_rttm(der_vectors / vector["hyp"])
    uem = read_uem(der_vectors / vector["uem"])
    score, _ = diarization_error_rate(
        ref,
        hyp,
        uem=uem,
        collar=vector["collar_md_eval"],
        skip_overlap=vector["skip_overlap"],
    )
    want = vector["computed"]["md_eval_22"]
    assert score.der == pytest.approx(want["der"], abs=1e-4)
    assert score.total == pytest.approx(want["total"], abs=2e-3 + 1e-5 * want["total"])
    assert score.miss == pytest.approx(want["miss"], abs=2e-3 + 1e-5 * want["total"])
    assert score.false_alarm == pytest.approx(
        want["fa"], abs=2e-3 + 1e-5 * want["total"]
    )
    assert score.confusion == pytest.approx(
        want["conf"], abs=2e-3 + 1e-5 * want["total"]
    )


def test_der_vectors_all_present() -> None:
    if not VECTORS:
        pytest.skip("shared data not found: set AURAL_TEST_DATA")
    assert len(VECTORS) == 68


def test_jer_matches_dscore_fixture(der_vectors: Path) -> None:
    ref = read_rttm(der_vectors / "dscore_fixture/ref.rttm")
    hyp = read_rttm(der_vectors / "dscore_fixture/sys.rttm")
    uem = read_uem(der_vectors / "dscore_fixture/uem_FILE1_0_43.uem")
    # dscore samples at 10 ms frames; aural integrates exactly
    assert jaccard_error_rate(ref, hyp, uem=uem) == pytest.approx(0.3324631, abs=5e-4)


@pytest.mark.parametrize(
    ("ref", "hyp", "der"),
    [
        ([Turn(0, 10, "a")], [Turn(0, 10, "x")], 0.0),
        ([Turn(0, 10, "a")], [], 1.0),
        ([Turn(0, 4, "a"), Turn(4, 10, "b")], [Turn(0, 10, "x")], 0.4),
        ([Turn(0, 5, "a")], [Turn(0, 5, "x"), Turn(5, 6, "x")], 0.2),
    ],
)
def test_der_small_cases(ref: list[Turn], hyp: list[Turn], der: float) -> None:
    assert score_diarization(ref, hyp).der == pytest.approx(der)


def test_der_label_names_do_not_matter() -> None:
    ref = [Turn(0, 3, "a"), Turn(3, 7, "b"), Turn(7, 9, "a")]
    hyp = [Turn(t.start, t.end, {"a": "S2", "b": "S1"}[t.speaker]) for t in ref]
    assert score_diarization(ref, hyp) == DiarizationScore(total=9.0)


def test_der_rejects_negative_collar() -> None:
    with pytest.raises(ValueError, match="-1"):
        score_diarization([], [], collar=-1)


def test_speaker_count_accuracy() -> None:
    refs = {"f": [Turn(0, 1, "a"), Turn(1, 2, "b")], "g": [Turn(0, 1, "a")]}
    hyps = {
        "f": [Turn(0, 2, "x"), Turn(2, 3, "y")],
        "g": [Turn(0, 1, "x"), Turn(1, 2, "y")],
    }
    assert speaker_count_accuracy(refs, hyps) == 0.5


def test_word_speaker_error_uses_best_mapping() -> None:
    ref = [Turn(0, 2, "A"), Turn(2, 4, "B")]
    words = [
        Word(0.1, 0.5, "one", speaker="S2"),
        Word(0.6, 1.0, "two", speaker="S2"),
        Word(2.1, 2.5, "three", speaker="S1"),
        Word(2.6, 3.0, "four", speaker="S2"),
    ]
    assert word_speaker_error(words, ref) == pytest.approx(0.25)


def test_parse_rttm_skips_zero_length_and_comments() -> None:
    text = (
        ";; comment\n"
        "SPEAKER f 1 0.000 0.000 <NA> <NA> A <NA> <NA>\n"
        "SPEAKER\tf\t1\t1.5\t2.0\t<NA>\t<NA>\tB\t<NA>\t<NA>\n"
    )
    assert parse_rttm(text) == {"f": [Turn(1.5, 3.5, "B")]}
