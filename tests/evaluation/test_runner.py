"""The evaluation runner end to end: real LibriSpeech audio, real sphinx and whisper
tiny.en."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import jiwer
import numpy as np
import pytest

from aural.audio.effects import NoiseBank, measure_snr_db
from aural.data import Manifest, load_utterance_audio
from aural.decoding.options import DecodeOptions
from aural.errors import ConfigError, DatasetError, EngineNotFoundError
from aural.evaluation import EvalOptions, EvalResults, evaluate, write_report
from aural.evaluation.robustness import Degrader
from aural.evaluation.runner import CACHE_FILE
from aural.text.normalizers import get_normalizer

GREEDY = DecodeOptions(beam_size=1)
ENGINE_KEYS = {
    "wer",
    "cer",
    "substitutions",
    "deletions",
    "insertions",
    "hits",
    "rtf",
    "wer_ci95",
    "by_speaker",
    "by_duration",
    "by_snr",
    "utterances",
}


@pytest.fixture(scope="module")
def two_engine_run(
    tmp_path_factory: pytest.TempPathFactory,
    short_manifest: Manifest,
    noise_dir: Path,
    sphinx_engine,
    whisper_engine,
) -> tuple[EvalResults, Path]:
    """sphinx and whisper tiny.en side by side, clean and at 5 dB, on three
    utterances."""
    out = tmp_path_factory.mktemp("two_engines")
    options = EvalOptions(
        snrs=(None, 5.0),
        noise_dir=noise_dir,
        decode=GREEDY,
        vocabulary=frozenset({"the", "a", "of", "and", "to", "in"}),
    )
    results = evaluate(
        short_manifest,
        [("sphinx", sphinx_engine), ("whisper", whisper_engine)],
        options,
        cache_dir=out,
        dataset="dev-clean/3752",
    )
    write_report(results, out)
    return results, out


def test_results_json_has_the_design_shape(two_engine_run):
    _, out = two_engine_run
    doc = json.loads((out / "results.json").read_text())
    assert doc["schema_version"]
    assert list(doc["engines"]) == ["sphinx:en-us", "whisper:tiny.en"]
    for name, e in doc["engines"].items():
        assert ENGINE_KEYS <= set(e), name
        assert set(e["by_snr"]) == {"clean", "5"}
        assert set(e["by_speaker"]) == {"3752"}
        assert set(e["by_duration"]) <= {"0-5", "5-10", "10+"}
        assert len(e["utterances"]) == 3 * 2  # every utterance in both conditions
        lo, hi = e["wer_ci95"]
        assert lo <= e["wer"] <= hi
        assert e["rtf"] > 0
        u = e["utterances"][0]
        assert {
            "id",
            "speaker",
            "duration",
            "snr",
            "ref",
            "hyp",
            "ref_norm",
            "hyp_norm",
            "ops",
            "hits",
            "substitutions",
            "deletions",
            "insertions",
            "engine_seconds",
            "word_probabilities",
        } <= set(u)
        # counts of the alignment ops add up to the reported counts
        for u in e["utterances"]:
            ops = [op[0] for op in u["ops"]]
            assert ops.count("substitute") == u["substitutions"]
            assert ops.count("delete") == u["deletions"]
            assert ops.count("insert") == u["insertions"]
            assert ops.count("equal") == u["hits"]
        assert e["oov"]["ref_words"] == sum(
            u["ref_words"] for u in e["utterances"] if u["snr"] == "clean"
        )


def test_wer_and_cer_agree_with_jiwer_on_the_cached_hypotheses(
    two_engine_run, short_manifest
):
    _, out = two_engine_run
    normalize = get_normalizer("whisper")
    refs = {u.id: normalize(u.text) for u in short_manifest}
    cached = [json.loads(line) for line in (out / CACHE_FILE).read_text().splitlines()]
    assert len(cached) == 2 * 2 * 3
    doc = json.loads((out / "results.json").read_text())
    for name, e in doc["engines"].items():
        for label, summary in e["by_snr"].items():
            utts = [u for u in e["utterances"] if u["snr"] == label]
            # the hypotheses scored are the ones in the cache file, as written
            cached_texts = {
                c["text"] for c in cached if c["label"].startswith(name + "@")
            }
            assert {u["hyp"] for u in utts} <= cached_texts
            r = [refs[u["id"]] for u in utts]
            h = [normalize(u["hyp"]) for u in utts]
            ref_side = jiwer.process_words(r, h)
            assert summary["substitutions"] == ref_side.substitutions, (name, label)
            assert summary["deletions"] == ref_side.deletions, (name, label)
            assert summary["insertions"] == ref_side.insertions, (name, label)
            assert summary["hits"] == ref_side.hits, (name, label)
            assert summary["wer"] == pytest.approx(ref_side.wer, abs=1e-12)
            assert summary["cer"] == pytest.approx(jiwer.cer(r, h), abs=1e-12)


def test_two_engines_side_by_side_share_utterances_and_degrade_with_noise(
    two_engine_run,
):
    results, _ = two_engine_run
    sphinx, whisper = results.engines
    assert {u.id for u in sphinx.utterances} == {u.id for u in whisper.utterances}
    assert whisper.primary.condition is None
    assert whisper.primary.counts.wer < 0.25  # tiny.en on clean read speech
    # 5 dB of noise does not make both engines better at once
    assert sum(e.condition(5.0).counts.wer for e in results.engines) >= sum(
        e.primary.counts.wer for e in results.engines
    )
    # whisper reports word probabilities, so its calibration curve exists
    assert (
        whisper.primary.calibration is not None
        and whisper.primary.calibration.count > 10
    )


def test_report_html_references_pngs_that_exist(two_engine_run):
    results, out = two_engine_run
    page = (out / "report.html").read_text()
    images = re.findall(r"<img src='([^']+)'", page)
    # six run-wide plots, then four error pictures per engine (issue 24)
    assert len(images) == 6 + 4 * len(results.engines)
    for rel in images:
        data = (out / rel).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", rel
        assert len(data) > 2000, rel
    md = (out / "report.md").read_text()
    assert sorted(re.findall(r"\]\((plots/[^)]+)\)", md)) == sorted(images)
    for e in results.engines:
        for c in e.conditions:
            row = rf"^\| {re.escape(e.label)} \| {c.label} \| "
            assert re.search(row, md, re.MULTILINE), (e.label, c.label)
    assert not list(out.glob("**/*.part"))  # atomic writes leave no temporaries


def test_resume_after_a_smaller_run_decodes_only_the_new_utterances(
    tmp_path: Path, librispeech: Manifest, counting_whisper
):
    manifest = librispeech.subset(speakers=["1988", "3752"], max_duration=5.0)
    engines = [("whisper", counting_whisper)]
    first = evaluate(
        manifest.subset(limit=2),
        engines,
        EvalOptions(decode=GREEDY),
        cache_dir=tmp_path,
    )
    assert counting_whisper.decoded == 2 and first.timing.decoded == 2
    second = evaluate(
        manifest.subset(limit=4),
        engines,
        EvalOptions(decode=GREEDY),
        cache_dir=tmp_path,
    )
    assert counting_whisper.decoded == 4  # only the two new utterances
    assert (second.timing.decoded, second.timing.cached) == (2, 2)
    assert second.engines[0].primary.utterances == 4
    # the cached utterances score exactly as before
    before = {u.id: u.hyp for u in first.engines[0].utterances}
    after = {u.id: u.hyp for u in second.engines[0].utterances}
    assert all(after[k] == v for k, v in before.items())


def test_interrupted_run_resumes_where_it_stopped(
    tmp_path: Path, short_manifest: Manifest, counting_whisper
):
    options = EvalOptions(decode=GREEDY, chunk_size=1)
    calls = []

    def interrupt(progress):
        calls.append(progress)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        evaluate(
            short_manifest,
            [("whisper", counting_whisper)],
            options,
            cache_dir=tmp_path,
            progress=interrupt,
        )
    assert counting_whisper.decoded == 2
    with (tmp_path / CACHE_FILE).open("a") as f:  # a write torn by the interruption
        f.write('{"cond": "abc", "utt": "3752-4944-0002|x", "te')
    results = evaluate(
        short_manifest, [("whisper", counting_whisper)], options, cache_dir=tmp_path
    )
    assert counting_whisper.decoded == 3
    assert (results.timing.decoded, results.timing.cached) == (1, 2)
    assert results.engines[0].primary.utterances == 3
    lines = (tmp_path / CACHE_FILE).read_text().splitlines()
    assert (
        sum(1 for line in lines if line.startswith('{"cond"') and line.endswith("}"))
        == 3
    )


def test_finished_run_rerenders_without_loading_or_running_an_engine(
    tmp_path: Path, short_manifest: Manifest, counting_sphinx
):
    manifest = short_manifest.subset(limit=1)
    options = EvalOptions(decode=GREEDY)
    # engines given by name are created lazily, on the first cache miss
    evaluate(manifest, [("sphinx", None)], options, cache_dir=tmp_path)
    again = evaluate(manifest, [("sphinx", None)], options, cache_dir=tmp_path)
    assert again.timing.decoded == 0 and again.timing.load_seconds == 0.0
    assert again.timing.engine_seconds == 0.0
    assert (
        again.engines[0].model == "default"
    )  # never created: its model id was not read
    # a different normaliser re-scores the cached hypotheses, still without decoding
    plain = evaluate(
        manifest,
        [("sphinx", None)],
        EvalOptions(decode=GREEDY, normalizer="none"),
        cache_dir=tmp_path,
    )
    assert plain.timing.decoded == 0
    assert plain.engines[0].utterances[0].ref_norm == manifest[0].text


def test_a_changed_option_invalidates_only_what_it_affects(
    tmp_path: Path, short_manifest: Manifest, noise_dir: Path, counting_whisper
):
    manifest = short_manifest.subset(limit=1)
    engines = [("whisper", counting_whisper)]

    def run(**changes):
        fields = {
            "snrs": (None, 10.0),
            "noise_dir": noise_dir,
            "decode": GREEDY,
            **changes,
        }
        return evaluate(
            manifest, engines, EvalOptions(**fields), cache_dir=tmp_path
        ).timing

    assert run().decoded == 2
    assert run(seed=1).decoded == 1  # new noise: the noisy condition only
    assert run(decode=DecodeOptions(beam_size=1, vad=False)).decoded == 2
    assert run().decoded == 0  # the first options are still cached
    assert counting_whisper.decoded == 5


def test_noise_conditions_are_seeded_per_utterance_and_hit_the_snr(
    short_manifest: Manifest, noise_dir: Path
):
    degrader = Degrader(seed=0, noise=NoiseBank(noise_dir))
    utt_a, utt_b = short_manifest[0], short_manifest[1]
    clean = load_utterance_audio(utt_a)
    a1 = degrader.degrade(clean, utt_a.id, 0.0).samples
    a2 = (
        Degrader(seed=0, noise=NoiseBank(noise_dir))
        .degrade(clean, utt_a.id, 0.0)
        .samples
    )
    b = degrader.degrade(clean, utt_b.id, 0.0).samples
    other_seed = (
        Degrader(seed=1, noise=degrader.noise).degrade(clean, utt_a.id, 0.0).samples
    )
    assert np.array_equal(a1, a2)
    assert not np.array_equal(a1, b) and not np.array_equal(a1, other_seed)
    for snr in (20.0, 10.0, 0.0):
        mixed = degrader.degrade(clean, utt_a.id, snr).samples
        noise = mixed.astype(np.float64) - clean.samples
        assert abs(measure_snr_db(clean.samples, noise) - snr) < 0.1
    assert degrader.degrade(clean, utt_a.id, None) is clean


def test_evaluate_rejects_bad_configurations(short_manifest: Manifest, noise_dir: Path):
    with pytest.raises(ConfigError, match="noise_dir") as no_noise:
        EvalOptions(snrs=(None, 10.0))
    assert no_noise.value.options == ("noise_dir",) and "--" not in str(no_noise.value)
    with pytest.raises(ConfigError, match="normalizer"):
        EvalOptions(normalizer="fancy")  # type: ignore[arg-type]
    with pytest.raises(EngineNotFoundError, match="'nope'"):
        evaluate(short_manifest, [("nope", None)], EvalOptions())
    with pytest.raises(ConfigError, match="twice"):
        evaluate(short_manifest, [("sphinx", None), ("sphinx", None)], EvalOptions())
    with pytest.raises(ConfigError, match="no engine"):
        evaluate(short_manifest, [], EvalOptions())


def test_corrupt_cache_lines_are_skipped_kept_and_decoded_again(
    tmp_path: Path,
    short_manifest: Manifest,
    counting_sphinx,
    caplog: pytest.LogCaptureFixture,
):
    manifest = short_manifest.subset(limit=1)
    cache = tmp_path / CACHE_FILE
    garbage = b"\xff\xfe\x00not utf-8 \xe9\n" + b'{"cond": 1}\n'
    cache.write_bytes(garbage)
    engines = [("sphinx", counting_sphinx)]
    with caplog.at_level(logging.WARNING, logger="aural.evaluation.runner"):
        results = evaluate(
            manifest, engines, EvalOptions(decode=GREEDY), cache_dir=tmp_path
        )
    assert (
        "ignoring 2 unreadable line(s)" in caplog.text
        and "line 1 and more" in caplog.text
    )
    assert results.timing.decoded == 1 and results.engines[0].primary.utterances == 1
    assert cache.read_bytes().startswith(garbage)  # the file's other bytes are not lost
    again = evaluate(manifest, engines, EvalOptions(decode=GREEDY), cache_dir=tmp_path)
    assert (again.timing.decoded, counting_sphinx.decoded) == (0, 1)


def test_cache_path_that_is_a_folder_is_a_config_error(
    tmp_path: Path, short_manifest: Manifest
):
    (tmp_path / CACHE_FILE).mkdir()
    with pytest.raises(ConfigError, match="is not a file"):
        evaluate(short_manifest, [("sphinx", None)], EvalOptions(), cache_dir=tmp_path)


def test_rir_folder_errors_name_the_room_response_folder(
    tmp_path: Path, short_manifest: Manifest
):
    (tmp_path / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt not audio")
    with pytest.raises(
        DatasetError, match=r"from the room-response folder \(rir_dir\)"
    ):
        evaluate(short_manifest, [("sphinx", None)], EvalOptions(rir_dir=tmp_path))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(
        DatasetError, match=r"^room-response folder \(rir_dir\) .* holds no"
    ) as empty_rirs:
        evaluate(short_manifest, [("sphinx", None)], EvalOptions(rir_dir=empty))
    assert empty_rirs.value.options == ("rir_dir",)


def test_a_model_changed_in_place_is_not_served_from_the_cache(tmp_path: Path) -> None:
    """The hypothesis cache keys a local model by its files, so a model re-trained or
    re-exported into the same folder is decoded again."""
    import os

    from aural.evaluation.runner import _model_files_key

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"weights one")
    first = _model_files_key(str(folder))
    assert first is not None and first == _model_files_key(str(folder))
    (folder / "model.bin").write_bytes(b"weights two")
    stat = (folder / "model.bin").stat()
    os.utime(folder / "model.bin", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert _model_files_key(str(folder)) not in (None, first)
    assert _model_files_key("tiny.en") is None  # an alias: its name is the key
