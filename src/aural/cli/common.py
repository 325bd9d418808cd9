"""Helpers every CLI command shares: error reporting and option building."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import NoReturn

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from aural.errors import (
    AuralError,
    ConfigError,
    MissingDependencyError,
    ModelNotFoundError,
)

err_console = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_SOME_FAILED, EXIT_USAGE = 1, 2  # success is 0


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print one line to stderr and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", markup=True)
    sys.exit(code)


CLI_FLAGS: Mapping[str, str] = MappingProxyType(
    {
        "raw_sample_rate": "--raw-sample-rate",
        "raw_encoding": "--raw-encoding",
        "noise_dir": "--noise-dir",
        "rir_dir": "--rir-dir",
        "normalizer": "--normalizer",
        "engines": "--engine",
        "engine": "--engine",
        "model": "--model",
        "language": "--language",
        "beam_size": "--beam-size",
        "batch_size": "--batch-size",
        "hotwords": "--hotwords",
        "lm_weight": "--lm-weight",
        "compute_type": "--compute-type",
        "initial_prompt": "--initial-prompt",
        "word_timestamps": "--word-timestamps",
        "vad": "--vad",
        "output_dir": "--output-dir",
    }
)
"""The command-line flag for each API option an :class:`AuralError` may ask for (its
``options``). Options with no flag are left to the message's API wording."""


def cli_message(err: AuralError, flags: Mapping[str, str] = CLI_FLAGS) -> str:
    """The error as one CLI line: its message, its notes, and the flags for its options.

    The library words its messages in API terms (``pass raw_sample_rate``) and lists the
    options it asks for in ``err.options``; this adds their command-line spelling, so no
    message is parsed or rebuilt.

    Args:
        err: the error to show.
        flags: option name -> flag, for a command whose flags differ from
            :data:`CLI_FLAGS`; options missing from it are not mentioned.

    Example:
        >>> cli_message(
        ...     ConfigError("x.raw: pass raw_sample_rate", options=["raw_sample_rate"])
        ... )
        'x.raw: pass raw_sample_rate (on the command line: --raw-sample-rate)'
    """
    parts = [str(err), *(str(n) for n in getattr(err, "__notes__", ()))]
    named = dict.fromkeys(flags[o] for o in err.options if o in flags)
    if named:
        parts.append(f"(on the command line: {', '.join(named)})")
    return " ".join(p for p in parts if p)


def exit_code_for(err: AuralError) -> int:
    """Configuration, model and dependency errors are usage errors (2); else failures
    (1)."""
    usage = (ConfigError, ModelNotFoundError, MissingDependencyError)
    return EXIT_USAGE if isinstance(err, usage) else EXIT_SOME_FAILED


def warn(message: str) -> None:
    """Print one line to stderr, markup-safe."""
    err_console.print(escape(message), markup=False)


def parse_engine_spec(spec: str) -> tuple[str, str | None]:
    """``whisper:base`` -> ("whisper", "base"); ``sphinx`` -> ("sphinx", None)."""
    name, _, model = spec.partition(":")
    return name.strip(), (model.strip() or None)


@dataclass(slots=True)
class InputTally:
    """What :func:`for_each_input` did: inputs done, failed and the audio they held."""

    count: int  # inputs given
    done: int = 0
    failed: int = 0
    audio_s: float = 0.0
    elapsed_s: float = 0.0

    def finish(self, verb: str, *, rtf: bool = False) -> None:
        """For two inputs or more, one summary line on stderr (``done: 3 diarized, 1
        failed; ...``, with the real-time factor when ``rtf``); then exit 1 if any
        input failed."""
        if self.count > 1:
            line = (
                f"done: {self.done} {verb}, {self.failed} failed; {self.audio_s:.1f} s "
                f"of audio in {self.elapsed_s:.1f} s"
            )
            if rtf:
                factor = self.elapsed_s / self.audio_s if self.audio_s else 0.0
                line += f" (RTF {factor:.3f})"
            err_console.print(line)
        if self.failed:
            sys.exit(EXIT_SOME_FAILED)


def for_each_input(
    paths: Sequence[Path],
    description: str,
    process: Callable[[Path], float | None],
    *,
    quiet: bool = False,
    flags: Mapping[str, str] = CLI_FLAGS,
    on_failure: Callable[[Path, str], None] | None = None,
) -> InputTally:
    """Run ``process`` on each input in turn, with a progress bar for two or more.

    Args:
        paths: the inputs.
        description: the progress bar's label (``"diarizing"``).
        process: handles one input and returns the seconds of audio it held, or None
            for an input it skipped. An :class:`AuralError` it raises is printed as one
            ``failed:`` line, counted, and the next input follows.
        quiet: no progress bar.
        flags: option name -> flag for the failure lines (:func:`cli_message`).
        on_failure: also told of each failure, with its input and message.

    Returns:
        The tally; its :meth:`InputTally.finish` prints the summary and exits.
    """
    tally = InputTally(len(paths))
    t0 = time.perf_counter()
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err_console,
        disable=quiet or len(paths) < 2,
    ) as progress:
        task = progress.add_task(description, total=len(paths))
        for path in paths:
            try:
                seconds = process(path)
            except AuralError as err:
                tally.failed += 1
                message = cli_message(err, flags)
                err_console.print(f"[red]failed:[/] {escape(message)}")
                if on_failure is not None:
                    on_failure(path, message)
            else:
                if seconds is not None:
                    tally.done += 1
                    tally.audio_s += seconds
            progress.advance(task)
    tally.elapsed_s = time.perf_counter() - t0
    return tally
