"""`aural plot`: pictures of what a model does with a recording.

``aural plot attention`` draws Whisper's cross-attention over the log-mel spectrogram.
Each sub-command gathers its data through the public API and hands it to
:mod:`aural.plots`. A new sub-command is a function taking :data:`OutputOption` and
:data:`OverwriteOption`, checking them with :func:`output_path` first and writing
through :func:`write_picture`, plus one entry in :data:`COMMANDS`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from aural.cli.common import EXIT_USAGE, cli_message, exit_code_for, fail, warn
from aural.errors import AuralError

if TYPE_CHECKING:
    from aural.audio.waveform import Waveform

__all__ = [
    "COMMANDS",
    "OutputOption",
    "OverwriteOption",
    "output_path",
    "register",
    "write_picture",
]

OutputOption = Annotated[
    Path,
    typer.Option(
        "--output", "-o", help="The picture to write: .png or .svg (by the suffix)."
    ),
]
OverwriteOption = Annotated[
    bool, typer.Option("--overwrite", help="Replace the output file if it exists.")
]
# mean word probability under which the text likely does not match the audio (as for
# `aural align`)
LOW_CONFIDENCE = 0.3


def output_path(out: Path, overwrite: bool) -> Path:
    """Check ``out`` before any work: a known picture suffix, not an existing file
    (unless ``overwrite``), in a folder that exists or can be made. Exits 2 if not."""
    from aural.plots.attention import PLOT_SUFFIXES

    if out.suffix.lower() not in PLOT_SUFFIXES:
        fail(
            f"--output {out}: unknown picture suffix {out.suffix or '(none)'!r}; use "
            f"{' or '.join(PLOT_SUFFIXES)}"
        )
    if out.is_dir():
        fail(f"--output {out} is a folder; give a file name")
    if out.exists() and not overwrite:
        fail(f"--output {out} exists; pass --overwrite to replace it")
    folder = out.absolute().parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        fail(f"--output {out}: {folder} is not a folder")
    return out


def write_picture(draw: Callable[[], object], out: Path) -> None:
    """Run ``draw`` (which writes ``out``); a file that cannot be written exits 2."""
    try:
        draw()
    except OSError as err:
        fail(f"cannot write {out}: {err.strerror or err}", EXIT_USAGE)
    except AuralError as err:
        fail(cli_message(err), exit_code_for(err))


def attention_command(
    audio: Annotated[Path, typer.Argument(help="The recording.")],
    output: OutputOption,
    transcript: Annotated[
        Path | None,
        typer.Option(
            help="What is said: a .txt file (all its text) or aural's transcript "
            ".json (with --start/--end, the words inside them). Default: transcribe "
            "with --model.",
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Whisper model alias or folder (tiny.en).")
    ] = None,
    language: Annotated[str, typer.Option(help="The language spoken.")] = "en",
    start: Annotated[
        float | None, typer.Option(help="Draw from here (seconds into AUDIO).")
    ] = None,
    end: Annotated[
        float | None, typer.Option(help="Draw to here (at most 30 s after --start).")
    ] = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Whisper's cross-attention over AUDIO's log-mel spectrogram, words marked.

    Whisper sees 30 seconds at a time: choose a part of longer audio with --start/--end.
    """
    from aural.audio.waveform import SAMPLE_RATE, Waveform
    from aural.engines.whisper import DEFAULT_MODEL, attention_map
    from aural.plots.attention import draw_attention

    out = output_path(output, overwrite)
    if transcript is not None and not transcript.is_file():
        fail(f"--transcript {transcript}: no such file")
    waveform = _load(audio)
    first, last = _span(waveform, start, end)
    samples = waveform.samples[round(first * SAMPLE_RATE) : round(last * SAMPLE_RATE)]
    name = model or DEFAULT_MODEL
    if transcript is not None:
        text = _transcript_text(transcript, start, end, first, last)
    else:
        text = _transcribe(Waveform(samples, SAMPLE_RATE), name, language)
    if not text.strip():
        fail(f"{audio}: no words to align in {first:g}-{last:g} s")
    try:
        amap = attention_map(name, samples, text, language=language)
    except AuralError as err:
        fail(f"{audio}: {cli_message(err)}", exit_code_for(err))
    title = f"{audio.name}, {first:g}-{last:g} s, whisper {name}"
    write_picture(
        lambda: draw_attention(amap, out, time_offset=first, title=title), out
    )
    confidence = sum(w.probability for w in amap.words) / max(1, len(amap.words))
    if confidence < LOW_CONFIDENCE:
        warn(
            f"warning: {audio}: the words have low probability (mean "
            f"{confidence:.2f}); the text may not match the audio"
        )


