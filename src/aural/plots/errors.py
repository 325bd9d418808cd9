"""Pictures of a recogniser's errors, from scored utterances.

- ``confusion-matrix``: which reference words were replaced by which words (the words
  substituted most often, each cell the number of times).
- ``error-cloud``: the words most often wrong, sized by how often (substituted
  reference words upright, deleted ones italic, inserted ones bold), placed by a
  deterministic spiral (no ``wordcloud`` package).
- ``wer-spread``: the per-utterance WER spread over speakers and over duration bins
  (boxes; the group's pooled WER as a cross).
- ``confident-errors``: how sure the engine was of its right and wrong words, and the
  wrong words it was surest of. Needs word probabilities; without them the picture
  says so.

The utterances come in as :class:`ScoredUtterance` (``aural.evaluation.plots`` makes
them from results or ``results.json``). Figures are deterministic (fixed sizes, no
dates).
"""

from __future__ import annotations

import math
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from aural.plots.transcript import DPI, save_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "ERROR_PICTURES",
    "HIGH_CONFIDENCE",
    "ConfidentError",
    "ScoredUtterance",
    "SubstitutionMatrix",
    "confidence_figure",
    "confident_errors",
    "confusion_matrix_figure",
    "draw_error_pictures",
    "error_cloud_figure",
    "error_words",
    "has_probabilities",
    "substitution_matrix",
    "wer_spread_figure",
]

HIGH_CONFIDENCE = 0.8  # a wrong word at or above this probability counts as confident
MATRIX_WORDS = 12  # rows and columns of the confusion matrix
CLOUD_WORDS = 60
MAX_SPEAKER_BOXES = 20
MAX_LISTED = 20  # confident wrong words listed by name
_SVG_SALT = "aural-errors"
_KIND_STYLE = {  # colour and font style of each error kind in the cloud
    "substitution": ("#1b4f72", "normal", "normal"),
    "deletion": ("#a04000", "italic", "normal"),
    "insertion": ("#145a32", "normal", "bold"),
}


@dataclass(frozen=True, slots=True)
class ScoredUtterance:
    """One scored utterance as the error pictures see it.

    Attributes:
        id: utterance id.
        speaker: speaker id.
        duration: seconds of audio.
        duration_bin: its duration group (``"0-5"``...), as the report bins it.
        ops: the word alignment, ``(op, ref, hyp)`` with op one of ``equal``,
            ``substitute``, ``delete``, ``insert`` (ref None for an insertion, hyp
            None for a deletion).
        word_probabilities: one per hypothesis word in order, or None.
    """

    id: str
    speaker: str
    duration: float
    duration_bin: str
    ops: tuple[tuple[str, str | None, str | None], ...]
    word_probabilities: tuple[float, ...] | None = None

    @property
    def ref_words(self) -> int:
        return sum(1 for _, r, _ in self.ops if r is not None)

    @property
    def errors(self) -> int:
        return sum(1 for op, _, _ in self.ops if op != "equal")

    @property
    def wer(self) -> float:
        n = self.ref_words
        return self.errors / n if n else (0.0 if not self.errors else math.inf)


@dataclass(frozen=True, slots=True)
class SubstitutionMatrix:
    """Counts of reference word -> hypothesis word substitutions.

    Attributes:
        refs: the row words (most substituted first).
        hyps: the column words: each row's most frequent substitute, then the most
            frequent substitutes of those rows, most frequent first.
        counts: ``(len(refs), len(hyps))`` substitution counts.
        total: every substitution in the utterances (shown or not).
    """

    refs: tuple[str, ...]
    hyps: tuple[str, ...]
    counts: np.ndarray
    total: int


@dataclass(frozen=True, slots=True)
class ConfidentError:
    """A wrong hypothesis word the engine was sure of (grouped by spelling).

    Attributes:
        hyp: the word written.
        ref: the reference word it replaced (None for an insertion).
        count: how often.
        probability: the highest probability it got.
    """

    hyp: str
    ref: str | None
    count: int
    probability: float


