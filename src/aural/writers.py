"""Render a :class:`Transcript` as txt, json, srt, vtt or tsv, and write files
atomically."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Literal, get_args

from aural.errors import ConfigError
from aural.types import Transcript

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


def _srt(t: Transcript) -> str:
    blocks = []
    for i, s in enumerate(t.segments, 1):
        blocks.append(
            f"{i}\n{format_timestamp(s.start, decimal=',')} --> "
            f"{format_timestamp(s.end, decimal=',')}\n{s.text.strip()}\n"
        )
    return "\n".join(blocks)


def _vtt(t: Transcript) -> str:
    blocks = ["WEBVTT\n"]
    for s in t.segments:
        blocks.append(
            f"{format_timestamp(s.start)} --> {format_timestamp(s.end)}\n"
            f"{s.text.strip()}\n"
        )
    return "\n".join(blocks)


def _tsv(t: Transcript) -> str:
    # Whisper's convention: integer milliseconds, tab-separated, tabs in text replaced.
    rows = ["start\tend\ttext"]
    for s in t.segments:
        text = s.text.strip().replace("\t", " ")
        rows.append(f"{int(round(s.start * 1000))}\t{int(round(s.end * 1000))}\t{text}")
    return "\n".join(rows) + "\n"


def render(transcript: Transcript, fmt: str) -> str:
    """The transcript as text in ``fmt`` (txt, json, srt, vtt or tsv)."""
    if fmt == "txt":
        return transcript.text + "\n" if transcript.text else ""
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
