"""`aural finetune` (adapt Whisper or a Hugging Face CTC model to your data) and
`aural distill` (a teacher labels audio, a smaller student learns from it)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from aural.cli.common import CLI_FLAGS, cli_message, err_console, exit_code_for, fail
from aural.errors import AuralError, ConfigError

_FLAGS = {**CLI_FLAGS, "resume": "--resume", "overwrite": "--overwrite"}


def _kind_of(model: str) -> str:
    """``ctc`` for a local Hugging Face folder of a non-Whisper model, else
    ``whisper``."""
    config = Path(model).expanduser() / "config.json"
    if config.is_file():
        try:
            model_type = json.loads(config.read_text()).get("model_type")
        except (OSError, ValueError):
            return "whisper"
        if model_type and model_type != "whisper":
            return "ctc"
    return "whisper"


def _recipe(
    config: Path | None,
    model: str | None,
    data: list[Path] | None,
    dev: list[Path] | None,
    output_dir: Path | None,
    max_steps: int | None,
) -> Any:
    from aural.finetune.config import load_finetune_config, parse_finetune_config

    changes: dict[str, Any] = {}
    if model is not None:
        changes["model"] = model
    data_changes: dict[str, Any] = {}
    if data:
        data_changes["train"] = [{"path": str(p)} for p in data]
    if dev:
        data_changes["dev"] = [{"path": str(p)} for p in dev]
    if data_changes:
        changes["data"] = data_changes
    if output_dir is not None:
        changes["output_dir"] = str(output_dir)
    if max_steps is not None:
        changes["training"] = {"max_steps": max_steps}
    if config is not None:
        recipe = load_finetune_config(config)
        return recipe.with_changes(changes) if changes else recipe
    if not data or output_dir is None:
        raise ConfigError(
            "without --config, pass --data (training audio) and --output-dir (the run "
            "folder)"
        )
    base: dict[str, Any] = {
        "name": output_dir.name or "finetune",
        "kind": _kind_of(model or "tiny.en"),
        "output_dir": str(output_dir),
        "data": {"train": [], "dev_fraction": 0.0 if dev else 0.1},
    }
    if model is not None and base["kind"] == "ctc":
        base["optim"] = {"lr": 3e-5, "warmup_steps": 50}
    merged = {**base, **changes, "data": {**base["data"], **data_changes}}
    return parse_finetune_config(merged, "<command line>")


def finetune_command(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Recipe YAML (recipes/finetune_*.yaml)."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="Start from: tiny.en, base, a CTranslate2 or Hugging Face folder, a "
            "hub id (overrides the recipe's model)."
        ),
    ] = None,
    data: Annotated[
        list[Path] | None,
        typer.Option(help="Training data: a dataset folder or manifest (repeatable)."),
    ] = None,
    dev: Annotated[
        list[Path] | None,
        typer.Option(help="Dev data for WER and best-model choice (repeatable)."),
    ] = None,
    output_dir: Annotated[
        Path | None, typer.Option(help="The run folder (it loads as a model).")
    ] = None,
    max_steps: Annotated[
        int | None, typer.Option(help="Override training.max_steps.")
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue from the run's newest checkpoint.")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option(help="Start again in a run folder that holds a run.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors.")] = False,
) -> None:
    """Fine-tune Whisper (full or LoRA) or a Hugging Face CTC model on your data.

    The run folder loads as a model: aural transcribe --engine whisper|ctc --model RUN.
    """
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s"
    )

    def say(line: str) -> None:
        if not quiet:
            err_console.print(line, markup=False)

    try:
        recipe = _recipe(config, model, data, dev, output_dir, max_steps)
        from aural.finetune.loop import run_finetune

        result = run_finetune(
            recipe, resume=resume, overwrite=overwrite, progress=not quiet, say=say
        )
    except AuralError as err:
        fail(cli_message(err, _FLAGS), exit_code_for(err))

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.2f} %"

    say(
        f"dev WER (greedy, PyTorch): before {pct(result.wer_before)}, best "
        f"{pct(result.wer_best)} at step {result.best_step}"
    )
    if result.engine_wer_after is not None:
        say(
            f"dev WER ({recipe.kind} engine): before {pct(result.engine_wer_before)}, "
            f"after {pct(result.engine_wer_after)}"
        )
    say(f"{result.steps} steps ({result.stopped}); model: {result.run_dir}")
    typer.echo(str(result.run_dir))


def distill_command(
    config: Annotated[
        Path,
        typer.Option("--config", "-c", help="Recipe YAML (recipes/distill_*.yaml)."),
    ],
    output_dir: Annotated[
        Path | None, typer.Option(help="Override output_dir.")
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            help="Continue an interrupted distillation: labelled clips are not "
            "labelled again; the student continues from its newest checkpoint."
        ),
    ] = False,
    overwrite: Annotated[
        bool, typer.Option(help="Replace a run folder that holds a run.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors.")] = False,
) -> None:
    """Distil a teacher (any aural engine and model) into a smaller Whisper or aural's
    own CTC / transducer model.

    The teacher labels the recipe's audio; confident labels (and, where references
    exist, those within max_wer of them) train the student; teacher and student are
    scored on the test set (WER and real-time factor). The student loads as
    aural transcribe --engine whisper --model RUN/student (student.kind: aural:
    --engine aural).
    """
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s"
    )

    def say(line: str) -> None:
        if not quiet:
            err_console.print(line, markup=False)

    try:
        from aural.finetune.distill import (
            DistillConfig,
            load_distill_config,
            run_distill,
        )

        recipe = load_distill_config(config)
        if output_dir is not None:
            recipe = DistillConfig.model_validate(
                {**recipe.model_dump(), "output_dir": str(output_dir)}
            )
        result = run_distill(
            recipe, resume=resume, overwrite=overwrite, progress=not quiet, say=say
        )
    except AuralError as err:
        fail(cli_message(err, _FLAGS), exit_code_for(err))
    for s in result.scores:
        say(
            f"{s.label:15s} {s.engine}:{s.model}  WER {100 * s.wer:.2f} %  "
            f"RTF {s.rtf:.3f}"
        )
    say(f"kept {result.kept} of {result.labelled} labels; KL: {result.kl}")
    typer.echo(str(result.run_dir / "student"))


def register(app: typer.Typer) -> None:
    app.command("finetune")(finetune_command)
    app.command("distill")(distill_command)
