"""`aural transcribe` and `aural models`."""

from __future__ import annotations

import itertools
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from aural.cli.common import EXIT_SOME_FAILED, EXIT_USAGE, err_console, exit_code_for, fail
from aural.errors import AuralError

FORMAT_HELP = "txt, json, srt, vtt, tsv, or all"


def _output_paths(paths: list[Path], out_dir: Path, formats: list[str]) -> dict[Path, list[Path]]:
    """DIR/<stem>.<fmt> per input, never one name for two inputs.

    Inputs whose stems clash (``a.wav`` and ``a.flac``, or ``x/a.wav`` and ``y/a.wav``) keep
    their suffix (``a.flac.txt``), then get their parent folder prefixed
    (``y__a.wav.txt``), then a number. Names are compared ignoring case, for file systems
    that do.
    """
    counts: dict[str, int] = {}
    for p in paths:  # a missing input (reported as such) takes no name from the others
        counts[p.stem.lower()] = counts.get(p.stem.lower(), 0) + p.exists()
    names = {p: p.stem for p in paths if counts[p.stem.lower()] <= 1 and p.exists()}
    taken = {name.lower() for name in names.values()}
    for p in paths:
        if p in names:
            continue
        for k in itertools.count(1):
            name = (p.name if k == 1 else f"{p.parent.name}__{p.name}" if k == 2
                    else f"{p.parent.name}__{p.name}__{k - 1}")
            if name.lower() not in taken:
                break
        names[p] = name
        taken.add(name.lower())
    return {p: [out_dir / f"{names[p]}.{fmt}" for fmt in formats] for p in paths}


def _fresh_name(outputs: list[Path]) -> list[Path]:
    """``outputs`` renamed ``stdin-2.txt``, ``stdin-3.txt``... until none of them exists:
    piped audio has no identity to skip on, and an earlier transcript must not be lost."""
    for k in itertools.count(2):
        if not any(o.exists() for o in outputs):
            return outputs
        outputs = [o.with_name(f"stdin-{k}{o.suffix}") for o in outputs]
    raise AssertionError("unreachable")


def _check_output_dir(output_dir: Path) -> None:
    """Create ``output_dir`` and prove a file can be written there, before any decoding."""
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=output_dir, prefix=".aural-write-test-"):
            pass
    except OSError as err:
        fail(f"--output-dir {output_dir}: cannot write there ({err.strerror or err})")


def _stdin_input(inputs: list[str]) -> tuple[list[str], tempfile.TemporaryDirectory | None]:
    """``-`` among ``inputs`` -> the audio piped on stdin, spooled to a file named ``stdin``.

    The spool lives as long as the returned folder object (its finaliser removes it).
    """
    if "-" not in inputs:
        return inputs, None
    if inputs.count("-") > 1:
        fail("'-' (standard input) can be given once")
    if sys.stdin is None or sys.stdin.isatty():
        fail("'-' reads audio from standard input, but nothing is piped in; "
             "e.g. `ffmpeg -i talk.mp4 -f wav - | aural transcribe -`")
    folder = tempfile.TemporaryDirectory(prefix="aural-stdin-")
    path = Path(folder.name) / "stdin"
    with path.open("wb") as out:
        shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
    return [str(path) if item == "-" else item for item in inputs], folder


def _stop_now(spool: tempfile.TemporaryDirectory | None) -> NoReturn:
    """Ctrl-C: exit 130 at once. Decodes already running in native code cannot be
    interrupted, and a normal exit would wait for them (up to a minute on long inputs).
    Every output written so far is complete (atomic writes); the stdin spool is removed."""
    if spool is not None:
        spool.cleanup()
    err_console.print("interrupted")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)


def _duration(path: Path, raw_sample_rate: int | None, raw_encoding: str) -> float:
    """``path``'s duration from its header (0.0 when it cannot be read: the batch reports
    why when it loads it)."""
    from aural import audio

    try:
        return audio.probe(path, raw_sample_rate=raw_sample_rate,
                           raw_encoding=raw_encoding).duration
    except AuralError:
        return 0.0


