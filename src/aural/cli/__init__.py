"""The `aural` command line: a thin layer over the public API.

Each sub-command lives in its own module in this package and exposes
``register(app: typer.Typer) -> None``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import typer

app = typer.Typer(
    name="aural",
    help="aural: transcribe, evaluate, train and serve speech recognition.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_COMMAND_MODULES = (
    "transcribe",  # aural transcribe, aural models
    "evaluate",
    "listen",
    "serve",
    "train",
    "align",
    "lm",
    "baseline",
)

for _name in _COMMAND_MODULES:
    _mod = f"aural.cli.{_name}"
    if importlib.util.find_spec(_mod) is not None:
        importlib.import_module(_mod).register(app)


def main() -> None:
    """Entry point of the `aural` script."""
    try:
        app()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
