"""The result of aligning a known transcript to audio, and its output formats."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from aural.errors import ConfigError
from aural.types import SCHEMA_VERSION, Word
from aural.writers import format_timestamp

__all__ = ["FORMATS", "Alignment", "AlignmentFormat", "render_alignment"]

AlignmentFormat = Literal["json", "tsv", "srt", "vtt"]
FORMATS: tuple[str, ...] = ("json", "tsv", "srt", "vtt")
CUE_MAX_WORDS = 8  # subtitle cues hold at most this many words
CUE_MAX_S = 4.0  # ... and last at most this long
CUE_GAP_S = 0.6  # a pause this long starts a new cue


@dataclass(frozen=True, slots=True)
class Alignment:
    """Word (and, for CTC models, character) times of a known transcript.

    Attributes:
        words: transcript words in order, spelled as in the transcript, with start/end
            seconds and the aligner's confidence.
        chars: character (or subword) spans; empty for aligners without them.
        duration: seconds of input audio.
        engine: the aligner (``whisper``, ``ctc``, ``sphinx``).
        model: the model it used.
        transcript: the transcript as given.
    """

    words: tuple[Word, ...]
    chars: tuple[Word, ...]
    duration: float
    engine: str
    model: str
    transcript: str

    def to_dict(self) -> dict[str, Any]:
        def entry(w: Word) -> dict[str, Any]:
            return {
                "word": w.text,
                "start": round(w.start, 3),
                "end": round(w.end, 3),
                "probability": round(w.probability, 4),
            }

        out: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "engine": self.engine,
            "model": self.model,
            "duration": self.duration,
            "transcript": self.transcript,
            "words": [entry(w) for w in self.words],
        }
        if self.chars:
            out["chars"] = [entry(c) for c in self.chars]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Alignment:
        def word(e: dict[str, Any]) -> Word:
            return Word(
                float(e["start"]),
                float(e["end"]),
                str(e["word"]),
                float(e.get("probability", 1.0)),
            )

        return cls(
            tuple(word(e) for e in d["words"]),
            tuple(word(e) for e in d.get("chars", ())),
            float(d["duration"]),
            str(d["engine"]),
            str(d["model"]),
            str(d.get("transcript", "")),
        )


def _cues(words: tuple[Word, ...]) -> list[list[Word]]:
    cues: list[list[Word]] = []
    for w in words:
        if (
            cues
            and len(cues[-1]) < CUE_MAX_WORDS
            and w.end - cues[-1][0].start <= CUE_MAX_S
            and w.start - cues[-1][-1].end < CUE_GAP_S
        ):
            cues[-1].append(w)
        else:
            cues.append([w])
    return cues


def render_alignment(alignment: Alignment, fmt: str) -> str:
    """Render as ``json``, ``tsv`` (TextGrid-like tiers), ``srt`` or ``vtt``.

    Raises:
        ConfigError: an unknown format.
    """
    if fmt == "json":
        return json.dumps(alignment.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if fmt == "tsv":
        rows = ["tier\tstart\tend\tlabel\tprobability"]
        for tier, items in (("words", alignment.words), ("chars", alignment.chars)):
            rows += [
                f"{tier}\t{w.start:.3f}\t{w.end:.3f}\t{w.text}\t{w.probability:.4f}"
                for w in items
            ]
        return "\n".join(rows) + "\n"
    if fmt in ("srt", "vtt"):
        sep = "," if fmt == "srt" else "."
        blocks = [] if fmt == "srt" else ["WEBVTT", ""]
        for k, cue in enumerate(_cues(alignment.words), 1):
            timing = (
                f"{format_timestamp(cue[0].start, decimal=sep)} --> "
                f"{format_timestamp(cue[-1].end, decimal=sep)}"
            )
            text = " ".join(w.text for w in cue)
            blocks += ([str(k)] if fmt == "srt" else []) + [timing, text, ""]
        return "\n".join(blocks)
    raise ConfigError(
        f"unknown alignment format {fmt!r}; choose one of {', '.join(FORMATS)}"
    )
