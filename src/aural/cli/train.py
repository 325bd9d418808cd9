"""`aural train` (run a recipe) and `aural export` (ONNX / int8 for deployment)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from aural.cli.common import cli_message, err_console, exit_code_for, fail
from aural.errors import AuralError


def train_command(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="Recipe YAML (recipes/*.yaml).")
    ],
    resume: Annotated[
        bool, typer.Option(help="Continue from the newest checkpoint.")
    ] = False,
    output_dir: Annotated[
        Path | None, typer.Option(help="Override output_dir.")
    ] = None,
    max_steps: Annotated[
        int | None, typer.Option(help="Override training.max_steps.")
    ] = None,
    max_minutes: Annotated[
        float | None,
        typer.Option(help="Override training.max_minutes (wall-clock budget)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors.")] = False,
) -> None:
    """Train a model from a recipe; checkpoints and metrics go to its output_dir.

    Multi-process: torchrun --nproc_per_node N -m aural.cli train --config FILE
    """
    from aural.training.config import load_config

    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(name)s: %(message)s",
    )
    try:
        cfg = load_config(config)
        changes: dict[str, object] = {}
        training: dict[str, object] = {}
        if output_dir is not None:
            changes["output_dir"] = str(output_dir)
        if max_steps is not None:
            training["max_steps"] = max_steps
        if max_minutes is not None:
            training["max_minutes"] = max_minutes
        if training:
            changes["training"] = training
        if changes:
            cfg = cfg.with_changes(changes)
        from aural.training.trainer import Trainer

        result = Trainer(cfg, resume=resume).run()
    except AuralError as err:
        fail(cli_message(err), exit_code_for(err))
    wer = "n/a" if result.best_dev_wer is None else f"{100 * result.best_dev_wer:.1f} %"
    if not quiet:
        err_console.print(
            f"trained {result.step} steps; best dev WER {wer} at step "
            f"{result.best_step}; model: {result.model_dir}",
            markup=False,
        )
    typer.echo(str(result.model_dir))


def export_command(
    model: Annotated[
        Path, typer.Argument(help="Checkpoint folder, model.pt or run folder.")
    ],
    output_dir: Annotated[Path, typer.Option(help="Where model.onnx (+ int8) go.")],
    int8: Annotated[
        bool, typer.Option("--int8/--no-int8", help="Also write model.int8.onnx.")
    ] = True,
    opset: Annotated[int, typer.Option(help="ONNX opset.")] = 17,
) -> None:
    """Export a trained model to ONNX (and an int8 dynamically quantised copy)."""
    from aural.training.export import export_onnx, quantize_int8

    try:
        onnx_path = export_onnx(model, output_dir, opset=opset)
        typer.echo(str(onnx_path))
        if int8:
            typer.echo(str(quantize_int8(onnx_path)))
    except AuralError as err:
        fail(cli_message(err), exit_code_for(err))


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
    app.command("export")(export_command)
