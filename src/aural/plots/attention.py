"""Whisper's cross-attention over the log-mel spectrogram, with the words marked.

Top panel: the log-mel spectrogram. Bottom panel: the alignment heads' attention, one
row per token, with the DTW path through it. Both share the time axis; each word
boundary is a vertical line across both panels and each word is written above the
spectrogram, at its middle. The colour maps (viridis, greys) keep their order in
greyscale. Files carry no dates and the same input gives the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from aural.errors import ConfigError
from aural.types import Word
from aural.writers import write_atomic

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "PLOT_SUFFIXES",
    "AttentionLike",
    "attention_figure",
    "draw_attention",
    "plot_format",
]

PLOT_SUFFIXES: dict[str, Literal["png", "svg"]] = {".png": "png", ".svg": "svg"}
FIGURE_SIZE = (12.0, 7.0)  # inches
DPI = 100  # the png is 1200 x 700 pixels
MAX_TOKEN_LABELS = 60  # more rows than this get every n-th label only
_SVG_SALT = "aural-attention"  # fixed ids in svg files (the default salt is random)
# no dates and no version strings: two runs give the same bytes
_METADATA: dict[str, dict[str, str | None]] = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
}
_TOP_LINE = "white"  # word boundaries over the spectrogram (viridis is dark)
_BOTTOM_LINE = "#1f77b4"  # ... and over the attention (greys are light)
_PATH_COLOUR = "#d62728"


class AttentionLike(Protocol):
    """What a picture of Whisper's attention needs (``aural.engines.whisper``'s
    ``AttentionMap`` has it)."""

    @property
    def mel(self) -> np.ndarray: ...  # (num_mels, num_mel_frames)
    @property
    def weights(self) -> np.ndarray: ...  # (num_tokens, num_frames)
    @property
    def path(self) -> np.ndarray: ...  # (2, path_length): token row, frame
    @property
    def token_texts(self) -> Sequence[str]: ...
    @property
    def words(self) -> Sequence[Word]: ...
    @property
    def frames_per_second(self) -> float: ...
    @property
    def mel_frames_per_second(self) -> float: ...


def plot_format(path: str | os.PathLike[str]) -> Literal["png", "svg"]:
    """``png`` or ``svg`` from the suffix of ``path``.

    Raises:
        ConfigError: another suffix.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in PLOT_SUFFIXES:
        raise ConfigError(
            f"{os.fspath(path)}: unknown picture suffix {suffix or '(none)'!r}; use "
            f"{' or '.join(PLOT_SUFFIXES)}"
        )
    return PLOT_SUFFIXES[suffix]


def draw_attention(
    attention: AttentionLike,
    out: str | os.PathLike[str],
    *,
    time_offset: float = 0.0,
    title: str | None = None,
) -> Path:
    """Draw ``attention`` to ``out`` (png or svg by its suffix), atomically.

    Args:
        attention: the map (``aural.engines.whisper.attention_map``'s result).
        out: the file to write; ``.png`` or ``.svg``.
        time_offset: seconds added to the time axis (where the audio was cut from a
            longer recording).
        title: the figure's title; None = none.

    Returns:
        ``out`` as a Path.

    Raises:
        ConfigError: ``out`` has another suffix.
        OSError: ``out`` cannot be written (it is left as it was).
    """
    import matplotlib

    fmt = plot_format(out)
    fig = attention_figure(attention, time_offset=time_offset, title=title)
    with matplotlib.rc_context({"svg.hashsalt": _SVG_SALT}):
        write_atomic(out, lambda f: fig.savefig(f, format=fmt, metadata=_METADATA[fmt]))
    return Path(out)


def attention_figure(
    attention: AttentionLike, *, time_offset: float = 0.0, title: str | None = None
) -> Figure:
    """The two-panel figure of ``attention`` (touches no file; see
    :func:`draw_attention`)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGURE_SIZE, dpi=DPI, layout="constrained")
    top, bottom = fig.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [1.0, 1.4]}
    )
    _draw_mel(fig, top, attention, time_offset)
    _draw_weights(fig, bottom, attention, time_offset)
    boundaries = _boundaries(attention.words)
    for ax, colour in ((top, _TOP_LINE), (bottom, _BOTTOM_LINE)):
        for t in boundaries:
            ax.axvline(t + time_offset, color=colour, linewidth=0.8, linestyle="--")
    _label_words(top, attention.words, time_offset)
    bottom.set_xlabel("time (s)")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def _draw_mel(fig: Figure, ax: Any, attention: AttentionLike, offset: float) -> None:
    mel = attention.mel
    end = offset + mel.shape[1] / attention.mel_frames_per_second
    image = ax.imshow(
        mel,
        origin="lower",
        aspect="auto",
        cmap="viridis",
        interpolation="nearest",
        extent=(offset, end, 0, mel.shape[0]),
    )
    ax.set_ylabel("mel bin")
    fig.colorbar(image, ax=ax, label="log-mel", pad=0.01)


def _draw_weights(
    fig: Figure, ax: Any, attention: AttentionLike, offset: float
) -> None:
    weights = attention.weights
    num_tokens, num_frames = weights.shape
    end = offset + num_frames / attention.frames_per_second
    low, high = np.percentile(weights, [1.0, 99.5]) if weights.size else (0.0, 1.0)
    image = ax.imshow(
        weights,
        origin="upper",
        aspect="auto",
        cmap="Greys",
        interpolation="nearest",
        vmin=float(low),
        vmax=float(max(high, low + 1e-6)),
        extent=(offset, end, num_tokens - 0.5, -0.5),
    )
    rows, frames = attention.path
    ax.plot(
        offset + (frames + 0.5) / attention.frames_per_second,
        rows,
        color=_PATH_COLOUR,
        linewidth=1.0,
        label="DTW path",
    )
    step = max(1, -(-num_tokens // MAX_TOKEN_LABELS))
    ticks = list(range(0, num_tokens, step))
    ax.set_yticks(ticks, [_token_label(attention.token_texts[k]) for k in ticks])
    ax.tick_params(axis="y", labelsize=7)
    ax.set_ylabel("token")
    ax.legend(loc="upper right", fontsize=8)
    fig.colorbar(image, ax=ax, label="attention (z-score)", pad=0.01)


def _label_words(ax: Any, words: Sequence[Word], offset: float) -> None:
    """Each word above the top panel, at its middle, turned upright."""
    labels = ax.secondary_xaxis("top")
    labels.set_xticks(
        [offset + (w.start + w.end) / 2 for w in words],
        [w.text for w in words],
        rotation=90,
        fontsize=8,
    )
    labels.tick_params(length=0)


def _boundaries(words: Sequence[Word]) -> list[float]:
    """Every word start and end, each time once."""
    return sorted({t for w in words for t in (w.start, w.end)})


def _token_label(text: str) -> str:
    if text.startswith("<|") and text.endswith("|>"):
        return "<" + text[2:-2].replace("endoftext", "end") + ">"
    return text.strip() or "␣"
