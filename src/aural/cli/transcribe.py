"""`aural transcribe`."""

from __future__ import annotations

import dataclasses
import itertools
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

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

from aural.cli.common import (
    CLI_FLAGS,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    cli_message,
    err_console,
    exit_code_for,
    fail,
    warn,
)
from aural.cli.detect_language import LANGUAGE_FLAGS, split_languages
from aural.decoding.options import DecodeOptions
from aural.engines.base import Engine
from aural.engines.layout import Layout, Workload
from aural.errors import AuralError
from aural.types import Segment, Transcript

if TYPE_CHECKING:
    from aural.audio import Waveform
    from aural.diarization import Diarizer

LONG_INPUT_S = 120.0  # one input longer than this is decoded in parts side by side

FORMAT_HELP = "txt, json, srt, vtt, tsv, or all"
HOTWORDS_HELP = (
    'Words or phrases to favour, comma-separated: "Gwynplaine, Dea:2.0" (a :weight '
    "sets that entry's bonus)."
)
HOTWORD_WEIGHT_HELP = (
    "Bonus (natural log) per matched hotword token (Whisper) or character (ctc, "
    "aural) for entries without their own :weight (default: the engine's)."
)
HOTWORDS_FILE_HELP = (
    "Hotwords from a UTF-8 text file, one entry per line (word:weight allowed, # "
    "comments); added to --hotwords."
)


def hotword_weight_setting(engine: str, weight: float | None) -> dict[str, float]:
    """``{"hotword_weight": weight}`` for an engine whose settings take it (``{}`` for
    None); for another engine a usage error naming ``--hotword-weight``."""
    if weight is None:
        return {}
    if not 0.0 <= weight < float("inf"):
        fail(f"--hotword-weight must be a number >= 0, got {weight}")
    given = {"hotword_weight": weight}
    if not set(given) <= _setting_names(engine):
        fail(
            "--hotword-weight is for the engines that take it "
            f"({_engines_taking(set(given))}), not {engine}"
        )
    return given


def _setting_names(engine: str) -> set[str]:
    from aural.engines.base import engine_class

    return {f.name for f in dataclasses.fields(engine_class(engine).settings_type)}


def hotword_entries(
    hotwords: str | None, hotwords_file: Path | None
) -> tuple[str, ...]:
    """The entries of ``--hotwords`` then ``--hotwords-file``, each once, in order.

    A file that cannot be used is a usage error naming ``--hotwords-file`` (exit 2).
    """
    from aural.decoding.options import read_hotwords_file, split_hotword_list

    entries = split_hotword_list(hotwords)
    if hotwords_file is not None:
        try:
            from_file = read_hotwords_file(hotwords_file)
        except AuralError as err:
            fail(cli_message(err, {**CLI_FLAGS, "hotwords": "--hotwords-file"}))
        if not from_file:
            warn(f"--hotwords-file {hotwords_file}: no entries in it")
        entries += from_file
    return tuple(dict.fromkeys(" ".join(e.split()) for e in entries))


def _output_paths(
    paths: list[Path],
    out_dir: Path,
    formats: list[str],
    exists: Callable[[Path], bool] = Path.exists,
) -> dict[Path, list[Path]]:
    """DIR/<stem>.<fmt> per input, never one name for two inputs.

    Inputs whose stems clash (``a.wav`` and ``a.flac``, or ``x/a.wav`` and ``y/a.wav``)
    keep their suffix (``a.flac.txt``), then get their parent folder prefixed
    (``y__a.wav.txt``), then a number. Names are compared ignoring case, for file
    systems that do.
    """
    counts: dict[str, int] = {}
    for p in paths:  # a missing input (reported as such) takes no name from the others
        counts[p.stem.lower()] = counts.get(p.stem.lower(), 0) + exists(p)
    names = {p: p.stem for p in paths if counts[p.stem.lower()] <= 1 and exists(p)}
    taken = {name.lower() for name in names.values()}
    for p in paths:
        if p in names:
            continue
        for k in itertools.count(1):
            name = (
                p.name
                if k == 1
                else f"{p.parent.name}__{p.name}"
                if k == 2
                else f"{p.parent.name}__{p.name}__{k - 1}"
            )
            if name.lower() not in taken:
                break
        names[p] = name
        taken.add(name.lower())
    return {p: [out_dir / f"{names[p]}.{fmt}" for fmt in formats] for p in paths}


