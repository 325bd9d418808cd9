"""Render a :class:`Transcript` as txt, json, srt, vtt or tsv, diarization turns as
RTTM, and write files atomically.

Speakers (``Segment.speaker``, from diarization) appear only when set, so transcripts
without them render exactly as before: ``S1: text`` in txt and SRT, a ``<v S1>`` voice
tag in VTT, a ``speaker`` column in TSV and a ``speaker`` field in JSON. Segment
languages (``Segment.language``, from per-segment language detection) likewise: a
``<lang de>`` span in VTT, a ``language`` column in TSV and a ``language`` field in
JSON (txt and SRT have no place for them).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO, Literal, get_args

from aural.errors import ConfigError
from aural.types import SCHEMA_VERSION, Segment, Transcript, Turn

Format = Literal["txt", "json", "srt", "vtt", "tsv"]
"""The transcript formats :func:`render` writes."""
FORMATS: tuple[str, ...] = get_args(Format)


def format_timestamp(
    seconds: float, *, decimal: str = ".", always_hours: bool = True
) -> str:
    """``3723.5`` -> ``01:02:03.500`` (``,`` as decimal mark for SRT)."""
    ms = max(0, int(round(seconds * 1000)))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    head = f"{hours:02d}:" if always_hours or hours else ""
    return f"{head}{minutes:02d}:{secs:02d}{decimal}{ms:03d}"


def _labelled(s: Segment) -> str:
    """``S1: text`` for a segment with a speaker, the bare text otherwise."""
    text = s.text.strip()
    return f"{s.speaker}: {text}" if s.speaker is not None else text


def _srt(t: Transcript) -> str:
    blocks = []
    for i, s in enumerate(t.segments, 1):
        blocks.append(
            f"{i}\n{format_timestamp(s.start, decimal=',')} --> "
            f"{format_timestamp(s.end, decimal=',')}\n{_labelled(s)}\n"
        )
    return "\n".join(blocks)


def _vtt(t: Transcript) -> str:
    blocks = ["WEBVTT\n"]
    for s in t.segments:
        text = s.text.strip()
        if s.language is not None:  # a WebVTT language span (BCP 47 tag)
            text = f"<lang {s.language}>{text}</lang>"
        if s.speaker is not None:  # a WebVTT voice span names who speaks the cue
            text = f"<v {s.speaker}>{text}"
        blocks.append(
            f"{format_timestamp(s.start)} --> {format_timestamp(s.end)}\n{text}\n"
        )
    return "\n".join(blocks)


def _tsv(t: Transcript) -> str:
    # Whisper's convention: integer milliseconds, tab-separated, tabs in text replaced.
    # A speaker column is added only when diarization set one, a language column only
    # when segments carry their own language.
    with_speaker = any(s.speaker is not None for s in t.segments)
    with_language = any(s.language is not None for s in t.segments)
    header = ["start", "end"]
    header += ["speaker"] if with_speaker else []
    header += ["language"] if with_language else []
    rows = ["\t".join([*header, "text"])]
    for s in t.segments:
        text = s.text.strip().replace("\t", " ")
        cells = [str(int(round(s.start * 1000))), str(int(round(s.end * 1000)))]
        if with_speaker:
            cells.append(s.speaker or "")
        if with_language:
            cells.append(s.language or "")
        rows.append("\t".join([*cells, text]))
    return "\n".join(rows) + "\n"


def _txt(t: Transcript) -> str:
    if all(s.speaker is None for s in t.segments):
        return t.text + "\n" if t.text else ""
    # one line per speaker turn: consecutive segments of one speaker are joined
    lines: list[tuple[str | None, list[str]]] = []
    for s in t.segments:
        text = s.text.strip()
        if not text:
            continue
        if lines and lines[-1][0] == s.speaker:
            lines[-1][1].append(text)
        else:
            lines.append((s.speaker, [text]))
    return "".join(
        f"{speaker}: {' '.join(texts)}\n"
        if speaker is not None
        else f"{' '.join(texts)}\n"
        for speaker, texts in lines
    )


def format_rttm(turns: Iterable[Turn], file_id: str) -> str:
    """Turns as NIST RTTM ``SPEAKER`` lines, in time order.

    ``SPEAKER <file> 1 <start> <duration> <NA> <NA> <speaker> <NA> <NA>`` with times
    to the millisecond. Whitespace in ``file_id`` or a label is replaced by ``_``, since
    RTTM fields are whitespace-separated.
    """
    file_id = "_".join(file_id.split()) or "audio"
    lines = []
    for turn in sorted(turns):
        speaker = "_".join(turn.speaker.split()) or "unknown"
        lines.append(
            f"SPEAKER {file_id} 1 {turn.start:.3f} {turn.end - turn.start:.3f} "
            f"<NA> <NA> {speaker} <NA> <NA>\n"
        )
    return "".join(lines)


TurnFormat = Literal["rttm", "json", "txt"]
"""The diarization formats :func:`render_turns` writes."""
TURN_FORMATS: tuple[str, ...] = get_args(TurnFormat)


def render_turns(turns: Iterable[Turn], fmt: str, file_id: str) -> str:
    """Diarization turns as RTTM, JSON or txt.

    JSON: ``{"schema_version", "file", "num_speakers", "speakers", "turns": [{"start",
    "end", "speaker"}]}``; txt: one ``[start --> end] S1`` line per turn.

    Raises:
        ConfigError: unknown format.
    """
    ordered = sorted(turns)
    if fmt == "rttm":
        return format_rttm(ordered, file_id)
    if fmt == "json":
        speakers = sorted({t.speaker for t in ordered})
        doc = {
            "schema_version": SCHEMA_VERSION,
            "file": file_id,
            "num_speakers": len(speakers),
            "speakers": speakers,
            "turns": [t.to_dict() for t in ordered],
        }
        return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    if fmt == "txt":
        return "".join(
            f"[{format_timestamp(t.start)} --> {format_timestamp(t.end)}] {t.speaker}\n"
            for t in ordered
        )
    raise ConfigError(
        f"unknown diarization format {fmt!r}; use one of {', '.join(TURN_FORMATS)}"
    )


def render(transcript: Transcript, fmt: str) -> str:
    """The transcript as text in ``fmt`` (txt, json, srt, vtt or tsv)."""
    if fmt == "txt":
        return _txt(transcript)
    if fmt == "json":
        return json.dumps(transcript.to_dict(), ensure_ascii=False, indent=2) + "\n"
    if fmt == "srt":
        return _srt(transcript)
    if fmt == "vtt":
        return _vtt(transcript)
    if fmt == "tsv":
        return _tsv(transcript)
    raise ConfigError(f"unknown output format {fmt!r}; use one of {', '.join(FORMATS)}")


def _file_mode(path: Path) -> int:
    """The mode ``path`` should get: its current one when it exists, else what a plain
    ``open(path, "w")`` gives under the process umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        pass
    try:  # Linux reports the umask without changing it
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o644


def write_atomic(
    path: str | os.PathLike[str], data: str | bytes | Callable[[BinaryIO], object]
) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then
    rename: readers see the old file or the whole new one, never a partial file.

    The temporary file is flushed to disk (``fsync``) before it replaces ``path``. The
    file gets the mode an ordinary write would give (the temporary file alone would be
    private to its owner), or keeps the mode of the file it replaces. Missing parent
    folders are created. This is aural's one atomic write; use it for every output file.

    Args:
        path: the file to write.
        data: text (written as UTF-8), bytes, or a function that writes to the binary
            file object it is given (``lambda f: fig.savefig(f, format="png")``,
            ``lambda f: torch.save(state, f)``) for output too large to hold twice.

    Raises:
        OSError: the folder cannot be written; ``path`` is left as it was.
        TypeError: ``data`` is none of the above.
    """
    if not isinstance(data, (str, bytes)) and not callable(data):
        raise TypeError(
            f"write_atomic needs str, bytes or a writer function, got "
            f"{type(data).__name__}"
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            if isinstance(data, str):
                f.write(data.encode("utf-8"))
            elif isinstance(data, bytes):
                f.write(data)
            else:
                data(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable where the system allows it (POSIX)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
