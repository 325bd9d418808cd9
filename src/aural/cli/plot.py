"""`aural plot`: pictures of what a model does with a recording.

``aural plot attention`` draws Whisper's cross-attention over the log-mel spectrogram;
``aural plot transcript`` a recording with its words (png, svg or a playing HTML page);
``aural plot errors`` an evaluation's errors; ``aural plot alignment`` forced
alignments, one aligner or two side by side.
Each sub-command gathers its data through the public API and hands it to
:mod:`aural.plots`. A new sub-command is a function taking :data:`OutputOption` and
:data:`OverwriteOption`, checking them with :func:`output_path` first and writing
through :func:`write_picture`, plus one entry in :data:`COMMANDS`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
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
ModelOption = Annotated[
    str | None, typer.Option(help="Whisper model alias or folder (tiny.en).")
]
LanguageOption = Annotated[str, typer.Option(help="The language spoken.")]
StartOption = Annotated[
    float | None, typer.Option(help="Draw from here (seconds into AUDIO).")
]
# mean word probability under which the text likely does not match the audio (as for
# `aural align`)
LOW_CONFIDENCE = 0.3


def output_path(
    out: Path, overwrite: bool, suffixes: Sequence[str] | None = None
) -> Path:
    """Check ``out`` before any work: a known picture suffix (``suffixes``; default
    .png and .svg), not an existing file (unless ``overwrite``), in a folder that
    exists or can be made. Exits 2 if not."""
    from aural.plots.attention import PLOT_SUFFIXES

    known = tuple(PLOT_SUFFIXES) if suffixes is None else tuple(suffixes)
    if out.suffix.lower() not in known:
        fail(
            f"--output {out}: unknown picture suffix {out.suffix or '(none)'!r}; use "
            f"{_either(known)}"
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


def _either(choices: Sequence[str]) -> str:
    """``.png or .svg``; ``.png, .svg or .html``."""
    if len(choices) < 2:
        return "".join(choices)
    return f"{', '.join(choices[:-1])} or {choices[-1]}"


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
    model: ModelOption = None,
    language: LanguageOption = "en",
    start: StartOption = None,
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


# -- aural plot transcript -------------------------------------------------------------

TRANSCRIPT_SUFFIXES = (".png", ".svg", ".html")


def transcript_command(
    audio: Annotated[Path, typer.Argument(help="The recording.")],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="The picture to write: .png or .svg (pages stacked in one tall "
            "figure), or .html (one scrolling row that plays the audio).",
        ),
    ],
    transcript: Annotated[
        Path | None,
        typer.Option(
            help="aural's transcript .json (aural transcribe -f json; 'speaker' keys "
            "give speaker lanes). Default: transcribe with --model.",
        ),
    ] = None,
    model: ModelOption = None,
    language: LanguageOption = "en",
    start: StartOption = None,
    end: Annotated[float | None, typer.Option(help="Draw to here (seconds).")] = None,
    page_seconds: Annotated[
        float, typer.Option(help="Seconds per page of a .png/.svg picture.")
    ] = 30.0,
    overwrite: OverwriteOption = False,
) -> None:
    """AUDIO's waveform and log-mel spectrogram with its words on one time axis.

    Each word is a box at its times shaded by its confidence; dashed lines mark the
    segment boundaries; speakers (when the transcript has them) get a lane each.
    """
    from aural.audio.waveform import SAMPLE_RATE
    from aural.plots.transcript import (
        MAX_HTML_SECONDS,
        MAX_PAGES,
        TranscriptPicture,
        clip_segments,
        draw_transcript,
        page_count,
        write_transcript_html,
    )

    out = output_path(output, overwrite, TRANSCRIPT_SUFFIXES)
    is_html = out.suffix.lower() == ".html"
    if transcript is not None and not transcript.is_file():
        fail(f"--transcript {transcript}: no such file")
    if not page_seconds > 0:
        fail(f"--page-seconds {page_seconds:g}: must be more than 0")
    waveform = _load(audio)
    first, last = _range(waveform.duration, start, end)
    if is_html and last - first > MAX_HTML_SECONDS:
        fail(
            f"{last - first:.0f} s is too long for one HTML picture (at most "
            f"{MAX_HTML_SECONDS:g} s): choose a part with --start/--end"
        )
    pages = page_count(last - first, page_seconds)
    if not is_html and pages > MAX_PAGES:
        fail(
            f"{last - first:.0f} s makes {pages} pages of {page_seconds:g} s (at most "
            f"{MAX_PAGES}): choose a part with --start/--end or raise --page-seconds"
        )
    samples = waveform.samples[round(first * SAMPLE_RATE) : round(last * SAMPLE_RATE)]
    if transcript is not None:
        segments = _read_segments(transcript)
    else:
        segments = _transcribe_segments(samples, model, language, first)
    picture = TranscriptPicture(
        samples,
        SAMPLE_RATE,
        first,
        clip_segments(segments, first, last),
        f"{audio.name}, {first:g}-{last:g} s",
    )
    if picture.segments and not picture.words:
        warn(
            f"warning: {transcript or audio}: the segments carry no word times; only "
            "segment boundaries are drawn (transcribe with word timestamps on)"
        )
    if is_html:
        write_picture(lambda: write_transcript_html(picture, out), out)
    else:
        write_picture(
            lambda: draw_transcript(picture, out, page_seconds=page_seconds), out
        )


def _range(
    duration: float, start: float | None, end: float | None
) -> tuple[float, float]:
    """(first, last) seconds to draw, checked against the audio's ``duration``."""
    first = 0.0 if start is None else start
    last = duration if end is None else end
    if first >= duration:
        fail(f"--start {first:g} is past the end of the audio ({duration:.2f} s)")
    if not 0.0 <= first < last:
        fail(f"--start {first:g} --end {last:g}: need 0 <= start < end")
    if last > duration + 1e-3:
        fail(f"--end {last:g} is past the end of the audio ({duration:.2f} s)")
    return first, min(last, duration)