def _ranked(counter: Counter[Any], k: int) -> list[Any]:
    """The ``k`` most frequent keys; equal counts in sorted key order."""
    return [key for key, _ in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))][
        :k
    ]


def substitution_matrix(
    utterances: Sequence[ScoredUtterance], size: int = MATRIX_WORDS
) -> SubstitutionMatrix:
    """The ``size`` most substituted reference words and their ``size`` most frequent
    substitutes, with the count of each pair."""
    pairs: Counter[tuple[str, str]] = Counter(
        (str(r), str(h)) for u in utterances for op, r, h in u.ops if op == "substitute"
    )
    by_ref: Counter[str] = Counter()
    for (r, _), n in pairs.items():
        by_ref[r] += n
    refs = _ranked(by_ref, size)
    by_hyp: Counter[str] = Counter()
    for (r, h), n in pairs.items():
        if r in refs:
            by_hyp[h] += n
    # each row's most frequent substitute first (so no row is empty), then the most
    # frequent substitutes overall; shown most frequent first
    chosen: list[str] = []
    for r in refs:
        own = Counter({h: n for (rr, h), n in pairs.items() if rr == r})
        best = _ranked(own, 1)[0]
        if best not in chosen and len(chosen) < size:
            chosen.append(best)
    for h in _ranked(by_hyp, len(by_hyp)):
        if len(chosen) >= size:
            break
        if h not in chosen:
            chosen.append(h)
    hyps = sorted(chosen, key=lambda h: (-by_hyp[h], h))
    counts = np.zeros((len(refs), len(hyps)), dtype=int)
    for i, r in enumerate(refs):
        for j, h in enumerate(hyps):
            counts[i, j] = pairs.get((r, h), 0)
    return SubstitutionMatrix(tuple(refs), tuple(hyps), counts, sum(pairs.values()))


def error_words(
    utterances: Sequence[ScoredUtterance],
) -> list[tuple[str, int, str]]:
    """``(word, count, kind)`` of every word involved in an error, most frequent first;
    ``kind`` is the word's most frequent error kind (substitution: the reference word
    replaced; deletion; insertion)."""
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    for u in utterances:
        for op, r, h in u.ops:
            if op == "substitute" and r is not None:
                kinds[r]["substitution"] += 1
            elif op == "delete" and r is not None:
                kinds[r]["deletion"] += 1
            elif op == "insert" and h is not None:
                kinds[h]["insertion"] += 1
    totals = Counter({w: sum(c.values()) for w, c in kinds.items()})
    return [
        (w, totals[w], _ranked(kinds[w], 1)[0]) for w in _ranked(totals, len(totals))
    ]


def has_probabilities(utterances: Sequence[ScoredUtterance]) -> bool:
    """Whether any utterance carries word probabilities below 1.0 (all 1.0 is what an
    engine without confidences reports)."""
    return any(
        p < 1.0
        for u in utterances
        if u.word_probabilities
        for p in u.word_probabilities
    )


def _hyp_words(u: ScoredUtterance) -> list[tuple[str, str | None, bool, float]]:
    """``(hyp, ref, correct, probability)`` per hypothesis word of ``u`` (which has
    probabilities)."""
    probs = u.word_probabilities or ()
    hyp_ops = [(op, r, h) for op, r, h in u.ops if h is not None]
    if len(hyp_ops) != len(probs):
        return []
    return [
        (str(h), r, op == "equal", p)
        for (op, r, h), p in zip(hyp_ops, probs, strict=True)
    ]


def confident_errors(
    utterances: Sequence[ScoredUtterance], threshold: float = HIGH_CONFIDENCE
) -> list[ConfidentError]:
    """Wrong hypothesis words with probability >= ``threshold``, grouped by (hyp, ref),
    most frequent first (then surest)."""
    groups: dict[tuple[str, str | None], list[float]] = defaultdict(list)
    for u in utterances:
        for h, r, ok, p in _hyp_words(u):
            if not ok and p >= threshold:
                groups[(h, r)].append(p)
    items = [ConfidentError(h, r, len(ps), max(ps)) for (h, r), ps in groups.items()]
    return sorted(items, key=lambda e: (-e.count, -e.probability, e.hyp, e.ref or ""))


