"""`aural transcribe --backend ray`: the batch on Ray Data, beside a ledger.

The command's flags are parsed and checked by :mod:`aural.cli.transcribe`, which hands
over here once the inputs are listed and the decoding options built; output names,
skipping and the progress display are the local batch's.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape

from aural.cli.common import (
    CLI_FLAGS,
    EXIT_SOME_FAILED,
    cli_message,
    err_console,
    exit_code_for,
    fail,
)
from aural.decoding.options import DecodeOptions
from aural.errors import AuralError

if TYPE_CHECKING:
    from aural.distributed import EngineSpec, Ledger

RAY_FLAGS = {
    **CLI_FLAGS,
    "max_failures": "--max-failures",
    "address": "--address",
    "workers": "--workers",
}


class RayJob:
    """The inputs of one ``--backend ray`` run, listed (paths and URLs)."""

    def __init__(self, sources: Sequence[str]) -> None:
        from aural.distributed import is_url

        # The local batch's output naming works on paths: a URL is named by its path
        # (s3://bucket/calls/a.flac -> a.txt) and counts as present.
        self.source_of = {Path(s): s for s in sources}
        self.paths = list(self.source_of)
        self._urls = {Path(s) for s in sources if is_url(s)}

    @classmethod
    def prepare(
        cls, inputs: list[str], *, output_dir: Path | None, diarize: bool
    ) -> RayJob:
        """Check what ``--backend ray`` needs, then list ``inputs`` (usage errors exit
        2)."""
        if output_dir is None:
            fail(
                "--backend ray writes files: give --output-dir (the ledger of done "
                "and failed inputs is kept there too)"
            )
        if "-" in inputs:
            fail("--backend ray cannot read standard input ('-'); give files or URLs")
        if diarize:
            fail("--diarize is not available with --backend ray; use --backend local")
        from aural.distributed import list_sources
        from aural.distributed.ray_batch import require_ray

        try:
            require_ray()
            sources = list_sources(inputs)
        except AuralError as err:
            fail(cli_message(err, RAY_FLAGS), exit_code_for(err))
        if not sources:
            fail("no audio inputs found in " + ", ".join(inputs))
        return cls(sources)

    def exists(self, path: Path) -> bool:
        """Whether the input named ``path`` is there (URLs were listed, so they are)."""
        return path in self._urls or path.exists()

    def run(
        self,
        engine: EngineSpec,
        options: DecodeOptions,
        formats: list[str],
        output_dir: Path,
        *,
        overwrite: bool,
        quiet: bool,
        workers: int | None,
        address: str | None,
        max_failures: int | None,
        raw_sample_rate: int | None,
        raw_encoding: str,
    ) -> None:
        """Transcribe what is missing, print the summary, exit 1 if any input failed."""
        from aural.cli.transcribe import _plan_outputs, _progress
        from aural.distributed import (
            LEDGER_NAME,
            Ledger,
            RaySettings,
            TooManyFailuresError,
            transcribe_on_ray,
        )

        t0 = time.perf_counter()
        try:
            settings = RaySettings(
                address=address, workers=workers, max_failures=max_failures
            )
            ledger = Ledger(output_dir / LEDGER_NAME)
        except AuralError as err:
            fail(cli_message(err, RAY_FLAGS), exit_code_for(err))
        outputs, todo = _plan_outputs(
            self.paths, output_dir, formats, overwrite, None, exists=self.exists
        )
        skipped = len(self.paths) - len(todo)
        if skipped:
            err_console.print(
                f"skipping {skipped} file(s) already transcribed (use --overwrite)"
            )
        self._record_found(ledger, output_dir, formats, set(todo))
        ledger.start(
            {
                "engine": engine.name,
                "model": engine.model,
                "formats": formats,
                "inputs": len(self.paths),
                "todo": len(todo),
                "address": address or "local",
                "workers": workers,
                "pid": os.getpid(),
            }
        )
        plan = {self.source_of[p]: outputs[p] for p in todo}
        _quiet_ray()
        done, failed, audio_s = 0, 0, 0.0
        try:
            with _progress(0.0, len(todo), quiet) as progress:
                task = progress.add_task("transcribing", total=len(todo), audio=0.0)
                items = transcribe_on_ray(
                    plan,
                    engine,
                    options,
                    ledger,
                    settings=settings,
                    raw_sample_rate=raw_sample_rate,
                    raw_encoding=raw_encoding,
                )
                for item in items:
                    if item.error is not None:
                        failed += 1
                        err_console.print(f"[red]failed:[/] {escape(item.error)}")
                    else:
                        done += 1
                        audio_s += item.duration
                    progress.update(task, advance=1, audio=audio_s)
        except TooManyFailuresError as err:
            fail(cli_message(err, RAY_FLAGS), EXIT_SOME_FAILED)
        except AuralError as err:
            fail(cli_message(err, RAY_FLAGS), exit_code_for(err))
        except KeyboardInterrupt:
            err_console.print("interrupted (what is done is in the ledger)")
            sys.exit(130)
        finally:
            ledger.close()
        elapsed = time.perf_counter() - t0
        rtf = elapsed / audio_s if audio_s else 0.0
        err_console.print(
            f"done: {done} transcribed, {skipped} skipped, {failed} failed; "
            f"{audio_s:.1f} s of audio in {elapsed:.1f} s (RTF {rtf:.3f})"
        )
        if failed:
            err_console.print(f"the failures are listed in {ledger.path}")
            sys.exit(EXIT_SOME_FAILED)

    def _record_found(
        self, ledger: Ledger, output_dir: Path, formats: list[str], todo: set[Path]
    ) -> None:
        """Inputs whose outputs are all there but that the ledger does not show done
        (a run stopped between writing them and recording it) are recorded now, so
        the ledger lists every finished input."""
        from aural.cli.transcribe import _output_paths

        last: dict[str, str] = {}
        for record in ledger.records():
            if record.event != "run":
                last[record.source] = record.event
        names = _output_paths(self.paths, output_dir, formats, self.exists)
        for path in self.paths:
            source = self.source_of[path]
            if path not in todo and last.get(source) != "done":
                ledger.done(source, names[path], found=True)


def _quiet_ray() -> None:
    """Ray's own console logs: errors only (its files under the session's logs/ folder
    keep the rest), native (C++) ones included unless RAY_BACKEND_LOG_LEVEL is set."""
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    logging.getLogger("ray").setLevel(logging.ERROR)
    logging.getLogger("ray.data").setLevel(logging.ERROR)
