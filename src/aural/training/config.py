"""The typed training recipe: pydantic models loaded from YAML, unknown keys rejected.

A recipe holds values only; components are picked by registered name (``model.size:
small``, ``tokenizer.kind: bpe``). :func:`load_config` turns any validation problem into
one :class:`~aural.errors.ConfigError` that names the offending key, e.g.
``recipes/x.yaml: optim.lr_peak: extra inputs are not permitted``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal, Self, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from aural.audio.features import FeatureOptions
from aural.errors import ConfigError

__all__ = [
    "AugmentConfig",
    "DataConfig",
    "DataSource",
    "FeatureConfig",
    "ModelConfig",
    "NoiseConfig",
    "OptimConfig",
    "PitchConfig",
    "RecipeModel",
    "RirConfig",
    "SpecAugmentConfig",
    "SpeedConfig",
    "StrictModel",
    "TokenizerConfig",
    "TrackingConfig",
    "TrainConfig",
    "TrainingConfig",
    "describe_config_error",
    "load_config",
    "merge_changes",
    "read_yaml",
    "validate_config",
]

_M = TypeVar("_M", bound=BaseModel)


class StrictModel(BaseModel):
    """A config section: frozen, unknown keys rejected (the recipes' base model)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RecipeModel(StrictModel):
    """A whole recipe: saved as YAML beside its outputs, copied with changes."""

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)

    def with_changes(self, changes: dict[str, Any]) -> Self:
        """A copy with nested changes such as ``{"training": {"max_steps": 10}}``.

        Raises:
            ConfigError: the changed recipe is invalid (naming every offending key).
        """
        merged = merge_changes(self.model_dump(mode="json"), changes)
        return validate_config(type(self), merged, "<changes>", "recipe")


class DataSource(StrictModel):
    """One dataset folder or manifest read with :func:`aural.data.load_dataset`."""

    path: str
    kind: str = "auto"
    id_pattern: str | None = (
        None  # keep ids matching this regular expression (whole id)
    )
    limit: int | None = Field(
        default=None, ge=1
    )  # first N utterances (after sorting by id)

    @model_validator(mode="after")
    def _check_pattern(self) -> DataSource:
        if self.id_pattern is not None:
            try:
                re.compile(self.id_pattern)
            except re.error as err:
                raise ValueError(
                    f"id_pattern {self.id_pattern!r} is not a regex: {err}"
                ) from err
        return self

    def resolved_path(self) -> Path:
        """``path`` with ``$VARS`` and ``~`` expanded (relative paths are from the
        CWD)."""
        return Path(os.path.expanduser(os.path.expandvars(self.path)))


class DataConfig(StrictModel):
    train: list[DataSource] = Field(min_length=1)
    dev: list[DataSource] = Field(default_factory=list)
    dev_fraction: float = Field(
        default=0.0, ge=0.0, lt=1.0
    )  # held out of train when no dev
    min_duration: float = Field(default=0.2, ge=0.0)  # seconds
    max_duration: float = Field(default=20.0, gt=0.0)
    dev_limit: int | None = Field(
        default=None, ge=1
    )  # cap on dev utterances per evaluation


class FeatureConfig(StrictModel):
    """Input features; ``kind: whisper`` feeds the frames of a pretrained Whisper
    encoder (``encoder``, 20 ms each) to the model, and the mel / cepstral keys are
    unused."""

    kind: Literal["fbank", "mfcc", "whisper"] = "fbank"
    num_mels: int = Field(default=80, ge=8)
    num_ceps: int = Field(default=13, ge=2)
    deltas: bool = False
    cmvn: Literal["none", "utterance", "global"] = "global"
    n_fft: int = 400
    hop_length: int = 160
    encoder: str = "tiny.en"  # kind: whisper only

    def options(self, sample_rate: int) -> FeatureOptions:
        whisper = self.kind == "whisper"
        if whisper:
            from aural.audio.features import WHISPER_HOP_LENGTH as HOP_LENGTH
        try:
            return FeatureOptions(
                kind=self.kind,
                sample_rate=sample_rate,
                n_fft=self.n_fft,
                hop_length=HOP_LENGTH if whisper else self.hop_length,
                num_mels=self.num_mels,
                num_ceps=self.num_ceps,
                deltas=self.deltas,
                cmvn=self.cmvn,
                encoder=self.encoder if whisper else None,
            )
        except ConfigError as err:
            raise ConfigError(f"features: {err}") from err


class TokenizerConfig(StrictModel):
    kind: Literal["char", "bpe"] = "char"
    vocab_size: int = Field(default=256, ge=8)  # BPE only