def _load(audio: Path) -> Waveform:
    from aural.audio import load

    if not audio.is_file():
        fail(f"{audio}: no such file")
    try:
        return load(audio)
    except AuralError as err:
        fail(cli_message(err), EXIT_USAGE)


def _span(
    waveform: Waveform, start: float | None, end: float | None
) -> tuple[float, float]:
    """(first, last) seconds to draw; refuses a span Whisper's window cannot hold."""
    from aural.engines.whisper import WINDOW_S

    duration = waveform.duration
    first = 0.0 if start is None else start
    last = duration if end is None else end
    if start is None and end is None and duration > WINDOW_S:
        fail(
            f"the audio lasts {duration:.1f} s and Whisper's attention covers one "
            f"{WINDOW_S:g}-second window: choose at most {WINDOW_S:g} s with "
            "--start/--end"
        )
    if not 0.0 <= first < last:
        fail(f"--start {first:g} --end {last:g}: need 0 <= start < end")
    if last > duration + 1e-3:
        fail(f"--end {last:g} is past the end of the audio ({duration:.2f} s)")
    if last - first > WINDOW_S:
        fail(
            f"--start {first:g} --end {last:g} selects {last - first:.1f} s; "
            f"Whisper's attention covers at most {WINDOW_S:g} s"
        )
    return first, min(last, duration)


def _transcript_text(
    path: Path, start: float | None, end: float | None, first: float, last: float
) -> str:
    """The text of ``path``: all of a .txt; a transcript .json's text, or with
    --start/--end the words (else the segments) whose middle lies between them."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        fail(f"cannot read --transcript {path}: {err}")
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return raw
    if suffix != ".json":
        fail(
            f"--transcript {path}: unknown suffix {suffix or '(none)'!r}; use .txt "
            "or .json"
        )
    try:
        data: Any = json.loads(raw)
    except json.JSONDecodeError as err:
        fail(f"--transcript {path}: not JSON ({err})")
    if not isinstance(data, dict) or not (
        "segments" in data or isinstance(data.get("text"), str)
    ):
        fail(f"--transcript {path}: not an aural transcript (no 'text' or 'segments')")
    if "segments" not in data:
        return str(data["text"])
    from aural.types import Transcript

    try:
        parsed = Transcript.from_dict(data)
    except AuralError as err:
        fail(f"--transcript {path}: {cli_message(err)}")
    if start is None and end is None:
        return parsed.text
    timed = parsed.words or parsed.segments
    return " ".join(
        t.text.strip() for t in timed if first <= (t.start + t.end) / 2 < last
    )


def _transcribe(waveform: Waveform, model: str, language: str) -> str:
    from aural.decoding.options import DecodeOptions
    from aural.recognizer import Recognizer

    try:
        recognizer = Recognizer(
            "whisper", model, options=DecodeOptions(language=language)
        )
        return recognizer.transcribe(waveform).text
    except AuralError as err:
        fail(cli_message(err), exit_code_for(err))


COMMANDS: dict[str, Callable[..., None]] = {"attention": attention_command}
"""name -> function of each ``aural plot`` sub-command."""


def register(app: typer.Typer) -> None:
    plot = typer.Typer(
        help="Draw pictures of what a model does with a recording.",
        no_args_is_help=True,
    )
    for name, command in COMMANDS.items():
        plot.command(name)(command)
    app.add_typer(plot, name="plot")
