"""Error pictures of a real evaluation (tiny.en and PocketSphinx on noisy dev-clean):
the pictures' content against counts taken from results.json, `aural plot errors`,
and the pictures in report.html / report.md."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aural.cli import app
from aural.evaluation import EvalOptions, evaluate, write_report
from aural.evaluation.plots import (
    engine_slug,
    error_utterances,
    error_utterances_from_json,
)
from aural.plots.errors import (
    HIGH_CONFIDENCE,
    confidence_figure,
    confusion_matrix_figure,
    error_cloud_figure,
    error_words,
    substitution_matrix,
    wer_spread_figure,
)

pytestmark = pytest.mark.slow  # two real engines decode nine utterances at 5 dB

PICTURES = ("confusion-matrix", "error-cloud", "wer-spread", "confident-errors")
runner = CliRunner()


@pytest.fixture(scope="module")
def eval_dir(
    librispeech, noise_dir: Path, whisper_engine, sphinx_engine, tmp_path_factory
) -> Path:
    """An `aural evaluate` output folder: results.json, reports and plots."""
    folder = tmp_path_factory.mktemp("eval")
    manifest = librispeech.subset(max_duration=8.0)
    assert len(manifest) == 9
    options = EvalOptions(snrs=(5.0,), noise_dir=noise_dir, bootstrap_samples=50)
    results = evaluate(
        manifest,
        [("whisper", whisper_engine), ("sphinx", sphinx_engine)],
        options,
        cache_dir=folder,
    )
    write_report(results, folder)
    return folder


@pytest.fixture(scope="module")
def document(eval_dir: Path) -> dict:
    return json.loads((eval_dir / "results.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def whisper_label(document: dict) -> str:
    return next(k for k in document["engines"] if k.startswith("whisper"))


def test_error_utterances_from_json_match_the_results(
    document: dict, whisper_label: str
) -> None:
    engines = error_utterances_from_json(document)
    assert list(engines) == list(document["engines"])
    utts = engines[whisper_label]
    raw = document["engines"][whisper_label]["utterances"]
    assert [u.id for u in utts] == [r["id"] for r in raw]
    assert [u.wer for u in utts] == pytest.approx([r["wer"] for r in raw])
    assert sum(u.errors for u in utts) > 0  # 5 dB noise makes tiny.en err


def test_confusion_matrix_cells_are_the_counted_substitutions(
    document: dict, whisper_label: str
) -> None:
    utts = error_utterances_from_json(document)[whisper_label]
    counted = Counter(
        (r, h)
        for u in document["engines"][whisper_label]["utterances"]
        for op, r, h in u["ops"]
        if op == "substitute"
    )
    assert counted, "no substitutions to draw"
    matrix = substitution_matrix(utts)
    assert matrix.total == sum(counted.values())
    assert all(row.sum() > 0 for row in matrix.counts)  # no empty row
    fig = confusion_matrix_figure(utts, whisper_label)
    ax = fig.get_axes()[0]
    rows = [t.get_text() for t in ax.get_yticklabels()]
    cols = [t.get_text() for t in ax.get_xticklabels()]
    assert rows == list(matrix.refs) and cols == list(matrix.hyps)
    cells = {
        (rows[round(t.get_position()[1])], cols[round(t.get_position()[0])]): int(
            t.get_text()
        )
        for t in ax.texts
        if t.get_gid() == "cell"
    }
    expected = {(r, h): n for (r, h), n in counted.items() if r in rows and h in cols}
    assert cells == expected
    # the most substituted reference word heads the rows
    by_ref = Counter()
    for (r, _), n in counted.items():
        by_ref[r] += n
    assert by_ref[rows[0]] == max(by_ref.values())


def test_error_cloud_places_the_most_frequent_errors_apart(
    document: dict, whisper_label: str
) -> None:
    utts = error_utterances_from_json(document)[whisper_label]
    fig = error_cloud_figure(utts, whisper_label)
    placed = [t for t in fig.get_axes()[0].texts if t.get_gid() == "cloud-word"]
    words = error_words(utts)
    assert placed and placed[0].get_text() == words[0][0]
    assert {t.get_text() for t in placed} <= {w for w, _, _ in words}
    sizes = [t.get_fontsize() for t in placed]
    assert sizes == sorted(sizes, reverse=True)  # most frequent biggest
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in placed]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b) or a.intersection(a, b).width < 1.5


def test_wer_spread_has_a_box_per_speaker_and_duration_bin(
    document: dict, whisper_label: str
) -> None:
    utts = error_utterances_from_json(document)[whisper_label]
    fig = wer_spread_figure(utts, whisper_label, ("0-5", "5-10", "10+"))
    left, right = fig.get_axes()
    speakers = {u["speaker"] for u in document["engines"][whisper_label]["utterances"]}
    assert {t.get_text() for t in left.get_xticklabels()} == speakers
    assert len(speakers) == 4
    assert [t.get_text() for t in right.get_xticklabels()] == ["0-5", "5-10"]


def test_confident_errors_count_the_sure_wrong_words(
    document: dict, whisper_label: str
) -> None:
    raw = document["engines"][whisper_label]["utterances"]
    sure_wrong = wrong = 0
    for u in raw:
        if u["word_probabilities"] is None:
            continue
        hyp_ops = [op for op, _, h in u["ops"] if h is not None]
        for op, p in zip(hyp_ops, u["word_probabilities"], strict=True):
            wrong += op != "equal"
            sure_wrong += op != "equal" and p >= HIGH_CONFIDENCE
    utts = error_utterances_from_json(document)[whisper_label]
    fig = confidence_figure(utts, whisper_label)
    title = fig.get_axes()[1].get_title()
    assert title == (
        f"{sure_wrong} wrong words at p >= {HIGH_CONFIDENCE:g} (of {wrong} wrong)"
    )


def test_confident_errors_say_when_there_are_no_probabilities(document: dict) -> None:
    stripped = json.loads(json.dumps(document))
    for e in stripped["engines"].values():
        for u in e["utterances"]:
            u["word_probabilities"] = None
    utts = next(iter(error_utterances_from_json(stripped).values()))
    fig = confidence_figure(utts)
    texts = [t.get_text() for ax in fig.get_axes() for t in ax.texts]
    assert any("no word probabilities" in t for t in texts)


def test_report_html_and_md_show_each_engines_error_pictures(
    eval_dir: Path, document: dict
) -> None:
    page = (eval_dir / "report.html").read_text(encoding="utf-8")
    md = (eval_dir / "report.md").read_text(encoding="utf-8")
    for label in document["engines"]:
        for name in PICTURES:
            rel = f"plots/{name}-{engine_slug(label)}.png"
            assert (eval_dir / rel).read_bytes().startswith(b"\x89PNG")
            assert f"src='{rel}'" in page
            assert f"]({rel})" in md


def test_plot_errors_writes_every_picture_the_same_every_run(
    eval_dir: Path, document: dict, tmp_path: Path
) -> None:
    out = tmp_path / "pictures"
    result = runner.invoke(app, ["plot", "errors", str(eval_dir), "-o", str(out)])
    assert result.exit_code == 0, result.output
    names = sorted(
        f"{name}-{engine_slug(label)}.png"
        for label in document["engines"]
        for name in PICTURES
    )
    assert sorted(p.name for p in out.iterdir()) == names
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    result = runner.invoke(app, ["plot", "errors", str(eval_dir), "-o", str(out)])
    assert result.exit_code == 2 and "--overwrite" in result.output
    result = runner.invoke(
        app, ["plot", "errors", str(eval_dir), "-o", str(out), "--overwrite"]
    )
    assert result.exit_code == 0, result.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first
    # the report's pictures are the same pictures
    for name in names:
        assert (eval_dir / "plots" / name).read_bytes() == first[name]


def test_error_utterances_of_results_equal_those_of_the_json(
    librispeech, noise_dir: Path, sphinx_engine, eval_dir: Path, document: dict
) -> None:
    """Scoring again from the cache gives the same utterances as results.json."""
    manifest = librispeech.subset(max_duration=8.0)
    options = EvalOptions(snrs=(5.0,), noise_dir=noise_dir, bootstrap_samples=50)
    results = evaluate(
        manifest, [("sphinx", sphinx_engine)], options, cache_dir=eval_dir
    )
    label = results.engines[0].label
    fresh = error_utterances(results.engines[0])
    from_json = error_utterances_from_json(document)[label]
    assert [(u.id, u.ops) for u in fresh] == [(u.id, u.ops) for u in from_json]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no results.json"),
        ("{oops", "not JSON"),
        ('{"engines": {}}', "no 'engines' with results"),
        ('{"engines": {"x": {"utterances": [{"ops": 1}]}}}', "utterance 0: needs"),
    ],
)
def test_plot_errors_refuses_bad_folders(
    tmp_path: Path, content: str | None, message: str
) -> None:
    folder = tmp_path / "eval"
    folder.mkdir()
    if content is not None:
        (folder / "results.json").write_text(content, encoding="utf-8")
    result = runner.invoke(
        app, ["plot", "errors", str(folder), "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