def _fresh_name(outputs: list[Path]) -> list[Path]:
    """``outputs`` renamed ``stdin-2.txt``, ``stdin-3.txt``... until none of them
    exists: piped audio has no identity to skip on, and an earlier transcript must not
    be lost."""
    for k in itertools.count(2):
        if not any(o.exists() for o in outputs):
            return outputs
        outputs = [o.with_name(f"stdin-{k}{o.suffix}") for o in outputs]
    raise AssertionError("unreachable")


def _check_output_dir(output_dir: Path) -> None:
    """Create ``output_dir`` and prove a file can be written there, before any
    decoding."""
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=output_dir, prefix=".aural-write-test-"):
            pass
    except OSError as err:
        fail(f"--output-dir {output_dir}: cannot write there ({err.strerror or err})")


def _stdin_input(
    inputs: list[str],
) -> tuple[list[str], tempfile.TemporaryDirectory | None]:
    """``-`` among ``inputs`` -> the audio piped on stdin, spooled to a file named
    ``stdin``.

    The spool lives as long as the returned folder object (its finaliser removes it).
    """
    if "-" not in inputs:
        return inputs, None
    if inputs.count("-") > 1:
        fail("'-' (standard input) can be given once")
    if sys.stdin is None or sys.stdin.isatty():
        fail(
            "'-' reads audio from standard input, but nothing is piped in; "
            "e.g. `ffmpeg -i talk.mp4 -f wav - | aural transcribe -`"
        )
    folder = tempfile.TemporaryDirectory(prefix="aural-stdin-")
    path = Path(folder.name) / "stdin"
    with path.open("wb") as out:
        shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
    return [str(path) if item == "-" else item for item in inputs], folder


def _stop_now(spool: tempfile.TemporaryDirectory | None) -> NoReturn:
    """Ctrl-C: exit 130 at once. Decodes already running in native code cannot be
    interrupted, and a normal exit would wait for them (up to a minute on long inputs).
    Every output written so far is complete (atomic writes); the stdin spool is
    removed."""
    if spool is not None:
        spool.cleanup()
    err_console.print("interrupted")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)


def _duration(path: Path, raw_sample_rate: int | None, raw_encoding: str) -> float:
    """``path``'s duration from its header (0.0 when it cannot be read: the batch
    reports why when it loads it)."""
    from aural import audio

    try:
        return audio.probe(
            path, raw_sample_rate=raw_sample_rate, raw_encoding=raw_encoding
        ).duration
    except AuralError:
        return 0.0


def _check_flags(
    *,
    threads: int,
    workers: int,
    jobs: int,
    batch_size: int | None,
    raw_sample_rate: int | None,
    raw_encoding: str,
    output_dir: Path | None,
    formats: list[str],
) -> None:
    """Refuse bad flag values before any work (one line, exit 2)."""
    from aural.audio.load import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, RAW_ENCODINGS

    for flag, value, low in (
        ("--threads", threads, 0),
        ("--workers", workers, 0),
        ("--jobs", jobs, 1),
        ("--batch-size", 1 if batch_size is None else batch_size, 1),
    ):
        if value < low:
            fail(f"{flag} must be >= {low}, got {value}")
    if output_dir is None and len(formats) > 1:
        fail("--format all needs --output-dir")
    if output_dir is not None and output_dir.exists() and not output_dir.is_dir():
        fail(f"--output-dir {output_dir} exists and is not a folder")
    if raw_sample_rate is not None and not (
        MIN_SAMPLE_RATE <= raw_sample_rate <= MAX_SAMPLE_RATE
    ):
        fail(
            f"--raw-sample-rate must be {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz, "
            f"got {raw_sample_rate}"
        )
    if raw_encoding not in RAW_ENCODINGS:
        fail(f"unknown --raw-encoding {raw_encoding!r}; use {', '.join(RAW_ENCODINGS)}")
    if output_dir is not None:
        _check_output_dir(output_dir)


