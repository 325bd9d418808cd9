"""One `aural transcribe` batch over a zoo of hostile files made from a real recording.

Valid-but-odd files (unusual encodings, levels, containers, unfinished headers) must be
transcribed; broken ones must each get one line naming the file, with exit code 1, no
traceback, and no output file. Everything runs in one CLI call: one model load.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from aural.audio import load, resample

AURAL = [sys.executable, "-m", "aural.cli"]


def _pcm_wav_header(rate: int, size: int) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", size)
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", size)
    )


@pytest.fixture(scope="module")
def zoo(
    tmp_path_factory: pytest.TempPathFactory, ldc_wav: Path
) -> tuple[Path, dict, dict]:
    """(folder, valid name -> None, broken name -> expected message)."""
    d = tmp_path_factory.mktemp("zoo")
    x = load(ldc_wav).samples  # 16 kHz float32, peak about 0.3
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2")

    def write(name: str, data: np.ndarray, rate: int = 16000, **kw) -> None:
        sf.write(d / name, data, rate, **kw)

    write("float_loud.wav", x * 1000, subtype="FLOAT")  # unnormalised DSP output
    write("dc_offset.wav", x * 0.3 + 0.6)  # speech riding on a big offset
    write("quiet.wav", x * 0.01, subtype="FLOAT")  # peak about -50 dBFS
    write(
        "nan_inf.wav",
        np.where(
            np.arange(x.size) % 997 == 0,
            np.inf,
            np.where(np.arange(x.size) % 991 == 0, np.nan, x),
        ),
        subtype="FLOAT",
    )
    write("ulaw.wav", x, subtype="ULAW")
    write("u8.wav", x, subtype="PCM_U8")
    write(
        "pcm24_48k_stereo.wav",
        np.stack([resample(x, 16000, 48000)] * 2, 1),
        48000,
        subtype="PCM_24",
    )
    write("gsm_8k.wav", resample(x, 16000, 8000), 8000, subtype="GSM610")
    write("eight_channels.flac", np.tile(x[:, None], (1, 8)))
    write("vorbis.ogg", x, format="OGG", subtype="VORBIS")
    (d / "unfinished_zero.wav").write_bytes(_pcm_wav_header(16000, 0) + pcm.tobytes())
    (d / "unfinished_ff.wav").write_bytes(
        _pcm_wav_header(16000, 0xFFFFFFFF) + pcm.tobytes()
    )
    (d / "flac_named.mp3").write_bytes((d / "eight_channels.flac").read_bytes())
    valid = {p.name: None for p in d.iterdir()}

    broken = {}
    (d / "empty.wav").write_bytes(b"")
    broken["empty.wav"] = "file is empty"
    (d / "text.wav").write_text("not audio\n" * 100)
    broken["text.wav"] = "not a recognised audio format"
    (d / "random.flac").write_bytes(np.random.default_rng(0).bytes(40_000))
    broken["random.flac"] = "random.flac"
    (d / "header_only.wav").write_bytes(_pcm_wav_header(16000, 0))
    broken["header_only.wav"] = "no audio samples"
    write("blip.wav", np.full(1, 0.5, np.float32), 44100)
    broken["blip.wav"] = "too short"
    return d, valid, broken


def test_batch_over_hostile_files(zoo, tmp_path: Path) -> None:
    folder, valid, broken = zoo
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    p = subprocess.run(
        [
            *AURAL,
            "transcribe",
            str(folder),
            "--output-dir",
            str(out),
            "--beam-size",
            "1",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert "Traceback" not in p.stderr + p.stdout
    assert p.returncode == 1, p.stderr  # some inputs failed
    failures = [line for line in p.stderr.splitlines() if line.startswith("failed:")]
    assert len(failures) == len(broken), p.stderr
    for name, message in broken.items():
        assert any(name in line and message in line for line in failures), (
            name,
            failures,
        )
    written = {f.name for f in out.iterdir()}
    assert all(
        Path(name).stem + ".txt" not in written for name in broken
    )  # no partials
    assert not [f for f in written if f.startswith(".") or f.endswith(".tmp")]
    for name in valid:
        outputs = [f for f in written if f.startswith(Path(name).stem)]
        assert len(outputs) == 1, (name, sorted(written))
        text = (out / outputs[0]).read_text().lower()
        assert "greasy" in text or "wash" in text, (name, text)
