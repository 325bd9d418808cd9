"""`aural baseline gmm-hmm|dnn`: the classic HMM-GMM and DNN acoustic-model
baselines."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from aural.cli.common import EXIT_USAGE, cli_message, err_console, exit_code_for, fail
from aural.errors import AuralError, DatasetError

__all__ = ["baseline_app", "dnn_command", "gmm_hmm_command", "register"]

baseline_app = typer.Typer(
    name="baseline",
    help="Classic baselines: GMM-HMM isolated digits and a DNN phone classifier.",
    no_args_is_help=True,
)


def _speakers(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [s.strip() for s in text.split(",") if s.strip()] or None


def _check_dirs(data: Path, output_dir: Path, *others: tuple[str, Path | None]) -> None:
    if not data.is_dir():
        fail(f"--data {data} is not a folder (point it at the corpus folder)")
    for flag, path in (("--output-dir", output_dir), *others):
        if path is not None and path.exists() and not path.is_dir():
            fail(f"{flag} {path} exists and is not a folder")


def _progress(quiet: bool) -> tuple[Progress, Any]:
    bar = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet,
        transient=False,
    )
    tasks: dict[str, Any] = {}

    def report(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=max(total, 1))
        bar.update(tasks[stage], completed=done, total=max(total, 1))

    return bar, report


def _set_threads(threads: int) -> None:
    if threads < 1:
        fail(f"--threads must be >= 1, got {threads}")
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(threads)


def _run(bar: Progress, call: Any) -> Any:
    try:
        with bar:
            return call()
    except DatasetError as err:
        fail(cli_message(err), EXIT_USAGE)
    except AuralError as err:
        fail(cli_message(err), exit_code_for(err))


def gmm_hmm_command(
    data: Annotated[Path, typer.Option(help="Free Spoken Digit 'recordings' folder.")],
    output_dir: Annotated[
        Path, typer.Option(help="Folder for results.json, report.md, PNGs.")
    ] = Path("aural-baseline-gmm-hmm"),
    states: Annotated[int, typer.Option(help="HMM states per word.")] = 5,
    mixtures: Annotated[int, typer.Option(help="Gaussians per state.")] = 3,
    iterations: Annotated[
        int, typer.Option(help="Baum-Welch iterations at most.")
    ] = 10,
    seed: Annotated[int, typer.Option(help="Seed of the k-means initialisation.")] = 0,
    speakers: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated held-out speakers (default: rotate over all)."
        ),
    ] = None,
    per_speaker_limit: Annotated[
        int | None,
        typer.Option(help="Use only recordings with index below N (quick runs)."),
    ] = None,
    save_model: Annotated[
        Path | None,
        typer.Option(
            help="Also train on every speaker and save the model to this folder."
        ),
    ] = None,
    threads: Annotated[int, typer.Option(help="CPU threads for torch.")] = 1,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar.")
    ] = False,
) -> None:
    """Speaker-independent isolated-digit recognition with one GMM-HMM per digit.

    Trains on every speaker but one and tests on that one, rotating; writes
    OUTPUT_DIR/results.json, report.md, confusion.png and by_speaker.png.
    """
    from aural.baselines.experiments import run_gmm_hmm
    from aural.baselines.gmm_hmm import GmmHmmOptions

    _check_dirs(data, output_dir, ("--save-model", save_model))
    _set_threads(threads)
    try:
        options = GmmHmmOptions(
            num_states=states,
            num_mixtures=mixtures,
            num_iterations=iterations,
            seed=seed,
        )
    except AuralError as err:
        fail(cli_message(err), EXIT_USAGE)
    bar, report = _progress(quiet)
    run = _run(
        bar,
        lambda: run_gmm_hmm(
            data,
            output_dir,
            options,
            held_out_speakers=_speakers(speakers),
            per_speaker_limit=per_speaker_limit,
            save_model=save_model,
            progress=report,
        ),
    )
    results = run.results
    for speaker, r in results["by_speaker"].items():
        sys.stdout.write(
            f"{speaker}\t{100 * r['accuracy']:.1f}%\t({r['num_correct']}/"
            f"{r['num_test']})\n"
        )
    sys.stdout.write(
        f"overall\t{100 * results['accuracy']:.1f}%\t({results['num_test']} "
        "recordings)\n"
    )
    err_console.print(
        f"wrote {escape(str(run.files['results']))} and "
        f"{escape(str(run.files['report']))}"
    )


def dnn_command(
    data: Annotated[Path, typer.Option(help="LibriSpeech root (or a subset folder).")],
    output_dir: Annotated[
        Path, typer.Option(help="Folder for results.json, report.md, PNGs.")
    ] = Path("aural-baseline-dnn"),
    alignment_cache: Annotated[
        Path | None,
        typer.Option(
            help="Cached PocketSphinx alignments (default: OUTPUT_DIR/alignments)."
        ),
    ] = None,
    test_speakers: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated held-out speakers (default: the dev-clean speakers)."
        ),
    ] = None,
    context: Annotated[int, typer.Option(help="Frames spliced on each side.")] = 5,
    hidden_size: Annotated[int, typer.Option(help="Units per hidden layer.")] = 512,
    layers: Annotated[int, typer.Option(help="Hidden layers.")] = 3,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 8,
    batch_size: Annotated[int, typer.Option(help="Frames per step.")] = 256,
    learning_rate: Annotated[float, typer.Option(help="AdamW learning rate.")] = 1e-3,
    seed: Annotated[
        int, typer.Option(help="Seed of initialisation and shuffling.")
    ] = 0,
    train_limit: Annotated[
        int | None, typer.Option(help="Use at most N training utterances (quick runs).")
    ] = None,
    save_model: Annotated[
        Path | None, typer.Option(help="Save the trained classifier to this folder.")
    ] = None,
    threads: Annotated[int, typer.Option(help="CPU threads for torch.")] = 1,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar.")
    ] = False,
) -> None:
    """Frame-level phone classifier (MLP over spliced MFCC + deltas) on held-out
    speakers.

    Aligns the transcripts with PocketSphinx (cached), trains on the other speakers and
    writes OUTPUT_DIR/results.json, report.md, phone_confusion.png and by_speaker.png.
    """
    from aural.baselines.dnn import DnnOptions
    from aural.baselines.experiments import run_dnn

    _check_dirs(
        data,
        output_dir,
        ("--alignment-cache", alignment_cache),
        ("--save-model", save_model),
    )
    _set_threads(threads)
    try:
        options = DnnOptions(
            context=context,
            hidden_size=hidden_size,
            num_layers=layers,
            num_epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            seed=seed,
        )
    except AuralError as err:
        fail(cli_message(err), EXIT_USAGE)
    bar, report = _progress(quiet)
    run = _run(
        bar,
        lambda: run_dnn(
            data,
            output_dir,
            options,
            alignment_cache=alignment_cache,
            test_speakers=_speakers(test_speakers),
            train_limit=train_limit,
            save_model=save_model,
            progress=report,
        ),
    )
    test = run.results["test"]
    for speaker, accuracy in test["by_speaker"].items():
        sys.stdout.write(f"{speaker}\t{100 * accuracy:.1f}%\n")
    sys.stdout.write(
        f"overall\t{100 * test['frame_accuracy']:.1f}%\t({test['num_frames']} "
        f"frames; majority class {100 * test['majority_class_accuracy']:.1f}%)\n"
    )
    err_console.print(
        f"wrote {escape(str(run.files['results']))} and "
        f"{escape(str(run.files['report']))}"
    )


def register(app: typer.Typer) -> None:
    baseline_app.command("gmm-hmm")(gmm_hmm_command)
    baseline_app.command("dnn")(dnn_command)
    app.add_typer(baseline_app, name="baseline")
