"""Whisper fine-tuning: full, LoRA (peft) or decoder-only, exported to CTranslate2.

The model comes from :func:`aural.engines.whisper.torch_whisper` (an alias such as
``tiny.en``, a CTranslate2 folder or a hub id) or from a Hugging Face folder. Labels are
Whisper's own sequence::

    [<|startofprev|> prompt...] <|startoftranscript|> [<|en|> <|transcribe|>]
        <|notimestamps|> text <|endoftext|>            (or <|0.00|> text <|t_end|>)

and the loss covers everything after ``<|startoftranscript|>``. The best model is
saved as a Hugging Face folder (LoRA merged) and converted to a CTranslate2 folder
(int8 by default) in the run folder, which the ``whisper`` engine loads.
"""

from __future__ import annotations

import copy
import inspect
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aural.errors import ConfigError, ModelNotFoundError
from aural.finetune.config import FinetuneConfig
from aural.finetune.data import SAMPLE_RATE, AugmentedAudio, sentence_case
from aural.finetune.loop import TaskBase
from aural.training.augment import spec_augment
from aural.training.data import TrainUtterance

__all__ = ["WhisperTask", "load_whisper"]

logger = logging.getLogger(__name__)

HOP = 160  # samples per mel frame
_PROCESSOR_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.json",
    "merges.txt",
    "normalizer.json",
    "added_tokens.json",
    "preprocessor_config.json",
    "processor_config.json",
)
_EXPORT_FILES = (
    "model.bin",
    "config.json",
    "tokenizer.json",
    "vocabulary.json",
    "vocabulary.txt",
    "preprocessor_config.json",
)


def _is_hf_folder(path: Path) -> bool:
    return (
        path.is_dir()
        and (path / "config.json").is_file()
        and not (path / "model.bin").is_file()
    )


def load_whisper(model: str) -> tuple[Any, Path, str | None]:
    """A float32 PyTorch Whisper of ``model`` that may be modified, the folder holding
    its tokenizer files, and the name the ``whisper`` engine loads it by (None for a
    Hugging Face folder, which the engine cannot load)."""
    import transformers

    from aural.engines.whisper import resolve_whisper_model, torch_whisper

    path = Path(model).expanduser()
    if _is_hf_folder(path):
        if not (path / "tokenizer.json").is_file():
            raise ModelNotFoundError(
                f"{model}: a Hugging Face folder without tokenizer.json; save the "
                "model's WhisperProcessor into it"
            )
        try:
            net = transformers.WhisperForConditionalGeneration.from_pretrained(
                path, dtype=torch.float32
            )
        except (OSError, ValueError) as err:
            raise ModelNotFoundError(f"{model}: not a Whisper model ({err})") from err
        return net, path, None
    net = copy.deepcopy(torch_whisper(model))  # the cached one is shared: copy it
    folder = resolve_whisper_model(model)
    return net, folder, model