def _plan_outputs(
    paths: list[Path],
    output_dir: Path | None,
    formats: list[str],
    overwrite: bool,
    stdin_path: Path | None,
    exists: Callable[[Path], bool] = Path.exists,
) -> tuple[dict[Path, list[Path]], list[Path]]:
    """The files to write per input, and the inputs left to do (nothing the user has is
    replaced unless ``overwrite``); ``exists`` tells which inputs are there."""
    outputs = _output_paths(paths, output_dir, formats, exists) if output_dir else {}
    if stdin_path in outputs and not overwrite:
        outputs[stdin_path] = _fresh_name(outputs[stdin_path])
    if not overwrite:  # only what is missing: a user's file is never replaced unasked
        outputs = {
            p: [o for o in outs if not o.exists()] for p, outs in outputs.items()
        }
    return outputs, [p for p in paths if not outputs or outputs[p]]


def _workload(
    todo: list[Path], raw_sample_rate: int | None, raw_encoding: str
) -> tuple[Workload, float]:
    """``batch`` for several inputs, ``long`` for one long enough to decode in parts
    side by side, else ``single``; and the one input's duration (0.0 for a batch)."""
    if len(todo) != 1:
        return "batch", 0.0
    duration = _duration(todo[0], raw_sample_rate, raw_encoding)
    return ("long" if duration > LONG_INPUT_S else "single"), duration


def _load_engine(
    name: str,
    model: str | None,
    layout: Layout,
    *,
    compute_type: str | None,
    lm: Path | None,
    lm_vocabulary: Path | None,
    lm_weight: float,
    hotword_weight: float | None = None,
) -> Engine:
    """The engine with the layout's settings and the flags it takes; a flag the engine
    has no setting for is a usage error naming it."""
    from aural.engines.base import create_engine

    settings = _engine_settings(
        name,
        layout,
        compute_type=compute_type,
        lm=lm,
        lm_vocabulary=lm_vocabulary,
        lm_weight=lm_weight,
        hotword_weight=hotword_weight,
    )
    return create_engine(name, model, **settings)


def _engine_settings(
    name: str,
    layout: Layout,
    *,
    compute_type: str | None,
    lm: Path | None,
    lm_vocabulary: Path | None,
    lm_weight: float,
    hotword_weight: float | None = None,
) -> dict[str, Any]:
    """:func:`_load_engine`'s settings by name (usage errors for flags the engine
    lacks)."""
    from aural.engines.base import engine_class

    cls = engine_class(name)
    fields = {f.name for f in dataclasses.fields(cls.settings_type)}
    values = dict(cls.layout_settings(layout))
    flags = {
        "--compute-type": {"compute_type": compute_type} if compute_type else {},
        "--lm": {"lm": str(lm), "lm_weight": lm_weight} if lm is not None else {},
    }
    if lm_vocabulary is not None:
        if lm is None:
            fail("--lm-vocabulary goes with a KenLM binary --lm")
        flags["--lm"]["lm_vocabulary"] = str(lm_vocabulary)
    for flag, given in flags.items():
        if given and not set(given) <= fields:
            fail(
                f"{flag} is for the engines that take it "
                f"({_engines_taking(set(given))}), not {name}"
            )
        values.update(given)
    values.update(hotword_weight_setting(name, hotword_weight))
    return values


def _engines_taking(settings: set[str]) -> str:
    """The registered engines whose settings type has all of ``settings``."""
    from aural.engines.base import available_engines, engine_class
    from aural.errors import MissingDependencyError

    takers = []
    for name in available_engines():
        try:
            fields = {
                f.name for f in dataclasses.fields(engine_class(name).settings_type)
            }
        except MissingDependencyError:
            continue
        if settings <= fields:
            takers.append(name)
    return ", ".join(takers) or "none installed"


def _progress(long_s: float, count: int, quiet: bool) -> Progress:
    columns = (
        (
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:.0f}/{task.total:.0f} s audio"),
        )
        if long_s
        else (
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[audio]:.0f} s audio"),
        )
    )
    return Progress(
        *columns,
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=quiet or (count < 2 and not long_s),
        transient=False,
    )


