"""A recording with its transcript: waveform, log-mel spectrogram and word boxes.

Each page shows one stretch of time (``page_seconds``) in three panels sharing the time
axis: the waveform, the log-mel spectrogram, and the words as boxes at their times,
shaded by the engine's confidence (viridis: dark = unsure, light = sure; the order holds
in greyscale). Segment boundaries are dashed lines across all three panels. When the
transcript names speakers, each speaker has a lane of its own. Longer recordings are
drawn as several pages stacked in one tall figure, so one file holds the whole
recording at the same scale.

:func:`transcript_html` writes the same picture as one wide, horizontally scrolling row
into a self-contained HTML file that plays the audio with a cursor over the picture.
Files carry no dates: the same input gives the same bytes.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from aural.errors import ConfigError
from aural.plots.attention import plot_format
from aural.writers import write_atomic

if TYPE_CHECKING:
    from matplotlib.figure import Figure, SubFigure

    from aural.types import Transcript

__all__ = [
    "HTML_PIXELS_PER_SECOND",
    "MAX_HTML_SECONDS",
    "MAX_PAGES",
    "PAGE_SECONDS",
    "SpokenSegment",
    "SpokenWord",
    "TranscriptPicture",
    "clip_segments",
    "confidence_colorbar",
    "draw_boxes",
    "draw_spectrogram",
    "draw_transcript",
    "draw_waveform",
    "log_mel_image",
    "page_count",
    "save_figure",
    "segments_from_dict",
    "segments_from_transcript",
    "speakers_of",
    "transcript_figure",
    "transcript_html",
    "write_transcript_html",
]

PAGE_SECONDS = 30.0  # seconds per page of a png/svg picture
MAX_PAGES = 40  # 20 minutes at the default page length
PAGE_SIZE = (14.0, 5.0)  # inches per page; dpi 100
DPI = 100
HTML_PIXELS_PER_SECOND = 80  # horizontal scale of the HTML picture
HTML_HEIGHT = 4.8  # inches
MAX_HTML_SECONDS = 600.0  # the picture stays under Agg's 65536-pixel limit
MEL_FRAMES_PER_SECOND = 100  # hop 160 at 16 kHz
NUM_MELS = 80
MEL_RANGE = 10.0  # natural-log units below the loudest frame that stay visible (43 dB)
WAVEFORM_COLUMNS = 1600  # min/max envelope columns per page
CONFIDENCE_CMAP = "viridis"
SPECTROGRAM_CMAP = "magma"
_SEGMENT_LINE = "#444444"
_SVG_SALT = "aural-transcript"
_METADATA: dict[str, dict[str, str | None]] = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
}
NO_SPEAKER = "words"  # the single lane's label when the transcript names no speakers


@dataclass(frozen=True, slots=True)
class SpokenWord:
    """A word with its times, confidence and (when diarized) speaker.

    Attributes:
        start / end: seconds from the start of the recording.
        text: the word as written.
        probability: the engine's confidence in [0, 1].
        speaker: the speaker's label, or None.
    """

    start: float
    end: float
    text: str
    probability: float = 1.0
    speaker: str | None = None


@dataclass(frozen=True, slots=True)
class SpokenSegment:
    """A segment of the transcript with its words (seconds, as :class:`SpokenWord`)."""

    start: float
    end: float
    text: str
    words: tuple[SpokenWord, ...] = ()
    speaker: str | None = None


@dataclass(frozen=True, slots=True)
class TranscriptPicture:
    """What one picture shows: a stretch of audio and the transcript inside it.

    Attributes:
        samples: mono float samples of the stretch, shape ``(num_samples,)``.
        sample_rate: Hz.
        start: seconds into the recording of ``samples[0]``.
        segments: the segments and words (recording times) to draw.
        title: the figure's title (None = none).
    """

    samples: np.ndarray
    sample_rate: int
    start: float
    segments: tuple[SpokenSegment, ...]
    title: str | None = None

    @property
    def end(self) -> float:
        return self.start + len(self.samples) / self.sample_rate

    @property
    def words(self) -> tuple[SpokenWord, ...]:
        return tuple(w for s in self.segments for w in s.words)


# -- transcripts -----------------------------------------------------------------------


def _speaker(d: Mapping[str, Any], where: str) -> str | None:
    value = d.get("speaker")
    if value is None:
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ConfigError(f"{where}: 'speaker' must be a string, got {value!r}")
    return str(value)


def _times(d: Mapping[str, Any], where: str) -> tuple[float, float]:
    try:
        start, end = float(d["start"]), float(d["end"])
    except (KeyError, TypeError, ValueError) as err:
        raise ConfigError(f"{where}: needs numeric 'start' and 'end'") from err
    if not (math.isfinite(start) and math.isfinite(end)) or end < start:
        raise ConfigError(f"{where}: bad times start={start} end={end}")
    return start, end


def segments_from_dict(data: Mapping[str, Any]) -> tuple[SpokenSegment, ...]:
    """The segments of an aural transcript JSON document (``aural transcribe -f
    json``), with the optional ``speaker`` key of segments and words.

    A word without its own ``speaker`` takes its segment's.

    Raises:
        ConfigError: not a transcript (no ``segments`` list) or a malformed entry; the
            message names the entry.
    """
    segments = data.get("segments") if isinstance(data, Mapping) else None
    if not isinstance(segments, list):
        raise ConfigError("not an aural transcript: no 'segments' list")
    out: list[SpokenSegment] = []
    for i, s in enumerate(segments):
        where = f"segment {i}"
        if not isinstance(s, Mapping):
            raise ConfigError(f"{where} is not an object")
        start, end = _times(s, where)
        speaker = _speaker(s, where)
        words: list[SpokenWord] = []
        for j, w in enumerate(s.get("words") or ()):
            at = f"{where} word {j}"
            if not isinstance(w, Mapping) or not isinstance(w.get("text"), str):
                raise ConfigError(f"{at}: needs a 'text' string")
            w_start, w_end = _times(w, at)
            p = w.get("probability", 1.0)
            if not isinstance(p, (int, float)) or not 0.0 <= float(p) <= 1.0:
                raise ConfigError(f"{at}: 'probability' must be in [0, 1], got {p!r}")
            words.append(
                SpokenWord(
                    w_start, w_end, w["text"], float(p), _speaker(w, at) or speaker
                )
            )
        text = s.get("text")
        out.append(
            SpokenSegment(
                start,
                end,
                text if isinstance(text, str) else "",
                tuple(words),
                speaker,
            )
        )
    return tuple(out)


def segments_from_transcript(transcript: Transcript) -> tuple[SpokenSegment, ...]:
    """The segments of a :class:`~aural.types.Transcript`, with the speakers that
    diarization set (a word without one takes its segment's)."""
    out = []
    for s in transcript.segments:
        speaker = s.speaker
        words = tuple(
            SpokenWord(
                w.start,
                w.end,
                w.text,
                w.probability,
                w.speaker or speaker,
            )
            for w in s.words
        )
        out.append(SpokenSegment(s.start, s.end, s.text, words, speaker))
    return tuple(out)


def clip_segments(
    segments: Sequence[SpokenSegment], start: float, end: float
) -> tuple[SpokenSegment, ...]:
    """The segments overlapping ``[start, end)``, with only the words whose middle lies
    inside it."""
    out = []
    for s in segments:
        if s.end <= start or s.start >= end:
            continue
        words = tuple(w for w in s.words if start <= (w.start + w.end) / 2 < end)
        out.append(SpokenSegment(s.start, s.end, s.text, words, s.speaker))
    return tuple(out)


def speakers_of(segments: Sequence[SpokenSegment]) -> tuple[str, ...]:
    """The speakers in order of first appearance (segments and words)."""
    seen: dict[str, None] = {}
    for s in segments:
        if s.speaker is not None:
            seen.setdefault(s.speaker)
        for w in s.words:
            if w.speaker is not None:
                seen.setdefault(w.speaker)
    return tuple(seen)


def _lanes(segments: Sequence[SpokenSegment]) -> tuple[str, ...]:
    """Lane labels: the speakers (plus ``?`` for words with none), or one lane."""
    speakers = speakers_of(segments)
    if not speakers:
        return (NO_SPEAKER,)
    if any(w.speaker is None for s in segments for w in s.words):
        return (*speakers, "?")
    return speakers


# -- drawing helpers (shared with the alignment picture) -------------------------------


def log_mel_image(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Natural-log mel energies for a picture, shape ``(NUM_MELS, num_frames)`` at
    :data:`MEL_FRAMES_PER_SECOND`, floored :data:`MEL_RANGE` below the maximum.

    Args:
        samples: mono float samples.
        sample_rate: Hz; the hop is 10 ms and the window 25 ms at any rate.
    """
    import torch

    from aural.audio.features import FeatureOptions, log_mel

    hop = max(1, round(sample_rate / MEL_FRAMES_PER_SECOND))
    n_fft = max(hop, round(sample_rate * 0.025))
    options = FeatureOptions(
        sample_rate=sample_rate, n_fft=n_fft, hop_length=hop, num_mels=NUM_MELS
    )
    if len(samples) == 0:
        return np.zeros((NUM_MELS, 0), np.float32)
    with torch.no_grad():
        feats, _ = log_mel(
            torch.from_numpy(np.ascontiguousarray(samples, np.float32))[None],
            None,
            options,
        )
    mel: np.ndarray = feats[0].numpy().T
    floored: np.ndarray = np.maximum(mel, float(mel.max()) - MEL_RANGE)
    return floored


def draw_spectrogram(ax: Any, mel: np.ndarray, start: float) -> None:
    """``mel`` (from :func:`log_mel_image`) on ``ax`` with its first frame at
    ``start`` seconds."""
    end = start + mel.shape[1] / MEL_FRAMES_PER_SECOND
    ax.imshow(
        mel,
        origin="lower",
        aspect="auto",
        cmap=SPECTROGRAM_CMAP,
        interpolation="nearest",
        extent=(start, end, 0, mel.shape[0]),
    )
    ax.set_ylabel("mel bin")


def draw_waveform(
    ax: Any, samples: np.ndarray, sample_rate: int, start: float, columns: int
) -> None:
    """The min/max envelope of ``samples`` in ``columns`` columns (plain lines for
    few samples)."""
    n = len(samples)
    if n == 0:
        return
    if n <= 2 * columns:
        t = start + np.arange(n) / sample_rate
        ax.plot(t, samples, color="#333333", linewidth=0.6)
    else:
        edges = np.linspace(0, n, columns + 1).astype(int)
        low = np.minimum.reduceat(samples, edges[:-1])
        high = np.maximum.reduceat(samples, edges[:-1])
        t = start + edges[:-1] / sample_rate
        ax.fill_between(t, low, high, color="#333333", linewidth=0, step="post")
    peak = float(np.max(np.abs(samples))) or 1.0
    ax.set_ylim(-1.05 * peak, 1.05 * peak)
    ax.set_ylabel("amplitude")


def save_figure(fig: Figure, out: str | os.PathLike[str], salt: str) -> Path:
    """Write ``fig`` to ``out`` (png or svg by its suffix) atomically, without dates
    and with fixed svg ids."""
    import matplotlib

    fmt = plot_format(out)
    with matplotlib.rc_context({"svg.hashsalt": salt}):
        write_atomic(
            out,
            lambda f: fig.savefig(f, format=fmt, dpi=DPI, metadata=_METADATA[fmt]),
        )
    return Path(out)


def draw_boxes(
    ax: Any,
    words: Sequence[SpokenWord],
    lane_of: Mapping[str | None, int],
    *,
    gid_prefix: str = "word",
    first_index: int = 0,
) -> list[Any]:
    """One rectangle per word in its lane, shaded by probability, the word written
    upright inside; returns the rectangles (gid ``word-<index>``)."""
    from matplotlib import colormaps
    from matplotlib.patches import Rectangle

    cmap = colormaps[CONFIDENCE_CMAP]
    boxes = []
    for k, w in enumerate(words):
        lane = lane_of.get(w.speaker, lane_of.get(None, 0))
        colour = cmap(w.probability)
        box = Rectangle(
            (w.start, lane + 0.08),
            max(w.end - w.start, 1e-3),
            0.84,
            facecolor=colour,
            edgecolor="black",
            linewidth=0.4,
            gid=f"{gid_prefix}-{first_index + k}",
        )
        ax.add_patch(box)
        boxes.append(box)
        luminance = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
        ax.text(
            (w.start + w.end) / 2,
            lane + 0.5,
            w.text.strip(),
            rotation=90,
            ha="center",
            va="center",
            fontsize=7,
            color="black" if luminance > 0.5 else "white",
            clip_on=True,
        )
    return boxes


# -- the picture -----------------------------------------------------------------------


PAGE_SLACK_S = 1e-3  # audio this much longer than whole pages adds no page


def page_count(duration: float, page_seconds: float) -> int:
    """Pages of ``page_seconds`` that ``duration`` seconds take (at least one)."""
    return max(1, math.ceil((duration - PAGE_SLACK_S) / page_seconds))


def _page_spans(
    start: float, end: float, page_seconds: float
) -> list[tuple[float, float]]:
    if not page_seconds > 0:
        raise ConfigError(f"page_seconds must be > 0, got {page_seconds}")
    count = page_count(end - start, page_seconds)
    if count == 1:  # one page: just the audio
        return [(start, end)]
    if count > MAX_PAGES:
        raise ConfigError(
            f"{end - start:.0f} s at {page_seconds:g} s a page makes {count} pages "
            f"(at most {MAX_PAGES}); draw a part with start/end or longer pages"
        )
    return [
        (start + k * page_seconds, start + (k + 1) * page_seconds) for k in range(count)
    ]


def _draw_row(
    host: Figure | SubFigure,
    picture: TranscriptPicture,
    mel: np.ndarray,
    span: tuple[float, float],
    lanes: tuple[str, ...],
    columns: int,
) -> list[Any]:
    """The three panels of one row over ``span``; returns its axes."""
    wave_ax, mel_ax, word_ax = host.subplots(
        3,
        1,
        sharex=True,
        gridspec_kw={"height_ratios": [0.8, 1.4, 0.5 + 0.5 * len(lanes)]},
    )
    first, last = span
    sr = picture.sample_rate
    a = max(0, round((first - picture.start) * sr))
    b = min(len(picture.samples), round((last - picture.start) * sr))
    draw_waveform(wave_ax, picture.samples[a:b], sr, picture.start + a / sr, columns)
    fa = round((first - picture.start) * MEL_FRAMES_PER_SECOND)
    fb = round((last - picture.start) * MEL_FRAMES_PER_SECOND)
    fa, fb = max(0, fa), min(mel.shape[1], fb)
    draw_spectrogram(mel_ax, mel[:, fa:fb], picture.start + fa / MEL_FRAMES_PER_SECOND)
    lane_of: dict[str | None, int] = {name: k for k, name in enumerate(lanes)}
    if lanes == (NO_SPEAKER,) or "?" in lanes:
        lane_of[None] = lanes.index("?") if "?" in lanes else 0
    words = picture.words
    index = [k for k, w in enumerate(words) if first <= (w.start + w.end) / 2 < last]
    for k in index:
        draw_boxes(word_ax, [words[k]], lane_of, first_index=k)
    word_ax.set_ylim(len(lanes), 0)
    word_ax.set_yticks([k + 0.5 for k in range(len(lanes))], list(lanes), fontsize=8)
    word_ax.set_xlabel("time (s)")
    word_ax.set_xlim(first, last)
    for t in sorted({x for s in picture.segments for x in (s.start, s.end)}):
        if first <= t <= last:
            for ax, colour in (
                (wave_ax, _SEGMENT_LINE),
                (mel_ax, "white"),
                (word_ax, _SEGMENT_LINE),
            ):
                ax.axvline(
                    t,
                    color=colour,
                    linewidth=0.9,
                    linestyle="--",
                    gid="segment-boundary",
                )
    return [wave_ax, mel_ax, word_ax]


def confidence_colorbar(fig: Figure | SubFigure, axes: list[Any]) -> None:
    """One word-confidence colour bar beside ``axes`` (which keep one width)."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    fig.colorbar(
        ScalarMappable(Normalize(0.0, 1.0), CONFIDENCE_CMAP),
        ax=axes,
        label="word confidence",
        pad=0.01,
        fraction=0.02,
    )


def transcript_figure(
    picture: TranscriptPicture, *, page_seconds: float = PAGE_SECONDS
) -> Figure:
    """The paged figure of ``picture`` (touches no file; see :func:`draw_transcript`).

    Raises:
        ConfigError: more than :data:`MAX_PAGES` pages.
    """
    from matplotlib.figure import Figure

    spans = _page_spans(picture.start, picture.end, page_seconds)
    width, height = PAGE_SIZE
    fig = Figure(figsize=(width, height * len(spans)), dpi=DPI, layout="constrained")
    mel = log_mel_image(picture.samples, picture.sample_rate)
    lanes = _lanes(picture.segments)
    hosts: list[Figure | SubFigure] = [fig]
    if len(spans) > 1:
        hosts = list(cast("np.ndarray", fig.subfigures(len(spans), 1)))
    for host, span in zip(hosts, spans, strict=True):
        confidence_colorbar(
            host, _draw_row(host, picture, mel, span, lanes, WAVEFORM_COLUMNS)
        )
    if picture.title:
        fig.suptitle(picture.title, fontsize=11)
    return fig


def draw_transcript(
    picture: TranscriptPicture,
    out: str | os.PathLike[str],
    *,
    page_seconds: float = PAGE_SECONDS,
) -> Path:
    """Draw ``picture`` to ``out`` (png or svg by its suffix), atomically.

    Raises:
        ConfigError: another suffix, or too many pages.
        OSError: ``out`` cannot be written (it is left as it was).
    """
    plot_format(out)
    return save_figure(
        transcript_figure(picture, page_seconds=page_seconds), out, _SVG_SALT
    )


# -- the HTML player -------------------------------------------------------------------

_HTML_CSS = """body{font-family:system-ui,sans-serif;margin:1em;color:#222}
#scroller{overflow-x:auto;border:1px solid #ccc;margin-top:.5em}
#picture{position:relative}#picture img{display:block}
#cursor{position:absolute;top:0;bottom:0;width:2px;background:#e8000b;
pointer-events:none}
.word{position:absolute;cursor:pointer;box-sizing:border-box}
.word:hover,.word.on{outline:3px solid #e8000b}
audio{width:100%}"""

_HTML_SCRIPT = """(function () {
  var audio = document.getElementById("audio");
  var cursor = document.getElementById("cursor");
  var picture = document.getElementById("picture");
  var scroller = document.getElementById("scroller");
  var axis = JSON.parse(picture.dataset.axis);
  var words = Array.prototype.slice.call(document.querySelectorAll(".word"));
  function x(t) {
    return axis.x0 + (t - axis.t0) / (axis.t1 - axis.t0) * (axis.x1 - axis.x0);
  }
  function place() {
    var t = axis.t0 + audio.currentTime;
    var left = x(t);
    cursor.style.left = left + "px";
    words.forEach(function (w) {
      var on = +w.dataset.start <= t && t < +w.dataset.end;
      w.classList.toggle("on", on);
    });
    var view = scroller.scrollLeft;
    if (left < view || left > view + scroller.clientWidth - 40) {
      scroller.scrollLeft = Math.max(0, left - scroller.clientWidth / 3);
    }
  }
  function tick() {
    place();
    if (!audio.paused) { window.requestAnimationFrame(tick); }
  }
  function seek(t) {
    audio.currentTime = Math.max(0, Math.min(t - axis.t0, audio.duration || 1e9));
    place();
  }
  audio.addEventListener("play", tick);
  audio.addEventListener("timeupdate", place);
  audio.addEventListener("seeked", place);
  words.forEach(function (w) {
    w.addEventListener("click", function (event) {
      event.stopPropagation();
      seek(+w.dataset.start);
    });
  });
  picture.addEventListener("click", function (event) {
    var box = picture.getBoundingClientRect();
    var px = event.clientX - box.left;
    if (px >= axis.x0 && px <= axis.x1) {
      seek(axis.t0 + (px - axis.x0) / (axis.x1 - axis.x0) * (axis.t1 - axis.t0));
    }
  });
  place();
})();"""


def _flac_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    import soundfile as sf

    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)
    buffer = io.BytesIO()
    sf.write(buffer, pcm, sample_rate, format="FLAC", subtype="PCM_16")
    return buffer.getvalue()