class ModelConfig(StrictModel):
    """A size preset, with any field overridden.

    ``type: ctc`` (the default) puts a CTC head on the Conformer encoder;
    ``type: transducer`` a stateless predictor (``context_size`` tokens,
    ``predictor_dim`` wide) and an additive joiner (``joiner_dim``), trained with the
    RNN-T loss. ``chunk_size`` > 0 makes the encoder chunk-causal (attention within
    the chunk and ``left_chunks`` chunks back, causal convolutions) for native
    streaming."""

    type: Literal["ctc", "transducer"] = "ctc"
    size: Literal["tiny", "small", "medium", "large"] = "small"
    d_model: int | None = Field(default=None, ge=8)
    num_layers: int | None = Field(default=None, ge=1)
    num_heads: int | None = Field(default=None, ge=1)
    ff_mult: int | None = Field(default=None, ge=1)
    conv_kernel: int | None = Field(default=None, ge=1)
    subsampling_channels: int | None = Field(default=None, ge=1)
    subsampling: Literal[1, 4] | None = None  # 1 for 20 ms frames (whisper features)
    dropout: float = Field(default=0.1, ge=0.0, lt=1.0)
    chunk_size: int = Field(default=0, ge=0)  # encoded frames per chunk; 0 = full
    left_chunks: int = Field(default=0, ge=0)  # 0 = all earlier chunks
    # transducer only
    predictor_dim: int = Field(default=0, ge=0)  # 0 = d_model
    joiner_dim: int = Field(default=0, ge=0)  # 0 = d_model
    context_size: int = Field(default=2, ge=1)
    rnnt_backend: Literal["auto", "torch", "numba"] = "auto"
    # > 0: a CTC head on the encoder, its loss times this weight added to the RNN-T
    # loss in training (the encoder learns as fast as a CTC model's; not decoded)
    ctc_aux_weight: float = Field(default=0.0, ge=0.0)
    # > 0 (needs ctc_aux_weight): the RNN-T loss's weight is 0 for the first half of
    # these steps and rises linearly to 1 over the second half, so the encoder first
    # learns from the CTC head alone, as a CTC model's does
    rnnt_warmup_steps: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _check_transducer_fields(self) -> ModelConfig:
        if self.ctc_aux_weight > 0 and self.type != "transducer":
            raise ValueError("model.ctc_aux_weight applies to type: transducer only")
        if self.rnnt_warmup_steps > 0 and self.ctc_aux_weight <= 0:
            raise ValueError("model.rnnt_warmup_steps needs model.ctc_aux_weight > 0")
        return self

    def rnnt_weight(self, step: int) -> float:
        """The RNN-T loss's weight at optimizer step ``step`` (see
        ``rnnt_warmup_steps``)."""
        half = self.rnnt_warmup_steps / 2
        if half <= 0:
            return 1.0
        return min(1.0, max(0.0, (step - half) / half))

    def overrides(self) -> dict[str, Any]:
        keys = (
            "d_model",
            "num_layers",
            "num_heads",
            "ff_mult",
            "conv_kernel",
            "subsampling_channels",
            "subsampling",
            "chunk_size",
            "left_chunks",
        )
        out: dict[str, Any] = {
            k: getattr(self, k) for k in keys if getattr(self, k) is not None
        }
        out["dropout"] = self.dropout
        return out


class NoiseConfig(StrictModel):
    enabled: bool = False
    directory: str = "../shared/data/noise"
    probability: float = Field(default=0.5, ge=0.0, le=1.0)
    snr_db: tuple[float, float] = (5.0, 20.0)  # sampled uniformly


class RirConfig(StrictModel):
    enabled: bool = False
    directory: str = "../shared/data/rir"
    probability: float = Field(default=0.3, ge=0.0, le=1.0)


class SpeedConfig(StrictModel):
    enabled: bool = False
    factors: tuple[float, ...] = (0.9, 1.0, 1.1)


class PitchConfig(StrictModel):
    enabled: bool = False
    probability: float = Field(default=0.3, ge=0.0, le=1.0)
    semitones: tuple[float, float] = (-2.0, 2.0)


class SpecAugmentConfig(StrictModel):
    enabled: bool = False
    freq_masks: int = Field(default=2, ge=0)
    freq_width: int = Field(default=15, ge=0)  # mel bins, at most
    time_masks: int = Field(default=2, ge=0)
    time_width: float = Field(default=0.05, ge=0.0, le=0.5)  # fraction of the utterance


class AugmentConfig(StrictModel):
    seed_offset: int = 0
    noise: NoiseConfig = NoiseConfig()
    rir: RirConfig = RirConfig()
    speed: SpeedConfig = SpeedConfig()
    pitch: PitchConfig = PitchConfig()
    spec_augment: SpecAugmentConfig = SpecAugmentConfig()