class WhisperTask(TaskBase):
    """Fine-tunes one Whisper model under a :class:`FinetuneConfig` (the loop's
    :class:`~aural.finetune.loop.FinetuneTask`)."""

    def __init__(self, config: FinetuneConfig, device: torch.device, run_dir: Path):
        import tokenizers

        self.config = config
        self.options = config.whisper
        self.device = device
        self.run_dir = run_dir
        net, self.tokenizer_dir, self._engine_source = load_whisper(config.model)
        self.tokenizer = tokenizers.Tokenizer.from_file(
            str(self.tokenizer_dir / "tokenizer.json")
        )
        self.whisper = net.to(device)
        self.whisper.config.use_cache = True
        self.multilingual = self.whisper.config.vocab_size >= 51865
        self._ids()
        self.audio = AugmentedAudio(config)
        self.generation = getattr(self.whisper, "generation_config", None)
        self._teacher: torch.nn.Module | None = None
        self._teacher_cache: dict[str, torch.Tensor] = {}
        if self.options.clean_teacher_weight > 0:
            # the pretrained encoder, before any training or LoRA: it never changes
            self._teacher = copy.deepcopy(self.whisper.get_encoder()).eval()
            self._teacher.requires_grad_(False)
        self._freeze()
        self.model: torch.nn.Module = self.whisper
        self.peft_model: Any = None
        if self.options.method == "lora":
            self._add_lora()
        self._encoder_cache: dict[str, torch.Tensor] = {}
        self._cache_limit = self.options.encoder_cache_mb * 2**20
        self._cache_bytes = 0
        self._extractor = self._feature_extractor()
        names = inspect.signature(self.whisper.forward).parameters
        # the KV-cache argument and output field: ``cache`` in recent transformers
        self._cache_key = "cache" if "cache" in names else "past_key_values"
        from aural.text.normalizers import get_normalizer

        english = not self.multilingual or (self.options.language or "en") == "en"
        self._normalize = get_normalizer("whisper" if english else "basic")

    # ------------------------------------------------------------------ set-up
    def _token(self, text: str) -> int:
        token = self.tokenizer.token_to_id(text)
        if token is None:
            raise ModelNotFoundError(
                f"{self.config.model}: its vocabulary has no {text} token"
            )
        return int(token)

    def _ids(self) -> None:
        o = self.options
        self.sot = self._token("<|startoftranscript|>")
        self.eot = self._token("<|endoftext|>")
        self.no_timestamps = self._token("<|notimestamps|>")
        self.prev = self._token("<|startofprev|>")
        self.timestamp_begin = self.no_timestamps + 1
        prefix = [self.sot]
        if self.multilingual:
            language = o.language or "en"
            prefix += [self._token(f"<|{language}|>"), self._token(f"<|{o.task}|>")]
        elif o.language not in (None, "en") or o.task != "transcribe":
            raise ConfigError(
                f"whisper.language/task: {self.config.model} is English-only; it "
                "cannot be taught another language or translation"
            )
        self.prefix = prefix
        self.decode_prefix = [*prefix, self.no_timestamps]

    def _freeze(self) -> None:
        o = self.options
        encoder = self.whisper.model.encoder
        encoder.embed_positions.requires_grad_(False)
        if o.freeze_decoder:
            # the output projection shares the token embedding, so it is frozen too
            self.whisper.model.decoder.requires_grad_(False)
            self.whisper.proj_out.requires_grad_(False)
        if o.freeze_encoder:
            encoder.requires_grad_(False)
        elif o.trainable_encoder_layers is not None and o.method == "full":
            first = len(encoder.layers) - o.trainable_encoder_layers
            for module in (encoder.conv1, encoder.conv2, *encoder.layers[:first]):
                module.requires_grad_(False)

    def _lora_pattern(self) -> str:
        o = self.options
        n_enc = len(self.whisper.model.encoder.layers)
        if o.freeze_encoder:
            enc_layers: list[int] = []
        elif o.trainable_encoder_layers is not None:
            enc_layers = list(range(n_enc - o.trainable_encoder_layers, n_enc))
        else:
            enc_layers = list(range(n_enc))
        places = [] if o.freeze_decoder else [r"decoder\.layers\.\d+"]
        if enc_layers:
            places.append(rf"encoder\.layers\.(?:{'|'.join(map(str, enc_layers))})")
        targets = "|".join(re.escape(t) for t in o.lora_targets)
        return (
            rf".*model\.(?:{'|'.join(places)})\.(?:(?:self_attn|encoder_attn)\.)?"
            rf"(?:{targets})"
        )

    def _add_lora(self) -> None:
        try:
            import peft
        except ImportError as err:
            from aural.errors import missing_dependency

            raise missing_dependency("peft", "finetune", "LoRA fine-tuning") from err
        o = self.options
        self.whisper.requires_grad_(False)
        lora = peft.LoraConfig(
            r=o.lora_rank,
            lora_alpha=o.lora_alpha,
            lora_dropout=o.lora_dropout,
            target_modules=self._lora_pattern(),
            bias="none",
        )
        self.peft_model = peft.get_peft_model(self.whisper, lora)
        self.model = self.peft_model

    def _feature_extractor(self) -> Any:
        import transformers

        return transformers.WhisperFeatureExtractor(
            feature_size=self.whisper.config.num_mel_bins,
            sampling_rate=SAMPLE_RATE,
        )

    def prepare(self, train: Sequence[TrainUtterance]) -> None:
        self._prompts = {u.id: train[i - 1].text for i, u in enumerate(train) if i}
        n_params = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        logger.info("Whisper %s: %d trainable parameters", self.config.model, n_params)

    # ------------------------------------------------------------------ labels
    def label_text(self, text: str) -> str:
        case = self.options.text_case
        return text if case == "keep" else sentence_case(text)

    def _encode(self, text: str) -> list[int]:
        return list(
            self.tokenizer.encode(" " + text.strip(), add_special_tokens=False).ids
        )

    def sequence(
        self, utt: TrainUtterance, prompt: str | None
    ) -> tuple[list[int], int]:
        """The token sequence of ``utt`` and how many leading tokens the loss skips."""
        o = self.options
        head: list[int] = []
        if prompt:
            head = [self.prev, *self._encode(self.label_text(prompt))[-100:]]
        text = self._encode(self.label_text(utt.text))
        if o.timestamps:
            end = min(1500, round(utt.duration / 0.02))
            body = [self.timestamp_begin, *text, self.timestamp_begin + end]
        else:
            body = [self.no_timestamps, *text]
        tokens = [*head, *self.prefix, *body, self.eot][:448]
        return tokens, len(head) + 1  # predictions start after <|startoftranscript|>

    # ------------------------------------------------------------------ features
    def _mels(self, waves: Sequence[np.ndarray]) -> torch.Tensor:
        feats = self._extractor(
            [np.asarray(w, dtype=np.float32) for w in waves],
            sampling_rate=SAMPLE_RATE,
            return_tensors="pt",
        ).input_features
        return feats.to(self.device)

    def _spec_augment(
        self, mels: torch.Tensor, waves: Sequence[np.ndarray]
    ) -> torch.Tensor:
        cfg = self.config.augment.spec_augment
        if not cfg.enabled:
            return mels
        generator = torch.Generator().manual_seed(int(torch.randint(0, 2**31, (1,))))
        frames = torch.tensor([min(mels.shape[-1], len(w) // HOP) for w in waves])
        x = mels.transpose(1, 2).cpu()  # (batch, frames, mels)
        mean = x.mean(dim=(1, 2), keepdim=True)
        masked = spec_augment(x - mean, frames, cfg, generator) + mean
        return masked.transpose(1, 2).to(mels.device)

    def _cacheable(self) -> bool:
        return (
            self.options.freeze_encoder
            and not self.audio.is_active
            and not self.config.augment.spec_augment.enabled
            and self._cache_limit > 0
        )

    def _encode_audio(
        self, utts: Sequence[TrainUtterance], indices: Sequence[int], epoch: int
    ) -> torch.Tensor:
        encoder = self.whisper.get_encoder()
        if self._cacheable():
            missing = [i for i in indices if utts[i].id not in self._encoder_cache]
            if missing:
                waves = [self.audio.clean(utts[i]) for i in missing]
                with torch.no_grad():
                    states = encoder(self._mels(waves)).last_hidden_state
                for i, s in zip(missing, states, strict=True):
                    size = s.numel() * s.element_size()
                    if self._cache_bytes + size <= self._cache_limit:
                        self._encoder_cache[utts[i].id] = s.detach()
                        self._cache_bytes += size
                if any(utts[i].id not in self._encoder_cache for i in indices):
                    keep = dict(zip(missing, states, strict=True))
                    return torch.stack(
                        [
                            self._encoder_cache.get(utts[i].id, keep.get(i))
                            for i in indices
                        ]  # type: ignore[misc]
                    )
            return torch.stack([self._encoder_cache[utts[i].id] for i in indices])
        waves = self.audio.train(utts, indices, epoch)
        mels = self._spec_augment(self._mels(waves), waves)
        if self.options.freeze_encoder:
            with torch.no_grad():
                return encoder(mels).last_hidden_state
        return encoder(mels).last_hidden_state

    # ------------------------------------------------------------------ loss
    def batch_loss(
        self,
        utts: Sequence[TrainUtterance],
        indices: Sequence[int],
        epoch: int,
        capture: dict[str, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, int]:
        """Mean cross-entropy over the label tokens; ``capture`` (distillation)
        receives the decoder inputs, labels and logits."""
        rng = np.random.default_rng([self.config.seed, epoch, indices[0], 7])
        seqs = []
        for i in indices:
            prompt = None
            if (
                self.options.prompt_probability > 0
                and rng.random() < self.options.prompt_probability
            ):
                prompt = self._prompts.get(utts[i].id)
            seqs.append(self.sequence(utts[i], prompt))
        width = max(len(t) for t, _ in seqs) - 1
        inputs = torch.full((len(seqs), width), self.eot, dtype=torch.long)
        labels = torch.full((len(seqs), width), -100, dtype=torch.long)
        for row, (tokens, skip) in enumerate(seqs):
            n = len(tokens) - 1
            inputs[row, :n] = torch.tensor(tokens[:-1])
            target = torch.tensor(tokens[1:])
            target[: skip - 1] = -100
            labels[row, :n] = target
        states = self._encode_audio(utts, indices, epoch)
        teacher_loss = self._clean_teacher_loss(utts, indices, states)
        out = self.whisper(
            encoder_outputs=(states,),
            decoder_input_ids=inputs.to(self.device),
            use_cache=False,
        )
        labels = labels.to(self.device)
        if capture is not None:
            capture.update(
                inputs=inputs.to(self.device), labels=labels, logits=out.logits.float()
            )
        loss = torch.nn.functional.cross_entropy(
            out.logits.float().transpose(1, 2), labels, ignore_index=-100
        )
        if teacher_loss is not None:
            loss = loss + self.options.clean_teacher_weight * teacher_loss
        return loss, int((labels != -100).sum())

    def _clean_teacher_loss(
        self,
        utts: Sequence[TrainUtterance],
        indices: Sequence[int],
        states: torch.Tensor,
    ) -> torch.Tensor | None:
        """Mean squared error between the trained encoder's output on the augmented
        clips and the pretrained encoder's on the clean ones, per feature and over each
        clip's speech frames (two mel frames per encoder frame); None when off."""
        if self._teacher is None:
            return None
        computed: dict[int, torch.Tensor] = {}
        missing = [i for i in indices if utts[i].id not in self._teacher_cache]
        if missing:
            waves = [self.audio.clean(utts[i]) for i in missing]
            with torch.no_grad():
                clean = self._teacher(self._mels(waves)).last_hidden_state.half()
            for i, c in zip(missing, clean, strict=True):
                computed[i] = c
                if self._cache_bytes + c.numel() * 2 <= self._cache_limit:
                    self._teacher_cache[utts[i].id] = c
                    self._cache_bytes += c.numel() * 2
        targets = [
            computed.get(i, self._teacher_cache.get(utts[i].id)) for i in indices
        ]
        target = torch.stack(targets).to(states.device, states.dtype)  # type: ignore[arg-type]
        frames = torch.tensor(
            [
                min(states.shape[1], len(self.audio.clean(utts[i])) // (2 * HOP) + 1)
                for i in indices
            ],
            device=states.device,
        )
        mask = (
            torch.arange(states.shape[1], device=states.device)[None, :]
            < frames[:, None]
        )
        err = (states.float() - target.float()).pow(2).mean(dim=-1)
        return (err * mask).sum() / mask.sum().clamp(min=1)

    # ------------------------------------------------------------------ decoding
    def _suppressed(self) -> tuple[list[int], list[int]]:
        vocab = self.whisper.config.vocab_size
        always = set(range(self.timestamp_begin, vocab))
        always |= {self.sot, self.prev, self.no_timestamps}
        begin: list[int] = []
        if self.generation is not None:
            always |= {t for t in (self.generation.suppress_tokens or []) if t >= 0}
            begin = [t for t in (self.generation.begin_suppress_tokens or [])]
        return sorted(t for t in always if t < vocab), begin

    @torch.no_grad()
    def greedy(
        self, waves: Sequence[np.ndarray], batch_size: int = 8
    ) -> list[list[int]]:
        """Greedy token ids (text only) of each clip, with the current weights."""
        suppress, begin = self._suppressed()
        suppress_t = torch.tensor(suppress, device=self.device)
        begin_t = torch.tensor(begin, dtype=torch.long, device=self.device)
        encoder = self.whisper.get_encoder()
        out: list[list[int]] = []
        for start in range(0, len(waves), batch_size):
            chunk = waves[start : start + batch_size]
            states = encoder(self._mels(chunk)).last_hidden_state
            longest = max(len(w) for w in chunk) / SAMPLE_RATE
            limit = min(440 - len(self.decode_prefix), int(6 * longest) + 16)
            ids = torch.tensor([self.decode_prefix] * len(chunk), device=self.device)
            done = torch.zeros(len(chunk), dtype=torch.bool, device=self.device)
            tokens: list[list[int]] = [[] for _ in chunk]
            past: dict[str, Any] = {}
            step_input = ids
            for step in range(limit):
                result = self.whisper(
                    encoder_outputs=(states,),
                    decoder_input_ids=step_input,
                    use_cache=True,
                    **past,
                )
                past = {self._cache_key: result[self._cache_key]}
                logits = result.logits[:, -1, :].float()
                logits[:, suppress_t] = -float("inf")
                if step == 0 and begin_t.numel():
                    logits[:, begin_t] = -float("inf")
                nxt = logits.argmax(dim=-1)
                nxt = torch.where(done, torch.full_like(nxt, self.eot), nxt)
                for row, token in enumerate(nxt.tolist()):
                    if not done[row] and token != self.eot:
                        tokens[row].append(token)
                done |= nxt == self.eot
                if bool(done.all()):
                    break
                step_input = nxt[:, None]
            out.extend(tokens)
        return out

    def text_of(self, ids: Sequence[int]) -> str:
        return str(self.tokenizer.decode([t for t in ids if t < self.eot])).strip()

    def transcribe(self, utts: Sequence[TrainUtterance]) -> list[str]:
        waves = [self.audio.clean(u) for u in utts]
        return [self.text_of(ids) for ids in self.greedy(waves)]

    # ------------------------------------------------------------------ state
    def merged(self) -> Any:
        """A standalone ``WhisperForConditionalGeneration`` of the current weights
        (LoRA merged into a copy; training continues unchanged)."""
        if self.peft_model is None:
            return copy.deepcopy(self.whisper)
        return copy.deepcopy(self.peft_model).merge_and_unload()

    def save_model(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        net = self.merged().to("cpu").float()
        net.save_pretrained(folder)
        _save_processor(self.tokenizer_dir, folder, net.config.num_mel_bins)

    def export(self, best: Path, run_dir: Path) -> list[str]:
        from aural.engines.whisper import convert_model

        with tempfile.TemporaryDirectory(prefix=".export-", dir=run_dir) as tmp:
            out = Path(tmp) / "ct2"
            convert_model(
                best, "ct2", out, quantization=self.options.export_quantization
            )
            names = sorted(p.name for p in out.iterdir() if p.is_file())
            for name in _EXPORT_FILES:  # a previous export's files that are gone now
                if name not in names and (run_dir / name).is_file():
                    (run_dir / name).unlink()
            for name in names:
                os.replace(out / name, run_dir / name)
        return names

    @property
    def source_for_engine(self) -> str | None:
        return self._engine_source

    def engine_wer(
        self, model: str | Path, utts: Sequence[TrainUtterance]
    ) -> float | None:
        from aural.decoding.options import DecodeOptions

        language = "en" if not self.multilingual else (self.options.language or "en")
        options = DecodeOptions(language=language)
        return self._engine_wer("whisper", model, options, utts)


def _save_processor(source: Path, folder: Path, num_mels: int) -> None:
    """The tokenizer and feature-extractor files that make ``folder`` a complete
    Hugging Face Whisper folder (the converter and ``WhisperProcessor`` read them)."""
    import transformers

    copied = False
    for name in _PROCESSOR_FILES:
        if (source / name).is_file() and name != "tokenizer.json":
            shutil.copyfile(source / name, folder / name)
            copied = True
    if not (source / "tokenizer_config.json").is_file():
        tokenizer = transformers.WhisperTokenizer(
            tokenizer_file=str(source / "tokenizer.json")
        )
        tokenizer.save_pretrained(folder)
    shutil.copyfile(source / "tokenizer.json", folder / "tokenizer.json")
    if not (folder / "preprocessor_config.json").is_file():
        transformers.WhisperFeatureExtractor(
            feature_size=num_mels, sampling_rate=SAMPLE_RATE
        ).save_pretrained(folder)
    del copied