def transcribe_command(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Audio files, folders or globs; - reads audio piped on standard input."
        ),
    ],
    engine: Annotated[
        str, typer.Option(help="Engine: whisper, sphinx, ctc, aural.")
    ] = "whisper",
    model: Annotated[str | None, typer.Option(help="Model name or path.")] = None,
    language: Annotated[
        str | None,
        typer.Option(
            help="Language code, e.g. en, or auto: detect it (the default for "
            "multilingual models)."
        ),
    ] = None,
    languages: Annotated[
        str | None,
        typer.Option(
            help="With auto: choose only among these, comma-separated (en,de,fr)."
        ),
    ] = None,
    task: Annotated[
        str,
        typer.Option(help="transcribe, or translate (to English; multilingual)."),
    ] = "transcribe",
    language_per_segment: Annotated[
        bool,
        typer.Option(
            "--language-per-segment",
            help="Detect the language of each speech chunk (recordings that switch "
            "languages); shown in json, tsv and vtt.",
        ),
    ] = False,
    beam_size: Annotated[int, typer.Option(help="Beam size (1 = greedy).")] = 5,
    vad: Annotated[
        bool, typer.Option("--vad/--no-vad", help="Skip non-speech.")
    ] = True,
    fmt: Annotated[str, typer.Option("--format", "-f", help=FORMAT_HELP)] = "txt",
    output_dir: Annotated[
        Path | None, typer.Option(help="Write DIR/<stem>.<fmt>.")
    ] = None,
    jobs: Annotated[
        int, typer.Option(help="Audio decoding threads ahead of the engine.")
    ] = 2,
    batch_size: Annotated[
        int | None,
        typer.Option(
            help="Short files per batched call (default: the engine's choice; 1 on a "
            "CPU)."
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=0,
            help="Decodes side by side (0 = chosen for this machine: one per core, up "
            "to 4, for several inputs or one long one); --backend ray: recognising "
            "actors (0 = one per GPU of the cluster, else one per CPU).",
        ),
    ] = 0,
    overwrite: Annotated[
        bool, typer.Option(help="Redo files whose outputs exist.")
    ] = False,
    hotwords: Annotated[str | None, typer.Option(help=HOTWORDS_HELP)] = None,
    hotwords_file: Annotated[Path | None, typer.Option(help=HOTWORDS_FILE_HELP)] = None,
    hotword_weight: Annotated[
        float | None, typer.Option(help=HOTWORD_WEIGHT_HELP)
    ] = None,
    lm: Annotated[
        Path | None,
        typer.Option(
            help="Word n-gram LM for the ctc / aural engines' beam search: ARPA, "
            "KenLM or Sphinx binary, or sphinx-en-us (pocketsphinx's English 3-gram).",
        ),
    ] = None,
    lm_vocabulary: Annotated[
        Path | None,
        typer.Option(
            help="For a KenLM binary --lm: its ARPA file or a word list (one per "
            "line), so the beam search can tell partial words no LM word starts with.",
        ),
    ] = None,
    lm_weight: Annotated[
        float, typer.Option(help="Weight of --lm (natural-log scores).")
    ] = 0.5,
    initial_prompt: Annotated[
        str | None, typer.Option(help="Text to condition on.")
    ] = None,
    word_timestamps: Annotated[
        bool, typer.Option("--word-timestamps/--no-word-timestamps")
    ] = True,
    trimmed_windows: Annotated[
        bool,
        typer.Option(
            "--trimmed-windows/--full-window",
            help="Whisper: encode the speech + 8 s (long inputs: in chunks of up to "
            "29 s), not padded 30 s windows; --full-window = faster-whisper's "
            "sequential decoder.",
        ),
    ] = True,
    raw_sample_rate: Annotated[
        int | None, typer.Option(help="Rate of headerless PCM.")
    ] = None,
    raw_encoding: Annotated[
        str, typer.Option(help="pcm_s16le|pcm_s32le|pcm_f32le|pcm_u8")
    ] = "pcm_s16le",
    compute_type: Annotated[
        str | None, typer.Option(help="CTranslate2 compute type.")
    ] = None,
    threads: Annotated[
        int, typer.Option(help="Threads per decode (0 = chosen for this machine).")
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress.")] = False,
    diarize: Annotated[
        bool,
        typer.Option(
            "--diarize/--no-diarize",
            help="Label speakers (S1, S2...) on words and segments; segments split "
            "where the speaker changes (needs aural[diarize]).",
        ),
    ] = False,
    num_speakers: Annotated[
        int | None, typer.Option(help="--diarize: the number of speakers, if known.")
    ] = None,
    min_speakers: Annotated[
        int | None, typer.Option(help="--diarize: at least this many speakers.")
    ] = None,
    max_speakers: Annotated[
        int | None, typer.Option(help="--diarize: at most this many speakers.")
    ] = None,
    backend: Annotated[
        str,
        typer.Option(
            help="local (this process) or ray (Ray Data on this machine or a cluster, "
            "with a ledger a re-run resumes from; needs aural[ray] and --output-dir).",
        ),
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(
            help="--backend ray: the cluster to join, auto or ray://HOST:PORT "
            "(default: a Ray started on this machine for the job).",
        ),
    ] = None,
    max_failures: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="--backend ray: stop (exit 1) once more inputs than this have "
            "failed (default: never; every failure is recorded).",
        ),
    ] = None,
) -> None:
    """Transcribe audio files; text to stdout, or files in --output-dir."""
    from aural.batch import expand_inputs
    from aural.decoding.options import DecodeOptions
    from aural.distributed import EngineSpec
    from aural.engines.layout import choose_layout
    from aural.writers import FORMATS

    formats = list(FORMATS) if fmt == "all" else [fmt]
    if any(f not in FORMATS for f in formats):
        fail(f"unknown --format {fmt!r}; use {FORMAT_HELP}")
    if backend not in ("local", "ray"):
        fail(f"unknown --backend {backend!r}; use local or ray")
    ray_job = None
    if backend == "ray":
        from aural.cli.transcribe_ray import RayJob

        ray_job = RayJob.prepare(inputs, output_dir=output_dir, diarize=diarize)
        inputs, spool, paths = [], None, ray_job.paths
    elif address is not None or max_failures is not None:
        fail("--address and --max-failures go with --backend ray")
    else:
        inputs, spool = _stdin_input(inputs)  # the spool is removed when this returns
        paths = expand_inputs(inputs)
    if not paths:
        fail("no audio inputs found in " + ", ".join(inputs))
    _check_flags(
        threads=threads,
        workers=workers,
        jobs=jobs,
        batch_size=batch_size,
        raw_sample_rate=raw_sample_rate,
        raw_encoding=raw_encoding,
        output_dir=output_dir,
        formats=formats,
    )
    entries = hotword_entries(hotwords, hotwords_file)
    diarizer = _diarizer(diarize, num_speakers, min_speakers, max_speakers)
    try:
        options = DecodeOptions(
            language=language,
            beam_size=beam_size,
            vad=vad,
            hotwords=entries,
            initial_prompt=initial_prompt,
            word_timestamps=word_timestamps or fmt in ("json", "all") or diarize,
            batch_size=batch_size,
            trimmed_windows=trimmed_windows,
            languages=split_languages(languages),
            task=task,
            language_per_segment=language_per_segment,
        )
    except AuralError as err:
        fail(cli_message(err, LANGUAGE_FLAGS), exit_code_for(err))
    if ray_job is not None and output_dir is not None:  # workers build the engine
        try:
            settings = _engine_settings(
                engine,
                Layout(threads=threads or 1, decodes=1),
                compute_type=compute_type,
                lm=lm,
                lm_vocabulary=lm_vocabulary,
                lm_weight=lm_weight,
                hotword_weight=hotword_weight,
            )
        except AuralError as err:
            fail(cli_message(err), exit_code_for(err))
        ray_job.run(
            EngineSpec(engine, model, settings),
            options,
            formats,
            output_dir,
            overwrite=overwrite,
            quiet=quiet,
            workers=workers or None,
            address=address,
            max_failures=max_failures,
            raw_sample_rate=raw_sample_rate,
            raw_encoding=raw_encoding,
        )
        return
    stdin_path = Path(spool.name) / "stdin" if spool is not None else None
    outputs, todo = _plan_outputs(paths, output_dir, formats, overwrite, stdin_path)
    skipped = len(paths) - len(todo)
    if skipped:
        err_console.print(
            f"skipping {skipped} file(s) already transcribed (use --overwrite)"
        )
    workload, long_s = _workload(todo, raw_sample_rate, raw_encoding)
    layout = choose_layout(workload, threads=threads or None, decodes=workers or None)
    try:
        eng = _load_engine(
            engine,
            model,
            layout,
            compute_type=compute_type,
            lm=lm,
            lm_vocabulary=lm_vocabulary,
            lm_weight=lm_weight,
            hotword_weight=hotword_weight,
        )
        eng.check_options(
            options
        )  # e.g. a language the model lacks: refused before any work
    except AuralError as err:
        fail(cli_message(err, LANGUAGE_FLAGS), exit_code_for(err))
    run = _Run(eng, options, paths, outputs, formats[0], output_dir, spool)
    run.diarizer = diarizer
    try:
        if len(todo) == 1:
            run.one(
                todo[0],
                long_s if workload == "long" else 0.0,
                quiet,
                raw_sample_rate,
                raw_encoding,
            )
        else:
            run.batch(
                todo,
                long_s if workload == "long" else 0.0,
                quiet,
                jobs,
                raw_sample_rate,
                raw_encoding,
            )
    except AuralError as err:  # an engine-wide failure (e.g. an option it rejects)
        fail(cli_message(err), exit_code_for(err))
    except KeyboardInterrupt:
        _stop_now(spool)
    run.summary(skipped)