# -- figures ---------------------------------------------------------------------------


def _figure(width: float, height: float, constrained: bool = True) -> Figure:
    from matplotlib.figure import Figure

    return Figure(
        figsize=(width, height), dpi=DPI, layout="constrained" if constrained else None
    )


def _empty(ax: Any, message: str) -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=11, wrap=True)


def confusion_matrix_figure(
    utterances: Sequence[ScoredUtterance], label: str = ""
) -> Figure:
    """The substitution matrix as a heat map with every non-zero count written in its
    cell."""
    m = substitution_matrix(utterances)
    fig = _figure(8.0, 7.0)
    ax = fig.subplots()
    title = f"{label}: substitutions" if label else "Substitutions"
    if not m.refs:
        _empty(ax, "no substitutions")
        ax.set_title(title)
        return fig
    image = ax.imshow(m.counts, cmap="Greys", vmin=0, vmax=max(1, int(m.counts.max())))
    ax.set_xticks(range(len(m.hyps)), m.hyps, rotation=60, ha="right", fontsize=9)
    ax.set_yticks(range(len(m.refs)), m.refs, fontsize=9)
    ax.set_xlabel("recognised as")
    ax.set_ylabel("reference word")
    high = m.counts.max() / 2
    for i in range(len(m.refs)):
        for j in range(len(m.hyps)):
            n = int(m.counts[i, j])
            if n:
                ax.text(
                    j,
                    i,
                    str(n),
                    ha="center",
                    va="center",
                    fontsize=9,
                    color="white" if n > high else "black",
                    gid="cell",
                )
    shown = int(m.counts.sum())
    ax.set_title(f"{title} ({shown} of {m.total} shown)")
    fig.colorbar(image, ax=ax, label="count", shrink=0.8)
    return fig


def _spiral(width: float, height: float, steps: int) -> np.ndarray:
    """Candidate centres (pixels) on an Archimedean spiral from the middle."""
    theta = np.arange(steps) * 0.15
    radius = 2.0 * theta
    aspect = width / height
    return np.stack(
        [
            width / 2 + radius * np.cos(theta) * aspect,
            height / 2 + radius * np.sin(theta),
        ],
        axis=1,
    )


