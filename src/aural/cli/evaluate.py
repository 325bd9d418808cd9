"""`aural evaluate`: WER/CER of one or more engines on a dataset, with reports."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from aural.cli.common import (
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    cli_message,
    err_console,
    exit_code_for,
    fail,
    parse_engine_spec,
)
from aural.errors import AuralError, ConfigError, DatasetError

__all__ = ["evaluate_command", "read_vocabulary", "register"]

DEFAULT_OUTPUT_DIR = Path("aural-eval")


def read_vocabulary(path: Path) -> frozenset[str]:
    """Words of a word list: whitespace-separated, one or more per line (``#``
    comments)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(
            f"cannot read --vocabulary {str(path)!r}: {err.strerror}"
        ) from err
    except UnicodeDecodeError as err:
        line = err.object[: err.start].count(b"\n") + 1
        raise ConfigError(
            f"--vocabulary {str(path)!r} line {line} is not UTF-8 text (byte "
            f"{err.object[err.start]:#04x}); pass a word list saved as UTF-8"
        ) from err
    words = frozenset(
        w
        for line in text.splitlines()
        if not line.lstrip().startswith("#")
        for w in line.split()
    )
    if not words:
        raise ConfigError(f"--vocabulary {str(path)!r} holds no words")
    return words


def _speakers(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [s.strip() for s in text.split(",") if s.strip()] or None


def _build(
    dataset: str,
    engines: list[str],
    normalizer: str,
    snr: list[str],
    noise_dir: Path | None,
    rir_dir: Path | None,
    limit: int | None,
    speakers: str | None,
    max_duration: float | None,
    beam_size: int,
    seed: int,
    vocabulary: Path | None,
    batch_size: int | None,
    language: str = "auto",
    languages: str | None = None,
) -> tuple[object, list[tuple[str, str | None]], object]:
    """Validate everything before any decoding; raises AuralError on bad input."""
    from aural.data import load_dataset
    from aural.decoding.options import DecodeOptions
    from aural.engines import available_engines
    from aural.errors import EngineNotFoundError
    from aural.evaluation.robustness import parse_snrs
    from aural.evaluation.runner import EvalOptions

    specs = [parse_engine_spec(e) for e in engines]
    for name, _ in specs:
        if not name or name not in available_engines():
            raise EngineNotFoundError(
                f"unknown engine {name!r}; available engines: "
                f"{', '.join(available_engines())}"
            )
    if batch_size is not None and batch_size < 1:
        raise ConfigError(f"--batch-size must be 1 or more, got {batch_size}")
    for flag, folder in (("--noise-dir", noise_dir), ("--rir-dir", rir_dir)):
        if folder is not None and not folder.is_dir():
            raise ConfigError(f"{flag} {str(folder)!r} is not a folder")
    from_dataset = language == "dataset"
    allowed = tuple(c.strip() for c in (languages or "").split(",") if c.strip())
    decode = DecodeOptions(
        beam_size=beam_size,
        batch_size=batch_size,
        language=None if from_dataset or language == "auto" else language,
        **({"languages": allowed} if allowed else {}),
    )
    options = EvalOptions(
        normalizer=normalizer,  # type: ignore[arg-type]  # validated in __post_init__
        snrs=parse_snrs(snr) if snr else (None,),
        noise_dir=noise_dir,
        rir_dir=rir_dir,
        seed=seed,
        decode=decode,
        vocabulary=read_vocabulary(vocabulary) if vocabulary is not None else None,
        language_from_dataset=from_dataset,
    )
    path = Path(dataset).expanduser()
    if not path.exists():
        raise DatasetError(
            f"dataset {dataset!r} does not exist; pass a corpus folder or manifest"
        )
    manifest = load_dataset(path)
    if len(manifest) == 0:
        raise DatasetError(f"dataset {dataset!r} holds no utterances")
    manifest = manifest.subset(
        limit=limit, speakers=_speakers(speakers), max_duration=max_duration
    )
    if len(manifest) == 0:
        raise DatasetError(
            f"no utterances left in {dataset!r} after --limit/--speakers/--max-duration"
        )
    return manifest, specs, options


def evaluate_command(
    dataset: Annotated[
        str,
        typer.Argument(
            help="Corpus folder or manifest (LibriSpeech, LJSpeech, JSONL, CSV, ...)."
        ),
    ],
    engine: Annotated[
        list[str] | None,
        typer.Option(
            "--engine", "-e", help="NAME[:MODEL], repeatable (default: whisper)."
        ),
    ] = None,
    normalizer: Annotated[
        str,
        typer.Option(
            help="auto (English for en or unlabelled data, multilingual otherwise), "
            "whisper (English), basic, multilingual or none."
        ),
    ] = "auto",
    language: Annotated[
        str,
        typer.Option(
            help="auto (the engine detects it), a code (en, de, zh...) for every "
            "utterance, or dataset (each utterance's own language column)."
        ),
    ] = "auto",
    languages: Annotated[
        str | None,
        typer.Option(help="Detect only among these languages: en,de,fr."),
    ] = None,
    snr: Annotated[
        list[str] | None,
        typer.Option(
            "--snr", help="SNR in dB or 'clean', repeatable (default: clean)."
        ),
    ] = None,
    noise_dir: Annotated[
        Path | None, typer.Option(help="Noise recordings to mix in.")
    ] = None,
    rir_dir: Annotated[
        Path | None, typer.Option(help="Room impulse responses.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(help="Evaluate the first N utterances.")
    ] = None,
    speakers: Annotated[
        str | None, typer.Option(help="Only these speakers: a,b,c.")
    ] = None,
    max_duration: Annotated[
        float | None, typer.Option(help="Skip utterances longer than S seconds.")
    ] = None,
    beam_size: Annotated[int, typer.Option(help="Beam size (1 = greedy).")] = 5,
    output_dir: Annotated[
        Path, typer.Option(help="Results, reports and the cache.")
    ] = DEFAULT_OUTPUT_DIR,
    seed: Annotated[int, typer.Option(help="Seed of the noise and room choices.")] = 0,
    vocabulary: Annotated[
        Path | None, typer.Option(help="Word list for out-of-vocabulary statistics.")
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            help="Utterances per batched decoder call (default: the engine's choice)."
        ),
    ] = None,
    plots: Annotated[
        bool, typer.Option("--plots/--no-plots", help="PNG plots in the HTML.")
    ] = True,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar.")
    ] = False,
    collar: Annotated[
        float | None,
        typer.Option(help="RTTM datasets: DER collar, seconds each side (0.25)."),
    ] = None,
    skip_overlap: Annotated[
        bool, typer.Option(help="RTTM datasets: do not score overlapped speech.")
    ] = False,
    oracle_speakers: Annotated[
        bool, typer.Option(help="RTTM datasets: tell each file its speaker count.")
    ] = False,
) -> None:
    """Evaluate engines on a dataset: WER, CER, breakdowns, noise robustness, reports.

    On a manifest whose rows carry an "rttm" reference (aural data
    simulate-conversations, the AMI excerpts), the diarizer is evaluated instead:
    DER (--collar, --skip-overlap, UEM), JER, speaker-count accuracy and, on rows
    with a transcript, WDER (see docs/diarization.md).

    On a dataset with a language column (Common Voice, FLEURS, Multilingual
    LibriSpeech, a manifest's "language"), each language is scored on its own (CER for
    languages written without spaces: zh, ja, th, yue...) and the detected language is
    checked against it (accuracy and a confusion matrix).

    Writes OUTPUT_DIR/results.json, report.md and report.html (with PNG plots), and
    keeps the hypotheses in OUTPUT_DIR/hypotheses.jsonl so that a rerun resumes or
    re-renders.
    """
    from aural.evaluation.report import render_markdown, write_report
    from aural.evaluation.runner import CACHE_FILE, EvalProgress, evaluate

    if output_dir.exists() and not output_dir.is_dir():
        fail(f"--output-dir {output_dir} exists and is not a folder")
    from aural.evaluation.diarization import is_diarization_manifest

    if is_diarization_manifest(Path(dataset).expanduser()):
        from aural.cli.evaluate_diarization import evaluate_diarization_dataset

        wer_only = {"--snr": snr, "--noise-dir": noise_dir, "--rir-dir": rir_dir}
        wer_only.update({"--vocabulary": vocabulary, "--speakers": speakers})
        for flag, value in wer_only.items():
            if value:
                fail(f"{flag} does not apply to a dataset with RTTM references")
        evaluate_diarization_dataset(
            dataset,
            engines=engine or [],
            collar=0.25 if collar is None else collar,
            skip_overlap=skip_overlap,
            oracle_speakers=oracle_speakers,
            limit=limit,
            beam_size=beam_size,
            output_dir=output_dir,
            quiet=quiet,
        )
        return
    if collar is not None or skip_overlap or oracle_speakers:
        fail("--collar, --skip-overlap and --oracle-speakers need RTTM references")
    try:
        manifest, specs, options = _build(
            dataset,
            engine or ["whisper"],
            normalizer,
            snr or [],
            noise_dir,
            rir_dir,
            limit,
            speakers,
            max_duration,
            beam_size,
            seed,
            vocabulary,
            batch_size,
            language,
            languages,
        )
    except AuralError as err:
        fail(cli_message(err), EXIT_USAGE)
    try:  # before any decoding: the cache is written as utterances finish
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        fail(f"cannot create --output-dir {output_dir}: {err.strerror}")
    if not os.access(output_dir, os.W_OK | os.X_OK):
        fail(
            f"--output-dir {output_dir} is not writable; pass a folder you can write to"
        )

    durations = [u.duration for u in manifest]  # type: ignore[attr-defined]
    # The bar runs on audio seconds when every duration is known (a better ETA), else on
    # utterances; unreadable files are reported per utterance later, not here.
    by_seconds = all(d is not None for d in durations)
    total = sum(float(d or 0.0) for d in durations)
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=quiet,
        transient=False,
    )

    with progress:
        task = progress.add_task(
            "evaluating",
            total=max(total, 1e-9) if by_seconds else len(durations),
            detail=f"0/{len(durations)} utts",
        )

        def report(p: EvalProgress) -> None:
            progress.update(
                task,
                completed=p.audio_seconds_done if by_seconds else p.utterances_done,
                detail=f"{p.utterances_done}/{p.utterances_total} utts, "
                f"{p.audio_seconds_done:.0f}/{p.audio_seconds_total:.0f} s audio "
                f"({p.decoded} decoded, {p.cached} cached)",
            )

        try:
            results = evaluate(
                manifest,
                specs,
                options,
                cache_dir=output_dir,  # type: ignore[arg-type]
                progress=report,
                dataset=dataset,
            )
        except AuralError as err:
            progress.stop()
            fail(cli_message(err), exit_code_for(err))
    try:
        written = write_report(results, output_dir, plots=plots)
    except AuralError as err:
        fail(cli_message(err), exit_code_for(err))
    except OSError as err:
        fail(
            f"cannot write the reports in {output_dir}: {err.strerror}; the "
            f"hypotheses are kept in {output_dir / CACHE_FILE}, rerun to render them",
            EXIT_SOME_FAILED,
        )

    sys.stdout.write(render_markdown(results))
    sys.stdout.flush()
    t = results.timing
    err_console.print(
        f"{t.decoded} decodes ({t.cached} from cache) in {t.wall_seconds:.1f} s, "
        f"{t.engine_seconds:.1f} s inside engines; wrote "
        f"{escape(str(written['results.json']))}, "
        f"{escape(str(written['report.md']))}, {escape(str(written['report.html']))}"
    )
    for utt, message in results.failures:
        err_console.print(f"[red]failed:[/] {escape(utt)}: {escape(message)}")
    if results.failures:
        sys.exit(EXIT_SOME_FAILED)


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate_command)
