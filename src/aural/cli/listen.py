"""`aural listen`: live transcription from the microphone or a file played as a
stream."""

from __future__ import annotations

import queue
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Group
from rich.text import Text

from aural.cli.common import (
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    cli_message,
    err_console,
    exit_code_for,
    fail,
)
from aural.cli.transcribe import (
    HOTWORD_WEIGHT_HELP,
    HOTWORDS_FILE_HELP,
    HOTWORDS_HELP,
    hotword_entries,
    hotword_weight_setting,
)
from aural.errors import AuralError, MissingDependencyError
from aural.types import Final, Partial, Segment, StreamEvent

SAMPLE_RATE = 16_000
SHOWN_FINALS = 8  # finals kept on screen above the partial
_BEHIND = {  # what the session sheds at each degradation level
    1: "  (behind: fewer partials)",
    2: "  (behind: no partials, greedy finals)",
    3: "  (far behind: skipping speech)",
}


class LiveView:
    """What the terminal shows: the last finals and the current partial."""

    def __init__(self) -> None:
        self.finals: list[Segment] = []
        self.partial = ""
        self.status = ""

    def update(self, events: list[StreamEvent]) -> None:
        for event in events:
            if isinstance(event, Final):
                self.finals.append(event.segment)
                self.partial = ""
            elif isinstance(event, Partial):
                self.partial = event.text

    def render(self) -> Group:
        lines = [
            Text.assemble((f"[{s.start:7.2f}] ", "dim"), s.text)
            for s in self.finals[-SHOWN_FINALS:]
        ]
        if self.partial:
            lines.append(
                Text.assemble(("[  ...  ] ", "dim"), (self.partial, "italic yellow"))
            )
        if self.status:
            lines.append(Text(self.status, style="dim"))
        return Group(*lines) if lines else Group(Text("listening...", style="dim"))


def _file_chunks(
    path: Path,
    chunk_s: float,
    realtime: bool,
    raw_sample_rate: int | None = None,
    raw_encoding: str = "pcm_s16le",
) -> Iterator[np.ndarray]:
    """The file's samples (16 kHz) in chunks, paced to real time when asked."""
    from aural.audio import load

    samples = load(
        path, SAMPLE_RATE, raw_sample_rate=raw_sample_rate, raw_encoding=raw_encoding
    ).samples
    step = max(1, int(chunk_s * SAMPLE_RATE))
    began = time.perf_counter()
    for i in range(0, samples.size, step):
        if realtime:  # the chunk ending at i+step is "recorded" at that moment
            delay = began + (i + step) / SAMPLE_RATE - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        yield samples[i : i + step]


def _microphone_chunks(chunk_s: float, device: str | None) -> Iterator[bytes]:
    """16-bit PCM blocks from the default (or named) input device until Ctrl-C."""
    try:
        import sounddevice as sd
    except (ImportError, OSError) as err:  # OSError: the PortAudio library is missing
        raise MissingDependencyError(
            "microphone input needs the 'sounddevice' package and the PortAudio "
            "library; install them with `pip install 'aural[mic]'` (and e.g. `apt-get "
            "install libportaudio2`), or use `aural listen --file AUDIO`"
        ) from err
    blocks: queue.Queue[bytes] = queue.Queue()
    selected: int | str | None = int(device) if device and device.isdigit() else device

    def callback(data: Any, frames: int, when: Any, status: Any) -> None:
        blocks.put(bytes(data))

    try:
        stream = sd.RawInputStream(
            samplerate=SAMPLE_RATE,
            channels=1,
            dtype="int16",
            blocksize=int(chunk_s * SAMPLE_RATE),
            device=selected,
            callback=callback,
        )
    except (sd.PortAudioError, ValueError) as err:
        raise MissingDependencyError(
            f"no usable microphone ({err}); check `python -m sounddevice` for input "
            "devices, pass --device, or use `aural listen --file AUDIO`"
        ) from err
    with stream:
        while True:
            yield blocks.get()