def error_cloud_figure(
    utterances: Sequence[ScoredUtterance], label: str = ""
) -> Figure:
    """The most frequent error words, font size growing with the square root of the
    count, placed without overlap along a spiral (the same layout every run)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    words = error_words(utterances)[:CLOUD_WORDS]
    fig = _figure(9.0, 5.0, constrained=False)
    canvas = FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
    ax = fig.add_axes((0.0, 0.0, 1.0, 0.88))
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    title = f"{label}: most frequent errors" if label else "Most frequent errors"
    fig.suptitle(
        f"{title} (upright: substituted, italic: deleted, bold: inserted)", fontsize=11
    )
    if not words:
        _empty(ax, "no errors")
        return fig
    box = ax.get_window_extent(renderer)
    width, height = box.width, box.height
    top = words[0][1]
    placed: list[tuple[float, float, float, float]] = []
    candidates = _spiral(width, height, 6000)
    for word, count, kind in words:
        colour, style, weight = _KIND_STYLE[kind]
        size = 9.0 + 31.0 * math.sqrt(count / top)
        text = ax.text(
            0.5,
            0.5,
            word,
            fontsize=size,
            color=colour,
            style=style,
            weight=weight,
            ha="center",
            va="center",
            gid="cloud-word",
        )
        extent = text.get_window_extent(renderer)
        w, h = extent.width + 4.0, extent.height + 2.0
        spot = _free_spot(candidates, w, h, width, height, placed)
        if spot is None:
            text.remove()
            continue
        x, y = spot
        placed.append((x - w / 2, y - h / 2, x + w / 2, y + h / 2))
        text.set_position((x / width, y / height))
    return fig


def _free_spot(
    candidates: np.ndarray,
    w: float,
    h: float,
    width: float,
    height: float,
    placed: list[tuple[float, float, float, float]],
) -> tuple[float, float] | None:
    """The first candidate centre where a ``w`` x ``h`` box fits inside the area and
    overlaps no placed box (all candidates are tested at once)."""
    x, y = candidates[:, 0:1], candidates[:, 1:2]
    inside = (x[:, 0] >= w / 2) & (x[:, 0] <= width - w / 2)
    inside &= (y[:, 0] >= h / 2) & (y[:, 0] <= height - h / 2)
    if placed:
        boxes = np.array(placed, dtype=float)  # (placed, 4)
        overlap = (
            (boxes[None, :, 0] < x + w / 2)
            & (x - w / 2 < boxes[None, :, 2])
            & (boxes[None, :, 1] < y + h / 2)
            & (y - h / 2 < boxes[None, :, 3])
        )
        inside &= ~overlap.any(axis=1)
    hits = np.flatnonzero(inside)
    if not hits.size:
        return None
    cx, cy = candidates[hits[0]]
    return float(cx), float(cy)


def _boxes(ax: Any, groups: dict[str, list[float]], pooled: dict[str, float]) -> None:
    names = list(groups)
    ax.boxplot(
        [[100 * v for v in groups[n]] for n in names],
        tick_labels=names,
        widths=0.6,
        medianprops={"color": "black"},
        flierprops={"marker": ".", "markersize": 4},
    )
    ax.plot(
        range(1, len(names) + 1),
        [100 * pooled[n] for n in names],
        linestyle="none",
        marker="x",
        color="#b03a2e",
        label="pooled WER",
    )
    ax.set_ylabel("WER % per utterance")
    ax.tick_params(axis="x", labelrotation=60, labelsize=8)
    ax.legend(loc="upper right", fontsize=8)


def _pooled(items: list[ScoredUtterance]) -> float:
    n = sum(u.ref_words for u in items)
    return sum(u.errors for u in items) / n if n else 0.0


def wer_spread_figure(
    utterances: Sequence[ScoredUtterance],
    label: str = "",
    duration_bins: Sequence[str] = (),
) -> Figure:
    """Boxes of per-utterance WER for each speaker (the highest pooled WER first, at
    most :data:`MAX_SPEAKER_BOXES`) and each duration bin (in ``duration_bins`` order,
    then any others)."""
    scored = [u for u in utterances if u.ref_words]
    fig = _figure(12.0, 5.0)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2.2, 1.0]})
    by_speaker: dict[str, list[ScoredUtterance]] = defaultdict(list)
    by_bin: dict[str, list[ScoredUtterance]] = defaultdict(list)
    for u in scored:
        by_speaker[u.speaker].append(u)
        by_bin[u.duration_bin].append(u)
    prefix = f"{label}: " if label else ""
    if not scored:
        _empty(left, "no utterances with reference words")
        _empty(right, "")
        return fig
    speakers = sorted(by_speaker, key=lambda s: (-_pooled(by_speaker[s]), s))
    shown = speakers[:MAX_SPEAKER_BOXES]
    _boxes(
        left,
        {s: [u.wer for u in by_speaker[s]] for s in shown},
        {s: _pooled(by_speaker[s]) for s in shown},
    )
    more = (
        f", {len(shown)} highest of {len(speakers)}"
        if len(speakers) > len(shown)
        else ""
    )
    left.set_title(f"{prefix}WER over speakers{more}")
    left.set_xlabel("speaker")
    bins = [b for b in duration_bins if b in by_bin] + sorted(
        b for b in by_bin if b not in duration_bins
    )
    _boxes(
        right,
        {b: [u.wer for u in by_bin[b]] for b in bins},
        {b: _pooled(by_bin[b]) for b in bins},
    )
    right.set_title(f"{prefix}WER over durations")
    right.set_xlabel("duration (s)")
    return fig


def confidence_figure(utterances: Sequence[ScoredUtterance], label: str = "") -> Figure:
    """Left: histograms of the probabilities of right and wrong words. Right: the
    wrong words at or above :data:`HIGH_CONFIDENCE`, most frequent first."""
    fig = _figure(12.0, 5.0)
    left, right = fig.subplots(1, 2)
    prefix = f"{label}: " if label else ""
    if not has_probabilities(utterances):
        _empty(
            left,
            "these results carry no word probabilities\n(the engine gave none, or "
            "every word scored 1.0)",
        )
        right.set_axis_off()
        fig.suptitle(f"{prefix}confident errors", fontsize=11)
        return fig
    words = [w for u in utterances for w in _hyp_words(u)]
    bins = np.linspace(0.0, 1.0, 11)
    right_p = [p for _, _, ok, p in words if ok]
    wrong_p = [p for _, _, ok, p in words if not ok]
    left.hist(
        [right_p, wrong_p],
        bins=bins,
        stacked=True,
        color=["#bbbbbb", "#222222"],
        label=["right", "wrong"],
    )
    left.axvline(HIGH_CONFIDENCE, color="#b03a2e", linestyle="--", linewidth=1)
    left.set_xlabel("word probability")
    left.set_ylabel("hypothesis words")
    left.legend(loc="upper left", fontsize=9)
    left.set_title(f"{prefix}how sure the engine was")
    errors = confident_errors(utterances)
    total = sum(e.count for e in errors)
    right.set_axis_off()
    right.set_title(
        f"{total} wrong words at p >= {HIGH_CONFIDENCE:g} (of {len(wrong_p)} wrong)"
    )
    lines = [
        f"{e.count:>3} x  {e.hyp}  "
        + (f"for  {e.ref}" if e.ref is not None else "inserted")
        + f"   max p {e.probability:.2f}"
        for e in errors[:MAX_LISTED]
    ]
    if len(errors) > MAX_LISTED:
        lines.append(f"... and {len(errors) - MAX_LISTED} more")
    right.text(
        0.0,
        1.0,
        "\n".join(lines) or "none",
        va="top",
        ha="left",
        family="monospace",
        fontsize=9,
        transform=right.transAxes,
        gid="confident-list",
    )
    skipped = sum(1 for u in utterances if u.word_probabilities is None)
    if skipped:
        left.text(
            0.99,
            0.99,
            f"{skipped} utterance(s) without word probabilities left out",
            transform=left.transAxes,
            ha="right",
            va="top",
            fontsize=8,
        )
    return fig


ERROR_PICTURES: dict[str, Callable[..., Figure]] = {
    "confusion-matrix": confusion_matrix_figure,
    "error-cloud": error_cloud_figure,
    "wer-spread": wer_spread_figure,
    "confident-errors": confidence_figure,
}
"""file stem -> figure function of each error picture."""


def draw_error_pictures(
    utterances: Sequence[ScoredUtterance],
    folder: str | os.PathLike[str],
    *,
    label: str = "",
    stem_suffix: str = "",
    fmt: str = "png",
    duration_bins: Sequence[str] = (),
) -> dict[str, Path]:
    """Write every picture of :data:`ERROR_PICTURES` into ``folder`` as
    ``<name><stem_suffix>.<fmt>``; returns name -> path."""
    written: dict[str, Path] = {}
    for name, make in ERROR_PICTURES.items():
        if name == "wer-spread":
            fig = make(utterances, label, duration_bins)
        else:
            fig = make(utterances, label)
        path = Path(folder) / f"{name}{stem_suffix}.{fmt}"
        written[name] = save_figure(fig, path, _SVG_SALT)
    return written