def _to_pixels(fig: Figure, ax: Any, x: float, y: float) -> tuple[float, float]:
    """Data point of ``ax`` -> pixel from the top-left of the saved picture."""
    px, py = ax.transData.transform((x, y))
    return float(px), float(fig.bbox.height - py)


def transcript_html(picture: TranscriptPicture) -> str:
    """A self-contained HTML page: the picture as one wide row over the audio (FLAC
    data URI), a cursor that follows playback, and words that seek when clicked.

    Raises:
        ConfigError: longer than :data:`MAX_HTML_SECONDS`.
    """
    from matplotlib.figure import Figure

    duration = picture.end - picture.start
    if duration > MAX_HTML_SECONDS:
        raise ConfigError(
            f"the HTML picture holds at most {MAX_HTML_SECONDS:g} s; got "
            f"{duration:.0f} s: draw a part with start/end"
        )
    width = max(8.0, duration * HTML_PIXELS_PER_SECOND / DPI + 1.8)
    fig = Figure(figsize=(width, HTML_HEIGHT), dpi=DPI, layout="constrained")
    lanes = _lanes(picture.segments)
    span = (picture.start, max(picture.end, picture.start + 1e-3))
    columns = max(200, round(duration * HTML_PIXELS_PER_SECOND))
    mel = log_mel_image(picture.samples, picture.sample_rate)
    axes = _draw_row(fig, picture, mel, span, lanes, columns)
    confidence_colorbar(fig, axes)
    if picture.title:
        fig.suptitle(picture.title, fontsize=11)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata=_METADATA["png"])
    word_ax = axes[2]
    x0, _ = _to_pixels(fig, axes[0], span[0], 0.0)
    x1, _ = _to_pixels(fig, word_ax, span[1], 0)
    boxes = []
    for k, w in enumerate(picture.words):
        patch = next((p for p in word_ax.patches if p.get_gid() == f"word-{k}"), None)
        if patch is None:
            continue
        left, y_top = _to_pixels(fig, word_ax, patch.get_x(), patch.get_y())
        right, y_bottom = _to_pixels(
            fig,
            word_ax,
            patch.get_x() + patch.get_width(),
            patch.get_y() + patch.get_height(),
        )
        y_top, y_bottom = sorted((y_top, y_bottom))
        boxes.append(
            f"<div class='word' id='w{k}' data-start='{w.start:.3f}' "
            f"data-end='{w.end:.3f}' title='{html.escape(w.text.strip())} "
            f"(p={w.probability:.2f})' style='left:{left:.1f}px;top:{y_top:.1f}px;"
            f"width:{max(2.0, right - left):.1f}px;height:{y_bottom - y_top:.1f}px'>"
            "</div>"
        )
    axis = json.dumps(
        {
            "t0": round(span[0], 4),
            "t1": round(span[1], 4),
            "x0": round(x0, 2),
            "x1": round(x1, 2),
        }
    )
    png = base64.b64encode(buffer.getvalue()).decode("ascii")
    flac = base64.b64encode(_flac_bytes(picture.samples, picture.sample_rate)).decode(
        "ascii"
    )
    title = html.escape(picture.title or "transcript")
    w_px, h_px = round(fig.bbox.width), round(fig.bbox.height)
    return "\n".join(
        [
            "<!doctype html>",
            "<html lang='en'><head><meta charset='utf-8'>",
            f"<title>{title}</title><style>{_HTML_CSS}</style></head><body>",
            f"<h1>{title}</h1>",
            "<p>Play the audio: the red line follows it. Click a word (or anywhere on "
            "the picture) to jump there. Boxes are shaded by confidence: dark = "
            "unsure.</p>",
            f"<audio id='audio' controls preload='auto' src='data:audio/flac;base64,"
            f"{flac}'></audio>",
            "<div id='scroller'>",
            f"<div id='picture' style='width:{w_px}px;height:{h_px}px' "
            f"data-axis='{html.escape(axis)}'>",
            f"<img src='data:image/png;base64,{png}' width='{w_px}' height='{h_px}' "
            f"alt='{title}'>",
            "<div id='cursor'></div>",
            *boxes,
            "</div></div>",
            f"<script>{_HTML_SCRIPT}</script>",
            "</body></html>",
            "",
        ]
    )


def write_transcript_html(
    picture: TranscriptPicture, out: str | os.PathLike[str]
) -> Path:
    """Write :func:`transcript_html` of ``picture`` to ``out`` atomically."""
    write_atomic(out, transcript_html(picture))
    return Path(out)
