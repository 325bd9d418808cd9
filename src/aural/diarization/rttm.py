"""Reading RTTM speaker turns and UEM scoring regions (the NIST formats).

Writing RTTM is :func:`aural.writers.format_rttm`, next to the other output formats.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

from aural.errors import ConfigError
from aural.types import Turn

__all__ = ["parse_rttm", "read_rttm", "parse_uem", "read_uem"]


def parse_rttm(text: str, *, source: str = "<rttm>") -> dict[str, list[Turn]]:
    """``SPEAKER`` lines of an RTTM as turns per file id, in time order.

    Fields are split on any whitespace (tabs too). Lines of other types, blank lines
    and ``;`` comments are skipped. Zero-length turns are dropped, as NIST md-eval
    drops them.

    Raises:
        ConfigError: a ``SPEAKER`` line is malformed (the message names the line).
    """
    turns: dict[str, list[Turn]] = defaultdict(list)
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith(";") or fields[0] != "SPEAKER":
            continue
        try:
            start, duration = float(fields[3]), float(fields[4])
            speaker = fields[7]
        except (IndexError, ValueError) as err:
            raise ConfigError(
                f"{source}:{number}: not an RTTM SPEAKER line: {line.strip()!r}"
            ) from err
        if duration < 0:
            raise ConfigError(f"{source}:{number}: negative duration {duration}")
        if duration > 0:
            turns[fields[1]].append(Turn(start, start + duration, speaker))
    return {k: sorted(v) for k, v in turns.items()}


def read_rttm(path: str | os.PathLike[str]) -> dict[str, list[Turn]]:
    """:func:`parse_rttm` of a file."""
    return parse_rttm(Path(path).read_text(encoding="utf-8"), source=str(path))


def parse_uem(
    text: str, *, source: str = "<uem>"
) -> dict[str, list[tuple[float, float]]]:
    """UEM lines ``<file> <channel> <start> <end>`` as scored regions per file id.

    Raises:
        ConfigError: a line is malformed or ends before it starts.
    """
    regions: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith(";"):
            continue
        try:
            start, end = float(fields[2]), float(fields[3])
        except (IndexError, ValueError) as err:
            raise ConfigError(
                f"{source}:{number}: not a UEM line: {line.strip()!r}"
            ) from err
        if end < start:
            raise ConfigError(f"{source}:{number}: end {end} before start {start}")
        regions[fields[0]].append((start, end))
    return {k: sorted(v) for k, v in regions.items()}


def read_uem(path: str | os.PathLike[str]) -> dict[str, list[tuple[float, float]]]:
    """:func:`parse_uem` of a file."""
    return parse_uem(Path(path).read_text(encoding="utf-8"), source=str(path))
