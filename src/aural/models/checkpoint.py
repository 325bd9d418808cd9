"""Saving and loading trained acoustic models (weights + the shapes needed to rebuild
them).

A model folder holds ``model.pt``: ``{"format", "model_options", "feature_options",
"state_dict", "info"}``. The trainer adds the tokenizer files beside it, so one folder
is everything an engine needs. A training run folder (with ``best/`` and
``checkpoints/``) is accepted too and resolves to its best, else its latest, model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from aural.audio.features import FeatureOptions
from aural.errors import ModelNotFoundError
from aural.models.conformer import ConformerCtc, ConformerOptions
from aural.models.transducer import ConformerTransducer, TransducerOptions

__all__ = [
    "FORMAT",
    "TRANSDUCER_FORMAT",
    "AcousticModel",
    "MODEL_FILE",
    "LoadedModel",
    "load_model",
    "resolve_model_dir",
    "save_model",
]

MODEL_FILE = "model.pt"
FORMAT = "aural-conformer-ctc/1"
TRANSDUCER_FORMAT = "aural-conformer-transducer/1"
AcousticModel = ConformerCtc | ConformerTransducer


@dataclass(frozen=True, slots=True, eq=False)
class LoadedModel:
    """A model ready for inference plus how its features are computed."""

    model: ConformerCtc | ConformerTransducer
    feature_options: FeatureOptions
    folder: Path
    info: dict[str, Any] = field(default_factory=dict)


def save_model(
    folder: str | Path,
    model: ConformerCtc | ConformerTransducer,
    feature_options: FeatureOptions,
    info: dict[str, Any] | None = None,
) -> Path:
    """Write ``folder/model.pt`` atomically and return its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": TRANSDUCER_FORMAT
        if isinstance(model, ConformerTransducer)
        else FORMAT,
        "model_options": model.options.to_dict(),
        "feature_options": feature_options.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "info": dict(info or {}),
    }
    tmp = folder / (MODEL_FILE + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(folder / MODEL_FILE)
    return folder / MODEL_FILE


def resolve_model_dir(path: str | Path) -> Path:
    """The folder holding ``model.pt`` for a model folder, a ``model.pt`` file or a run
    folder.

    Raises:
        ModelNotFoundError: nothing loadable is there.
    """
    path = Path(path)
    if path.is_file() and path.name == MODEL_FILE:
        return path.parent
    if (path / MODEL_FILE).is_file():
        return path
    if (path / "best" / MODEL_FILE).is_file():
        return path / "best"
    latest = path / "checkpoints" / "latest.txt"
    if latest.is_file():
        candidate = path / "checkpoints" / latest.read_text().strip()
        if (candidate / MODEL_FILE).is_file():
            return candidate
    raise ModelNotFoundError(
        f"no aural model at {path}: expected {MODEL_FILE}, a run folder with best/ or "
        "checkpoints/; train one with `aural train --config recipes/<name>.yaml`"
    )


def load_model(path: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Rebuild the model saved under ``path`` (see :func:`resolve_model_dir`), in eval
    mode."""
    folder = resolve_model_dir(path)
    try:
        payload = torch.load(
            folder / MODEL_FILE, map_location=device, weights_only=True
        )
    except (OSError, RuntimeError, ValueError) as err:
        raise ModelNotFoundError(
            f"{folder / MODEL_FILE} is not a readable checkpoint: {err}"
        ) from err
    fmt = payload.get("format") if isinstance(payload, dict) else None
    if fmt not in (FORMAT, TRANSDUCER_FORMAT):
        raise ModelNotFoundError(
            f"{folder / MODEL_FILE} is not an aural model (expected format {FORMAT!r} "
            f"or {TRANSDUCER_FORMAT!r})"
        )
    model: ConformerCtc | ConformerTransducer = (
        ConformerTransducer(TransducerOptions.from_dict(payload["model_options"]))
        if fmt == TRANSDUCER_FORMAT
        else ConformerCtc(ConformerOptions.from_dict(payload["model_options"]))
    )
    model.load_state_dict(payload["state_dict"])
    model.to(device).eval()
    return LoadedModel(
        model,
        FeatureOptions.from_dict(payload["feature_options"]),
        folder,
        dict(payload.get("info") or {}),
    )
