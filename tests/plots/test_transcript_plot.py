"""The transcript picture on jfk.flac transcribed by the real tiny.en: word boxes,
segment lines, pages, speaker lanes, the same bytes on every run, the HTML player's
file."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from aural.errors import ConfigError
from aural.plots.transcript import (
    MAX_HTML_SECONDS,
    TranscriptPicture,
    clip_segments,
    draw_transcript,
    page_count,
    segments_from_dict,
    segments_from_transcript,
    speakers_of,
    transcript_figure,
    transcript_html,
)


# tests using `jfk` are slow: tiny.en transcribes jfk.flac once per module
@pytest.fixture(scope="module")
def jfk(jfk_flac: Path) -> tuple[np.ndarray, dict]:
    """jfk's samples and tiny.en's transcript (as ``aural transcribe -f json``)."""
    import aural
    from aural.audio import load

    waveform = load(jfk_flac)
    transcript = aural.Recognizer().transcribe(waveform)
    assert transcript.words  # word timestamps are on by default
    return waveform.samples, transcript.to_dict()


def picture_of(samples: np.ndarray, doc: dict, **kw: object) -> TranscriptPicture:
    return TranscriptPicture(samples, 16000, 0.0, segments_from_dict(doc), **kw)


def word_boxes(fig) -> list:
    return [
        p
        for ax in fig.get_axes()
        for p in ax.patches
        if (p.get_gid() or "").startswith("word-")
    ]


def with_speakers(doc: dict) -> dict:
    """``doc`` diarized by hand: the first segment's words alternate A/B by halves,
    later segments are C (words carry their own key, segments too)."""
    out = json.loads(json.dumps(doc))
    for k, seg in enumerate(out["segments"]):
        seg["speaker"] = "C" if k else "A"
        if k == 0:
            half = len(seg["words"]) // 2
            for j, w in enumerate(seg["words"]):
                w["speaker"] = "A" if j < half else "B"
    return out


@pytest.mark.slow
def test_transcript_figure_draws_one_box_per_word(jfk) -> None:
    samples, doc = jfk
    picture = picture_of(samples, doc, title="jfk")
    fig = transcript_figure(picture)
    boxes = word_boxes(fig)
    words = [w for s in doc["segments"] for w in s["words"]]
    assert len(boxes) == len(words)
    # each box sits at its word's times, shaded by its probability
    for box, w in zip(sorted(boxes, key=lambda b: b.get_x()), words, strict=True):
        assert box.get_x() == pytest.approx(w["start"])
        assert box.get_x() + box.get_width() == pytest.approx(w["end"], abs=1e-3)
    wave_ax, mel_ax, word_ax = fig.get_axes()[:3]
    # one page, as long as the audio
    assert word_ax.get_xlim() == pytest.approx((0.0, len(samples) / 16000))
    assert [t.get_text() for t in word_ax.get_yticklabels()] == ["words"]
    edges = {x for s in doc["segments"] for x in (s["start"], s["end"])}
    lines = [ln for ln in word_ax.lines if ln.get_gid() == "segment-boundary"]
    assert sorted(ln.get_xdata()[0] for ln in lines) == pytest.approx(sorted(edges))
    assert mel_ax.images[0].get_array().shape[0] == 80  # mel bins


@pytest.mark.slow
def test_transcript_figure_pages_a_long_recording(jfk) -> None:
    samples, doc = jfk
    fig = transcript_figure(picture_of(samples, doc), page_seconds=4.0)
    duration = len(samples) / 16000
    assert len(fig.subfigs) == int(np.ceil(duration / 4.0)) == 3
    gids = sorted(int(b.get_gid().split("-")[1]) for b in word_boxes(fig))
    assert gids == list(range(sum(len(s["words"]) for s in doc["segments"])))
    spans = [sf_.get_axes()[2].get_xlim() for sf_ in fig.subfigs]
    assert spans == [pytest.approx((4.0 * k, 4.0 * k + 4.0)) for k in range(3)]


@pytest.mark.slow
def test_transcript_figure_draws_one_lane_per_speaker(jfk) -> None:
    samples, doc = jfk
    diarized = with_speakers(doc)
    segments = segments_from_dict(diarized)
    speakers = speakers_of(segments)
    expected = ["A", "B"] + (["C"] if len(doc["segments"]) > 1 else [])
    assert list(speakers) == expected
    fig = transcript_figure(picture_of(samples, diarized))
    word_ax = fig.get_axes()[2]
    assert [t.get_text() for t in word_ax.get_yticklabels()] == expected
    lane_of = {name: k for k, name in enumerate(expected)}
    words = [w for s in segments for w in s.words]
    for box in word_boxes(fig):
        w = words[int(box.get_gid().split("-")[1])]
        assert int(box.get_y()) == lane_of[w.speaker]


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_draw_transcript_writes_the_same_bytes_twice(
    jfk, tmp_path: Path, suffix: str
) -> None:
    samples, doc = jfk
    picture = picture_of(samples, doc, title="jfk")
    first, second = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    assert draw_transcript(picture, first) == first
    draw_transcript(picture, second)
    data = first.read_bytes()
    assert data == second.read_bytes() and len(data) > 10_000
    if suffix == ".svg":
        assert "<dc:date>" not in data.decode("utf-8")
        assert data.decode().count('id="word-') == sum(
            len(s["words"]) for s in doc["segments"]
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == [first.name, second.name]


@pytest.mark.slow
def test_transcript_html_is_self_contained_and_stable(jfk) -> None:
    samples, doc = jfk
    picture = picture_of(samples, doc, title="jfk <speech>")
    page = transcript_html(picture)
    assert page == transcript_html(picture)
    assert re.search(r"https?://", page) is None  # nothing fetched from a network
    assert "jfk &lt;speech&gt;" in page
    words = [w for s in doc["segments"] for w in s["words"]]
    starts = re.findall(r"class='word' id='w\d+' data-start='([0-9.]+)'", page)
    assert [float(s) for s in starts] == pytest.approx(
        [w["start"] for w in words], abs=1e-3
    )
    flac = re.search(r"data:audio/flac;base64,([A-Za-z0-9+/=]+)", page)
    assert flac is not None
    audio, rate = sf.read(io.BytesIO(base64.b64decode(flac.group(1))))
    assert rate == 16000 and len(audio) == len(samples)
    png = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    assert png is not None and base64.b64decode(png.group(1)).startswith(b"\x89PNG")


@pytest.mark.slow
def test_clip_segments_keeps_the_words_inside(jfk) -> None:
    _, doc = jfk
    segments = segments_from_dict(doc)
    clipped = clip_segments(segments, 2.0, 6.0)
    kept = [w for s in clipped for w in s.words]
    assert kept and all(2.0 <= (w.start + w.end) / 2 < 6.0 for w in kept)
    every = [w for s in segments for w in s.words]
    assert len(kept) == sum(2.0 <= (w.start + w.end) / 2 < 6.0 for w in every)


@pytest.mark.slow
def test_segments_from_transcript_matches_the_json(jfk, jfk_flac: Path) -> None:
    from aural.types import Transcript

    _, doc = jfk
    assert segments_from_transcript(Transcript.from_dict(doc)) == segments_from_dict(
        doc
    )


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({"text": "hi"}, "no 'segments' list"),
        ({"segments": [3]}, "segment 0 is not an object"),
        ({"segments": [{"start": "x", "end": 1}]}, "segment 0: needs numeric"),
        ({"segments": [{"start": 2, "end": 1}]}, "segment 0: bad times"),
        (
            {"segments": [{"start": 0, "end": 1, "words": [{"start": 0, "end": 1}]}]},
            "segment 0 word 0: needs a 'text' string",
        ),
        (
            {
                "segments": [
                    {
                        "start": 0,
                        "end": 1,
                        "words": [
                            {"start": 0, "end": 1, "text": "a", "probability": 2}
                        ],
                    }
                ]
            },
            "'probability' must be in [0, 1]",
        ),
        (
            {"segments": [{"start": 0, "end": 1, "speaker": [1]}]},
            "'speaker' must be a string",
        ),
    ],
)
def test_segments_from_dict_names_the_bad_entry(doc: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        segments_from_dict(doc)
    assert needle in str(info.value)


@pytest.mark.parametrize(
    ("duration", "page_seconds", "pages"),
    [
        (0.5, 30.0, 1),
        (30.0, 30.0, 1),
        (30.0005, 30.0, 1),
        (30.01, 30.0, 2),
        (61, 30, 3),
    ],
)
def test_page_count_ignores_a_sliver_past_whole_pages(
    duration: float, page_seconds: float, pages: int
) -> None:
    assert page_count(duration, page_seconds) == pages


def test_transcript_html_refuses_more_than_its_limit() -> None:
    seconds = int(MAX_HTML_SECONDS) + 1
    picture = TranscriptPicture(np.zeros(seconds * 16000, np.float32), 16000, 0.0, ())
    with pytest.raises(ConfigError, match=f"at most {MAX_HTML_SECONDS:g} s"):
        transcript_html(picture)


def test_speakers_of_a_diarized_transcript_reach_the_lanes() -> None:
    """aural.types carries speakers (issue 21): from the objects and from their JSON."""
    from aural.types import Segment, Transcript, TranscriptionInfo, Word

    words = (Word(0.0, 0.4, "hi"), Word(0.5, 1.0, "there", 0.9, "B"))
    transcript = Transcript(
        (
            Segment(0.0, 1.0, "hi there", words, speaker="A"),
            Segment(1.2, 2.0, "yes", (Word(1.2, 2.0, "yes", 0.5),), speaker="B"),
        ),
        TranscriptionInfo("en", 1.0, 2.0, "whisper", "tiny.en"),
    )
    from_objects = segments_from_transcript(transcript)
    assert segments_from_dict(transcript.to_dict()) == from_objects
    assert [w.speaker for s in from_objects for w in s.words] == ["A", "B", "B"]
    assert speakers_of(from_objects) == ("A", "B")