def _read_json(path: Path, flag: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        fail(f"cannot read {flag} {path}: {err}")
    except json.JSONDecodeError as err:
        fail(f"{flag} {path}: not JSON ({err})")


def _read_segments(path: Path) -> tuple[Any, ...]:
    from aural.plots.transcript import segments_from_dict

    if path.suffix.lower() != ".json":
        fail(
            f"--transcript {path}: the picture needs word times; give aural's "
            "transcript .json (aural transcribe -f json)"
        )
    try:
        return segments_from_dict(_read_json(path, "--transcript"))
    except AuralError as err:
        fail(f"--transcript {path}: {cli_message(err)}")


def _transcribe_segments(
    samples: Any, model: str | None, language: str, offset: float
) -> tuple[Any, ...]:
    """Transcribe (word timestamps on) and move the times to recording time."""
    from dataclasses import replace

    from aural.audio.waveform import SAMPLE_RATE, Waveform
    from aural.decoding.options import DecodeOptions
    from aural.plots.transcript import segments_from_transcript
    from aural.recognizer import Recognizer

    try:
        recognizer = Recognizer(
            "whisper",
            model,
            options=DecodeOptions(language=language, word_timestamps=True),
        )
        result = recognizer.transcribe(Waveform(samples, SAMPLE_RATE))
    except AuralError as err:
        fail(cli_message(err), exit_code_for(err))
    return tuple(
        replace(
            s,
            start=s.start + offset,
            end=s.end + offset,
            words=tuple(
                replace(w, start=w.start + offset, end=w.end + offset) for w in s.words
            ),
        )
        for s in segments_from_transcript(result)
    )


# -- aural plot errors -----------------------------------------------------------------

ERROR_FORMATS = ("png", "svg")


def errors_command(
    eval_dir: Annotated[
        Path, typer.Argument(help="An `aural evaluate` output folder (results.json).")
    ],
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="The folder to write the pictures in."),
    ],
    fmt: Annotated[str, typer.Option("--format", help="png or svg.")] = "png",
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace pictures that exist.")
    ] = False,
) -> None:
    """Pictures of an evaluation's errors, one set per engine.

    confusion-matrix (substitutions of the most substituted words), error-cloud (the
    most frequent error words), wer-spread (per-utterance WER over speakers and
    durations) and confident-errors (wrong words the engine was sure of; needs word
    probabilities). With several engines each file name ends in the engine.
    """
    from functools import partial

    from aural.evaluation.plots import engine_slug, error_utterances_from_json
    from aural.evaluation.report import DURATION_BINS
    from aural.plots.errors import ERROR_PICTURES, draw_error_pictures

    if fmt not in ERROR_FORMATS:
        fail(f"--format {fmt!r}: use {_either(ERROR_FORMATS)}")
    results = eval_dir / "results.json"
    if not eval_dir.is_dir():
        fail(f"{eval_dir}: no such folder")
    if not results.is_file():
        fail(
            f"{eval_dir}: no results.json; run `aural evaluate --output-dir {eval_dir}`"
        )
    if output.exists() and not output.is_dir():
        fail(f"--output {output} is not a folder")
    try:
        engines = error_utterances_from_json(_read_json(results, "results"))
    except AuralError as err:
        fail(f"{results}: {cli_message(err)}")
    suffixes = {
        label: (f"-{engine_slug(label)}" if len(engines) > 1 else "")
        for label in engines
    }
    targets = [
        output / f"{name}{suffixes[label]}.{fmt}"
        for label in engines
        for name in ERROR_PICTURES
    ]
    existing = [t for t in targets if t.exists()]
    if existing and not overwrite:
        fail(f"--output {existing[0]} exists; pass --overwrite to replace it")
    for label, utterances in engines.items():
        draw = partial(
            draw_error_pictures,
            utterances,
            output,
            label=label,
            stem_suffix=suffixes[label],
            fmt=fmt,
            duration_bins=DURATION_BINS,
        )
        write_picture(draw, output)
    typer.echo("\n".join(str(t) for t in targets))


# -- aural plot alignment --------------------------------------------------------------

