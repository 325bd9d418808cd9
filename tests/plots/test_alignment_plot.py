"""The alignment picture: real aligners (Whisper tiny.en, PocketSphinx, a seeded tiny
CTC model for characters) on a real LibriSpeech clip."""

from __future__ import annotations

from pathlib import Path

import pytest

from aural.align import Alignment, create_aligner
from aural.audio import load
from aural.errors import ConfigError
from aural.plots.alignment import alignment_figure, alignment_lanes, draw_alignment

pytestmark = pytest.mark.slow  # real aligners

CLIP = "3752/4944/3752-4944-0000"


def reference(flac: Path) -> str:
    trans = next(flac.parent.glob("*.trans.txt"))
    for line in trans.read_text().splitlines():
        uid, text = line.split(" ", 1)
        if uid == flac.stem:
            return text
    raise KeyError(flac.stem)


@pytest.fixture(scope="module")
def clip(dev_clean: Path):
    flac = dev_clean / f"{CLIP}.flac"
    return load(flac), reference(flac)


@pytest.fixture(scope="module")
def whisper_alignment(clip) -> Alignment:
    waveform, text = clip
    return create_aligner("whisper", cpu_threads=2).align(waveform, text)


@pytest.fixture(scope="module")
def sphinx_alignment(clip) -> Alignment:
    waveform, text = clip
    return create_aligner("sphinx").align(waveform, text)


def boxes(fig, prefix: str) -> list:
    return [
        p for ax in fig.get_axes() for p in ax.patches if p.get_gid().startswith(prefix)
    ]


def test_alignment_figure_draws_every_word_of_one_aligner(
    clip, whisper_alignment
) -> None:
    waveform, text = clip
    fig = alignment_figure(waveform.samples, 16000, [whisper_alignment])
    words = boxes(fig, "whisper-words-")
    assert len(words) == len(whisper_alignment.words) == len(text.split())
    for box, w in zip(words, whisper_alignment.words, strict=True):
        assert box.get_x() == pytest.approx(w.start)
    mel_ax, lane_ax = fig.get_axes()[:2]
    lines = [ln for ln in mel_ax.lines if ln.get_gid() == "whisper-boundary"]
    expected = {t for w in whisper_alignment.words for t in (w.start, w.end)}
    assert len(lines) == len(expected)
    assert [t.get_text() for t in lane_ax.get_yticklabels()] == ["whisper words"]


def test_alignment_figure_compares_two_aligners(
    clip, whisper_alignment, sphinx_alignment
) -> None:
    waveform, _ = clip
    pair = [whisper_alignment, sphinx_alignment]
    fig = alignment_figure(waveform.samples, 16000, pair, title="two")
    lane_ax = fig.get_axes()[1]
    assert [t.get_text() for t in lane_ax.get_yticklabels()] == [
        "whisper words",
        "sphinx words",
    ]
    assert len(boxes(fig, "sphinx-words-")) == len(sphinx_alignment.words)
    assert len(boxes(fig, "whisper-words-")) == len(whisper_alignment.words)
    # the sphinx lane sits under the whisper lane
    assert {int(b.get_y()) for b in boxes(fig, "sphinx-words-")} == {1}


def test_alignment_figure_draws_ctc_characters(clip, tiny_ctc_dir: Path) -> None:
    waveform, text = clip
    ctc = create_aligner("ctc", str(tiny_ctc_dir)).align(waveform, text)
    assert ctc.chars
    fig = alignment_figure(waveform.samples, 16000, [ctc])
    assert alignment_lanes([ctc]) == [("ctc words", "words"), ("ctc chars", "chars")]
    assert len(boxes(fig, "ctc-chars-")) == len(ctc.chars)
    assert len(boxes(fig, "ctc-words-")) == len(ctc.words)


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_draw_alignment_writes_the_same_bytes_twice(
    clip, whisper_alignment, sphinx_alignment, tmp_path: Path, suffix: str
) -> None:
    waveform, _ = clip
    pair = [whisper_alignment, sphinx_alignment]
    a, b = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    draw_alignment(waveform.samples, 16000, pair, a, title="x")
    draw_alignment(waveform.samples, 16000, pair, b, title="x")
    assert a.read_bytes() == b.read_bytes()


def test_alignment_figure_takes_one_or_two(clip, whisper_alignment) -> None:
    waveform, _ = clip
    with pytest.raises(ConfigError, match="one or two alignments"):
        alignment_figure(waveform.samples, 16000, [whisper_alignment] * 3)
