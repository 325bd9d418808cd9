"""Helpers every CLI command shares: error reporting and option building."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from types import MappingProxyType
from typing import NoReturn

from rich.console import Console
from rich.markup import escape

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