class OptimConfig(StrictModel):
    lr: float = Field(default=1e-3, gt=0.0)  # peak learning rate
    weight_decay: float = Field(default=1e-3, ge=0.0)
    betas: tuple[float, float] = (0.9, 0.98)
    warmup_steps: int = Field(default=500, ge=0)
    schedule: Literal["cosine", "inverse_sqrt", "constant", "linear"] = "cosine"
    min_lr_ratio: float = Field(default=0.05, ge=0.0, le=1.0)  # floor of the decay
    grad_clip: float | None = Field(default=5.0, gt=0.0)
    accumulate_steps: int = Field(default=1, ge=1)


class TrainingConfig(StrictModel):
    max_steps: int = Field(default=1000, ge=1)  # optimizer steps
    max_epochs: int | None = Field(default=None, ge=1)
    max_minutes: float | None = Field(
        default=None, gt=0.0
    )  # wall-clock budget (rank 0 clock)
    batch_seconds: float = Field(default=60.0, gt=0.0)  # padded audio seconds per batch
    max_batch_size: int = Field(default=32, ge=1)
    curriculum_epochs: int = Field(default=0, ge=0)  # first epochs sorted short to long
    amp: Literal["auto", "off", "fp16", "bf16"] = "auto"
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    num_threads: int | None = Field(default=None, ge=1)
    eval_every: int = Field(default=200, ge=1)
    checkpoint_every: int = Field(default=200, ge=1)
    keep_checkpoints: int = Field(default=2, ge=1)
    log_every: int = Field(default=10, ge=1)
    early_stopping_patience: int | None = Field(default=None, ge=1)  # evaluations
    decode_beam_size: int = Field(default=1, ge=1)  # dev decoding: 1 = greedy
    # whisper features: encoder outputs kept for utterances seen again (0 = off)
    feature_cache_mb: int = Field(default=2048, ge=0)


class TrackingConfig(StrictModel):
    mlflow: bool = True
    mlflow_dir: str | None = None  # None = <output_dir>/mlruns (SQLite db + artifacts)
    mlflow_uri: str | None = (
        None  # another tracking server / store; None = the local db
    )
    experiment: str = "aural"
    run_name: str | None = None
    wandb: bool = False
    wandb_project: str = "aural"
    num_sample_predictions: int = Field(default=5, ge=0)


class TrainConfig(RecipeModel):
    """A whole recipe (see ``recipes/*.yaml``)."""

    name: str
    output_dir: str
    seed: int = 0
    sample_rate: int = 16_000
    data: DataConfig
    features: FeatureConfig = FeatureConfig()
    tokenizer: TokenizerConfig = TokenizerConfig()
    model: ModelConfig = ModelConfig()
    augment: AugmentConfig = AugmentConfig()
    optim: OptimConfig = OptimConfig()
    training: TrainingConfig = TrainingConfig()
    tracking: TrackingConfig = TrackingConfig()

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if self.data.max_duration <= self.data.min_duration:
            raise ValueError("data.max_duration must be greater than data.min_duration")
        self.features.options(self.sample_rate)  # raises on inconsistent features
        return self


def merge_changes(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with nested ``changes`` applied (a dict merges into a dict, anything
    else replaces); neither is modified."""
    out = dict(base)
    for k, v in changes.items():
        out[k] = (
            merge_changes(out[k], v)
            if isinstance(v, dict) and isinstance(out.get(k), dict)
            else v
        )
    return out


def describe_config_error(err: ValidationError, source: str) -> str:
    """One line naming every offending key: ``source: optim.lr: input should be
    ...; data.train: field required``."""
    problems = []
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "<top level>"
        problems.append(f"{where}: {e['msg'].lower()}")
    return f"{source}: " + "; ".join(problems)


def validate_config(model: type[_M], data: Any, source: str, what: str) -> _M:
    """Validate a mapping read from ``source`` as ``model``.

    Args:
        what: what the mapping is, for the message (``"training config"``).

    Raises:
        ConfigError: ``data`` is not a mapping, or naming every offending key.
    """
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: a {what} must be a mapping, got {type(data).__name__}"
        )
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ConfigError(describe_config_error(err, source)) from err


def read_yaml(path: Path, what: str) -> Any:
    """The YAML document at ``path``.

    Raises:
        ConfigError: the file cannot be read (``cannot read {what} PATH: ...``) or is
            not valid YAML.
    """
    try:
        return yaml.safe_load(path.read_text())
    except OSError as err:
        raise ConfigError(f"cannot read {what} {path}: {err.strerror or err}") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from err


def parse_config(data: Any, source: str = "<config>") -> TrainConfig:
    """Validate a mapping as a :class:`TrainConfig`.

    Raises:
        ConfigError: naming every offending key
            (``optim.lr: input should be greater...``).
    """
    return validate_config(TrainConfig, data, source, "training config")


def load_config(path: str | Path) -> TrainConfig:
    """Read and validate a YAML recipe."""
    path = Path(path)
    return parse_config(read_yaml(path, "training config"), str(path))
