"""Hugging Face CTC fine-tuning (Wav2Vec2ForCTC, HuBERT, WavLM, ... through
``AutoModelForCTC``).

The model and its processor come from a local folder or a hub id (cached for offline
use). The vocabulary is the model's own (``ctc.vocabulary: keep``; transcripts are put
in its letter case and characters it lacks are dropped) or built from the training
transcripts (``build``: a new output layer, ``|`` between words). The convolutional
feature encoder is frozen by default. The best model and its processor are written to
the run folder itself, which the ``ctc`` engine loads.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aural.errors import ModelNotFoundError, missing_dependency
from aural.finetune.config import FinetuneConfig
from aural.finetune.data import SAMPLE_RATE, AugmentedAudio
from aural.finetune.loop import TaskBase
from aural.training.data import TrainUtterance

__all__ = ["CtcTask"]

logger = logging.getLogger(__name__)

_SPECIAL = ("<pad>", "<s>", "</s>", "<unk>")
_EXPORT_SUFFIXES = (".json", ".safetensors", ".bin", ".txt")


def _load(model: str) -> tuple[Any, Any]:
    try:
        import transformers
    except ImportError as err:
        raise missing_dependency("transformers", "finetune", "CTC fine-tuning") from err
    path = Path(model).expanduser()
    source = str(path) if path.exists() else model
    if path.exists() and not (path / "config.json").is_file():
        raise ModelNotFoundError(
            f"{model}: no config.json; pass a Hugging Face CTC model folder or hub id"
        )
    try:
        try:
            net = transformers.AutoModelForCTC.from_pretrained(
                source, local_files_only=True
            )
            processor = transformers.AutoProcessor.from_pretrained(
                source, local_files_only=True
            )
        except OSError:
            if path.exists() or os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0"):
                raise
            net = transformers.AutoModelForCTC.from_pretrained(source)
            processor = transformers.AutoProcessor.from_pretrained(source)
    except (OSError, ValueError) as err:
        raise ModelNotFoundError(
            f"cannot load CTC model {model!r}: {err.__class__.__name__}; pass a folder "
            "with config.json, weights and processor files, or a hub id on a machine "
            "with a network"
        ) from err
    if getattr(processor, "tokenizer", None) is None:
        raise ModelNotFoundError(f"{model}: no tokenizer beside the model")
    return net.float(), processor


class CtcTask(TaskBase):
    """Fine-tunes one Hugging Face CTC model (the loop's
    :class:`~aural.finetune.loop.FinetuneTask`)."""

    def __init__(self, config: FinetuneConfig, device: torch.device, run_dir: Path):
        self.config = config
        self.options = config.ctc
        self.device = device
        self.run_dir = run_dir
        net, self.processor = _load(config.model)
        self.model: torch.nn.Module = net.to(device)
        self.audio = AugmentedAudio(config)
        self._built = False

    # ------------------------------------------------------------------ set-up
    def _case(self, vocab: dict[str, int]) -> str:
        if self.options.text_case != "auto":
            return self.options.text_case
        letters = [t for t in vocab if len(t) == 1 and t.isalpha()]
        upper = sum(t.isupper() for t in letters)
        return "upper" if upper >= len(letters) - upper else "lower"

    def _clean(self, text: str) -> str:
        text = text.upper() if self.case == "upper" else text.lower()
        return " ".join(text.split())

    def prepare(self, train: Sequence[TrainUtterance]) -> None:
        import transformers

        tokenizer = self.processor.tokenizer
        if self.options.vocabulary == "build" and not self._built:
            self.case = "upper" if self.options.text_case != "lower" else "lower"
            chars = sorted({c for u in train for c in self._clean(u.text) if c != " "})
            vocab = {tok: i for i, tok in enumerate(_SPECIAL)}
            vocab["|"] = len(vocab)
            for c in chars:
                vocab.setdefault(c, len(vocab))
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "vocab.json"
                path.write_text(json.dumps(vocab))
                tokenizer = transformers.Wav2Vec2CTCTokenizer(
                    str(path), word_delimiter_token="|"
                )
            self.processor = transformers.Wav2Vec2Processor(
                feature_extractor=self.processor.feature_extractor, tokenizer=tokenizer
            )
            self._new_head(len(vocab), vocab["<pad>"])
            self._built = True
        self.tokenizer = self.processor.tokenizer
        self.extractor = self.processor.feature_extractor
        vocab = self.tokenizer.get_vocab()
        self.case = getattr(self, "case", None) or self._case(vocab)
        self.known = set(vocab)
        if self.options.freeze_feature_encoder:
            freeze = getattr(self.model, "freeze_feature_encoder", None)
            if freeze is not None:
                freeze()
        self.model.config.ctc_loss_reduction = "mean"
        self.model.config.ctc_zero_infinity = True
        from aural.text.normalizers import get_normalizer

        self._normalize = get_normalizer("whisper")

    def _new_head(self, size: int, pad: int) -> None:
        head = getattr(self.model, "lm_head", None)
        if not isinstance(head, torch.nn.Linear):
            raise ModelNotFoundError(
                f"{self.config.model}: no lm_head to resize; use ctc.vocabulary: keep"
            )
        new = torch.nn.Linear(head.in_features, size).to(head.weight.device)
        torch.nn.init.normal_(new.weight, std=0.02)
        torch.nn.init.zeros_(new.bias)
        self.model.lm_head = new
        self.model.config.vocab_size = size
        self.model.config.pad_token_id = pad

    # ------------------------------------------------------------------ batches
    def _inputs(self, waves: Sequence[np.ndarray]) -> dict[str, torch.Tensor]:
        feats = self.extractor(
            [np.asarray(w, dtype=np.float32) for w in waves],
            sampling_rate=SAMPLE_RATE,
            padding=True,
            return_attention_mask=True,
            return_tensors="pt",
        )
        out = {"input_values": feats.input_values.to(self.device)}
        mask = feats.get("attention_mask")
        if mask is not None:
            out["attention_mask"] = mask.to(self.device)
        return out

    def labels(self, text: str) -> list[int]:
        clean = "".join(c for c in self._clean(text) if c == " " or c in self.known)
        ids: list[int] = self.tokenizer(clean).input_ids
        return ids

    def batch_loss(
        self, utts: Sequence[TrainUtterance], indices: Sequence[int], epoch: int
    ) -> tuple[torch.Tensor, int]:
        waves = self.audio.train(utts, indices, epoch)
        targets = [self.labels(utts[i].text) for i in indices]
        width = max(1, max(len(t) for t in targets))
        labels = torch.full((len(targets), width), -100, dtype=torch.long)
        for row, t in enumerate(targets):
            labels[row, : len(t)] = torch.tensor(t, dtype=torch.long)
        out = self.model(**self._inputs(waves), labels=labels.to(self.device))
        return out.loss, int(sum(len(t) for t in targets))

    @torch.no_grad()
    def transcribe(self, utts: Sequence[TrainUtterance]) -> list[str]:
        hyps: list[str] = []
        for start in range(0, len(utts), 8):
            waves = [self.audio.clean(u) for u in utts[start : start + 8]]
            logits = self.model(**self._inputs(waves)).logits
            ids = logits.argmax(dim=-1).cpu().numpy()
            hyps.extend(self.tokenizer.batch_decode(ids))
        return hyps

    # ------------------------------------------------------------------ state
    def save_model(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(folder)
        self.processor.save_pretrained(folder)

    def export(self, best: Path, run_dir: Path) -> list[str]:
        names = sorted(
            p.name
            for p in best.iterdir()
            if p.is_file() and p.suffix in _EXPORT_SUFFIXES
        )
        with tempfile.TemporaryDirectory(prefix=".export-", dir=run_dir) as tmp:
            for name in names:
                staged = Path(tmp) / name
                staged.write_bytes((best / name).read_bytes())
                os.replace(staged, run_dir / name)
        return names

    @property
    def source_for_engine(self) -> str | None:
        return self.config.model

    def engine_wer(
        self, model: str | Path, utts: Sequence[TrainUtterance]
    ) -> float | None:
        from aural.decoding.options import DecodeOptions

        return self._engine_wer("ctc", model, DecodeOptions(beam_size=1), utts)
