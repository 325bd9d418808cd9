"""Helpers every CLI command shares: error reporting and option building."""

from __future__ import annotations

import sys
from typing import NoReturn

from rich.console import Console
from rich.markup import escape

from aural.errors import AuralError, ConfigError, MissingDependencyError, ModelNotFoundError

err_console = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print one line to stderr and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", markup=True)
    sys.exit(code)


def exit_code_for(err: AuralError) -> int:
    """Configuration, model and dependency errors are usage errors (2); else failures (1)."""
    usage = (ConfigError, ModelNotFoundError, MissingDependencyError)
    return EXIT_USAGE if isinstance(err, usage) else EXIT_SOME_FAILED


def warn(message: str) -> None:
    """Print one line to stderr, markup-safe."""
    err_console.print(escape(message), markup=False)


def parse_engine_spec(spec: str) -> tuple[str, str | None]:
    """``whisper:base`` -> ("whisper", "base"); ``sphinx`` -> ("sphinx", None)."""
    name, _, model = spec.partition(":")
    return name.strip(), (model.strip() or None)
