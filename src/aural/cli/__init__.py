"""The `aural` command line: a thin layer over the public API.

Each sub-command lives in its own module in this package and exposes
``register(app: typer.Typer) -> None``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import typer

app = typer.Typer(
    name="aural",
    help="aural: transcribe, evaluate, train and serve speech recognition.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_COMMAND_MODULES = (
    "transcribe",
    "models",  # aural models list|path|convert
    "evaluate",
    "listen",
    "serve",
    "train",
    "finetune",  # aural finetune, aural distill
    "align",
    "lm",
    "baseline",
    "plot",  # aural plot attention|transcript|errors|alignment
    "diarize",
    "data",  # aural data simulate-conversations
    "detect_language",  # aural detect-language
)

for _name in _COMMAND_MODULES:
    _mod = f"aural.cli.{_name}"
    if importlib.util.find_spec(_mod) is not None:
        importlib.import_module(_mod).register(app)


# Optional packages -> the extra that installs them (for commands run on a core
# install).
_EXTRA_FOR_PACKAGE = {
    "torch": "train",
    "sentencepiece": "train",
    "mlflow": "train",
    "onnx": "train",
    "onnxruntime": "train",
    "transformers": "whisper-torch",
    "peft": "finetune",
    "safetensors": "whisper-torch",
    "hmmlearn": "baselines",
    "sklearn": "baselines",
    "fastapi": "serve",
    "uvicorn": "serve",
    "multipart": "serve",
    "python_multipart": "serve",
    "websockets": "serve",
    "prometheus_client": "serve",
    "sounddevice": "mic",
    "datasets": "datasets",
    "kenlm": "lm",
    "resemblyzer": "diarize",
    "webrtcvad": "diarize",
}


def main() -> None:
    """Entry point of the `aural` script."""
    try:
        app()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except ModuleNotFoundError as err:
        # A command reached an optional dependency that this install lacks: one line,
        # exit 2.
        package = (err.name or "").split(".")[0]
        extra = _EXTRA_FOR_PACKAGE.get(package, "all")
        print(
            f"error: this command needs the '{package}' package, which is not "
            f"installed; install it with `pip install 'aural[{extra}]'`",
            file=sys.stderr,
        )
        sys.exit(2)
