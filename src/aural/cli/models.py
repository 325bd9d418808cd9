"""`aural models`: list, locate and convert models."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from aural.cli.common import (
    CLI_FLAGS,
    EXIT_USAGE,
    cli_message,
    exit_code_for,
    fail,
    warn,
)
from aural.errors import AuralError

# the flags of `aural models convert`, for the options its errors name
CONVERT_FLAGS = {
    **CLI_FLAGS,
    "to": "--to",
    "output": "--output",
    "quantization": "--quantization",
    "overwrite": "--overwrite",
}


ENGLISH_ONLY = "English only"
MULTILINGUAL = "multilingual"


def whisper_languages(name: str) -> str:
    """``English only`` or ``multilingual`` for a Whisper model name: the ``.en``
    models and distil-whisper's (trained on English speech) are English-only."""
    base = name.rsplit("/", 1)[-1].lower()
    english = base.endswith(".en") or "distil" in base
    return ENGLISH_ONLY if english else MULTILINGUAL


def model_rows() -> list[dict[str, str]]:
    """One row per model aural knows: the packaged Whisper models, every
    faster-whisper size by name (downloaded from the hub on first use), PocketSphinx.

    Each row: ``name`` (``engine:model``), ``status`` (``installed``, ``cached``, or
    how to get it), ``languages`` (``English only`` / ``multilingual``) and
    ``source`` (the package or hub repository).
    """
    import os

    from faster_whisper import utils as fw_utils

    from aural.engines.whisper import list_models, resolve_whisper_model
    from aural.errors import ModelNotFoundError

    repos: dict[str, str] = getattr(fw_utils, "_MODELS", {})
    rows = []
    packaged = set()
    for alias, where in list_models():
        packaged.add(alias)
        rows.append(
            {
                "name": f"whisper:{alias}",
                "status": where,
                "languages": whisper_languages(alias),
                "source": "a pip package (aural's registry models)",
            }
        )
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
    for size in fw_utils.available_models():
        if size in packaged:
            continue
        repo = repos.get(size, size)
        try:
            path = resolve_whisper_model(size, local_files_only=True)
            status = f"cached ({path})"
        except ModelNotFoundError:
            status = (
                "not on this machine (needs a network once)"
                if offline
                else "downloads on first use"
            )
        rows.append(
            {
                "name": f"whisper:{size}",
                "status": status,
                "languages": whisper_languages(size),
                "source": repo,
            }
        )
    rows.append(
        {
            "name": "sphinx:en-us",
            "status": "installed (pocketsphinx)",
            "languages": ENGLISH_ONLY,
            "source": "pocketsphinx",
        }
    )
    return rows


def models_list(
    format: Annotated[
        str, typer.Option("--format", help="text (tab-separated) or json.")
    ] = "text",
) -> None:
    """List the models aural knows: whether each is installed, English-only or
    multilingual, and where it comes from. Any faster-whisper size (small, medium,
    large-v3, distil-*...) loads by name where there is a network."""
    if format not in ("text", "json"):
        fail(f"--format must be text or json, got {format!r}", EXIT_USAGE)
    rows = model_rows()
    if format == "json":
        import json

        typer.echo(json.dumps(rows, indent=1))
        return
    for row in rows:
        typer.echo(
            f"{row['name']}\t{row['status']}\t{row['languages']}\t{row['source']}"
        )


def models_path(
    name: Annotated[str, typer.Argument(help="Whisper model alias, folder or hub id.")],
) -> None:
    """Print the local folder of a Whisper model: an alias, a faster-whisper size
    (small, large-v3, distil-large-v3...), a hub id or a folder (downloads it where
    there is a network)."""
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
