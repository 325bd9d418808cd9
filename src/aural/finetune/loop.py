"""The fine-tuning loop shared by Whisper and Hugging Face CTC models.

A :class:`FinetuneTask` knows its model: how to turn a batch of utterances into a loss,
how to transcribe the dev set, what to checkpoint and how to export. The loop owns the
rest: length-bucketed batches (:class:`aural.training.sampler.BucketBatchSampler`),
gradient accumulation, AMP on CUDA, warm-up and decay, clipping, checkpoints that
resume exactly, best-by-dev-WER, early stopping, MLflow and a progress bar.

Run folder::

    RUN/recipe.yaml                     the resolved recipe
    RUN/metrics.jsonl                   one JSON line per logged step / evaluation
    RUN/checkpoints/step_0000100/{trainable.pt, train_state.pt}
    RUN/checkpoints/latest.txt
    RUN/best/                           the best model by dev WER (Hugging Face folder)
    RUN/result.json                     before/after dev WER, steps, timings
    RUN/<the deployable model>          CTranslate2 (Whisper) or HF (CTC) files

Exact resume: batches are a pure function of ``(seed, epoch)``, waveform augmentation
draws from ``(seed, epoch, utterance)``, and every step reseeds torch from
``(seed, step, micro-batch)`` (dropout, SpecAugment; numpy's and Python's global
generators too, which wav2vec2's time masking uses), so a resumed run repeats the
uninterrupted one step for step.
"""

from __future__ import annotations

import json
import logging
import math
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch

from aural.errors import ConfigError, ModelNotFoundError
from aural.finetune.config import FinetuneConfig
from aural.training.checkpoint import LoopState
from aural.training.data import TrainUtterance, read_sources, split_dev
from aural.training.sampler import BucketBatchSampler
from aural.training.schedule import build_scheduler
from aural.training.tracking import MultiTracker, build_tracker
from aural.writers import write_atomic

if TYPE_CHECKING:
    from aural.decoding.options import DecodeOptions
    from aural.finetune.data import AugmentedAudio

__all__ = ["FinetuneResult", "FinetuneTask", "run_finetune", "seed_for"]

logger = logging.getLogger(__name__)

STATE_FILE = "train_state.pt"
TRAINABLE_FILE = "trainable.pt"
LATEST_FILE = "latest.txt"
RESULT_FILE = "result.json"


def seed_for(*parts: int) -> int:
    """A 32-bit seed from integers (order matters)."""
    return int(
        np.random.SeedSequence([abs(int(p)) for p in parts]).generate_state(1)[0]
    )


class FinetuneTask(Protocol):
    """What the loop needs of a model family."""

    model: torch.nn.Module

    def prepare(self, train: Sequence[TrainUtterance]) -> None:
        """Last set-up once the training data is known (e.g. build a vocabulary)."""

    def batch_loss(
        self, utts: Sequence[TrainUtterance], indices: Sequence[int], epoch: int
    ) -> tuple[torch.Tensor, int]:
        """Mean loss over the batch's target tokens, and that token count."""

    def transcribe(self, utts: Sequence[TrainUtterance]) -> list[str]:
        """Greedy hypotheses with the current weights (eval mode is set by the loop)."""

    def reference(self, text: str) -> str:
        """A reference as it is scored (same normaliser as the hypotheses)."""

    def hypothesis(self, text: str) -> str: ...

    def trainable_state(self) -> dict[str, torch.Tensor]: ...

    def load_trainable_state(self, state: dict[str, torch.Tensor]) -> None: ...

    def save_model(self, folder: Path) -> None:
        """A standalone Hugging Face folder of the current weights (LoRA merged)."""

    def export(self, best: Path, run_dir: Path) -> list[str]:
        """Write the deployable model of ``best`` into ``run_dir``; its file names."""

    def engine_wer(
        self, model: str | Path, utts: Sequence[TrainUtterance]
    ) -> float | None:
        """Dev WER through the aural engine that serves ``model`` (None: skipped)."""

    @property
    def source_for_engine(self) -> str | None:
        """The pretrained model as the engine loads it (None: not loadable)."""


def scored_wer(
    task: FinetuneTask | TaskBase,
    utts: Sequence[TrainUtterance],
    hyps: Sequence[str],
) -> float:
    """Corpus WER of ``hyps`` against the texts of ``utts``, each side normalised as
    ``task`` scores it."""
    from aural.evaluation.metrics import corpus_wer

    refs = [task.reference(u.text) for u in utts]
    return corpus_wer(refs, [task.hypothesis(h) for h in hyps]).wer


