"""The ``ctc`` engine: Hugging Face transformers CTC models (wav2vec2, HuBERT,
WavLM, ...).

The acoustic model runs in torch (``AutoModelForCTC`` + the model's feature extractor
and tokenizer); decoding is aural's own (:mod:`aural.decoding.ctc`): greedy when
``DecodeOptions.beam_size == 1``, otherwise prefix beam search with the optional n-gram
LM (engine setting ``lm``) and ``DecodeOptions.hotwords``. Long inputs are decoded in
overlapping windows whose log posteriors are stitched before the search, so word times
are global. Several windows (from one or many inputs) run in one padded batch with an
attention mask where the feature extractor asks for one.
"""

from __future__ import annotations

import logging
import math
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aural.audio.waveform import SAMPLE_RATE, Waveform
from aural.decoding.ctc import (
    CtcGreedyDecoder,
    CtcPrefixBeamSearch,
    Hypothesis,
    ctc_decoder,
    log_softmax,
)
from aural.decoding.ctc_windows import Window, plan_windows, stitch_log_probs
from aural.decoding.lm import LanguageModel, engine_lm
from aural.decoding.options import DecodeOptions
from aural.engines.base import (
    BatchedEngine,
    EngineCapabilities,
    EngineSettings,
)
from aural.errors import (
    ConfigError,
    ModelNotFoundError,
    missing_dependency,
)
from aural.types import Segment, TranscriptionInfo, Word

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "facebook/wav2vec2-base-960h"
SEGMENT_GAP_S = 0.8  # a pause this long between words starts a new segment
SEGMENT_MAX_S = 20.0  # segments are split before they grow longer than this


@dataclass(frozen=True, slots=True)
class CtcSettings(EngineSettings):
    """How the ctc engine runs.

    Attributes:
        device: torch device (``cpu``, ``cuda``).
        lm: path of an ARPA (or, with ``kenlm`` installed, KenLM binary) word LM fused
            into the beam search, or a loaded LM.
        lm_vocabulary: for a KenLM binary: its ARPA file or a word list.
        lm_weight: LM weight (natural-log scores).
        word_insertion_bonus: per-word bonus; None = 1.0 with an LM, 0.0 without.
        hotword_weight: default per-character hotword bonus.
        window_s: longest window the model sees at once (seconds).
        overlap_s: overlap between neighbouring windows (seconds).
        local_files_only: never touch the network (None = honour ``HF_HUB_OFFLINE``).
    """

    device: str = "cpu"
    lm: str | os.PathLike[str] | LanguageModel | None = None
    lm_vocabulary: str | os.PathLike[str] | None = None
    lm_weight: float = 0.5
    word_insertion_bonus: float | None = None
    hotword_weight: float = 1.0
    window_s: float = 30.0
    overlap_s: float = 2.0
    local_files_only: bool | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.overlap_s < self.window_s:
            raise ConfigError(
                f"overlap_s ({self.overlap_s}) must be >= 0 and below "
                f"window_s ({self.window_s})"
            )


@dataclass(frozen=True, slots=True)
class Posteriors:
    """CTC log posteriors of one input.

    Attributes:
        log_probs: ``(num_frames, vocab_size)`` natural-log posteriors.
        frame_duration: seconds per frame.
    """

    log_probs: np.ndarray
    frame_duration: float


def _is_local(model: str) -> bool:
    return Path(model).expanduser().is_dir()


