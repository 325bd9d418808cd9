"""`aural diarize`: who spoke when, as RTTM (or JSON / txt)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from aural.cli.common import cli_message, exit_code_for, fail, for_each_input
from aural.errors import AuralError

if TYPE_CHECKING:
    from aural.diarization import DiarizationOptions

FORMAT_HELP = "rttm, json or txt"
CLI_FLAGS = {
    "num_speakers": "--num-speakers",
    "min_speakers": "--min-speakers",
    "max_speakers": "--max-speakers",
    "embedder": "--embedder",
    "clustering": "--clustering",
}


def diarization_options(
    num_speakers: int | None,
    min_speakers: int | None,
    max_speakers: int | None,
    **fields: str,
) -> DiarizationOptions:
    """:class:`DiarizationOptions` from the speaker-count flags (a usage error, exit
    2, when they conflict)."""
    from aural.diarization import DiarizationOptions

    given: dict[str, object] = dict(fields)
    if num_speakers is not None:
        if min_speakers is not None or max_speakers is not None:
            fail("give --num-speakers or --min-speakers/--max-speakers, not both")
        given.update(num_speakers=num_speakers, min_speakers=1)
        given["max_speakers"] = max(num_speakers, DiarizationOptions().max_speakers)
    if min_speakers is not None:
        given["min_speakers"] = min_speakers
    if max_speakers is not None:
        given["max_speakers"] = max_speakers
    try:
        return DiarizationOptions(**given)  # type: ignore[arg-type]
    except AuralError as err:
        fail(cli_message(err, CLI_FLAGS), exit_code_for(err))
    except (TypeError, ValueError) as err:
        fail(str(err))


def diarize_command(
    inputs: Annotated[list[str], typer.Argument(help="Audio files, folders or globs.")],
    num_speakers: Annotated[
        int | None, typer.Option(help="The number of speakers, when known.")
    ] = None,
    min_speakers: Annotated[
        int | None, typer.Option(help="At least this many speakers (default 1).")
    ] = None,
    max_speakers: Annotated[
        int | None, typer.Option(help="At most this many speakers (default 8).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help=FORMAT_HELP)] = "rttm",
    output_dir: Annotated[
        Path | None, typer.Option(help="Write DIR/<stem>.<format> per input.")
    ] = None,
    embedder: Annotated[
        str,
        typer.Option(help="Speaker embeddings: resemblyzer, speechbrain, pyannote."),
    ] = "resemblyzer",
    clustering: Annotated[
        str,
        typer.Option(help="agglomerative, spectral or kmeans (needs --num-speakers)."),
    ] = "agglomerative",
    overwrite: Annotated[
        bool, typer.Option(help="Redo files whose outputs exist.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress.")] = False,
) -> None:
    """Who spoke when: RTTM to stdout for one input, or DIR/<stem>.<format> files."""
    from aural.batch import expand_inputs
    from aural.diarization import Diarizer
    from aural.writers import TURN_FORMATS, render_turns, write_atomic

    if fmt not in TURN_FORMATS:
        fail(f"unknown --format {fmt!r}; use {FORMAT_HELP}")
    options = diarization_options(
        num_speakers,
        min_speakers,
        max_speakers,
        embedder=embedder,
        clustering=clustering,
    )
    paths = expand_inputs(inputs)
    if not paths:
        fail("no audio inputs found in " + ", ".join(inputs))
    if output_dir is None and len(paths) > 1:
        fail(f"{len(paths)} inputs need --output-dir (one input goes to stdout)")
    if output_dir is not None:
        if output_dir.exists() and not output_dir.is_dir():
            fail(f"--output-dir {output_dir} exists and is not a folder")
        output_dir.mkdir(parents=True, exist_ok=True)
    diarizer = Diarizer(options)

    def diarize(path: Path) -> float | None:
        out = output_dir / f"{path.stem}.{fmt}" if output_dir else None
        if out is not None and out.exists() and not overwrite:
            return None
        trace = diarizer.trace(path)
        text = render_turns(trace.turns, fmt, path.stem)
        if out is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            write_atomic(out, text)
        return trace.duration

    for_each_input(paths, "diarizing", diarize, quiet=quiet).finish(
        "diarized", rtf=True
    )


def register(app: typer.Typer) -> None:
    app.command("diarize")(diarize_command)


__all__ = ["register", "diarization_options"]
