"""Training checkpoints: the model folder plus everything needed to resume exactly.

Layout of a run folder::

    <output_dir>/config.yaml             the resolved recipe
    <output_dir>/metrics.jsonl           one JSON line per logged step / evaluation
    <output_dir>/checkpoints/step_0000200/{model.pt, tokenizer.json, train_state.pt}
    <output_dir>/checkpoints/latest.txt  name of the newest complete checkpoint
    <output_dir>/best/{model.pt, tokenizer.json}   best by dev WER

``train_state.pt`` holds the optimizer, scheduler and grad-scaler states and the loop
counters (step, epoch, batches consumed in the epoch, best WER, evaluations without
improvement, MLflow run id). Randomness needs no saved state: every step reseeds from
``(seed, step)``, and augmentation draws from ``(seed, epoch, utterance)``.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from aural.audio.features import FeatureOptions
from aural.errors import ModelNotFoundError
from aural.models.checkpoint import MODEL_FILE, AcousticModel, save_model
from aural.writers import write_atomic

__all__ = [
    "LoopState",
    "find_latest",
    "load_train_state",
    "save_best",
    "save_checkpoint",
]

STATE_FILE = "train_state.pt"
LATEST_FILE = "latest.txt"


@dataclass(slots=True)
class LoopState:
    """Counters of the training loop (mutable: the trainer advances it)."""

    step: int = 0
    epoch: int = 0
    position: int = 0  # batches of ``epoch`` already consumed (by this rank)
    best_wer: float | None = None
    best_step: int | None = None
    evals_without_improvement: int = 0
    audio_seconds: float = 0.0
    mlflow_run_id: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def save_checkpoint(
    output_dir: Path,
    model: AcousticModel,
    feature_options: FeatureOptions,
    tokenizer: Any,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    scaler: torch.amp.GradScaler | None,
    state: LoopState,
    keep: int,
) -> Path:
    """Write ``checkpoints/step_N`` completely, then point ``latest.txt`` at it."""
    ckpt_root = output_dir / "checkpoints"
    folder = ckpt_root / f"step_{state.step:07d}"
    tmp = ckpt_root / f".tmp_step_{state.step:07d}"
    if tmp.exists():
        shutil.rmtree(tmp)
    save_model(
        tmp, model, feature_options, {"step": state.step, "best_wer": state.best_wer}
    )
    tokenizer.save(tmp)
    torch.save(
        {
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict() if scaler is not None else None,
            "loop": state.to_dict(),
        },
        tmp / STATE_FILE,
    )
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
    write_atomic(ckpt_root / LATEST_FILE, folder.name + "\n")
    old = sorted(p for p in ckpt_root.glob("step_*") if p.is_dir())
    for stale in old[:-keep]:
        shutil.rmtree(stale, ignore_errors=True)
    return folder


def save_best(
    output_dir: Path,
    model: AcousticModel,
    feature_options: FeatureOptions,
    tokenizer: Any,
    info: dict[str, Any],
) -> Path:
    tmp = output_dir / ".best_tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    save_model(tmp, model, feature_options, info)
    tokenizer.save(tmp)
    best = output_dir / "best"
    if best.exists():
        shutil.rmtree(best)
    tmp.rename(best)
    return best


def find_latest(output_dir: Path) -> Path | None:
    """The newest complete checkpoint folder of a run, or None."""
    latest = output_dir / "checkpoints" / LATEST_FILE
    if not latest.is_file():
        return None
    folder = output_dir / "checkpoints" / latest.read_text().strip()
    return (
        folder
        if (folder / STATE_FILE).is_file() and (folder / MODEL_FILE).is_file()
        else None
    )


def load_train_state(folder: Path) -> dict[str, Any]:
    try:
        return torch.load(folder / STATE_FILE, map_location="cpu", weights_only=False)
    except (OSError, RuntimeError) as err:
        raise ModelNotFoundError(f"cannot resume from {folder}: {err}") from err
