"""`aural plot` (attention, transcript, alignment) as a user runs it: real recordings,
the real tiny.en."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from aural.cli import app

runner = CliRunner()
JFK_TEXT = (
    "And so my fellow Americans, ask not what your country can do for you, ask what "
    "you can do for your country."
)


def plot(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["plot", "attention", *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def long_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """31 s of a quiet tone: longer than Whisper's window."""
    path = tmp_path_factory.mktemp("long") / "long.wav"
    t = np.arange(31 * 16000) / 16000
    sf.write(path, (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000)
    return path


@pytest.fixture()
def jfk_txt(tmp_path: Path) -> Path:
    path = tmp_path / "jfk.txt"
    path.write_text(JFK_TEXT + "\n", encoding="utf-8")
    return path


def test_plot_attention_refuses_missing_audio(tmp_path: Path) -> None:
    code, output = plot(str(tmp_path / "nope.flac"), "-o", str(tmp_path / "a.png"))
    assert code == 2 and "nope.flac: no such file" in output


@pytest.mark.parametrize("name", ["a.pdf", "a"])
def test_plot_attention_refuses_unknown_output_suffix(
    jfk_flac: Path, tmp_path: Path, name: str
) -> None:
    code, output = plot(str(jfk_flac), "-o", str(tmp_path / name))
    assert code == 2 and "use .png or .svg" in output


def test_plot_attention_keeps_an_existing_output(
    jfk_flac: Path, jfk_txt: Path, tmp_path: Path
) -> None:
    out = tmp_path / "a.png"
    out.write_bytes(b"mine")
    code, output = plot(str(jfk_flac), "--transcript", str(jfk_txt), "-o", str(out))
    assert code == 2 and "--overwrite" in output
    assert out.read_bytes() == b"mine"


def test_plot_attention_refuses_unwritable_output(
    jfk_flac: Path, jfk_txt: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, output = plot(
        str(jfk_flac),
        "--transcript",
        str(jfk_txt),
        "-o",
        str(blocker / "sub" / "a.png"),
    )
    assert code == 2 and "is not a folder" in output
    code, output = plot(str(jfk_flac), "-o", str(tmp_path))
    assert code == 2


def test_plot_attention_refuses_audio_longer_than_a_window(
    long_wav: Path, tmp_path: Path
) -> None:
    out = str(tmp_path / "a.png")
    code, output = plot(str(long_wav), "-o", out)
    assert code == 2 and "31.0 s" in output and "--start/--end" in output
    code, output = plot(str(long_wav), "--start", "0", "--end", "30.5", "-o", out)
    assert code == 2 and "30.5 s" in output
    code, output = plot(str(long_wav), "--start", "5", "--end", "2", "-o", out)
    assert code == 2 and "start < end" in output
    code, output = plot(str(long_wav), "--start", "20", "--end", "40", "-o", out)
    assert code == 2 and "past the end" in output
    assert not Path(out).exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("t.doc", "hello", "use .txt or .json"),
        ("t.json", "{not json", "not JSON"),
        ("t.json", "[1, 2]", "not an aural transcript"),
        ("t.txt", "  \n", "no words"),
    ],
)
def test_plot_attention_refuses_bad_transcripts(
    jfk_flac: Path, tmp_path: Path, name: str, content: str, message: str
) -> None:
    transcript = tmp_path / name
    transcript.write_text(content, encoding="utf-8")
    code, output = plot(
        str(jfk_flac), "--transcript", str(transcript), "-o", str(tmp_path / "a.png")
    )
    assert code == 2 and message in output
    missing = tmp_path / "missing.txt"
    code, output = plot(
        str(jfk_flac), "--transcript", str(missing), "-o", str(tmp_path / "a.png")
    )
    assert code == 2 and "no such file" in output


@pytest.mark.slow
def test_plot_attention_png_from_a_text_file(
    jfk_flac: Path, jfk_txt: Path, tmp_path: Path
) -> None:
    out = tmp_path / "jfk.png"
    code, output = plot(str(jfk_flac), "--transcript", str(jfk_txt), "-o", str(out))
    assert code == 0, output
    first = out.read_bytes()
    assert first.startswith(b"\x89PNG")
    code, output = plot(
        str(jfk_flac), "--transcript", str(jfk_txt), "-o", str(out), "--overwrite"
    )
    assert code == 0, output
    assert out.read_bytes() == first  # deterministic


