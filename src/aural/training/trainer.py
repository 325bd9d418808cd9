"""The training loop for Conformer-CTC recipes (single process or DDP via torchrun).

Example:
    >>> from aural.training import Trainer, load_config
    >>> result = Trainer(load_config("recipes/overfit_tiny.yaml")).run()
    >>> result.best_dev_wer, result.model_dir

Determinism: each optimizer step reseeds torch from ``(seed, step, rank)``, waveform
augmentation draws from ``(seed, epoch, utterance index)`` and batches are a function of
``(seed, epoch)``, so a run resumed from a checkpoint reproduces the uninterrupted one.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from aural.audio.features import FeatureOptions, GlobalCmvn, extract
from aural.errors import ConfigError
from aural.models.conformer import ConformerCtc, conformer_preset, count_parameters
from aural.models.transducer import ConformerTransducer, TransducerOptions
from aural.text.tokenizers import (
    BpeTokenizer,
    CharTokenizer,
    build_tokenizer,
    load_tokenizer,
    normalize_transcript,
)
from aural.training.augment import WaveformAugmenter, spec_augment
from aural.training.checkpoint import (
    LoopState,
    find_latest,
    load_train_state,
    save_best,
    save_checkpoint,
)
from aural.training.config import TrainConfig
from aural.training.data import (
    AudioCache,
    TrainUtterance,
    collate_audio,
    read_sources,
    split_dev,
)
from aural.training.decode import decode_log_probs, decode_transducer
from aural.training.losses import rnnt_loss
from aural.training.sampler import BucketBatchSampler
from aural.training.schedule import build_scheduler
from aural.training.tracking import MultiTracker, build_tracker
from aural.writers import write_atomic

__all__ = ["EvalResult", "TrainResult", "Trainer"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EvalResult:
    loss: float  # mean CTC loss per utterance
    wer: float
    cer: float
    num_utterances: int
    samples: tuple[tuple[str, str, str], ...]  # (id, reference, hypothesis)


@dataclass(frozen=True, slots=True)
class TrainResult:
    output_dir: Path
    step: int
    best_dev_wer: float | None
    best_step: int | None
    last_eval: EvalResult | None
    stopped_early: bool
    model_dir: Path  # best/ when there was a dev set, else the last checkpoint
    num_parameters: int
    audio_seconds: float  # audio seen in training (augmented durations)
    train_seconds: float  # wall time of this process's loop


@dataclass(frozen=True, slots=True)
class _Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _init_distributed(device_hint: str) -> _Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist()
    import torch.distributed as dist

    if not dist.is_initialized():
        use_cuda = device_hint != "cpu" and torch.cuda.is_available()
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return _Dist(
        dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0"))
    )


def _pick_device(name: str, dist: _Dist) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and dist.world_size > 1:
        name = f"cuda:{dist.local_rank}"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"training.device is {name!r} but CUDA is not available; use 'cpu'"
        )
    return torch.device(name)


def _amp_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return None
    if amp == "bf16" or (amp == "auto" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    if device.type != "cuda":
        raise ConfigError(
            "training.amp: fp16 needs a CUDA device; use 'bf16' or 'off' on CPU"
        )
    return torch.float16


def _seed_for(*parts: int) -> int:
    return int(
        np.random.SeedSequence([abs(int(p)) for p in parts]).generate_state(1)[0]
    )


class Trainer:
    """Runs one recipe: data, tokenizer, model, loop, evaluation, checkpoints, tracking.

    Args:
        config: the validated recipe.
        resume: continue from the newest checkpoint in ``config.output_dir`` (a fresh
            start when there is none).
        stop_after_steps: stop (with a checkpoint) once this many optimizer steps are
            done, without changing the schedule; simulates an interrupted run.
    """

    def __init__(
        self,
        config: TrainConfig,
        *,
        resume: bool = False,
        stop_after_steps: int | None = None,
    ) -> None:
        self.config = config
        self.resume = resume
        self.stop_after_steps = stop_after_steps
        self.output_dir = Path(config.output_dir)
        self.dist = _init_distributed(config.training.device)
        self.device = _pick_device(config.training.device, self.dist)
        if config.training.num_threads is not None:
            torch.set_num_threads(config.training.num_threads)
        self.amp_dtype = _amp_dtype(config.training.amp, self.device)

    # ------------------------------------------------------------------ setup
    def _read_data(self) -> tuple[list[TrainUtterance], list[TrainUtterance]]:
        d = self.config.data
        train = read_sources(d.train, d.min_duration, d.max_duration)
        if d.dev:
            dev = read_sources(d.dev, 0.0, float("inf"))
        else:
            train, dev = split_dev(train, d.dev_fraction, self.config.seed)
        if d.dev_limit is not None:
            dev = dev[: d.dev_limit]
        return train, dev

    def _tokenizer(
        self, texts: list[str], resume_dir: Path | None
    ) -> CharTokenizer | BpeTokenizer:
        if resume_dir is not None:
            return load_tokenizer(resume_dir)
        cfg = self.config.tokenizer
        return build_tokenizer(cfg.kind, texts, cfg.vocab_size)

    def _model_features(self) -> FeatureOptions:
        """Features as the model's input pipeline computes them (global CMVN
        in-model)."""
        opts = self.config.features.options(self.config.sample_rate)
        return replace(opts, cmvn="none") if opts.cmvn == "global" else opts

    def _global_stats(
        self, utts: list[TrainUtterance], feats: FeatureOptions
    ) -> GlobalCmvn:
        def batches():  # type: ignore[no-untyped-def]
            for u in utts[:200]:
                audio, lengths = collate_audio([self.cache.get(u)])
                yield extract(audio, lengths, feats)

        return GlobalCmvn.from_batches(batches())

    # ------------------------------------------------------------------ steps
    def _targets(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        encoded = [self.token_ids[i] for i in indices]
        lengths = torch.tensor([len(e) for e in encoded], dtype=torch.long)
        flat = torch.tensor([t for e in encoded for t in e], dtype=torch.long)
        return flat, lengths

    def _padded_targets(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(targets (b, max_len) padded with blank, lengths (b,))`` on the device."""
        encoded = [self.token_ids[i] for i in indices]
        lengths = torch.tensor([len(e) for e in encoded], dtype=torch.long)
        padded = torch.zeros(
            len(encoded), int(lengths.max()) if len(lengths) else 0, dtype=torch.long
        )
        for row, e in enumerate(encoded):
            padded[row, : len(e)] = torch.tensor(e, dtype=torch.long)
        return padded.to(self.device), lengths.to(self.device)

    def _transducer_loss(
        self,
        feats: torch.Tensor,
        frame_lengths: torch.Tensor,
        targets: torch.Tensor,
        target_lengths: torch.Tensor,
        model: nn.Module,
        aux_step: int | None = None,
    ) -> torch.Tensor:
        """Summed RNN-T loss of a batch (``model``: the DDP wrapper in training). In
        training (``aux_step``: the optimizer step) the RNN-T loss is weighted by
        ``model.rnnt_weight(step)`` and ``model.ctc_aux_weight`` times the CTC head's
        loss is added."""
        weight = self.config.model.ctc_aux_weight if aux_step is not None else 0.0
        rnnt_weight = (
            self.config.model.rnnt_weight(aux_step) if aux_step is not None else 1.0
        )
        with torch.autocast(
            self.device.type,
            dtype=self.amp_dtype or torch.float32,
            enabled=self.amp_dtype is not None,
        ):
            out = model(feats, frame_lengths, targets, with_ctc=weight > 0)
        logits, out_lengths = out[0], out[1].clamp(min=1)
        loss = rnnt_loss(
            logits.float(),
            targets,
            out_lengths,
            target_lengths,
            blank=0,
            reduction="sum",
            backend=self.config.model.rnnt_backend,
        )
        if rnnt_weight != 1.0:
            loss = loss * rnnt_weight
        if weight > 0:
            flat = torch.cat(
                [row[: int(n)] for row, n in zip(targets, target_lengths, strict=True)]
            )
            loss = loss + weight * nn.functional.ctc_loss(
                out[2].transpose(0, 1),
                flat,
                out_lengths,
                target_lengths,
                blank=0,
                reduction="sum",
                zero_infinity=True,
            )
        return loss

    def _features(self, waves: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        audio, lengths = collate_audio(waves)
        with torch.no_grad():
            return extract(
                audio.to(self.device), lengths.to(self.device), self.features
            )

    def _micro_batch_loss(
        self, indices: list[int], epoch: int, step: int, micro: int
    ) -> tuple[torch.Tensor, float]:
        aug_seed = self.config.seed + self.config.augment.seed_offset
        waves = []
        for i in indices:
            wave = self.cache.get(self.train_utts[i])
            if self.augmenter.is_active:
                wave = self.augmenter(wave, np.random.default_rng([aug_seed, epoch, i]))
            waves.append(wave)
        feats, frame_lengths = self._features(waves)
        gen = torch.Generator().manual_seed(
            _seed_for(aug_seed, step, micro, self.dist.rank)
        )
        feats = spec_augment(
            feats, frame_lengths.cpu(), self.config.augment.spec_augment, gen
        )
        seconds = sum(len(w) for w in waves) / self.config.sample_rate
        if self.is_transducer:
            padded, padded_lengths = self._padded_targets(indices)
            loss = self._transducer_loss(
                feats, frame_lengths, padded, padded_lengths, self.ddp_model, step
            )
            return loss / len(indices), seconds
        targets, target_lengths = self._targets(indices)
        with torch.autocast(
            self.device.type,
            dtype=self.amp_dtype or torch.float32,
            enabled=self.amp_dtype is not None,
        ):
            log_probs, out_lengths = self.ddp_model(feats, frame_lengths)
        loss = nn.functional.ctc_loss(
            log_probs.float().transpose(0, 1),
            targets.to(self.device),
            out_lengths,
            target_lengths.to(self.device),
            blank=0,
            reduction="sum",
            zero_infinity=True,
        )
        return loss / len(indices), seconds

    def _next_batch(self) -> list[int] | None:
        st = self.state
        max_epochs = self.config.training.max_epochs
        while True:
            if max_epochs is not None and st.epoch >= max_epochs:
                return None
            batches = self.sampler.batches(st.epoch)
            if st.position < len(batches):
                st.position += 1
                return batches[st.position - 1]
            st.epoch += 1
            st.position = 0

    def _optimizer_step(self) -> dict[str, float] | None:
        """One optimizer step over ``accumulate_steps`` micro-batches (None = data ran
        out)."""
        cfg = self.config
        st = self.state
        torch.manual_seed(_seed_for(cfg.seed, st.step, self.dist.rank))
        self.ddp_model.train()
        self.optimizer.zero_grad(set_to_none=True)
        accum = cfg.optim.accumulate_steps
        total_loss, seconds = 0.0, 0.0
        for micro in range(accum):
            indices = self._next_batch()
            if indices is None:
                return None
            sync = micro == accum - 1 or not hasattr(self.ddp_model, "no_sync")
            ctx = self.ddp_model.no_sync() if not sync else _null_context()
            with ctx:
                loss, secs = self._micro_batch_loss(indices, st.epoch, st.step, micro)
                scaled = loss / accum
                (self.scaler.scale(scaled) if self.scaler else scaled).backward()
            total_loss += float(loss.detach()) / accum
            seconds += secs
        if self.scaler:
            self.scaler.unscale_(self.optimizer)
        clip = cfg.optim.grad_clip if cfg.optim.grad_clip is not None else math.inf
        grad_norm = float(nn.utils.clip_grad_norm_(self.model.parameters(), clip))
        if self.scaler:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        elif math.isfinite(grad_norm):
            self.optimizer.step()
        self.scheduler.step()
        st.step += 1
        st.audio_seconds += seconds * self.dist.world_size
        return {
            "loss": total_loss,
            "grad_norm": grad_norm,
            "audio_seconds": seconds,
            "lr": self.optimizer.param_groups[0]["lr"],
        }

    # ------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def evaluate(self, utts: list[TrainUtterance], num_samples: int = 5) -> EvalResult:
        """Dev loss, WER and CER with the current weights (greedy or beam decoding)."""
        from aural.evaluation.metrics import corpus_cer, corpus_wer

        self.model.eval()
        ids = [self.tokenizer.encode(u.text) for u in utts]
        sampler = BucketBatchSampler.from_durations(
            [u.duration for u in utts],
            batch_seconds=self.config.training.batch_seconds,
            max_batch_size=self.config.training.max_batch_size,
            shuffle=False,
        )
        refs: dict[int, str] = {}
        hyps: dict[int, str] = {}
        loss_sum = 0.0
        for batch in sampler.batches(0):
            feats, frame_lengths = self._features(
                [self.cache.get(utts[i]) for i in batch]
            )
            if self.is_transducer:
                loss_sum += self._evaluate_transducer(
                    batch, ids, feats, frame_lengths, hyps
                )
                for i in batch:
                    refs[i] = normalize_transcript(utts[i].text)
                continue
            log_probs, out_lengths = self.model(feats, frame_lengths)
            targets = torch.tensor([t for i in batch for t in ids[i]], dtype=torch.long)
            target_lengths = torch.tensor(
                [len(ids[i]) for i in batch], dtype=torch.long
            )
            loss_sum += float(
                nn.functional.ctc_loss(
                    log_probs.transpose(0, 1),
                    targets.to(self.device),
                    out_lengths,
                    target_lengths.to(self.device),
                    blank=0,
                    reduction="sum",
                    zero_infinity=True,
                )
            )
            lp = log_probs.float().cpu().numpy()
            for row, i in enumerate(batch):
                hyps[i] = decode_log_probs(
                    lp[row, : int(out_lengths[row])],
                    self.tokenizer,
                    self.config.training.decode_beam_size,
                )
                refs[i] = normalize_transcript(utts[i].text)
        order = sorted(refs)
        ref_list, hyp_list = [refs[i] for i in order], [hyps[i] for i in order]
        samples = tuple((utts[i].id, refs[i], hyps[i]) for i in order[:num_samples])
        return EvalResult(
            loss_sum / max(1, len(utts)),
            corpus_wer(ref_list, hyp_list).wer,
            corpus_cer(ref_list, hyp_list).wer,
            len(utts),
            samples,
        )

    def _evaluate_transducer(
        self,
        batch: list[int],
        ids: list[list[int]],
        feats: torch.Tensor,
        frame_lengths: torch.Tensor,
        hyps: dict[int, str],
    ) -> float:
        """Summed dev loss of one batch; writes each utterance's decoded text."""
        model = self.model
        assert isinstance(model, ConformerTransducer)
        encoded = [ids[i] for i in batch]
        lengths = torch.tensor([len(e) for e in encoded], dtype=torch.long)
        padded = torch.zeros(
            len(batch), int(lengths.max()) if len(lengths) else 0, dtype=torch.long
        )
        for row, e in enumerate(encoded):
            padded[row, : len(e)] = torch.tensor(e, dtype=torch.long)
        loss = self._transducer_loss(
            feats,
            frame_lengths,
            padded.to(self.device),
            lengths.to(self.device),
            model,
        )
        enc, enc_lengths = model.encode(feats, frame_lengths)
        for row, i in enumerate(batch):
            hyps[i] = decode_transducer(
                model,
                enc[row, : int(enc_lengths[row])],
                self.tokenizer,
                self.config.training.decode_beam_size,
            )
        return float(loss)

    # ------------------------------------------------------------------ bookkeeping
    def _log(self, record: dict[str, Any]) -> None:
        if not self.dist.is_main:
            return
        self.state.history.append(record)
        with (self.output_dir / "metrics.jsonl").open("a") as f:
            f.write(json.dumps(record) + "\n")
        metrics = {
            k: float(v)
            for k, v in record.items()
            if isinstance(v, (int, float)) and k != "step"
        }
        self.tracker.log_metrics(metrics, self.state.step)

    def _checkpoint(self) -> None:
        if self.dist.is_main:
            save_checkpoint(
                self.output_dir,
                self.model,
                self.features,
                self.tokenizer,
                self.optimizer,
                self.scheduler,
                self.scaler,
                self.state,
                self.config.training.keep_checkpoints,
            )

    def _after_eval(self, result: EvalResult) -> bool:
        """Record an evaluation; True when early stopping says to stop."""
        st = self.state
        self._log(
            {
                "step": st.step,
                "epoch": st.epoch,
                "dev_loss": result.loss,
                "dev_wer": result.wer,
                "dev_cer": result.cer,
            }
        )
        if self.dist.is_main and result.samples:
            text = "\n".join(
                f"{uid}\tREF: {r}\n{uid}\tHYP: {h}" for uid, r, h in result.samples
            )
            self.tracker.log_text(text, f"predictions/step_{st.step:07d}.txt")
        if st.best_wer is None or result.wer < st.best_wer:
            st.best_wer, st.best_step = result.wer, st.step
            st.evals_without_improvement = 0
            if self.dist.is_main:
                save_best(
                    self.output_dir,
                    self.model,
                    self.features,
                    self.tokenizer,
                    {"step": st.step, "dev_wer": result.wer, "dev_loss": result.loss},
                )
        else:
            st.evals_without_improvement += 1
        patience = self.config.training.early_stopping_patience
        return patience is not None and st.evals_without_improvement >= patience

    # ------------------------------------------------------------------ main
    def _setup(self) -> None:
        cfg = self.config
        resume_dir = find_latest(self.output_dir) if self.resume else None
        if self.dist.is_main:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            write_atomic(self.output_dir / "config.yaml", cfg.to_yaml())
        self.cache = AudioCache(cfg.sample_rate)
        self.train_utts, self.dev_utts = self._read_data()
        self.tokenizer = self._tokenizer([u.text for u in self.train_utts], resume_dir)
        self.token_ids = [self.tokenizer.encode(u.text) for u in self.train_utts]
        self.features = self._model_features()
        if self.features.kind == "whisper":
            from aural.engines.whisper import feature_frontend

            feature_frontend(str(self.features.encoder)).cache_bytes = (
                cfg.training.feature_cache_mb * 2**20
            )
        torch.manual_seed(cfg.seed)
        overrides = cfg.model.overrides()
        # Whisper encoder frames come at 20 ms already: no further subsampling by
        # default
        overrides.setdefault("subsampling", 1 if self.features.kind == "whisper" else 4)
        options = conformer_preset(
            cfg.model.size,
            self.features.num_features,
            self.tokenizer.vocab_size,
            **overrides,
        )
        self.is_transducer = cfg.model.type == "transducer"
        self.model: ConformerCtc | ConformerTransducer = (
            ConformerTransducer(
                TransducerOptions(
                    options,
                    predictor_dim=cfg.model.predictor_dim,
                    joiner_dim=cfg.model.joiner_dim,
                    context_size=cfg.model.context_size,
                    ctc_head=cfg.model.ctc_aux_weight > 0,
                )
            )
            if self.is_transducer
            else ConformerCtc(options)
        ).to(self.device)
        if cfg.features.cmvn == "global" and resume_dir is None:
            stats = self._global_stats(self.train_utts, self.features)
            self.model.set_feature_stats(
                stats.mean.to(self.device), stats.std.to(self.device)
            )
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(),
            lr=cfg.optim.lr,
            betas=cfg.optim.betas,
            weight_decay=cfg.optim.weight_decay,
        )
        self.scheduler = build_scheduler(
            self.optimizer, cfg.optim, cfg.training.max_steps
        )
        self.scaler = (
            torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None
        )
        self.state = LoopState()
        if resume_dir is not None:
            self._restore(resume_dir)
        self.ddp_model: nn.Module = self.model
        if self.dist.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel

            self.ddp_model = DistributedDataParallel(
                self.model,
                device_ids=[self.device.index] if self.device.type == "cuda" else None,
            )
        self.sampler = BucketBatchSampler.from_durations(
            [u.duration for u in self.train_utts],
            batch_seconds=cfg.training.batch_seconds,
            max_batch_size=cfg.training.max_batch_size,
            seed=cfg.seed,
            curriculum_epochs=cfg.training.curriculum_epochs,
            rank=self.dist.rank,
            world_size=self.dist.world_size,
        )
        self.augmenter = WaveformAugmenter(cfg.augment, cfg.sample_rate)
        self.tracker = (
            build_tracker(
                cfg.tracking, self.output_dir, cfg.name, self.state.mlflow_run_id
            )
            if self.dist.is_main
            else MultiTracker([])
        )
        if self.dist.is_main:
            self._start_tracking(resume_dir)

    def _restore(self, folder: Path) -> None:
        from aural.models.checkpoint import load_model

        loaded = load_model(folder, device=self.device)
        self.model.load_state_dict(loaded.model.state_dict())
        payload = load_train_state(folder)
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        if self.scaler is not None and payload.get("scaler"):
            self.scaler.load_state_dict(payload["scaler"])
        self.state = LoopState(**payload["loop"])
        logger.info("resumed from %s at step %d", folder, self.state.step)

    def _start_tracking(self, resume_dir: Path | None) -> None:
        for t in self.tracker.trackers:
            if hasattr(t, "run_id"):
                self.state.mlflow_run_id = t.run_id
        if resume_dir is None:
            params = self.config.model_dump(mode="json")
            params["num_parameters"] = count_parameters(self.model)
            params["num_train_utterances"] = len(self.train_utts)
            params["num_dev_utterances"] = len(self.dev_utts)
            params["vocab_size"] = self.tokenizer.vocab_size
            params["world_size"] = self.dist.world_size
            self.tracker.log_params(params)
            self.tracker.log_artifact(self.output_dir / "config.yaml")
        logger.info(
            "training %s: %d parameters, %d train / %d dev utterances, device %s, "
            "world size %d",
            self.config.name,
            count_parameters(self.model),
            len(self.train_utts),
            len(self.dev_utts),
            self.device,
            self.dist.world_size,
        )

    def _out_of_time(self, started: float) -> bool:
        """True once training.max_minutes have passed (rank 0's clock decides for
        all)."""
        limit = self.config.training.max_minutes
        if limit is None:
            return False
        flag = torch.tensor([float((time.perf_counter() - started) / 60.0 >= limit)])
        if self.dist.world_size > 1:
            import torch.distributed as dist

            dist.broadcast(flag, src=0)
        return bool(flag.item())

    def run(self) -> TrainResult:
        """Train until max_steps, max_epochs, early stopping, max time or
        stop_after_steps."""
        self._setup()
        cfg = self.config.training
        st = self.state
        last_eval: EvalResult | None = None
        evaluated_at = -1
        stopped_early = interrupted = False
        started = time.perf_counter()
        window_start, window_audio = time.perf_counter(), 0.0
        status = "FAILED"
        try:
            while st.step < cfg.max_steps:
                if (
                    self.stop_after_steps is not None
                    and st.step >= self.stop_after_steps
                ):
                    interrupted = True
                    break
                out = self._optimizer_step()
                if out is None:
                    break
                window_audio += out["audio_seconds"]
                if st.step % cfg.log_every == 0:
                    elapsed = time.perf_counter() - window_start
                    self._log(
                        {
                            "step": st.step,
                            "epoch": st.epoch,
                            "loss": out["loss"],
                            "lr": out["lr"],
                            "grad_norm": out["grad_norm"],
                            "audio_seconds_per_second": window_audio
                            / max(elapsed, 1e-9),
                        }
                    )
                    window_start, window_audio = time.perf_counter(), 0.0
                if self.dev_utts and st.step % cfg.eval_every == 0:
                    last_eval = self.evaluate(
                        self.dev_utts, self.config.tracking.num_sample_predictions
                    )
                    evaluated_at = st.step
                    stopped_early = self._after_eval(last_eval)
                if st.step % cfg.checkpoint_every == 0 or stopped_early:
                    self._checkpoint()
                if stopped_early:
                    break
                if self._out_of_time(started):
                    break
            if self.dev_utts and not interrupted and evaluated_at != st.step:
                last_eval = self.evaluate(
                    self.dev_utts, self.config.tracking.num_sample_predictions
                )
                stopped_early = self._after_eval(last_eval) or stopped_early
            self._checkpoint()
            status = "FINISHED"
        finally:
            self.tracker.close(status)
            if self.dist.world_size > 1:
                import torch.distributed as dist

                if dist.is_initialized():
                    dist.destroy_process_group()
        model_dir = (
            self.output_dir / "best"
            if st.best_step is not None
            else find_latest(self.output_dir) or self.output_dir
        )
        return TrainResult(
            self.output_dir,
            st.step,
            st.best_wer,
            st.best_step,
            last_eval,
            stopped_early,
            model_dir,
            count_parameters(self.model),
            st.audio_seconds,
            time.perf_counter() - started,
        )


class _null_context:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
