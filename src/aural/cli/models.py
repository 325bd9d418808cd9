"""`aural models`: list, locate and convert models."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from aural.cli.common import CLI_FLAGS, cli_message, exit_code_for, fail, warn
from aural.errors import AuralError

# the flags of `aural models convert`, for the options its errors name
CONVERT_FLAGS = {
    **CLI_FLAGS,
    "to": "--to",
    "output": "--output",
    "quantization": "--quantization",
    "overwrite": "--overwrite",
}


def models_list() -> None:
    """List the models aural knows and whether they are installed."""
    from aural.engines.whisper import list_models

    for alias, where in list_models():
        typer.echo(f"whisper:{alias}\t{where}")
    typer.echo("sphinx:en-us\tinstalled (pocketsphinx)")


def models_path(
    name: Annotated[str, typer.Argument(help="Whisper model alias, folder or hub id.")],
) -> None:
    """Print the local folder of a Whisper model (downloads it where there is a
    network)."""
    from aural.engines.whisper import resolve_whisper_model

    try:
        typer.echo(str(resolve_whisper_model(name)))
    except AuralError as err:
        fail(cli_message(err), exit_code_for(err))


def models_convert(
    src: Annotated[
        str,
        typer.Argument(
            help="Whisper model: an alias (tiny.en, base), a CTranslate2 folder or a "
            "Hugging Face folder."
        ),
    ],
    to: Annotated[
        str,
        typer.Option(help="hf (transformers, PyTorch) or ct2 (CTranslate2)."),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write.")],
    quantization: Annotated[
        str | None,
        typer.Option(
            help="Stored type. ct2: int8 (default), float16, float32; hf: float32 "
            "(default), float16."
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option(help="Replace OUTPUT when it exists and is not empty.")
    ] = False,
) -> None:
    """Convert a Whisper model between CTranslate2 and Hugging Face transformers.

    Prints the output folder when done; a failed conversion leaves nothing behind.
    """
    started = time.perf_counter()
    try:
        from aural.engines.whisper import convert_model

        _hide_progress_bars()
        done = convert_model(
            src,
            to,  # checked by convert_model: a bad value is a ConfigError (exit 2)
            output,
            quantization,
            overwrite,
            progress=lambda line: warn(f"{line} ..."),
        )
    except AuralError as err:
        fail(cli_message(err, CONVERT_FLAGS), exit_code_for(err))
    warn(f"done in {time.perf_counter() - started:.1f} s")
    typer.echo(str(done))


def _hide_progress_bars() -> None:
    """One status line per step instead of transformers' progress bars (the CLI owns
    its process, so it may change this setting)."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def register(app: typer.Typer) -> None:
    models = typer.Typer(help="List, locate and convert models.", no_args_is_help=True)
    models.command("list")(models_list)
    models.command("path")(models_path)
    models.command("convert")(models_convert)
    app.add_typer(models, name="models")


__all__ = ["register"]
