"""The typed fine-tuning recipe: YAML in, frozen pydantic models out, unknown keys
rejected.

It shares its data, augmentation, optimiser and tracking sections with ``aural train``
(:mod:`aural.training.config` owns them) and adds what adapting a pretrained model
needs: which model, full or LoRA, what to freeze, Whisper's label format, the telephone
channel and the export. :func:`load_finetune_config` turns any validation problem into
one :class:`~aural.errors.ConfigError` naming the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from aural.training.config import (
    AugmentConfig,
    DataConfig,
    OptimConfig,
    RecipeModel,
    StrictModel,
    TrackingConfig,
    read_yaml,
    validate_config,
)

__all__ = [
    "CtcOptions",
    "FinetuneConfig",
    "LoopConfig",
    "TelephoneConfig",
    "WhisperOptions",
    "load_finetune_config",
    "parse_finetune_config",
]


class TelephoneConfig(StrictModel):
    """A telephone channel: 8 kHz, 300-3400 Hz band and a speech codec, applied with
    ``probability`` after the other waveform effects."""

    enabled: bool = False
    probability: float = Field(default=0.5, ge=0.0, le=1.0)
    codec: Literal["none", "mulaw", "gsm"] = "gsm"


class WhisperOptions(StrictModel):
    """How a Whisper model is adapted and what its labels look like."""

    method: Literal["full", "lora"] = "lora"
    freeze_encoder: bool = False
    # train the encoder only: the decoder keeps its language model and output style
    freeze_decoder: bool = False
    # noise robustness by a clean teacher: the frozen pretrained encoder's output on the
    # clean clip is the target (mean squared error, per feature, over the speech frames)
    # for the trained encoder's output on the augmented clip, added to the cross-entropy
    # with this weight (0: off)
    clean_teacher_weight: float = Field(default=0.0, ge=0.0)
    # full/LoRA: train only the top N encoder layers (None = all); the layers below run
    # without gradients, so their backward pass is skipped
    trainable_encoder_layers: int | None = Field(default=None, ge=0)
    lora_rank: int = Field(default=16, ge=1)
    lora_alpha: float = Field(default=32.0, gt=0.0)
    lora_dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    lora_targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "out_proj")
    language: str | None = None  # multilingual models; None = English
    task: Literal["transcribe", "translate"] = "transcribe"
    timestamps: bool = False  # <|0.00|> text <|end|> instead of <|notimestamps|>
    prompt_probability: float = Field(default=0.0, ge=0.0, le=1.0)
    # LibriSpeech is upper case without punctuation: Whisper should not learn that
    text_case: Literal["keep", "sentence", "auto"] = "auto"
    export_quantization: Literal["int8", "float16", "float32"] = "int8"
    encoder_cache_mb: int = Field(default=2048, ge=0)  # frozen encoder, no augmentation


class CtcOptions(StrictModel):
    """How a Hugging Face CTC model is adapted."""

    vocabulary: Literal["keep", "build"] = "keep"
    freeze_feature_encoder: bool = True
    text_case: Literal["auto", "upper", "lower"] = "auto"  # auto: the vocabulary's


class LoopConfig(StrictModel):
    max_steps: int = Field(default=500, ge=1)  # optimizer steps
    max_minutes: float | None = Field(default=None, gt=0.0)
    batch_seconds: float = Field(default=120.0, gt=0.0)  # padded audio per micro-batch
    max_batch_size: int = Field(default=8, ge=1)
    amp: Literal["auto", "off", "fp16", "bf16"] = "auto"  # auto: bf16/fp16 on CUDA
    device: str = "auto"
    num_threads: int | None = Field(default=None, ge=1)
    eval_every: int = Field(default=100, ge=1)
    eval_at_start: bool = True  # the "before" WER
    checkpoint_every: int = Field(default=100, ge=1)
    keep_checkpoints: int = Field(default=2, ge=1)
    log_every: int = Field(default=10, ge=1)
    early_stopping_patience: int | None = Field(default=None, ge=1)  # evaluations
    final_engine_eval: bool = True  # before/after WER through the deployed engine


class FinetuneConfig(RecipeModel):
    """A whole fine-tuning recipe (``recipes/finetune_*.yaml``)."""

    name: str
    kind: Literal["whisper", "ctc"] = "whisper"
    model: str = "tiny.en"
    output_dir: str
    seed: int = 0
    data: DataConfig
    whisper: WhisperOptions = WhisperOptions()
    ctc: CtcOptions = CtcOptions()
    augment: AugmentConfig = AugmentConfig()
    telephone: TelephoneConfig = TelephoneConfig()
    optim: OptimConfig = OptimConfig(lr=1e-4, warmup_steps=50, weight_decay=0.01)
    training: LoopConfig = LoopConfig()
    tracking: TrackingConfig = TrackingConfig(experiment="aural-finetune")

    @model_validator(mode="after")
    def _check(self) -> FinetuneConfig:
        if self.data.max_duration <= self.data.min_duration:
            raise ValueError("data.max_duration must be greater than data.min_duration")
        if self.kind == "whisper" and self.data.max_duration > 30.0:
            raise ValueError(
                "data.max_duration: Whisper sees at most 30 s at once; set it to 30 "
                "or less"
            )
        w = self.whisper
        if w.freeze_encoder and w.freeze_decoder:
            raise ValueError(
                "whisper.freeze_encoder and whisper.freeze_decoder: nothing would train"
            )
        if w.clean_teacher_weight > 0 and (
            w.freeze_encoder or w.trainable_encoder_layers == 0
        ):
            raise ValueError(
                "whisper.clean_teacher_weight needs a trained encoder (it teaches the "
                "encoder); the encoder is frozen"
            )
        return self


def parse_finetune_config(data: Any, source: str = "<config>") -> FinetuneConfig:
    """Validate a mapping as a :class:`FinetuneConfig`.

    Raises:
        ConfigError: naming every offending key.
    """
    return validate_config(FinetuneConfig, data, source, "fine-tuning recipe")


def load_finetune_config(path: str | Path) -> FinetuneConfig:
    """Read and validate a YAML recipe."""
    path = Path(path)
    return parse_finetune_config(read_yaml(path, "recipe"), str(path))