def _diarizer(
    diarize: bool,
    num_speakers: int | None,
    min_speakers: int | None,
    max_speakers: int | None,
) -> Diarizer | None:
    """The diarizer for ``--diarize`` (None without it); the speaker-count flags
    without ``--diarize`` are a usage error."""
    if not diarize:
        if (num_speakers, min_speakers, max_speakers) != (None, None, None):
            fail("--num-speakers, --min-speakers and --max-speakers need --diarize")
        return None
    from aural.cli.diarize import diarization_options
    from aural.diarization import Diarizer

    return Diarizer(diarization_options(num_speakers, min_speakers, max_speakers))


class _Run:
    """One ``aural transcribe`` run: where results go, and what failed."""

    diarizer: Diarizer | None = None  # --diarize: speakers added to each transcript

    def __init__(
        self,
        engine: Engine,
        options: DecodeOptions,
        paths: list[Path],
        outputs: dict[Path, list[Path]],
        fmt: str,
        output_dir: Path | None,
        spool: tempfile.TemporaryDirectory | None,
    ) -> None:
        self.engine, self.options, self.paths = engine, options, paths
        self.outputs, self.fmt, self.output_dir, self.spool = (
            outputs,
            fmt,
            output_dir,
            spool,
        )
        self.failed: list[tuple[Path, str]] = []
        self.done, self.audio_s, self.t0 = 0, 0.0, time.perf_counter()

    def _fail(self, source: Path, message: str) -> None:
        if self.spool is not None:  # name piped audio as the user knows it
            message = message.replace(str(Path(self.spool.name) / "stdin"), "stdin")
        self.failed.append((source, message))
        err_console.print(f"[red]failed:[/] {escape(message)}")

    def one(
        self,
        path: Path,
        long_s: float,
        quiet: bool,
        raw_sample_rate: int | None,
        raw_encoding: str,
    ) -> None:
        """One input, with progress in seconds of audio for a long one; to stdout its
        segments are printed as they arrive (txt)."""
        from aural.audio.load import load
        from aural.writers import render

        try:
            wave = load(
                path,
                self.engine.sample_rate,
                raw_sample_rate=raw_sample_rate,
                raw_encoding=raw_encoding,
            )
            segments = self.engine.iter_segments(wave, self.options)
        except AuralError as err:
            self._fail(path, cli_message(err))
            return
        with _progress(long_s, 1, quiet) as progress:
            task = progress.add_task(
                f"transcribing {escape(path.name)}", total=long_s or 1, audio=0.0
            )
            collected: list[Segment] = []
            live = self.output_dir is None and self.fmt == "txt" and not self.diarizer
            printed = False
            for segment in segments:
                collected.append(segment)
                progress.update(task, completed=min(segments.seconds_done, long_s))
                if live and segment.text.strip():
                    sys.stdout.write((" " if printed else "") + segment.text.strip())
                    sys.stdout.flush()
                    printed = True
            progress.update(task, completed=long_s or 1)
        transcript = Transcript(tuple(collected), segments.info)
        self.audio_s = wave.duration
        attributed = self._with_speakers(path, wave, transcript)
        if attributed is None:
            return
        transcript = attributed
        if self.output_dir is not None:
            self._deliver(path, transcript)
            return
        if self.fmt == "txt" and not self.diarizer:
            sys.stdout.write("\n" if transcript.text else "")
        else:
            sys.stdout.write(render(transcript, self.fmt))
        sys.stdout.flush()
        self.done = 1

    def batch(
        self,
        todo: list[Path],
        long_s: float,
        quiet: bool,
        jobs: int,
        raw_sample_rate: int | None,
        raw_encoding: str,
    ) -> None:
        """Several inputs (or one to a folder): decoded side by side, outputs written
        atomically as each finishes, one bad input never stopping the rest."""
        from aural.batch import transcribe_many

        with _progress(long_s, len(todo), quiet) as progress:
            task = progress.add_task(
                f"transcribing {escape(todo[0].name)}" if long_s else "transcribing",
                total=long_s or len(todo),
                audio=0.0,
            )
            items = transcribe_many(
                self.engine,
                todo,
                self.options,
                prefetch=jobs,
                raw_sample_rate=raw_sample_rate,
                raw_encoding=raw_encoding,
            )
            for item in items:
                progress.update(task, advance=0 if long_s else 1, audio=self.audio_s)
                if item.error is not None or item.transcript is None:
                    self._fail(
                        item.source,
                        cli_message(item.error)
                        if item.error
                        else f"{item.source}: no transcript",
                    )
                    continue
                transcript = self._with_speakers(item.source, None, item.transcript)
                if transcript is None:
                    continue
                self._deliver(item.source, transcript)
                self.audio_s += item.duration
                progress.update(task, audio=self.audio_s)

    def _with_speakers(
        self, path: Path, wave: Waveform | None, transcript: Transcript
    ) -> Transcript | None:
        """``transcript`` with speakers under ``--diarize`` (unchanged without it);
        None when diarization failed (reported, counted as failed)."""
        if self.diarizer is None:
            return transcript
        from aural.diarization import assign_speakers

        try:
            turns = self.diarizer.diarize(wave if wave is not None else path)
        except AuralError as err:
            self._fail(path, cli_message(err))
            return None
        return assign_speakers(transcript, turns)

    def _deliver(self, source: Path, transcript: Transcript) -> None:
        from aural.writers import render, write_atomic

        if self.output_dir is None:
            if len(self.paths) > 1:
                sys.stdout.write(f"==> {source} <==\n")
            sys.stdout.write(render(transcript, self.fmt))
            sys.stdout.flush()
            self.done += 1
            return
        for out in self.outputs[source]:
            try:
                write_atomic(out, render(transcript, out.suffix[1:]))
            except OSError as err:
                self._fail(
                    source, f"{source}: cannot write {out} ({err.strerror or err})"
                )
                return
        self.done += 1

    def summary(self, skipped: int) -> None:
        elapsed = time.perf_counter() - self.t0
        if len(self.paths) > 1:
            rtf = elapsed / self.audio_s if self.audio_s else 0.0
            err_console.print(
                f"done: {self.done} transcribed, {skipped} skipped, "
                f"{len(self.failed)} failed; {self.audio_s:.1f} s of audio in "
                f"{elapsed:.1f} s (RTF {rtf:.3f})"
            )
        if self.failed:
            sys.exit(EXIT_SOME_FAILED)


def register(app: typer.Typer) -> None:
    app.command("transcribe")(transcribe_command)


__all__ = ["EXIT_USAGE", "hotword_entries", "hotword_weight_setting", "register"]
