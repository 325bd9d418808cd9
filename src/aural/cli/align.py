"""`aural align`: word (and character) times for a known transcript."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from aural.cli.common import EXIT_SOME_FAILED, cli_message, exit_code_for, fail, warn

# mean word probability under which the transcript likely does not match the audio
# (Whisper gives 0.88 on a matching clip, 0.11-0.12 on silence or another recording)
LOW_CONFIDENCE = 0.3
FORMAT_HELP = "json, tsv (TextGrid-like tiers), srt or vtt"


def align_command(
    audio: Annotated[Path, typer.Argument(help="The recording.")],
    transcript_file: Annotated[
        Path, typer.Argument(help="A text file with what is said.")
    ],
    engine: Annotated[
        str,
        typer.Option(help="Aligner: whisper, ctc, aural (own checkpoint) or sphinx."),
    ] = "whisper",
    model: Annotated[
        str | None, typer.Option(help="Model name, folder or hub id.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help=FORMAT_HELP)] = "json",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here.")
    ] = None,
) -> None:
    """Align TRANSCRIPT_FILE to AUDIO; JSON (or tsv/srt/vtt) to stdout or --output."""
    from aural.align import FORMATS, create_aligner, render_alignment
    from aural.audio import load
    from aural.errors import AuralError

    if fmt not in FORMATS:
        fail(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    if output is not None and output.is_dir():
        fail(f"--output {output} is a folder; give a file name")
    try:
        transcript = transcript_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        fail(f"cannot read transcript {str(transcript_file)!r}: {err}")
    try:
        aligner = create_aligner(engine, model)
    except AuralError as err:
        fail(cli_message(err), exit_code_for(err))
    try:
        waveform = load(audio)  # its errors name the file
    except AuralError as err:
        fail(cli_message(err), exit_code_for(err))
    try:
        result = aligner.align(waveform, transcript)
        text = render_alignment(result, fmt)
        if output is None:
            sys.stdout.write(text)
        else:
            from aural.writers import write_atomic

            write_atomic(output, text)
    except AuralError as err:
        fail(f"{audio}: {cli_message(err)}", exit_code_for(err))
    except OSError as err:
        fail(f"cannot write {output}: {err.strerror or err}", EXIT_SOME_FAILED)
    confidence = sum(w.probability for w in result.words) / max(1, len(result.words))
    if confidence < LOW_CONFIDENCE:
        warn(
            f"warning: {audio}: the words aligned with low confidence (mean "
            f"probability {confidence:.2f}); the transcript may not match the audio"
        )


def register(app: typer.Typer) -> None:
    app.command("align")(align_command)
