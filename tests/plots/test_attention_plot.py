"""The attention picture: png and svg files, the same bytes on every run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from aural.errors import ConfigError
from aural.plots.attention import attention_figure, draw_attention, plot_format
from aural.types import Word


@dataclass(frozen=True)
class FakeMap:
    """An attention map as the picture sees it: a real clip's log-mel and a made-up
    diagonal attention."""

    mel: np.ndarray
    weights: np.ndarray
    path: np.ndarray
    token_texts: tuple[str, ...]
    words: tuple[Word, ...]
    frames_per_second: float = 50.0
    mel_frames_per_second: float = 100.0


@pytest.fixture(scope="module")
def fake_map(jfk_flac: Path) -> FakeMap:
    from faster_whisper.feature_extractor import FeatureExtractor

    from aural.audio import load

    samples = load(jfk_flac).samples[: 16000 * 4]
    mel = FeatureExtractor()(samples)[:, :400]
    texts = (" And", " so", " my", " fellow", " Americans", "<|endoftext|>")
    frames = 200
    weights = np.zeros((len(texts), frames), np.float32)
    edges = np.linspace(0, frames, len(texts) + 1).astype(int)
    for k in range(len(texts)):
        weights[k, edges[k] : edges[k + 1]] = 1.0
    path = np.stack(
        [np.repeat(np.arange(len(texts)), np.diff(edges)), np.arange(frames)]
    )
    words = tuple(
        Word(edges[k] / 50, edges[k + 1] / 50, t.strip(), 0.9)
        for k, t in enumerate(texts[:-1])
    )
    return FakeMap(mel, weights, path, texts, words)


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_draw_attention_writes_the_same_bytes_twice(
    fake_map: FakeMap, tmp_path: Path, suffix: str
) -> None:
    first, second = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    assert draw_attention(fake_map, first, title="jfk") == first
    draw_attention(fake_map, second, title="jfk")
    data = first.read_bytes()
    assert data == second.read_bytes()
    if suffix == ".png":
        assert data.startswith(b"\x89PNG")
    else:
        text = data.decode("utf-8")
        assert text.lstrip().startswith("<?xml") and "<svg" in text
        assert "<dc:date>" not in text  # no timestamp in the file


def test_draw_attention_leaves_no_temporary_files(
    fake_map: FakeMap, tmp_path: Path
) -> None:
    draw_attention(fake_map, tmp_path / "sub" / "map.png")
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["map.png"]


def test_attention_figure_marks_every_word(fake_map: FakeMap) -> None:
    fig = attention_figure(fake_map, time_offset=10.0)
    top, bottom = fig.axes[0], fig.axes[1]
    labels = [t.get_text() for t in top.child_axes[0].get_xticklabels()]
    assert labels == ["And", "so", "my", "fellow", "Americans"]
    # the time axis starts at the offset and covers the clip
    assert top.get_xlim() == pytest.approx((10.0, 14.0))
    boundaries = sorted({x for w in fake_map.words for x in (w.start, w.end)})
    lines = sorted(line.get_xdata()[0] for line in bottom.lines[1:])
    assert lines == pytest.approx([10.0 + b for b in boundaries])
    assert [t.get_text() for t in bottom.get_yticklabels()][-1] == "<end>"


@pytest.mark.parametrize("name", ["map.pdf", "map", "map.PNG.txt"])
def test_plot_format_refuses_other_suffixes(name: str) -> None:
    with pytest.raises(ConfigError, match="use .png or .svg"):
        plot_format(name)
    assert plot_format("x.SVG") == "svg"