class TaskBase:
    """What the fine-tuning tasks share: references and hypotheses scored with one
    normaliser, the trainable weights saved and restored, and WER through the engine
    that deploys the model."""

    model: torch.nn.Module
    audio: AugmentedAudio
    _normalize: Callable[[str], str]  # set by the task: its scoring normaliser

    def reference(self, text: str) -> str:
        """A reference as it is scored (the same normaliser as the hypotheses)."""
        return self._normalize(text)

    def hypothesis(self, text: str) -> str:
        """A hypothesis as it is scored."""
        return self._normalize(text)

    def trainable_state(self) -> dict[str, torch.Tensor]:
        return trainable_state(self.model)

    def load_trainable_state(self, state: dict[str, torch.Tensor]) -> None:
        load_trainable_state(self.model, state)

    def _engine_wer(
        self,
        engine: str,
        model: str | Path,
        options: DecodeOptions,
        utts: Sequence[TrainUtterance],
    ) -> float:
        """WER of ``utts`` (clean audio) transcribed by aural's ``engine`` loading
        ``model``."""
        from aural.audio import Waveform
        from aural.finetune.data import SAMPLE_RATE
        from aural.recognizer import Recognizer

        rec = Recognizer(engine, str(model))
        hyps = [
            rec.transcribe(Waveform(self.audio.clean(u), SAMPLE_RATE), options).text
            for u in utts
        ]
        return scored_wer(self, utts, hyps)


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of the parameters that train (a checkpoint's model part)."""
    return {
        name: p.detach().cpu().clone()
        for name, p in model.named_parameters()
        if p.requires_grad
    }


def load_trainable_state(
    model: torch.nn.Module, state: dict[str, torch.Tensor]
) -> None:
    """Copies :func:`trainable_state`'s tensors back into ``model``.

    Raises:
        ModelNotFoundError: a tensor this model does not have, or of another shape.
    """
    params = dict(model.named_parameters())
    for name, value in state.items():
        if name not in params or params[name].shape != value.shape:
            raise ModelNotFoundError(
                f"the checkpoint does not fit this recipe's model ({name}); resume "
                "with the recipe that wrote it"
            )
    with torch.no_grad():
        for name, value in state.items():
            params[name].copy_(value.to(params[name].device))


@dataclass(frozen=True, slots=True)
class FinetuneResult:
    """What a fine-tuning run produced.

    Attributes:
        run_dir: the run folder (it loads as a model).
        steps: optimizer steps taken in total.
        best_step: the step of the best dev WER (None without a dev set).
        wer_before: dev WER of the pretrained model (greedy, PyTorch).
        wer_best: best dev WER while training (greedy, PyTorch).
        engine_wer_before: dev WER of the pretrained model through the engine.
        engine_wer_after: dev WER of the exported model through the engine.
        train_seconds: wall-clock seconds of training in this process.
        stopped: why training ended (``max_steps``, ``max_minutes``,
            ``early_stopping``).
    """

    run_dir: Path
    steps: int
    best_step: int | None
    wer_before: float | None
    wer_best: float | None
    engine_wer_before: float | None
    engine_wer_after: float | None
    train_seconds: float
    stopped: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir),
            "steps": self.steps,
            "best_step": self.best_step,
            "wer_before": self.wer_before,
            "wer_best": self.wer_best,
            "engine_wer_before": self.engine_wer_before,
            "engine_wer_after": self.engine_wer_after,
            "train_seconds": round(self.train_seconds, 1),
            "stopped": self.stopped,
        }


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise ConfigError(f"training.device: {name!r} is not a device") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"training.device: {name!r} but no CUDA device is present")
    return device