MAX_ALIGNMENT_SECONDS = 60.0  # wider spans make unreadable word boxes


def alignment_command(
    audio: Annotated[Path, typer.Argument(help="The recording.")],
    transcript: Annotated[
        Path,
        typer.Argument(help="What is said: a .txt file, or aural's transcript .json."),
    ],
    output: OutputOption,
    aligner: Annotated[
        str,
        typer.Option(
            help="NAME[:MODEL]: whisper, ctc (characters too), aural or sphinx."
        ),
    ] = "whisper",
    compare: Annotated[
        str | None,
        typer.Option(
            help="Two aligners side by side: NAME[:MODEL],NAME[:MODEL] (e.g. "
            "whisper,sphinx)."
        ),
    ] = None,
    start: StartOption = None,
    end: Annotated[float | None, typer.Option(help="Draw to here (seconds).")] = None,
    overwrite: OverwriteOption = False,
) -> None:
    """The forced alignment of TRANSCRIPT over AUDIO's log-mel spectrogram.

    Words (and characters, for CTC) are boxes shaded by the aligner's confidence; with
    --compare two aligners' boundaries are drawn over the spectrogram and in lanes
    one above the other, to see where they disagree.
    """
    from aural.audio.waveform import SAMPLE_RATE
    from aural.plots.alignment import draw_alignment

    out = output_path(output, overwrite)
    specs = _aligner_specs(aligner, compare)
    text = _transcript_for_alignment(transcript)
    waveform = _load(audio)
    first, last = _range(waveform.duration, start, end)
    if last - first > MAX_ALIGNMENT_SECONDS:
        fail(
            f"{last - first:.0f} s is too long for one alignment picture (at most "
            f"{MAX_ALIGNMENT_SECONDS:g} s): choose a part with --start/--end"
        )
    aligners = [_create_aligner(name, model) for name, model in specs]
    results = []
    for (name, _), one in zip(specs, aligners, strict=True):
        try:
            results.append(one.align(waveform, text))
        except AuralError as err:
            fail(f"{audio}: {name}: {cli_message(err)}", exit_code_for(err))
    title = f"{audio.name}, {first:g}-{last:g} s, " + " vs ".join(
        f"{r.engine} ({r.model})" for r in results
    )
    if len(results) == 2:
        title += _agreement(results[0], results[1])
    samples = waveform.samples[round(first * SAMPLE_RATE) : round(last * SAMPLE_RATE)]
    write_picture(
        lambda: draw_alignment(
            samples, SAMPLE_RATE, results, out, start=first, title=title
        ),
        out,
    )


def _aligner_specs(aligner: str, compare: str | None) -> list[tuple[str, str | None]]:
    from aural.align import ALIGNERS
    from aural.cli.common import parse_engine_spec

    flag = "--aligner" if compare is None else "--compare"
    raw = [aligner] if compare is None else [c for c in compare.split(",") if c.strip()]
    specs = [parse_engine_spec(r) for r in raw]
    if compare is not None and len(specs) != 2:
        fail(f"--compare {compare!r}: give two aligners, e.g. whisper,sphinx")
    for name, _ in specs:
        if name not in ALIGNERS:
            fail(f"{flag}: unknown aligner {name!r}; use one of {', '.join(ALIGNERS)}")
    if len(specs) == 2 and specs[0] == specs[1]:
        fail(f"--compare {compare!r}: the two aligners are the same")
    return specs


def _transcript_for_alignment(path: Path) -> str:
    if not path.is_file():
        fail(f"{path}: no such file")
    if path.suffix.lower() == ".json":
        data = _read_json(path, "transcript")
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            fail(f"{path}: not an aural transcript (no 'text')")
        return str(data["text"])
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        fail(f"cannot read {path}: {err}")


def _create_aligner(name: str, model: str | None) -> Any:
    from aural.align import create_aligner

    try:
        return create_aligner(name, model)
    except AuralError as err:
        fail(
            f"the {name} aligner is not available here: {cli_message(err)}",
            exit_code_for(err),
        )


def _agreement(a: Any, b: Any) -> str:
    """``, median |Δ| 40 ms, 90% within 100 ms`` over the words both placed."""
    from aural.align.compare import boundary_differences

    diffs = boundary_differences(a, b).ravel()
    if not diffs.size:
        return ""
    import numpy as np

    return (
        f"\nboundaries: median |Δ| {1000 * float(np.median(diffs)):.0f} ms, "
        f"{100 * float(np.mean(diffs <= 0.1)):.0f}% within 100 ms"
    )


COMMANDS: dict[str, Callable[..., None]] = {
    "attention": attention_command,
    "transcript": transcript_command,
    "errors": errors_command,
    "alignment": alignment_command,
}
"""name -> function of each ``aural plot`` sub-command."""


def register(app: typer.Typer) -> None:
    plot = typer.Typer(
        help="Draw pictures of what a model does with a recording.",
        no_args_is_help=True,
    )
    for name, command in COMMANDS.items():
        plot.command(name)(command)
    app.add_typer(plot, name="plot")
