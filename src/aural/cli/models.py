"""`aural models`: list, locate and convert models."""

from __future__ import annotations

from typing import Annotated

import typer

from aural.cli.common import cli_message, exit_code_for, fail
from aural.errors import AuralError


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


def register(app: typer.Typer) -> None:
    models = typer.Typer(help="List, locate and convert models.", no_args_is_help=True)
    models.command("list")(models_list)
    models.command("path")(models_path)
    app.add_typer(models, name="models")


__all__ = ["register"]
