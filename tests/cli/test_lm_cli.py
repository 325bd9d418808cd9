"""`aural lm build` and `aural lm score` as a user runs them (real subprocesses)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "decoding" / "data"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "aural.cli", "lm", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def perplexity(p: subprocess.CompletedProcess[str]) -> float:
    assert p.returncode == 0, p.stderr
    m = re.search(r"perplexity ([0-9.]+) over (\d+) sentences", p.stdout)
    assert m, p.stdout
    return float(m.group(1))


def test_lm_build_then_score_on_librispeech_text(
    tmp_path: Path, shared_data: Path
) -> None:
    lines = []
    for trans in sorted(
        (shared_data / "LibriSpeech" / "train-clean-100").rglob("*.trans.txt")
    ):
        lines += [line.split(" ", 1)[1] for line in trans.read_text().splitlines()]
    train, held_out = tmp_path / "train.txt", tmp_path / "held_out.txt"
    train.write_text("\n".join(lines[20:]) + "\n")
    held_out.write_text("\n".join(lines[:20]) + "\n")
    arpa = tmp_path / "lm.arpa"
    p = run("build", str(train), "-o", str(arpa), "--order", "3")
    assert p.returncode == 0, p.stderr
    assert arpa.read_text().lstrip().startswith("\\data\\")
    seen, unseen = (
        perplexity(run("score", str(arpa), str(train))),
        perplexity(run("score", str(arpa), str(held_out))),
    )
    assert 1.0 < seen < unseen  # the text it was built from is far less surprising


def test_lm_score_reads_kenlm_binaries_like_their_arpa(tmp_path: Path) -> None:
    pytest.importorskip("kenlm")
    text = tmp_path / "text.txt"
    text.write_text("the cat sat on the mat\nA DOG ATE THE FISH\n")
    values = [
        perplexity(run("score", str(DATA / name), str(text)))
        for name in ("kn3.arpa", "kn3.probing.bin", "kn3.trie.bin")
    ]
    assert values[1] == pytest.approx(values[0], rel=1e-3)
    assert values[2] == pytest.approx(values[0], rel=1e-3)


@pytest.mark.parametrize("content", [b"\x80\x81 not text", b"plain words, no header\n"])
def test_lm_score_bad_model_is_one_line(tmp_path: Path, content: bytes) -> None:
    bad, text = tmp_path / "bad.arpa", tmp_path / "text.txt"
    bad.write_bytes(content)
    text.write_text("the cat\n")
    p = run("score", str(bad), str(text))
    assert p.returncode == 2
    assert "Traceback" not in p.stderr and "bad.arpa" in p.stderr
