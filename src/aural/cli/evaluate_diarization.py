"""`aural evaluate` on a dataset with RTTM references: DER, JER, speaker counts, WDER.

Reached from :func:`aural.cli.evaluate.evaluate_command` when the dataset is a
diarization manifest (JSONL rows with an ``rttm`` field, as ``aural data
simulate-conversations`` writes and the shared AMI excerpts have).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from aural.cli.common import (
    EXIT_USAGE,
    cli_message,
    err_console,
    exit_code_for,
    fail,
    parse_engine_spec,
)
from aural.errors import AuralError

if TYPE_CHECKING:
    from aural.types import Transcript

__all__ = ["evaluate_diarization_dataset"]


def _transcriber(engine: str, beam_size: int) -> Callable[[Path], Transcript]:
    from aural import Recognizer
    from aural.decoding.options import DecodeOptions

    name, model = parse_engine_spec(engine)
    options = DecodeOptions(word_timestamps=True, beam_size=beam_size)
    return Recognizer(name, model, options).transcribe


def evaluate_diarization_dataset(
    dataset: str,
    *,
    engines: list[str],
    collar: float,
    skip_overlap: bool,
    oracle_speakers: bool,
    limit: int | None,
    beam_size: int,
    output_dir: Path,
    quiet: bool,
) -> None:
    """Diarize every recording of ``dataset`` and write OUTPUT_DIR/results.json,
    report.md and hypotheses.rttm; the report goes to stdout.

    WDER is scored on the recordings whose rows name a transcript, with the first
    engine (default whisper) giving the words.
    """
    from aural.diarization import Diarizer
    from aural.evaluation.diarization import (
        evaluate_diarization,
        load_diarization_manifest,
        render_diarization_markdown,
    )
    from aural.writers import format_rttm, write_atomic

    if collar < 0:
        fail(f"--collar must be 0 or more seconds, got {collar:g}")
    if len(engines) > 1:
        fail("a diarization dataset takes one --engine (it gives WDER its words)")
    if limit is not None and limit < 1:
        fail(f"--limit must be 1 or more, got {limit}")
    try:
        items = load_diarization_manifest(Path(dataset).expanduser())
    except AuralError as err:
        fail(cli_message(err), EXIT_USAGE)
    items = items[:limit] if limit else items
    transcribe = None
    if any(item.has_transcript for item in items):
        try:
            transcribe = _transcriber(engines[0] if engines else "whisper", beam_size)
        except AuralError as err:
            fail(cli_message(err), exit_code_for(err))
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        fail(f"cannot create --output-dir {output_dir}: {err.strerror}")
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        console=err_console,
        disable=quiet,
    ) as progress:
        task = progress.add_task("diarizing", total=len(items), detail="")

        def report(index: int, result: object) -> None:
            progress.update(task, completed=index + 1, detail=str(items[index].id))

        try:
            evaluation = evaluate_diarization(
                items,
                Diarizer(),
                collar=collar,
                skip_overlap=skip_overlap,
                oracle_speakers=oracle_speakers,
                transcribe=transcribe,
                progress=report,
            )
        except AuralError as err:
            progress.stop()
            fail(cli_message(err), exit_code_for(err))
    markdown = render_diarization_markdown(evaluation)
    written = {
        "results.json": json.dumps(evaluation.to_dict(), indent=2) + "\n",
        "report.md": markdown,
        "hypotheses.rttm": "".join(
            format_rttm(f.turns, f.id) for f in evaluation.files
        ),
    }
    try:
        for name, text in written.items():
            write_atomic(output_dir / name, text)
    except OSError as err:
        fail(f"cannot write the reports in {output_dir}: {err.strerror}")
    sys.stdout.write(markdown)
    sys.stdout.flush()
    err_console.print(
        f"{len(items)} recordings diarized (RTF {evaluation.rtf:.4f}); wrote "
        + ", ".join(escape(str(output_dir / n)) for n in written)
    )