@pytest.mark.slow
def test_plot_attention_svg_of_a_part_from_a_json_transcript(
    jfk_flac: Path, tmp_path: Path
) -> None:
    from aural.types import Segment, Transcript, TranscriptionInfo, Word

    words = [("And", 0.3, 0.5), ("so", 0.5, 0.8), ("my", 0.8, 1.1)]
    words += [("fellow", 1.1, 1.5), ("Americans,", 1.5, 2.2), ("ask", 3.2, 3.9)]
    segment = Segment(
        0.3,
        3.9,
        " ".join(w for w, _, _ in words),
        tuple(Word(s, e, w) for w, s, e in words),
    )
    info = TranscriptionInfo("en", 1.0, 11.0, "whisper", "tiny.en", {})
    transcript = tmp_path / "jfk.json"
    transcript.write_text(json.dumps(Transcript((segment,), info).to_dict()))
    out = tmp_path / "part.svg"
    code, output = plot(
        str(jfk_flac),
        "--transcript",
        str(transcript),
        "--start",
        "0",
        "--end",
        "2.5",
        "-o",
        str(out),
    )
    assert code == 0, output
    assert "<svg" in out.read_text(encoding="utf-8")


@pytest.mark.slow
def test_plot_attention_transcribes_when_no_transcript_is_given(
    ldc_wav: Path, tmp_path: Path
) -> None:
    """A real subprocess, as a user runs it: transcribe, then draw."""
    out = tmp_path / "ldc.png"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    p = subprocess.run(
        [sys.executable, "-m", "aural.cli", "plot", "attention", str(ldc_wav)]
        + ["-o", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    assert out.read_bytes().startswith(b"\x89PNG")


def test_plot_transcript_json_with_a_span_keeps_the_words_inside(
    tmp_path: Path,
) -> None:
    from aural.cli.plot import _transcript_text
    from aural.types import Segment, Transcript, TranscriptionInfo, Word

    words = (Word(0.0, 1.0, "one"), Word(1.0, 2.0, "two"), Word(2.0, 3.0, "three"))
    info = TranscriptionInfo("en", 1.0, 3.0, "whisper", "tiny.en", {})
    path = tmp_path / "t.json"
    path.write_text(
        json.dumps(
            Transcript((Segment(0.0, 3.0, "one two three", words),), info).to_dict()
        )
    )
    assert _transcript_text(path, None, None, 0.0, 3.0) == "one two three"
    assert _transcript_text(path, 0.9, 2.2, 0.9, 2.2) == "two"
    assert _transcript_text(path, None, 1.6, 0.0, 1.6) == "one two"
    plain = tmp_path / "p.json"
    plain.write_text(json.dumps({"text": "just text"}))
    assert _transcript_text(plain, None, None, 0.0, 3.0) == "just text"


# -- aural plot transcript / alignment (issue 24) --------------------------------------


def run_plot(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["plot", *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def jfk_json(jfk_flac: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny.en's transcript of jfk.flac as `aural transcribe -f json` writes it."""
    import aural

    path = tmp_path_factory.mktemp("jfk_json") / "jfk.json"
    transcript = aural.Recognizer().transcribe(jfk_flac)
    path.write_text(json.dumps(transcript.to_dict()), encoding="utf-8")
    return path


@pytest.mark.slow
def test_plot_transcript_transcribes_when_no_transcript_is_given(
    jfk_flac: Path, jfk_json: Path, tmp_path: Path
) -> None:
    out = tmp_path / "jfk.png"
    code, output = run_plot("transcript", str(jfk_flac), "-o", str(out))
    assert code == 0, output
    given = tmp_path / "given.png"
    code, output = run_plot(
        "transcript", str(jfk_flac), "--transcript", str(jfk_json), "-o", str(given)
    )
    assert code == 0, output
    # the same words drawn from the same model: the same picture
    assert out.read_bytes() == given.read_bytes()
    assert out.read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_plot_transcript_html_of_a_part(
    jfk_flac: Path, jfk_json: Path, tmp_path: Path
) -> None:
    out = tmp_path / "part.html"
    args = ["transcript", str(jfk_flac), "--transcript", str(jfk_json)]
    args += ["--start", "2", "--end", "6", "-o", str(out)]
    code, output = run_plot(*args)
    assert code == 0, output
    page = out.read_text(encoding="utf-8")
    words = [
        w
        for s in json.loads(jfk_json.read_text())["segments"]
        for w in s["words"]
        if 2.0 <= (w["start"] + w["end"]) / 2 < 6.0
    ]
    assert page.count("class='word'") == len(words) > 0
    assert "http://" not in page and "https://" not in page
    axis = re.search(r"data-axis='([^']+)'", page)
    assert axis is not None
    assert json.loads(html.unescape(axis.group(1)))["t0"] == 2.0
    code, output = run_plot(*args)
    assert code == 2 and "--overwrite" in output
    code, output = run_plot(*args, "--overwrite")
    assert code == 0 and out.read_text(encoding="utf-8") == page


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("t.txt", "hello", "needs word times"),
        ("t.json", "{not json", "not JSON"),
        ("t.json", "[1, 2]", "no 'segments' list"),
        ("t.json", '{"segments": [{"start": 1}]}', "segment 0: needs numeric"),
    ],
)
def test_plot_transcript_refuses_bad_transcripts(
    jfk_flac: Path, tmp_path: Path, name: str, content: str, message: str
) -> None:
    transcript = tmp_path / name
    transcript.write_text(content, encoding="utf-8")
    out = tmp_path / "a.png"
    code, output = run_plot(
        "transcript", str(jfk_flac), "--transcript", str(transcript), "-o", str(out)
    )
    assert code == 2 and message in output
    assert len(output.strip().splitlines()) == 1 and not out.exists()


def test_plot_transcript_refuses_bad_spans_and_outputs(
    jfk_flac: Path, long_wav: Path, tmp_path: Path
) -> None:
    out = str(tmp_path / "a.png")
    code, output = run_plot("transcript", str(jfk_flac), "-o", str(tmp_path / "a.pdf"))
    assert code == 2 and "use .png, .svg or .html" in output
    code, output = run_plot("transcript", str(jfk_flac), "--start", "12", "-o", out)
    assert code == 2 and "past the end" in output
    code, output = run_plot(
        "transcript", str(jfk_flac), "--start", "3", "--end", "1", "-o", out
    )
    assert code == 2 and "start < end" in output
    code, output = run_plot(
        "transcript", str(long_wav), "--page-seconds", "0.5", "-o", out
    )
    assert code == 2 and "62 pages" in output and "--start/--end" in output
    code, output = run_plot("transcript", str(tmp_path / "nope.wav"), "-o", out)
    assert code == 2 and "no such file" in output
    assert not Path(out).exists()


def test_plot_transcript_warns_when_there_are_no_word_times(
    jfk_flac: Path, tmp_path: Path
) -> None:
    transcript = tmp_path / "segments.json"
    segments = [{"start": 0.3, "end": 3.0, "text": "And so my fellow Americans"}]
    transcript.write_text(json.dumps({"segments": segments}), encoding="utf-8")
    out = tmp_path / "a.png"
    code, output = run_plot(
        "transcript", str(jfk_flac), "--transcript", str(transcript), "-o", str(out)
    )
    assert code == 0 and "no word times" in output
    assert out.read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_plot_alignment_compares_whisper_and_sphinx(
    dev_clean: Path, tmp_path: Path
) -> None:
    flac = dev_clean / "3752" / "4944" / "3752-4944-0000.flac"
    text = next(
        line.split(" ", 1)[1]
        for line in (flac.parent / "3752-4944.trans.txt").read_text().splitlines()
        if line.startswith(flac.stem)
    )
    transcript = tmp_path / "t.txt"
    transcript.write_text(text, encoding="utf-8")
    out = tmp_path / "both.png"
    args = ["alignment", str(flac), str(transcript), "-o", str(out)]
    code, output = run_plot(*args, "--compare", "whisper,sphinx")
    assert code == 0, output
    assert out.read_bytes().startswith(b"\x89PNG")
    code, output = run_plot(*args, "--compare", "whisper,sphinx")
    assert code == 2 and "--overwrite" in output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--compare", "whisper"], "give two aligners"),
        (["--compare", "whisper,whisper"], "the same"),
        (["--aligner", "nemo"], "unknown aligner 'nemo'"),
        (["--compare", "whisper,ctc:/nonexistent/model"], "the ctc aligner is not"),
    ],
)
def test_plot_alignment_refuses_bad_aligners(
    jfk_flac: Path, jfk_txt: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    out = tmp_path / "a.png"
    code, output = run_plot(
        "alignment", str(jfk_flac), str(jfk_txt), "-o", str(out), *extra
    )
    assert code != 0 and message in output, output
    assert len(output.strip().splitlines()) == 1 and not out.exists()


def test_plot_alignment_refuses_the_default_ctc_model_offline(
    jfk_flac: Path, jfk_txt: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a network the default CTC model (a hub id) is only usable when cached;
    otherwise --compare names the aligner it cannot load."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "a.png"
    code, output = run_plot(
        "alignment",
        str(jfk_flac),
        str(jfk_txt),
        "-o",
        str(out),
        "--compare",
        "whisper,ctc",
    )
    if code == 0:  # the model is in this machine's hub cache
        assert out.read_bytes().startswith(b"\x89PNG")
        return
    assert "the ctc aligner is not available here" in output
    assert "facebook/wav2vec2-base-960h" in output and not out.exists()