class CtcEngine(BatchedEngine):
    """A transformers CTC model with aural's CTC decoders.

    Args:
        model: a local folder (``save_pretrained`` output with the processor files) or a
            hub id (needs a network or the local hub cache); None = wav2vec2-base-960h.
        settings: :class:`CtcSettings`.

    Raises:
        ModelNotFoundError: the model is neither a local folder nor reachable on the
            hub.
        MissingDependencyError: torch or transformers is missing.
    """

    name = "ctc"
    settings_type = CtcSettings
    # English, re-decode streaming, one instance per thread: the defaults, plus hotwords
    capabilities = EngineCapabilities(hotwords=True)

    def __init__(
        self, model: str | None = None, settings: CtcSettings | None = None
    ) -> None:
        settings = self.settings = settings or CtcSettings()
        self.model_id = model or DEFAULT_MODEL
        self._torch, self._model, self._extractor, tokenizer = _load(
            self.model_id, settings.device, settings.local_files_only
        )
        self.device = settings.device
        self.vocabulary = _vocabulary(tokenizer, int(self._model.config.vocab_size))
        pad = getattr(tokenizer, "pad_token_id", None)
        self.blank = int(
            pad if pad is not None else self._model.config.pad_token_id or 0
        )
        self.word_delimiter: str | None = getattr(
            tokenizer, "word_delimiter_token", None
        )
        self.frame_samples = _frame_samples(self._model.config)
        self.frame_duration = self.frame_samples / SAMPLE_RATE
        self.window_samples = int(settings.window_s * SAMPLE_RATE)
        self.overlap_samples = int(settings.overlap_s * SAMPLE_RATE)
        self.lm_path, self.lm = engine_lm(settings.lm, settings.lm_vocabulary)
        self.lm_weight = settings.lm_weight
        self.word_insertion_bonus = settings.word_insertion_bonus
        self.hotword_weight = settings.hotword_weight
        self._use_mask = bool(getattr(self._extractor, "return_attention_mask", False))

    # ------------------------------------------------------------------ acoustics
    def posteriors(self, waveform: Waveform, batch_size: int = 8) -> Posteriors:
        """Log posteriors of one input (windowed and stitched when long)."""
        return self.posteriors_batch([self.prepare(waveform)], batch_size)[0]

    def posteriors_batch(
        self, waveforms: Sequence[Waveform], batch_size: int = 8
    ) -> list[Posteriors]:
        """Log posteriors of many prepared inputs (:meth:`prepare`); windows of all
        inputs share padded batches."""
        plans = []
        jobs: list[tuple[int, int, np.ndarray]] = []  # (input, window index, samples)
        for i, w in enumerate(waveforms):
            samples = w.samples.astype(np.float32, copy=False)
            windows = plan_windows(
                len(samples),
                self.window_samples,
                self.overlap_samples,
                self.frame_samples,
            )
            plans.append(windows)
            jobs += [
                (i, k, samples[win.start_sample : win.end_sample])
                for k, win in enumerate(windows)
            ]
        outputs: dict[tuple[int, int], np.ndarray] = {}
        for chunk in self._batches(jobs, batch_size):
            for (i, k, _), lp in zip(chunk, self._forward([c[2] for c in chunk])):
                outputs[(i, k)] = lp
        return [
            Posteriors(
                self._stitch(windows, [outputs[(i, k)] for k in range(len(windows))]),
                self.frame_duration,
            )
            for i, windows in enumerate(plans)
        ]

    def _batches(
        self, jobs: list[tuple[int, int, np.ndarray]], batch_size: int
    ) -> list[list[tuple[int, int, np.ndarray]]]:
        """Longest first. Without an attention mask (group-norm models such as
        wav2vec2-base) padding would change the outputs, so only equal lengths share a
        batch."""
        ordered = sorted(jobs, key=lambda j: len(j[2]), reverse=True)
        batches: list[list[tuple[int, int, np.ndarray]]] = []
        for job in ordered:
            last = batches[-1] if batches else None
            if (
                last is not None
                and len(last) < batch_size
                and (self._use_mask or len(last[0][2]) == len(job[2]))
            ):
                last.append(job)
            else:
                batches.append([job])
        return batches

    def _stitch(self, windows: list[Window], pieces: list[np.ndarray]) -> np.ndarray:
        if len(pieces) == 1:
            return pieces[0]
        return stitch_log_probs(windows, pieces, self.frame_samples)

    def _forward(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        torch = self._torch
        min_len = self.frame_samples * 2  # the conv stack needs a few frames of input
        padded = [
            a if len(a) >= min_len else np.pad(a, (0, min_len - len(a))) for a in arrays
        ]
        feats = self._extractor(
            padded,
            sampling_rate=SAMPLE_RATE,
            return_tensors="pt",
            padding=True,
            return_attention_mask=self._use_mask,
        )
        values = feats["input_values"].to(self.device)
        mask = feats.get("attention_mask") if self._use_mask else None
        with torch.inference_mode():
            logits = self._model(
                values, attention_mask=None if mask is None else mask.to(self.device)
            ).logits
        lengths = torch.tensor([len(a) for a in padded])
        frames = (
            self._model._get_feat_extract_output_lengths(lengths).tolist()
            if hasattr(self._model, "_get_feat_extract_output_lengths")
            else [logits.shape[1]] * len(arrays)
        )
        logits_np = logits.float().cpu().numpy()
        out = []
        for row, n, orig in zip(logits_np, frames, arrays):
            n = min(
                int(n), row.shape[0], max(1, math.ceil(len(orig) / self.frame_samples))
            )
            out.append(log_softmax(row[:n]))
        return out

    # ------------------------------------------------------------------- decoding
    def decoder(self, options: DecodeOptions) -> CtcGreedyDecoder | CtcPrefixBeamSearch:
        """The decoder ``options`` ask for (greedy for ``beam_size == 1``)."""
        return ctc_decoder(
            self.vocabulary,
            self.blank,
            options.beam_size,
            options.hotwords,
            lm=self.lm,
            lm_name=self.lm_path,
            lm_weight=self.lm_weight,
            word_insertion_bonus=self.word_insertion_bonus,
            hotword_weight=self.hotword_weight,
            word_delimiter=self.word_delimiter,
        )

    def batch_size(self, options: DecodeOptions) -> int:
        """Windows per forward pass: ``options.batch_size``, else 8."""
        return options.batch_size or 8

    def _decode_all(
        self, waveforms: Sequence[Waveform], options: DecodeOptions
    ) -> list[tuple[Segment, ...]]:
        decoder = self.decoder(options)
        posts = self.posteriors_batch(waveforms, self.batch_size(options))
        return [
            self._segments(decoder.decode(post.log_probs)[0], post, w.duration)
            for w, post in zip(waveforms, posts, strict=True)
        ]

    def _segments(
        self, hyp: Hypothesis, post: Posteriors, duration: float
    ) -> tuple[Segment, ...]:
        words = [
            Word(min(w.start, duration), min(w.end, duration), w.text, w.probability)
            for w in hyp.to_words(post.frame_duration)
        ]
        groups: list[list[Word]] = []
        for word in words:
            if groups and (
                word.start - groups[-1][-1].end < SEGMENT_GAP_S
                and word.end - groups[-1][0].start <= SEGMENT_MAX_S
            ):
                groups[-1].append(word)
            else:
                groups.append([word])
        num_frames = max(post.log_probs.shape[0], 1)
        avg = hyp.acoustic_score / num_frames
        return tuple(
            Segment(
                g[0].start,
                g[-1].end,
                " ".join(w.text for w in g),
                tuple(g),
                avg_log_prob=avg,
            )
            for g in groups
        )

    def _info(self, duration: float, options: DecodeOptions) -> TranscriptionInfo:
        return self.info(
            duration,
            options,
            language=options.language,
            lm=self.lm_path,
            lm_weight=self.lm_weight,
            decoder="greedy" if options.beam_size == 1 else "beam",
        )


# ------------------------------------------------------------------------- loading
def _load(
    model: str, device: str, local_files_only: bool | None
) -> tuple[Any, Any, Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as err:
        raise missing_dependency(
            err.name or "transformers", "ctc", "the ctc engine"
        ) from err
    local = _is_local(model)
    if local and not (Path(model).expanduser() / "config.json").is_file():
        raise ModelNotFoundError(
            f"CTC model folder {model!r} has no config.json; save one with "
            "model.save_pretrained(folder) and processor.save_pretrained(folder)"
        )
    offline = local or (
        local_files_only
        if local_files_only is not None
        else os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false")
    )
    source = str(Path(model).expanduser()) if local else model
    try:
        try:  # the local hub cache first: no network round trip when it is there
            net, processor = _from_pretrained(
                transformers, source, local_files_only=True
            )
        except (OSError, ValueError):
            if offline or not _hub_reachable():
                raise
            net, processor = _from_pretrained(
                transformers, source, local_files_only=False
            )
    except (OSError, ValueError) as err:
        where = (
            "folder" if local else "hub id (not in the local cache, hub unreachable)"
        )
        raise ModelNotFoundError(
            f"cannot load CTC model {model!r} ({where}): {err.__class__.__name__}; "
            "pass a local folder with config.json, weights and processor files, or a "
            f"hub id such as {DEFAULT_MODEL!r} on a machine with a network (it is "
            "cached for offline use)"
        ) from err
    extractor = getattr(processor, "feature_extractor", None)
    tokenizer = getattr(processor, "tokenizer", None)
    if extractor is None or tokenizer is None:
        raise ModelNotFoundError(
            f"CTC model {model!r} lacks a feature extractor or tokenizer (a "
            "processor); save the Wav2Vec2Processor next to the model"
        )
    try:
        net = net.to(device).eval()
    except (RuntimeError, AssertionError) as err:
        raise ConfigError(
            f"cannot move the CTC model to device {device!r}: {err}"
        ) from err
    return torch, net, extractor, tokenizer


def _from_pretrained(
    transformers: Any, source: str, local_files_only: bool
) -> tuple[Any, Any]:
    net = transformers.AutoModelForCTC.from_pretrained(
        source, local_files_only=local_files_only
    )
    processor = transformers.AutoProcessor.from_pretrained(
        source, local_files_only=local_files_only
    )
    return net, processor


def _hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether the Hugging Face hub answers at all (avoids minutes of download
    retries)."""
    from urllib.parse import urlparse

    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname
    try:
        with socket.create_connection(
            (host or "huggingface.co", 443), timeout=timeout_s
        ):
            return True
    except OSError:
        return False


def _vocabulary(tokenizer: Any, size: int) -> list[str]:
    vocab = tokenizer.get_vocab()
    by_id = {int(i): tok for tok, i in vocab.items()}
    return [by_id.get(i, f"<extra_{i}>") for i in range(size)]


def _frame_samples(config: Any) -> int:
    ratio = getattr(config, "inputs_to_logits_ratio", None)
    if ratio:
        return int(ratio)
    strides = getattr(config, "conv_stride", None)
    if strides:
        return int(np.prod(strides))
    raise ConfigError(
        f"cannot tell the frame rate of {type(config).__name__}: it has no conv_stride"
    )
