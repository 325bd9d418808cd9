"""`aural align` and `aural lm` from the command line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from aural.cli import app

runner = CliRunner()


@pytest.fixture
def transcript_file(tmp_path, aligned_clips):
    path, text = aligned_clips[1]
    f = tmp_path / "t.txt"
    f.write_text(text + "\n")
    return path, f, text


def test_align_sphinx_tsv_to_stdout(transcript_file):
    audio, tfile, text = transcript_file
    result = runner.invoke(
        app, ["align", str(audio), str(tfile), "--engine", "sphinx", "--format", "tsv"]
    )
    assert result.exit_code == 0, result.output
    rows = [r.split("\t") for r in result.stdout.strip().splitlines()[1:]]
    assert [r[3] for r in rows] == text.split()
    assert all(float(r[1]) <= float(r[2]) for r in rows)


def test_align_ctc_json_to_file_with_characters(
    transcript_file, tiny_ctc_dir, tmp_path
):
    audio, tfile, text = transcript_file
    out = tmp_path / "a.json"
    result = runner.invoke(
        app,
        [
            "align",
            str(audio),
            str(tfile),
            "--engine",
            "ctc",
            "--model",
            str(tiny_ctc_dir),
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    d = json.loads(out.read_text())
    assert [w["word"] for w in d["words"]] == text.split()
    assert "".join(c["word"] for c in d["chars"]) == text.replace(" ", "")
    ends = [w["end"] for w in d["words"]]
    assert ends == sorted(ends) and ends[-1] <= d["duration"] + 1e-6


def test_align_errors_exit_codes(transcript_file, tmp_path):
    audio, tfile, _ = transcript_file
    missing = runner.invoke(
        app, ["align", str(tmp_path / "nope.wav"), str(tfile), "--engine", "sphinx"]
    )
    assert missing.exit_code == 1 and "nope.wav" in missing.output
    assert "Traceback" not in missing.output
    bad_format = runner.invoke(
        app, ["align", str(audio), str(tfile), "--format", "xml"]
    )
    assert bad_format.exit_code == 2 and "xml" in bad_format.output
    no_text = runner.invoke(app, ["align", str(audio), str(tmp_path / "none.txt")])
    assert no_text.exit_code == 2 and "none.txt" in no_text.output
    bad_engine = runner.invoke(
        app, ["align", str(audio), str(tfile), "--engine", "htk"]
    )
    assert bad_engine.exit_code == 2 and "htk" in bad_engine.output


def test_lm_build_then_score(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat\nthe dog sat\na cat ate\n")
    arpa = tmp_path / "lm.arpa"
    built = runner.invoke(
        app, ["lm", "build", str(corpus), "-o", str(arpa), "--order", "2"]
    )
    assert built.exit_code == 0, built.output
    assert arpa.read_text().startswith("\n\\data\\\nngram 1=")
    scored = runner.invoke(app, ["lm", "score", str(arpa), str(corpus)])
    assert scored.exit_code == 0 and scored.stdout.startswith("perplexity ")
    assert float(scored.stdout.split()[1]) < 10
    bad = runner.invoke(
        app, ["lm", "build", str(corpus), "-o", str(arpa), "--order", "0"]
    )
    assert bad.exit_code == 2


@pytest.mark.parametrize("engine", ["whisper", "sphinx"])
def test_align_audio_too_short_for_a_word(transcript_file, tmp_path, engine):
    import numpy as np
    import soundfile as sf

    _, tfile, _ = transcript_file
    short = (
        tmp_path / "short.wav"
    )  # 100 samples: faster-whisper's alignment crashed on it
    sf.write(short, np.random.default_rng(0).uniform(-0.3, 0.3, 100), 16000)
    result = runner.invoke(app, ["align", str(short), str(tfile), "--engine", engine])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "short.wav" in result.output and "Traceback" not in result.output


def test_align_warns_when_the_transcript_does_not_match(
    transcript_file, aligned_clips, tmp_path
):
    audio, tfile, _ = transcript_file
    other = aligned_clips[0][0]  # another recording: aligned anyway, with a warning
    result = runner.invoke(app, ["align", str(other), str(tfile)])
    assert result.exit_code == 0
    assert "low confidence" in result.stderr
    result = runner.invoke(app, ["align", str(audio), str(tfile)])
    assert result.exit_code == 0 and "low confidence" not in result.stderr
    result = runner.invoke(app, ["align", str(audio), str(tfile), "-o", str(tmp_path)])
    assert result.exit_code == 2 and "is a folder" in result.stderr