def amp_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    if device.type != "cuda" or amp == "off":
        return None
    if amp == "bf16" or (amp == "auto" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    return torch.float16


def read_data(
    config: FinetuneConfig,
) -> tuple[list[TrainUtterance], list[TrainUtterance]]:
    data = config.data
    train = read_sources(data.train, data.min_duration, data.max_duration)
    if data.dev:
        dev = read_sources(data.dev, data.min_duration, data.max_duration)
    else:
        train, dev = split_dev(train, data.dev_fraction, config.seed)
    if data.dev_limit is not None:
        dev = dev[: data.dev_limit]
    return train, dev


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint of a fine-tuning run folder, or None."""
    latest = run_dir / "checkpoints" / LATEST_FILE
    if not latest.is_file():
        return None
    folder = run_dir / "checkpoints" / latest.read_text().strip()
    ok = (folder / STATE_FILE).is_file() and (folder / TRAINABLE_FILE).is_file()
    return folder if ok else None


def check_run_dir(run_dir: Path, resume: bool, overwrite: bool) -> Path | None:
    """The checkpoint to resume from, after refusing to clobber a finished run."""
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"output_dir {run_dir} is a file; choose a folder")
    latest = latest_checkpoint(run_dir) if run_dir.is_dir() else None
    if resume:
        if latest is None:
            raise ConfigError(
                f"resume: {run_dir} has no complete checkpoint to continue from",
                options=("resume",),
            )
        return latest
    if run_dir.is_dir() and any(run_dir.iterdir()):
        if not overwrite:
            raise ConfigError(
                f"output_dir {run_dir} exists and is not empty; pass resume=True to "
                "continue it, overwrite=True to start again, or choose another folder",
                options=("resume", "overwrite"),
            )
        shutil.rmtree(run_dir)
    return None


class FinetuneLoop:
    """Runs one recipe with one task (see :func:`run_finetune`)."""

    def __init__(
        self,
        config: FinetuneConfig,
        task_factory: Callable[[FinetuneConfig, torch.device, Path], FinetuneTask],
        *,
        resume: bool = False,
        overwrite: bool = False,
        progress: bool = True,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.run_dir = Path(config.output_dir).expanduser()
        self.resume_from = check_run_dir(self.run_dir, resume, overwrite)
        self.device = pick_device(config.training.device)
        self.amp = amp_dtype(config.training.amp, self.device)
        self.progress = progress
        self.say = say or (lambda line: logger.info("%s", line))
        if config.training.num_threads:
            torch.set_num_threads(config.training.num_threads)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(self.run_dir / "recipe.yaml", config.to_yaml())
        self.train, self.dev = read_data(config)
        torch.manual_seed(config.seed)
        self.task = task_factory(config, self.device, self.run_dir)
        self.task.prepare(self.train)
        params = [p for p in self.task.model.parameters() if p.requires_grad]
        if not params:
            raise ConfigError("nothing to train: every parameter is frozen")
        self.optimizer = torch.optim.AdamW(
            params,
            lr=config.optim.lr,
            betas=config.optim.betas,
            weight_decay=config.optim.weight_decay,
        )
        self.scheduler = build_scheduler(
            self.optimizer, config.optim, config.training.max_steps
        )
        self.scaler = (
            torch.amp.GradScaler("cuda") if self.amp == torch.float16 else None
        )
        self.sampler = BucketBatchSampler.from_durations(
            [u.duration for u in self.train],
            batch_seconds=config.training.batch_seconds,
            max_batch_size=config.training.max_batch_size,
            seed=config.seed,
        )
        self.state = LoopState()
        if self.resume_from is not None:
            self._restore(self.resume_from)
        self.tracker: MultiTracker = build_tracker(
            config.tracking, self.run_dir, config.name, self.state.mlflow_run_id
        )
        for t in self.tracker.trackers:
            run_id = getattr(t, "run_id", None)
            if run_id and self.state.mlflow_run_id is None:
                self.state.mlflow_run_id = run_id
        if self.resume_from is None:
            self.tracker.log_params(config.model_dump(mode="json"))

    # ------------------------------------------------------------------ data
    def _next_batch(self) -> list[int]:
        st = self.state
        while True:
            batches = self.sampler.batches(st.epoch)
            if st.position < len(batches):
                batch = batches[st.position]
                st.position += 1
                return batch
            st.epoch += 1
            st.position = 0

    # ------------------------------------------------------------------ steps
    def _step(self) -> dict[str, float]:
        cfg = self.config
        self.task.model.train()
        accumulate = cfg.optim.accumulate_steps
        losses: list[tuple[float, int]] = []
        seconds = 0.0
        for micro in range(accumulate):
            batch = self._next_batch()
            seconds += sum(self.train[i].duration for i in batch)
            step_seed = seed_for(cfg.seed, self.state.step, micro)
            torch.manual_seed(step_seed)
            # wav2vec2's own time masking draws from numpy's global generator
            np.random.seed(step_seed)
            random.seed(step_seed)
            autocast = (
                torch.autocast(self.device.type, dtype=self.amp)
                if self.amp is not None
                else _Null()
            )
            with autocast:
                loss, tokens = self.task.batch_loss(self.train, batch, self.state.epoch)
            scaled = loss / accumulate
            if self.scaler is not None:
                self.scaler.scale(scaled).backward()
            else:
                scaled.backward()
            losses.append((float(loss.detach()), tokens))
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        grad_norm = float("nan")
        if cfg.optim.grad_clip is not None:
            params = [p for g in self.optimizer.param_groups for p in g["params"]]
            grad_norm = float(
                torch.nn.utils.clip_grad_norm_(params, cfg.optim.grad_clip)
            )
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        self.state.step += 1
        self.state.audio_seconds += seconds
        total_tokens = sum(t for _, t in losses)
        mean = sum(v * t for v, t in losses) / max(1, total_tokens)
        return {
            "loss": mean,
            "grad_norm": grad_norm,
            "lr": float(self.optimizer.param_groups[0]["lr"]),
            "audio_seconds": seconds,
        }

    # ------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def evaluate(self) -> float | None:
        if not self.dev:
            return None
        self.task.model.eval()
        return scored_wer(self.task, self.dev, self.task.transcribe(self.dev))

    def _after_eval(self, wer: float | None) -> bool:
        """Record an evaluation; True when early stopping says stop."""
        st = self.state
        if wer is None:
            return False
        self._log({"step": st.step, "dev_wer": wer})
        if st.best_wer is None or wer < st.best_wer:
            st.best_wer, st.best_step = wer, st.step
            st.evals_without_improvement = 0
            self._save_best()
        else:
            st.evals_without_improvement += 1
        patience = self.config.training.early_stopping_patience
        return patience is not None and st.evals_without_improvement >= patience

    def _save_best(self) -> None:
        tmp = self.run_dir / ".best_tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        self.task.save_model(tmp)
        best = self.run_dir / "best"
        if best.exists():
            shutil.rmtree(best)
        tmp.rename(best)

    # ------------------------------------------------------------------ bookkeeping
    def _log(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True)
        with (self.run_dir / "metrics.jsonl").open("a") as f:
            f.write(line + "\n")
        metrics = {k: float(v) for k, v in record.items() if k != "step"}
        metrics = {k: v for k, v in metrics.items() if math.isfinite(v)}
        if metrics:
            self.tracker.log_metrics(metrics, int(record["step"]))

    def _checkpoint(self) -> None:
        root = self.run_dir / "checkpoints"
        folder = root / f"step_{self.state.step:07d}"
        tmp = root / f".tmp_step_{self.state.step:07d}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        torch.save(self.task.trainable_state(), tmp / TRAINABLE_FILE)
        torch.save(
            {
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict() if self.scaler else None,
                "loop": self.state.to_dict(),
            },
            tmp / STATE_FILE,
        )
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
        write_atomic(root / LATEST_FILE, folder.name + "\n")
        old = sorted(p for p in root.glob("step_*") if p.is_dir())
        for stale in old[: -self.config.training.keep_checkpoints]:
            shutil.rmtree(stale, ignore_errors=True)

    def _restore(self, folder: Path) -> None:
        try:
            trainable = torch.load(folder / TRAINABLE_FILE, map_location=self.device)
            payload = torch.load(
                folder / STATE_FILE, map_location="cpu", weights_only=False
            )
        except (OSError, RuntimeError) as err:
            raise ModelNotFoundError(f"cannot resume from {folder}: {err}") from err
        self.task.load_trainable_state(trainable)
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        if self.scaler is not None and payload.get("scaler"):
            self.scaler.load_state_dict(payload["scaler"])
        self.state = LoopState(**payload["loop"])
        self.say(f"resumed from {folder} at step {self.state.step}")

    def _out_of_time(self, started: float) -> bool:
        limit = self.config.training.max_minutes
        return limit is not None and time.monotonic() - started > 60.0 * limit

    # ------------------------------------------------------------------ run
    def run(self) -> FinetuneResult:
        cfg = self.config.training
        started = time.monotonic()
        st = self.state
        stopped = "max_steps"
        wer_before = self._previous_before()
        if self.dev and cfg.eval_at_start and st.step == 0:
            self.say(f"dev WER before fine-tuning ({len(self.dev)} utterances) ...")
            wer_before = self.evaluate()
            self._after_eval(wer_before)
            self._remember_before(wer_before)
            self.say(f"dev WER before: {_pct(wer_before)}")
        bar = _progress_bar(self.progress, cfg.max_steps, st.step)
        status = "FAILED"
        try:
            while st.step < cfg.max_steps:
                if self._out_of_time(started):
                    stopped = "max_minutes"
                    break
                record = self._step()
                bar.update(1)
                bar.set_postfix(loss=f"{record['loss']:.3f}")
                if st.step % cfg.log_every == 0 or st.step == 1:
                    self._log({"step": st.step, **record})
                stop = False
                if st.step % cfg.eval_every == 0 or st.step == cfg.max_steps:
                    wer = self.evaluate()
                    stop = self._after_eval(wer)
                    if wer is not None:
                        bar.write(f"step {st.step}: dev WER {_pct(wer)}")
                if st.step % cfg.checkpoint_every == 0 or st.step == cfg.max_steps:
                    self._checkpoint()
                if stop:
                    stopped = "early_stopping"
                    break
            if stopped != "max_steps" or st.step % cfg.checkpoint_every:
                self._checkpoint()
            status = "FINISHED"
        finally:
            bar.close()
            if status != "FINISHED":
                self.tracker.close(status)
        if not (self.run_dir / "best").is_dir():  # no dev set: the last weights
            self._save_best()
        result = self._finish(wer_before, stopped, time.monotonic() - started)
        self.tracker.close("FINISHED")
        return result

    def _previous_before(self) -> float | None:
        path = self.run_dir / ".before.json"
        if path.is_file():
            value = json.loads(path.read_text()).get("wer_before")
            return None if value is None else float(value)
        return None

    def _remember_before(self, wer: float | None) -> None:
        write_atomic(self.run_dir / ".before.json", json.dumps({"wer_before": wer}))

    def _finish(
        self, wer_before: float | None, stopped: str, seconds: float
    ) -> FinetuneResult:
        st = self.state
        self.say("exporting the best model ...")
        self.task.export(self.run_dir / "best", self.run_dir)
        engine_before = engine_after = None
        if self.dev and self.config.training.final_engine_eval:
            source = self.task.source_for_engine
            if source is not None:
                engine_before = self.task.engine_wer(source, self.dev)
            engine_after = self.task.engine_wer(self.run_dir, self.dev)
        result = FinetuneResult(
            run_dir=self.run_dir,
            steps=st.step,
            best_step=st.best_step,
            wer_before=wer_before,
            wer_best=st.best_wer,
            engine_wer_before=engine_before,
            engine_wer_after=engine_after,
            train_seconds=seconds,
            stopped=stopped,
        )
        write_atomic(
            self.run_dir / RESULT_FILE,
            json.dumps(result.to_dict(), indent=2, sort_keys=True) + "\n",
        )
        metrics = {
            k: v
            for k, v in result.to_dict().items()
            if k in ("wer_before", "wer_best", "engine_wer_before", "engine_wer_after")
            and v is not None
        }
        if metrics:
            self.tracker.log_metrics(metrics, st.step)
        self.tracker.log_artifact(self.run_dir / RESULT_FILE)
        return result


def _pct(wer: float | None) -> str:
    return "n/a" if wer is None else f"{100 * wer:.2f} %"


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _progress_bar(enabled: bool, total: int, initial: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=initial,
        disable=not enabled,
        unit="step",
        dynamic_ncols=True,
        desc="fine-tuning",
    )


def run_finetune(
    config: FinetuneConfig,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    say: Callable[[str], None] | None = None,
) -> FinetuneResult:
    """Fine-tune the recipe's model; the run folder then loads as a model.

    Args:
        config: the recipe (:func:`aural.finetune.load_finetune_config`).
        resume: continue from the newest checkpoint of ``config.output_dir``.
        overwrite: start again in an ``output_dir`` that holds a run.
        progress: show a progress bar.
        say: called with short status lines (default: logging).

    Raises:
        ConfigError: a bad recipe or output folder.
        ModelNotFoundError: the model cannot be found or is not of ``config.kind``.
        DatasetError: the data cannot be read.
    """
    if config.kind == "whisper":
        from aural.finetune.whisper import WhisperTask as factory
    else:
        from aural.finetune.ctc import CtcTask as factory  # type: ignore[assignment]
    loop = FinetuneLoop(
        config, factory, resume=resume, overwrite=overwrite, progress=progress, say=say
    )
    return loop.run()