def listen_command(
    file: Annotated[
        Path | None, typer.Option(help="Play this file instead of the microphone.")
    ] = None,
    realtime: Annotated[
        bool,
        typer.Option(
            "--realtime/--as-fast-as-possible",
            help="With --file: pace the file to real time, or feed it at once.",
        ),
    ] = True,
    engine: Annotated[str, typer.Option(help="Engine: whisper or sphinx.")] = "whisper",
    model: Annotated[str | None, typer.Option(help="Model name or path.")] = None,
    language: Annotated[
        str | None, typer.Option(help="Language code, e.g. en.")
    ] = None,
    beam_size: Annotated[
        int, typer.Option(help="Beam size of final decodes (1 = greedy).")
    ] = 5,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="txt, json, srt, vtt or tsv")
    ] = "txt",
    output: Annotated[
        Path | None, typer.Option(help="Write the transcript here.")
    ] = None,
    chunk_ms: Annotated[int, typer.Option(help="Audio block size (ms).")] = 100,
    device: Annotated[
        str | None, typer.Option(help="Input device (sounddevice name or index).")
    ] = None,
    threads: Annotated[
        int, typer.Option(help="Threads per decode (0 = chosen for this machine).")
    ] = 0,
    live: Annotated[
        bool, typer.Option("--live/--no-live", help="Live view on stderr.")
    ] = True,
    show_stats: Annotated[
        bool, typer.Option("--stats", help="Print latency statistics.")
    ] = False,
    raw_sample_rate: Annotated[
        int | None,
        typer.Option(help="--file is headerless PCM recorded at this rate (Hz)."),
    ] = None,
    raw_encoding: Annotated[
        str,
        typer.Option(
            help="Sample format of headerless PCM: pcm_s16le|pcm_s32le|pcm_f32le|pcm_u8"
        ),
    ] = "pcm_s16le",
    hotwords: Annotated[str | None, typer.Option(help=HOTWORDS_HELP)] = None,
    hotwords_file: Annotated[Path | None, typer.Option(help=HOTWORDS_FILE_HELP)] = None,
    hotword_weight: Annotated[
        float | None, typer.Option(help=HOTWORD_WEIGHT_HELP)
    ] = None,
) -> None:
    """Transcribe live: partial results as you speak, final segments at each pause.

    Reads the microphone until Ctrl-C, or plays --file through the same streaming
    session. At the end the transcript is printed (or written to --output) like
    `aural transcribe` does.
    """
    from aural.decoding.options import DecodeOptions
    from aural.engines import create_engine
    from aural.engines.base import engine_class
    from aural.engines.layout import choose_layout
    from aural.writers import FORMATS, render, write_atomic

    if fmt not in FORMATS:
        fail(f"unknown --format {fmt!r}; use one of {', '.join(FORMATS)}")
    if not 10 <= chunk_ms <= 5000:
        fail(f"--chunk-ms must be between 10 and 5000, got {chunk_ms}")
    if file is not None and file.is_dir():
        fail(f"--file {file} is a directory; give an audio file")
    if file is not None and not file.is_file():
        fail(f"--file {file}: no such file")
    if output is not None and output.is_dir():
        fail(f"--output {output} is a directory; give a file path")
    entries = hotword_entries(hotwords, hotwords_file)
    try:
        options = DecodeOptions(
            language=language, beam_size=beam_size, hotwords=entries
        )
        layout = choose_layout("stream", threads=threads or None, decodes=1)
        settings = dict(engine_class(engine).layout_settings(layout))
        settings |= hotword_weight_setting(engine, hotword_weight)
        eng = create_engine(engine, model, **settings)
        session = eng.stream(options, sample_rate=SAMPLE_RATE)
        if file is not None:
            chunks: Iterator[Any] = _file_chunks(
                file, chunk_ms / 1000, realtime, raw_sample_rate, raw_encoding
            )
        else:
            chunks = _microphone_chunks(chunk_ms / 1000, device)
        finals = _run(session, chunks, live and err_console.is_terminal)
    except AuralError as err:
        fail(cli_message(err), exit_code_for(err))
    transcript = _transcript(finals, session, eng, options)
    text = render(transcript, fmt)
    if text and not text.endswith("\n"):
        text += "\n"
    if output is not None:
        try:
            write_atomic(output, text)
        except OSError as err:
            fail(
                f"--output {output}: cannot write it ({err.strerror or err})",
                EXIT_SOME_FAILED,
            )
    else:
        sys.stdout.write(text)
    if show_stats:
        stats = session.stats
        err_console.print(
            f"audio {stats.audio_s:.1f} s, compute {stats.compute_s:.1f} s "
            f"(RTF {stats.real_time_factor:.2f}), max lag {stats.max_lag_s:.2f} s, "
            f"partials {stats.partials} ({stats.dropped_partials} skipped), finals "
            f"{stats.finals}, degraded for {stats.degraded_s:.1f} s, skipped "
            f"{stats.skipped_s:.1f} s",
            markup=False,
            highlight=False,
        )


def _run(session: Any, chunks: Iterator[Any], live: bool) -> list[Segment]:
    """Feed every chunk, show events as they come, finish; returns the final
    segments."""
    from rich.live import Live

    view = LiveView()
    finals: list[Segment] = []

    def handle(events: list[StreamEvent]) -> None:
        view.update(events)
        finals.extend(e.segment for e in events if isinstance(e, Final))
        stats = session.stats
        view.status = f"{stats.audio_s:6.1f} s  lag {stats.lag_s:4.1f} s" + _BEHIND.get(
            session.degrade_level, ""
        )

    with (
        Live(
            view.render(),
            console=err_console,
            refresh_per_second=10,
            transient=False,
            auto_refresh=False,
        )
        if live
        else _NoLive() as display
    ):
        try:
            for chunk in chunks:
                handle(session.feed(chunk))
                display.update(view.render(), refresh=True)
        except KeyboardInterrupt:
            pass  # Ctrl-C ends the microphone stream; decode what was heard
        handle(session.finish())
        view.partial = ""
        display.update(view.render(), refresh=True)
    return finals


class _NoLive:
    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, renderable: Any, refresh: bool = False) -> None:
        return None


def _transcript(finals: list[Segment], session: Any, engine: Any, options: Any) -> Any:
    from aural.types import Transcript, TranscriptionInfo

    info = TranscriptionInfo(
        language=options.language or "en",
        language_probability=None,
        duration=round(session.time, 3),
        engine=engine.name,
        model=engine.model_id,
        options=options.to_dict() | {"streaming": True},
    )
    return Transcript(tuple(finals), info)


def register(app: typer.Typer) -> None:
    app.command("listen")(listen_command)


__all__ = ["EXIT_USAGE", "register"]
