"""`aural transcribe` as a user runs it: a real subprocess on real recordings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

AURAL = [sys.executable, "-m", "aural.cli"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [*AURAL, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


def assert_no_traceback(p: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in p.stderr and "Traceback" not in p.stdout


def test_cli_single_file_to_stdout(ldc_wav: Path) -> None:
    p = run("transcribe", str(ldc_wav), "--beam-size", "1")
    assert p.returncode == 0, p.stderr
    assert "greasy wash" in p.stdout.lower()


def test_cli_raw_pcm(goforward_raw: Path) -> None:
    p = run(
        "transcribe",
        str(goforward_raw),
        "--raw-sample-rate",
        "16000",
        "--engine",
        "sphinx",
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "go forward ten meters"


def test_cli_batch_dir_glob_bad_file_resume(
    tmp_path: Path, dev_clean: Path, ldc_wav: Path
) -> None:
    bad = tmp_path / "in" / "broken.wav"
    bad.parent.mkdir()
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    out = tmp_path / "out"
    args = [
        "transcribe",
        str(dev_clean / "1272"),
        str(tmp_path / "in" / "*.wav"),
        str(ldc_wav),
        "--output-dir",
        str(out),
        "--format",
        "all",
        "--beam-size",
        "1",
    ]
    p = run(*args)
    assert_no_traceback(p)
    assert p.returncode == 1, "a failed input must give exit code 1"
    assert "broken.wav" in p.stderr
    assert "done: 3 transcribed, 0 skipped, 1 failed" in p.stderr
    names = sorted(f.name for f in out.iterdir())
    assert len(names) == 15 and not any(
        n.endswith(".part") or n.startswith(".") for n in names
    )
    assert not any(n.startswith("broken") for n in names)
    d = json.loads((out / "LDC93S1.json").read_text())
    assert "greasy" in d["text"].lower() and d["info"]["engine"] == "whisper"
    assert d["info"]["options"]["trimmed_windows"] is True
    mtime = (out / "LDC93S1.txt").stat().st_mtime_ns
    args.remove(str(tmp_path / "in" / "*.wav"))
    p2 = run(*args)
    assert p2.returncode == 0, p2.stderr
    assert "3 skipped" in p2.stderr
    assert (out / "LDC93S1.txt").stat().st_mtime_ns == mtime
    p3 = run(*args, "--overwrite")
    assert p3.returncode == 0 and "done: 3 transcribed" in p3.stderr


def test_cli_full_window_is_faster_whispers_path(tmp_path: Path, ldc_wav: Path) -> None:
    p = run(
        "transcribe",
        str(ldc_wav),
        "--full-window",
        "--format",
        "json",
        "--beam-size",
        "1",
    )
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert (
        d["info"]["options"]["trimmed_windows"] is False
        and "greasy" in d["text"].lower()
    )


def test_cli_silence_gives_empty_output(tmp_path: Path) -> None:
    f = tmp_path / "silence.wav"
    sf.write(f, np.zeros(16000 * 3, np.float32), 16000)
    p = run("transcribe", str(f))
    assert p.returncode == 0 and p.stdout.strip() == ""


def test_cli_inputs_sharing_a_stem_get_distinct_outputs(
    tmp_path: Path, ldc_wav: Path
) -> None:
    from aural.cli.transcribe import _output_paths

    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    x, rate = sf.read(ldc_wav, dtype="float32")
    inputs = [
        tmp_path / "x" / "talk.wav",
        tmp_path / "x" / "talk.flac",
        tmp_path / "y" / "talk.wav",
        tmp_path / "x" / "other.wav",
    ]
    for path in inputs:
        sf.write(path, x, rate)
    names = {
        p: [o.name for o in outs]
        for p, outs in _output_paths(inputs, tmp_path, ["txt"]).items()
    }
    assert names == {
        inputs[0]: ["talk.wav.txt"],
        inputs[1]: ["talk.flac.txt"],
        inputs[2]: ["y__talk.wav.txt"],
        inputs[3]: ["other.txt"],
    }
    # and through the CLI: four inputs, four transcripts, none overwritten
    out = tmp_path / "out"
    p = run(
        "transcribe", *map(str, inputs), "--output-dir", str(out), "--beam-size", "1"
    )
    assert p.returncode == 0, p.stderr
    written = sorted(f.name for f in out.iterdir())
    assert written == ["other.txt", "talk.flac.txt", "talk.wav.txt", "y__talk.wav.txt"]
    assert all("greasy" in (out / f).read_text().lower() for f in written)


def test_cli_reads_piped_audio_from_stdin(tmp_path: Path, ldc_wav: Path) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}

    def pipe(data: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [*AURAL, "transcribe", "-", "--beam-size", "1", *args],
            input=data,
            capture_output=True,
            env=env,
            timeout=300,
        )

    p = pipe(ldc_wav.read_bytes(), "--output-dir", str(tmp_path), "--format", "json")
    assert p.returncode == 0, p.stderr
    assert "greasy" in json.loads((tmp_path / "stdin.json").read_text())["text"].lower()
    bad = pipe(b"this is not audio" * 100)
    assert bad.returncode == 1
    assert b"stdin: not a recognised audio format" in bad.stderr
    assert b"aural-stdin" not in bad.stderr and b"Traceback" not in bad.stderr
    assert pipe(b"").returncode == 1


def test_cli_errors_are_one_line(tmp_path: Path, ldc_wav: Path) -> None:
    cases = [
        (
            ["transcribe", str(tmp_path / "missing.wav")],
            1,
            "missing.wav: file not found",
        ),
        (
            ["transcribe", str(ldc_wav), "--engine", "nosuch"],
            2,
            "unknown engine 'nosuch'",
        ),
        (
            ["transcribe", str(ldc_wav), "--model", "nosuch"],
            2,
            "unknown Whisper model 'nosuch'",
        ),
        (
            ["transcribe", str(ldc_wav), "--format", "docx"],
            2,
            "unknown --format 'docx'",
        ),
        (["transcribe", str(ldc_wav), "--beam-size", "0"], 2, "beam_size"),
        (["transcribe", str(ldc_wav), "--language", "fr"], 2, "English-only"),
        (
            ["transcribe", str(ldc_wav), "--raw-sample-rate", "1"],
            2,
            "--raw-sample-rate must be 2000-768000 Hz, got 1",
        ),
        (
            ["transcribe", str(ldc_wav), "--raw-encoding", "mulaw"],
            2,
            "unknown --raw-encoding",
        ),
        (
            ["transcribe", str(ldc_wav), "--output-dir", str(ldc_wav / "sub")],
            2,
            "cannot write there",
        ),
        (
            ["transcribe", str(ldc_wav), "--engine", "sphinx", "--hotwords", "x"],
            2,
            "hotwords",
        ),
        (["transcribe", str(ldc_wav), "--threads", "-1"], 2, "--threads must be >= 0"),
        (
            ["transcribe", str(ldc_wav), "--batch-size", "0"],
            2,
            "--batch-size must be >= 1",
        ),
        (["transcribe", str(ldc_wav), "--jobs", "0"], 2, "--jobs must be >= 1"),
    ]
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    cases.append((["transcribe", str(empty)], 1, "empty.mp3: file is empty"))
    from typer.testing import CliRunner

    from aural.cli import app

    runner = CliRunner()
    for (
        args,
        code,
        message,
    ) in cases:  # in-process: each case would pay a Python start-up
        r = runner.invoke(app, args)
        assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
        assert r.exit_code == code, (args, r.exit_code, r.stderr)
        assert message in r.stderr, (args, r.stderr)


def test_cli_models_list() -> None:
    p = run("models", "list")
    assert p.returncode == 0 and "whisper:tiny.en\tinstalled" in p.stdout


def test_cli_missing_optional_dependency_is_one_line(tmp_path: Path) -> None:
    """On a core install (no torch), `aural train` says which extra to install."""
    code = (
        # makes `import torch` fail as if absent
        "import sys; sys.modules['torch'] = None; sys.argv = ['aural', 'train', "
        "'--config', "
        f"{str(Path(__file__).parents[2] / 'recipes' / 'overfit_tiny.yaml')!r}, "
        f"'--output-dir', {str(tmp_path / 'run')!r}]; from aural.cli import main; "
        "main()"
    )
    p = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert_no_traceback(p)
    assert p.returncode == 2
    assert "needs the 'torch' package" in p.stderr and "aural[train]" in p.stderr


def test_one_long_input_gets_decodes_side_by_side(tmp_path: Path) -> None:
    """One input long enough to cut into parts is decoded with several decodes side by
    side (the layout's "long" workload); a short one, or a broken one, is not."""
    from aural.cli.transcribe import LONG_INPUT_S, _workload

    def wav(name: str, seconds: float) -> Path:
        path = tmp_path / name
        sf.write(path, np.zeros(int(8000 * seconds), np.int16), 8000)
        return path

    minutes = wav("minutes.wav", LONG_INPUT_S + 30)
    assert _workload([minutes], None, "pcm_s16le") == (
        "long",
        pytest.approx(LONG_INPUT_S + 30),
    )
    assert _workload([wav("short.wav", 40)], None, "pcm_s16le")[0] == "single"
    assert _workload([minutes, minutes], None, "pcm_s16le") == ("batch", 0.0)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....WAVEfmt junk")
    assert _workload([broken], None, "pcm_s16le")[0] == "single"


def test_cli_never_replaces_or_hides_a_users_files(
    tmp_path: Path, ldc_wav: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    notes = out / "LDC93S1.json"
    notes.write_text("MY NOTES\n")  # not ours: -f all must leave it alone
    p = run(
        "transcribe",
        str(ldc_wav),
        str(tmp_path / "LDC93S1.flac"),
        "-f",
        "all",
        "--output-dir",
        str(out),
        "--beam-size",
        "1",
    )  # the .flac is missing
    assert p.returncode == 1 and "LDC93S1.flac: file not found" in p.stderr
    assert notes.read_text() == "MY NOTES\n"
    # a missing input with the same stem does not rename the real one's outputs
    assert sorted(f.name for f in out.iterdir()) == [
        "LDC93S1.json",
        "LDC93S1.srt",
        "LDC93S1.tsv",
        "LDC93S1.txt",
        "LDC93S1.vtt",
    ]
    umask = os.umask(0)
    os.umask(umask)
    assert (out / "LDC93S1.txt").stat().st_mode & 0o777 == 0o666 & ~umask  # not 0600
    # --overwrite replaces ours and the user's, keeping the mode of what it replaces
    os.chmod(out / "LDC93S1.txt", 0o640)
    p = run(
        "transcribe",
        str(ldc_wav),
        "-f",
        "all",
        "--output-dir",
        str(out),
        "--beam-size",
        "1",
        "--overwrite",
    )
    assert p.returncode == 0, p.stderr
    assert "greasy" in json.loads(notes.read_text())["text"].lower()
    assert (out / "LDC93S1.txt").stat().st_mode & 0o777 == 0o640


def test_cli_piped_audio_never_skipped_or_overwritten(
    tmp_path: Path, ldc_wav: Path, jfk_flac: Path
) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    for audio in (ldc_wav, jfk_flac):  # the second must not be "already transcribed"
        p = subprocess.run(
            [
                *AURAL,
                "transcribe",
                "-",
                "--beam-size",
                "1",
                "--output-dir",
                str(tmp_path),
            ],
            input=audio.read_bytes(),
            capture_output=True,
            env=env,
            timeout=300,
            check=False,
        )
        assert p.returncode == 0, p.stderr
    assert "greasy" in (tmp_path / "stdin.txt").read_text().lower()
    assert "fellow americans" in (tmp_path / "stdin-2.txt").read_text().lower()


def test_cli_one_long_input_shows_progress_in_seconds(
    tmp_path: Path, shared_data: Path
) -> None:
    pieces: list[np.ndarray] = []
    for flac in sorted((shared_data / "LibriSpeech").rglob("*.flac")):
        if sum(map(len, pieces)) > 125 * 16000:
            break
        pieces += [sf.read(flac, dtype="float32")[0], np.zeros(8000, np.float32)]
    long = np.concatenate(pieces)
    path = tmp_path / "lecture.wav"
    sf.write(path, long, 16000)
    p = run("transcribe", str(path), "--beam-size", "1")
    assert p.returncode == 0, p.stderr
    total = round(len(long) / 16000)
    assert "transcribing lecture.wav" in p.stderr
    assert f"{total}/{total} s audio" in p.stderr, p.stderr
    assert len(p.stdout.split()) > 200


def test_cli_prints_segments_as_they_arrive(tmp_path: Path, shared_data: Path) -> None:
    """To stdout, a long input's text starts coming while the rest is still decoded
    (Recognizer.iter_segments), and ends up the same as a file written at the end."""
    pieces: list[np.ndarray] = []
    for flac in sorted((shared_data / "LibriSpeech").rglob("*.flac")):
        if sum(map(len, pieces)) > 150 * 16000:
            break
        pieces += [sf.read(flac, dtype="float32")[0], np.zeros(16000, np.float32)]
    path = tmp_path / "talk.wav"
    sf.write(path, np.concatenate(pieces), 16000)
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "AURAL_DECODES": "1"}
    proc = subprocess.Popen(
        [*AURAL, "transcribe", str(path), "--beam-size", "1", "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    first = proc.stdout.read1(4096)  # returns as soon as the first segment is written
    still_running = proc.poll() is None
    rest, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert first.strip() and still_running, "the text came only at the end"
    streamed = (first + rest).decode()
    out = tmp_path / "out"
    p = run("transcribe", str(path), "--beam-size", "1", "-q", "--output-dir", str(out))
    assert p.returncode == 0, p.stderr
    assert streamed == (out / "talk.txt").read_text()


def test_cli_not_audio_is_exactly_one_line(tmp_path: Path) -> None:
    # libsndfile's MP3 decoder, its last resort, printed notes about these to stderr
    png = tmp_path / "picture.mp3"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    noise = tmp_path / "noise.mp3"
    noise.write_bytes(
        np.random.default_rng(0).integers(0, 256, 50_000, np.uint8).tobytes()
    )
    for path in (png, noise):
        p = run("transcribe", str(path))
        assert p.returncode == 1
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"failed: {path}: "), p.stderr
        assert (
            "not a recognised audio format" in lines[0]  # FFmpeg sees an image in
            or "contains no audio stream" in lines[0]
        )  # the PNG: no audio stream


def test_cli_ctrl_c_stops_at_once_and_leaves_nothing_partial(
    tmp_path: Path, shared_data: Path
) -> None:
    import signal

    pieces: list[np.ndarray] = []
    for flac in sorted((shared_data / "LibriSpeech").rglob("*.flac")):
        if sum(map(len, pieces)) > 600 * 16000:  # minutes of decoding on 2 cores
            break
        pieces.append(sf.read(flac, dtype="float32")[0])
    path = tmp_path / "talk.wav"
    sf.write(path, np.concatenate(pieces), 16000)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    p = subprocess.Popen(
        [*AURAL, "transcribe", str(path), "--output-dir", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # Ctrl-C as a terminal delivers it, even when the tests run in the background
        # (a shell starts background jobs with SIGINT ignored, and children inherit it)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(10)  # the model is loaded and decoding has started
    p.send_signal(signal.SIGINT)
    # before, the running decodes were waited for: the whole file was transcribed first
    _, err = p.communicate(timeout=30)
    assert p.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert list(out.iterdir()) == []  # no transcript, no partial file
