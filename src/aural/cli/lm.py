"""`aural lm build` and `aural lm score`: word n-gram language models for CTC
decoding."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from aural.cli.common import cli_message, err_console, exit_code_for, fail


def _sentences(path: Path, lowercase: bool) -> list[list[str]]:
    from aural.decoding.lm import tokenize_corpus_line

    try:
        with open(path, encoding="utf-8") as fh:
            return [
                w for w in (tokenize_corpus_line(line, lowercase) for line in fh) if w
            ]
    except (OSError, UnicodeDecodeError) as err:
        fail(f"cannot read corpus {str(path)!r}: {err}")


def build_command(
    corpus: Annotated[Path, typer.Argument(help="Text, one sentence per line.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="ARPA file to write.")],
    order: Annotated[int, typer.Option(help="Highest n-gram order.")] = 3,
    lowercase: Annotated[bool, typer.Option("--lowercase/--keep-case")] = True,
) -> None:
    """Estimate an interpolated modified Kneser-Ney n-gram LM and write it as ARPA."""
    from aural.decoding.lm import estimate_kneser_ney
    from aural.errors import AuralError
    from aural.writers import write_atomic

    if order < 1:
        fail(f"--order must be >= 1, got {order}")
    sentences = _sentences(corpus, lowercase)
    try:
        lm = estimate_kneser_ney(sentences, order)
        write_atomic(output, lm.to_arpa())
    except AuralError as err:
        fail(f"{corpus}: {cli_message(err)}", exit_code_for(err))
    words = sum(len(s) for s in sentences)
    err_console.print(
        f"{output}: order {order}, {len(lm.vocabulary)} word types, "
        f"{len(sentences)} sentences, {words} words",
        markup=False,
    )


def score_command(
    lm_path: Annotated[Path, typer.Argument(help="ARPA file or KenLM binary.")],
    text: Annotated[Path, typer.Argument(help="Text, one sentence per line.")],
    lowercase: Annotated[bool, typer.Option("--lowercase/--keep-case")] = True,
) -> None:
    """Print the perplexity of TEXT under the LM."""
    from aural.decoding.lm import load_lm, perplexity
    from aural.errors import AuralError

    try:
        lm = load_lm(lm_path)
    except AuralError as err:
        fail(f"{lm_path}: {cli_message(err)}", exit_code_for(err))
    sentences = _sentences(text, lowercase)
    sys.stdout.write(
        f"perplexity {perplexity(lm, sentences):.2f} over {len(sentences)} sentences\n"
    )


def register(app: typer.Typer) -> None:
    lm = typer.Typer(
        help="Build and score word n-gram language models.", no_args_is_help=True
    )
    lm.command("build")(build_command)
    lm.command("score")(score_command)
    app.add_typer(lm, name="lm")