def _long_input_duration(paths: list[Path], raw_sample_rate: int | None, raw_encoding: str,
                         short_form: bool) -> float:
    """The duration of the one input when it is long enough for Whisper to decode several
    parts of it side by side: chunks (a few groups of them) or, with ``--full-window``,
    pieces. 0.0 otherwise (several inputs, a short one, or one that cannot be read)."""
    from aural.engines.whisper import PIECE_S, WINDOW_S

    if len(paths) != 1:
        return 0.0
    duration = _duration(paths[0], raw_sample_rate, raw_encoding)
    return duration if duration > (4 * WINDOW_S if short_form else 2 * PIECE_S) else 0.0


def _is_long(paths: list[Path], raw_sample_rate: int | None, raw_encoding: str,
             short_form: bool) -> bool:
    """True when the one input is long enough to decode in parts side by side."""
    return _long_input_duration(paths, raw_sample_rate, raw_encoding, short_form) > 0


def transcribe_command(
    inputs: Annotated[list[str], typer.Argument(
        help="Audio files, folders or globs; - reads audio piped on standard input.")],
    engine: Annotated[str, typer.Option(help="Engine: whisper, sphinx, ctc, aural.")] = "whisper",
    model: Annotated[Optional[str], typer.Option(help="Model name or path.")] = None,
    language: Annotated[Optional[str], typer.Option(help="Language code, e.g. en.")] = None,
    beam_size: Annotated[int, typer.Option(help="Beam size (1 = greedy).")] = 5,
    vad: Annotated[bool, typer.Option("--vad/--no-vad", help="Skip non-speech.")] = True,
    fmt: Annotated[str, typer.Option("--format", "-f", help=FORMAT_HELP)] = "txt",
    output_dir: Annotated[Optional[Path], typer.Option(help="Write DIR/<stem>.<fmt>.")] = None,
    jobs: Annotated[int, typer.Option(help="Audio decoding threads ahead of the engine.")] = 2,
    batch_size: Annotated[int, typer.Option(help="Short files per batched call.")] = 4,
    workers: Annotated[int, typer.Option(
        min=0, help="Whisper: files decoded at once (0 = one per core, up to 4, with several inputs)."
    )] = 0,
    overwrite: Annotated[bool, typer.Option(help="Redo files whose outputs exist.")] = False,
    hotwords: Annotated[Optional[str], typer.Option(help='"word, a phrase, ..."')] = None,
    lm: Annotated[Optional[Path], typer.Option(
        help="Word n-gram LM for the ctc / aural engines' beam search: ARPA, KenLM or Sphinx "
             "binary, or sphinx-en-us (pocketsphinx's English 3-gram).",
    )] = None,
    lm_vocabulary: Annotated[Optional[Path], typer.Option(
        help="For a KenLM binary --lm: its ARPA file or a word list (one per line), so the "
             "beam search can tell partial words no LM word starts with.",
    )] = None,
    lm_weight: Annotated[float, typer.Option(help="Weight of --lm (natural-log scores).")] = 0.5,
    initial_prompt: Annotated[Optional[str], typer.Option(help="Text to condition on.")] = None,
    word_timestamps: Annotated[bool, typer.Option("--word-timestamps/--no-word-timestamps")] = True,
    short_form: Annotated[bool, typer.Option(
        "--short-form/--full-window",
        help="Whisper: encode the speech + 8 s (long inputs: in chunks of up to 29 s), not "
             "padded 30 s windows; --full-window = faster-whisper's sequential decoder.")] = True,
    raw_sample_rate: Annotated[Optional[int], typer.Option(help="Rate of headerless PCM.")] = None,
    raw_encoding: Annotated[str, typer.Option(help="pcm_s16le|pcm_s32le|pcm_f32le|pcm_u8")] = "pcm_s16le",
    compute_type: Annotated[Optional[str], typer.Option(help="CTranslate2 compute type.")] = None,
    threads: Annotated[int, typer.Option(help="Engine CPU threads (0 = default).")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress.")] = False,
) -> None:
    """Transcribe audio files; text to stdout, or files in --output-dir."""
    from aural.audio.load import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, RAW_ENCODINGS
    from aural.batch import expand_inputs, transcribe_many
    from aural.decoding.options import DecodeOptions, parse_hotwords
    from aural.engines import create_engine
    from aural.engines.whisper import parallel_settings
    from aural.writers import FORMATS, render, write_atomic

    formats = list(FORMATS) if fmt == "all" else [fmt]
    if any(f not in FORMATS for f in formats):
        fail(f"unknown --format {fmt!r}; use {FORMAT_HELP}")
    inputs, spool = _stdin_input(inputs)  # the spool is removed when this returns
    paths = expand_inputs(inputs)
    if not paths:
        fail("no audio inputs found in " + ", ".join(inputs))
    for flag, value, low in (("--threads", threads, 0), ("--workers", workers, 0),
                             ("--jobs", jobs, 1), ("--batch-size", batch_size, 1)):
        if value < low:
            fail(f"{flag} must be >= {low}, got {value}")
    if output_dir is None and len(formats) > 1:
        fail("--format all needs --output-dir")
    if output_dir is not None and output_dir.exists() and not output_dir.is_dir():
        fail(f"--output-dir {output_dir} exists and is not a folder")
    if raw_sample_rate is not None and not (
            MIN_SAMPLE_RATE <= raw_sample_rate <= MAX_SAMPLE_RATE):
        fail(f"--raw-sample-rate must be {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz, "
             f"got {raw_sample_rate}")
    if raw_encoding not in RAW_ENCODINGS:
        fail(f"unknown --raw-encoding {raw_encoding!r}; use {', '.join(RAW_ENCODINGS)}")
    if output_dir is not None:
        _check_output_dir(output_dir)
    try:
        options = DecodeOptions(
            language=language, beam_size=beam_size, vad=vad, hotwords=parse_hotwords(hotwords),
            initial_prompt=initial_prompt, word_timestamps=word_timestamps or fmt in ("json", "all"),
            batch_size=batch_size, short_form=short_form,
        )
    except AuralError as err:
        fail(str(err), exit_code_for(err))

    outputs = _output_paths(paths, output_dir, formats) if output_dir else {}
    stdin_path = Path(spool.name) / "stdin" if spool is not None else None
    if stdin_path in outputs and not overwrite:
        outputs[stdin_path] = _fresh_name(outputs[stdin_path])
    if not overwrite:  # only what is missing: a user's file is never replaced unasked
        outputs = {p: [o for o in outs if not o.exists()] for p, outs in outputs.items()}
    todo = [p for p in paths if not outputs or outputs[p]]
    skipped = len(paths) - len(todo)
    if skipped:
        err_console.print(f"skipping {skipped} file(s) already transcribed (use --overwrite)")
    # one input long enough to decode in parts: two decodes side by side, and progress
    long_s = (_long_input_duration(todo, raw_sample_rate, raw_encoding, short_form)
              if engine == "whisper" else 0.0)  # probed once: some formats are decoded for it
    long_one = long_s > 0
    try:
        settings: dict[str, object] = {}
        if engine == "whisper":
            settings = {"cpu_threads": threads}
            if workers > 1 or (workers == 0 and (len(todo) > 1 or long_one)):
                # several files, or one long one in parts: single-threaded decodes side by
                # side beat one wide decode
                settings = dict(parallel_settings(workers, threads))
            if compute_type:
                settings["compute_type"] = compute_type
        if lm is not None:
            if engine not in ("ctc", "aural"):
                fail(f"--lm is for the CTC engines (ctc, aural), not {engine}")
            settings.update(lm=str(lm), lm_weight=lm_weight)
            if lm_vocabulary is not None:
                settings["lm_vocabulary"] = str(lm_vocabulary)
        elif lm_vocabulary is not None:
            fail("--lm-vocabulary goes with a KenLM binary --lm")
        eng = create_engine(engine, model, **settings)
        eng.check_options(options)  # e.g. a language the model lacks: refused before any work
    except AuralError as err:
        fail(str(err), exit_code_for(err))

    failed: list[tuple[Path, str]] = []
    done, audio_s, t0 = 0, 0.0, time.perf_counter()
    columns = (
        (TextColumn("[progress.description]{task.description}"), BarColumn(),
         TextColumn("{task.completed:.0f}/{task.total:.0f} s audio"))
        if long_one else
        (TextColumn("[progress.description]{task.description}"), BarColumn(),
         MofNCompleteColumn(), TextColumn("{task.fields[audio]:.0f} s audio")))
    progress = Progress(
        *columns, TimeElapsedColumn(), TimeRemainingColumn(),
        console=err_console, disable=quiet or (len(todo) < 2 and not long_one), transient=False,
    )
    with progress:
        if long_one:  # the seconds of audio the engine has done, reported as it goes
            task = progress.add_task(f"transcribing {escape(todo[0].name)}", total=long_s,
                                     audio=0.0)

            def report(done_s: float, total_s: float) -> None:
                progress.update(task, completed=long_s * done_s / max(total_s, 1e-9))

            eng.progress = report
        else:
            task = progress.add_task("transcribing", total=len(todo), audio=0.0)
        items = transcribe_many(
            eng, todo, options, batch_size=batch_size, prefetch=jobs,
            raw_sample_rate=raw_sample_rate, raw_encoding=raw_encoding,
        )
        try:
            for item in items:
                if not long_one:
                    progress.advance(task)
                if item.error is not None or item.transcript is None:
                    message = str(item.error)
                    if spool is not None:  # name piped audio as the user knows it
                        message = message.replace(str(Path(spool.name) / "stdin"), "stdin")
                    failed.append((item.source, message))
                    err_console.print(f"[red]failed:[/] {escape(message)}")
                    continue
                done += 1
                audio_s += item.duration
                progress.update(task, audio=audio_s)
                if output_dir is None:
                    if len(paths) > 1:
                        sys.stdout.write(f"==> {item.source} <==\n")
                    sys.stdout.write(render(item.transcript, formats[0]))
                    sys.stdout.flush()
                else:
                    try:
                        for out in outputs[item.source]:
                            write_atomic(out, render(item.transcript, out.suffix[1:]))
                    except OSError as err:
                        done -= 1
                        message = f"{item.source}: cannot write {out} ({err.strerror or err})"
                        failed.append((item.source, message))
                        err_console.print(f"[red]failed:[/] {escape(message)}")
        except AuralError as err:  # an engine-wide failure (e.g. an option it rejects)
            fail(str(err), exit_code_for(err))
        except KeyboardInterrupt:
            progress.stop()
            _stop_now(spool)

    elapsed = time.perf_counter() - t0
    if len(paths) > 1:
        rtf = elapsed / audio_s if audio_s else 0.0
        err_console.print(
            f"done: {done} transcribed, {skipped} skipped, {len(failed)} failed; "
            f"{audio_s:.1f} s of audio in {elapsed:.1f} s (RTF {rtf:.3f})"
        )
    if failed:
        sys.exit(EXIT_SOME_FAILED)


def models_list() -> None:
    """List the models aural knows and whether they are installed."""
    from aural.engines.whisper_models import list_models

    for alias, where in list_models():
        typer.echo(f"whisper:{alias}\t{where}")
    typer.echo("sphinx:en-us\tinstalled (pocketsphinx)")


def models_path(name: Annotated[str, typer.Argument(help="Whisper model alias, folder or hub id.")]) -> None:
    """Print the local folder of a Whisper model (downloads it where there is a network)."""
    from aural.engines.whisper_models import resolve_whisper_model

    try:
        typer.echo(str(resolve_whisper_model(name)))
    except AuralError as err:
        fail(str(err), exit_code_for(err))


def register(app: typer.Typer) -> None:
    app.command("transcribe")(transcribe_command)
    models = typer.Typer(help="List and locate models.", no_args_is_help=True)
    models.command("list")(models_list)
    models.command("path")(models_path)
    app.add_typer(models, name="models")


__all__ = ["register", "EXIT_USAGE"]
