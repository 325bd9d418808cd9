"""Forced alignments over the log-mel spectrogram, one aligner or two side by side.

Top panel: the log-mel spectrogram with every aligner's word boundaries (the first
aligner's solid, the second's dashed, so they stay apart in greyscale). Below it one
lane per aligner with its words as boxes shaded by the aligner's confidence, and for
aligners that give characters (CTC) a lane of character boxes under its words. Where
two aligners disagree the boxes of their lanes are visibly shifted. Files carry no
dates: the same input gives the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from aural.errors import ConfigError
from aural.plots.attention import plot_format
from aural.plots.transcript import (
    DPI,
    SpokenWord,
    confidence_colorbar,
    draw_boxes,
    draw_spectrogram,
    log_mel_image,
    save_figure,
)
from aural.types import Word

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["AlignmentLike", "alignment_figure", "alignment_lanes", "draw_alignment"]

FIGURE_WIDTH = 14.0  # inches
MAX_ALIGNERS = 2
_LINE_STYLES: tuple[Literal["-"], Literal["--"]] = ("-", "--")
_LINE_COLOURS = ("white", "#7fdbff")
_SVG_SALT = "aural-alignment"


class AlignmentLike(Protocol):
    """What the picture needs of an alignment (``aural.align.Alignment`` has it)."""

    @property
    def words(self) -> Sequence[Word]: ...
    @property
    def chars(self) -> Sequence[Word]: ...
    @property
    def engine(self) -> str: ...


def alignment_lanes(alignments: Sequence[AlignmentLike]) -> list[tuple[str, str]]:
    """``(label, kind)`` of each lane from top to bottom; ``kind`` is ``words`` or
    ``chars``."""
    lanes = []
    for a in alignments:
        lanes.append((f"{a.engine} words", "words"))
        if a.chars:
            lanes.append((f"{a.engine} chars", "chars"))
    return lanes


def _inside(items: Sequence[Word], start: float, end: float) -> list[Word]:
    return [w for w in items if start <= (w.start + w.end) / 2 < end]


def alignment_figure(
    samples: np.ndarray,
    sample_rate: int,
    alignments: Sequence[AlignmentLike],
    *,
    start: float = 0.0,
    title: str | None = None,
) -> Figure:
    """The figure of ``alignments`` over the audio ``samples`` (touches no file).

    Args:
        samples: mono float samples of the stretch drawn.
        sample_rate: Hz.
        alignments: one or two alignments of the same transcript (recording times).
        start: seconds into the recording of ``samples[0]``.
        title: the figure's title (None = none).

    Raises:
        ConfigError: no alignment or more than two.
    """
    from matplotlib.figure import Figure

    if not 1 <= len(alignments) <= MAX_ALIGNERS:
        raise ConfigError(f"draw one or two alignments, got {len(alignments)}")
    end = start + len(samples) / sample_rate
    lanes = alignment_lanes(alignments)
    fig = Figure(
        figsize=(FIGURE_WIDTH, 3.2 + 0.9 * len(lanes)), dpi=DPI, layout="constrained"
    )
    mel_ax, lane_ax = fig.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [2.6, 0.9 * len(lanes)]}
    )
    draw_spectrogram(mel_ax, log_mel_image(samples, sample_rate), start)
    lane = 0
    for k, a in enumerate(alignments):
        words = _inside(a.words, start, end)
        for t in sorted({x for w in words for x in (w.start, w.end)}):
            mel_ax.axvline(
                t,
                color=_LINE_COLOURS[k],
                linestyle=_LINE_STYLES[k],
                linewidth=0.9,
                gid=f"{a.engine}-boundary",
            )
        for kind, items in (("words", words), ("chars", _inside(a.chars, start, end))):
            if kind == "chars" and not a.chars:
                continue
            spoken = [
                SpokenWord(w.start, w.end, w.text, w.probability, str(lane))
                for w in items
            ]
            draw_boxes(
                lane_ax, spoken, {str(lane): lane}, gid_prefix=f"{a.engine}-{kind}"
            )
            lane += 1
    lane_ax.set_ylim(len(lanes), 0)
    lane_ax.set_yticks(
        [k + 0.5 for k in range(len(lanes))], [label for label, _ in lanes], fontsize=8
    )
    lane_ax.set_xlim(start, end)
    lane_ax.set_xlabel("time (s)")
    confidence_colorbar(fig, [mel_ax, lane_ax])
    if len(alignments) == 2:
        from matplotlib.lines import Line2D

        mel_ax.legend(
            handles=[
                Line2D([], [], color="black", linestyle=_LINE_STYLES[k], label=a.engine)
                for k, a in enumerate(alignments)
            ],
            loc="upper right",
            fontsize=8,
        )
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def draw_alignment(
    samples: np.ndarray,
    sample_rate: int,
    alignments: Sequence[AlignmentLike],
    out: str | os.PathLike[str],
    *,
    start: float = 0.0,
    title: str | None = None,
) -> Path:
    """Draw :func:`alignment_figure` to ``out`` (png or svg by its suffix), atomically.

    Raises:
        ConfigError: another suffix, or not one or two alignments.
        OSError: ``out`` cannot be written (it is left as it was).
    """
    plot_format(out)
    fig = alignment_figure(samples, sample_rate, alignments, start=start, title=title)
    return save_figure(fig, out, _SVG_SALT)
