"""The ledger of a distributed batch: which inputs are done and which failed, on disk.

One JSON object per line (JSONL), appended by the one process that writes the outputs
(the driver) and flushed to disk (``fsync``) before :meth:`Ledger.append` returns, so a
record that was written survives a crash of the machine. A ``done`` record is written
only after every output file of its input is in place (each written atomically), so the
ledger never claims an output that is not there.

Why JSONL and not SQLite: one writer appends, readers only scan it; a line is
readable with ``grep``/``jq`` while a job runs; a crash can at worst leave one torn
last line, which readers skip and the next writer seals off with a newline.

Lines (every one has ``event``, ``run`` and ``time``, an ISO 8601 UTC timestamp):

* ``{"event": "run", ...}``: a run started: its settings (engine, model, formats,
  inputs, address, workers).
* ``{"event": "done", "source", "outputs", "duration", "worker"}``: ``source`` was
  transcribed; ``outputs`` are the files written; ``worker`` names the process that
  recognised it (``host:pid``). ``"found": true`` marks an input whose outputs were
  already on disk when a later run started (its earlier run stopped between writing
  them and recording it).
* ``{"event": "failed", "source", "error", "worker"}``: ``source`` failed with
  ``error``; a later run tries it again.

The latest record of a source is its state.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aural.errors import ConfigError

__all__ = ["LEDGER_NAME", "Ledger", "LedgerRecord", "read_ledger"]

LEDGER_NAME = "aural-ledger.jsonl"
"""The ledger's file name inside the output folder."""

Event = Literal["run", "done", "failed"]


@dataclass(frozen=True, slots=True)
class LedgerRecord:
    """One line of the ledger.

    Attributes:
        event: ``run`` (a run started), ``done`` or ``failed`` (one input's outcome).
        run: the run that wrote it (a random hex id per run).
        time: when it was written (ISO 8601, UTC).
        source: the input (a path as given or a URL); empty for ``run``.
        outputs: the files written for ``source`` (``done``).
        duration: seconds of audio of ``source``, when it was decoded.
        error: why ``source`` failed (``failed``).
        worker: ``host:pid`` of the process that recognised ``source``.
        found: ``done`` recorded for outputs already on disk, not transcribed now.
        settings: a ``run`` record's settings.
    """

    event: Event
    run: str
    time: str
    source: str = ""
    outputs: tuple[str, ...] = ()
    duration: float | None = None
    error: str | None = None
    worker: str | None = None
    found: bool = False
    settings: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON line's fields (empty ones left out)."""
        d: dict[str, Any] = {"event": self.event, "run": self.run, "time": self.time}
        if self.event == "run":
            d.update(self.settings)
            return d
        d["source"] = self.source
        if self.event == "done":
            d["outputs"] = list(self.outputs)
        if self.duration is not None:
            d["duration"] = round(self.duration, 3)
        if self.error is not None:
            d["error"] = self.error
        if self.worker is not None:
            d["worker"] = self.worker
        if self.found:
            d["found"] = True
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LedgerRecord:
        """A record from one parsed line.

        Raises:
            ValueError: the line is not a ledger record.
        """
        event = d.get("event")
        if event not in ("run", "done", "failed"):
            raise ValueError(f"unknown ledger event {event!r}")
        common = {"event": event, "run": str(d["run"]), "time": str(d["time"])}
        if event == "run":
            rest = {k: v for k, v in d.items() if k not in common}
            return cls(**common, settings=rest)
        duration = d.get("duration")
        return cls(
            **common,
            source=str(d["source"]),
            outputs=tuple(str(o) for o in d.get("outputs", ())),
            duration=None if duration is None else float(duration),
            error=d.get("error"),
            worker=d.get("worker"),
            found=bool(d.get("found", False)),
        )


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def read_ledger(path: str | os.PathLike[str]) -> list[LedgerRecord]:
    """Every record in the ledger at ``path``, in the order written ([] if absent).

    Lines that do not parse (a line torn by a crash while it was written) are skipped.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        try:
            out.append(LedgerRecord.from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            continue  # a torn line: its input counts as not recorded
    return out


class Ledger:
    """The ledger of one run, open for appending; one writer at a time per folder.

    Opening takes an exclusive lock on the file (released when the process ends,
    however it ends), so two runs cannot write one output folder at once.

    Args:
        path: the ledger file (created if missing, with its folder).

    Raises:
        ConfigError: another process holds the ledger, or it cannot be opened.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.run = uuid.uuid4().hex[:12]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as err:
            raise ConfigError(
                f"cannot open the ledger {self.path} ({err.strerror or err})"
            ) from err
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(self._fd)
            raise ConfigError(
                f"{self.path} is held by another run writing to "
                f"{self.path.parent}; wait for it to finish, or write to another "
                "output_dir",
                options=("output_dir",),
            ) from err
        self._seal()

    def _seal(self) -> None:
        """End a line torn by a crash, so the next record starts on its own line."""
        size = os.fstat(self._fd).st_size
        if size and os.pread(self._fd, 1, size - 1) != b"\n":
            os.write(self._fd, b"\n")
            os.fsync(self._fd)

    def records(self) -> list[LedgerRecord]:
        """Every record written so far (by any run)."""
        return read_ledger(self.path)

    def append(self, record: LedgerRecord) -> None:
        """Write ``record`` as one line and flush it to disk."""
        line = json.dumps(record.to_dict(), ensure_ascii=False) + "\n"
        os.write(self._fd, line.encode("utf-8"))
        os.fsync(self._fd)

    def start(self, settings: Mapping[str, Any]) -> None:
        """Record that this run started, with its settings."""
        self.append(LedgerRecord("run", self.run, _now(), settings=dict(settings)))

    def done(
        self,
        source: str,
        outputs: Iterator[Path] | tuple[Path, ...] | list[Path],
        *,
        duration: float | None = None,
        worker: str | None = None,
        found: bool = False,
    ) -> None:
        """Record ``source`` as transcribed into ``outputs``."""
        self.append(
            LedgerRecord(
                "done",
                self.run,
                _now(),
                source=source,
                outputs=tuple(str(o) for o in outputs),
                duration=duration,
                worker=worker,
                found=found,
            )
        )

    def failed(
        self,
        source: str,
        error: str,
        *,
        duration: float | None = None,
        worker: str | None = None,
    ) -> None:
        """Record that ``source`` failed with ``error``."""
        self.append(
            LedgerRecord(
                "failed",
                self.run,
                _now(),
                source=source,
                error=error,
                duration=duration,
                worker=worker,
            )
        )

    def close(self) -> None:
        """Release the lock and the file."""
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
