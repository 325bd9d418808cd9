"""Whisper's cross-attention maps and the word times read from them (PyTorch).

The prompt (start of transcript, language, task, no timestamps), the text's tokens and
the end of text are fed through the decoder in one teacher-forced pass. The
cross-attention of the model's *alignment heads* (the few heads whose attention follows
the speech), renormalised over the audio's own encoder frames, z-scored over the tokens
for each frame, median filtered along time and averaged over the heads, is a
tokens x frames matrix. Dynamic time warping over its negative gives a monotonic path;
the frame at which the path enters a token's row is when that token starts. This is the
method of openai/whisper's ``timing.find_alignment`` (and of CTranslate2's ``align``,
which faster-whisper's word timestamps use), written against a Hugging Face
``WhisperForConditionalGeneration`` so the map itself can be looked at.

The map covers one 30-second window: longer audio is refused, cut it first.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from aural.audio.waveform import SAMPLE_RATE, Waveform
from aural.engines.whisper.limits import FRAMES_PER_SECOND, MAX_FRAMES, WINDOW_S
from aural.errors import (
    ConfigError,
    ModelNotFoundError,
    OptionConflictError,
    missing_dependency,
)
from aural.types import Word

if TYPE_CHECKING:
    from faster_whisper.tokenizer import Tokenizer

__all__ = [
    "ATTENTION_FRAMES_PER_SECOND",
    "MEDIAN_FILTER_WIDTH",
    "AttentionMap",
    "alignment_matrix",
    "attention_map",
    "dtw_path",
]

ATTENTION_FRAMES_PER_SECOND = 50  # encoder frames a second (the conv stride halves mel)
HOP_LENGTH_SAMPLES = SAMPLE_RATE // FRAMES_PER_SECOND  # 160 samples between mel frames
MEDIAN_FILTER_WIDTH = 7  # attention frames; Whisper's and CTranslate2's default
_PREPEND = "\"'“¿([{-"  # punctuation joined to the word after it (Whisper's sets)
_APPEND = "\"'.。,，!！?？:：”)]}、"  # ... and to the word before it


@dataclass(frozen=True, slots=True, eq=False)
class AttentionMap:
    """The alignment heads' cross-attention over one window of audio, and the word
    times read from it.

    Row ``k`` of the token arrays is the decoder step that predicts ``tokens[k]``: the
    text's tokens, then the end-of-text token (the row whose path entry ends the last
    word). The arrays are read-only.

    Attributes:
        tokens: the text's token ids and the end-of-text id, ``(num_tokens,)``.
        token_texts: each token decoded on its own (partial UTF-8 shows as U+FFFD).
        weights: float32 ``(num_tokens, num_frames)``: the alignment heads' attention,
            renormalised over the audio's frames, z-scored over the tokens for each
            frame, median filtered along time and averaged over the heads (what the
            DTW runs on; higher = attended).
        head_weights: float32 ``(num_heads, num_tokens, num_frames)``: each alignment
            head's attention probabilities over the audio's frames (rows sum to 1).
        heads: the ``(decoder layer, head)`` of each alignment head.
        token_probabilities: float32 ``(num_tokens - 1,)``: the teacher-forced
            probability of each text token (softmax over the text vocabulary).
        path: int ``(2, path_length)``: the DTW path as (token row, frame) pairs.
        mel: float32 ``(num_mels, num_mel_frames)``: the log-mel spectrogram the model
            saw, cut to the audio (Whisper's scaling, about -1 to 2).
        words: the words with their DTW start and end (seconds from the start of the
            audio) and mean token probability; punctuation is joined to its word.
        language: the language token forced.
        duration: seconds of audio.
        frames_per_second: attention (encoder) frames a second.
        mel_frames_per_second: mel frames a second.
    """

    tokens: tuple[int, ...]
    token_texts: tuple[str, ...]
    weights: np.ndarray
    head_weights: np.ndarray
    heads: tuple[tuple[int, int], ...]
    token_probabilities: np.ndarray
    path: np.ndarray
    mel: np.ndarray
    words: tuple[Word, ...]
    language: str
    duration: float
    frames_per_second: float = float(ATTENTION_FRAMES_PER_SECOND)
    mel_frames_per_second: float = float(FRAMES_PER_SECOND)

    @property
    def num_frames(self) -> int:
        """Attention frames covering the audio."""
        return int(self.weights.shape[1])


def attention_map(
    model: str | os.PathLike[str] | Any,
    samples: np.ndarray | Waveform,
    text: str | None = None,
    *,
    tokenizer: Any = None,
    language: str = "en",
    task: Literal["transcribe", "translate"] = "transcribe",
    tokens: list[int] | tuple[int, ...] | None = None,
) -> AttentionMap:
    """The cross-attention map of ``text`` (or ``tokens``) spoken in ``samples``.

    Args:
        model: a Whisper alias, CTranslate2 or Hugging Face folder (built in PyTorch
            by :func:`aural.engines.whisper.torch_whisper`, which keeps it), or a built
            ``transformers.WhisperForConditionalGeneration`` using the ``eager``
            attention (the others return no attention weights).
        samples: mono float32 audio at 16 kHz, ``(num_samples,)``, at most 30 s, or a
            :class:`Waveform` at 16 kHz.
        text: what is said; it is tokenised after a space, as Whisper writes it.
        tokenizer: with a built model: its ``tokenizers.Tokenizer`` (Whisper's
            ``tokenizer.json``) or a transformers Whisper tokenizer.
        language: the language token to force (``en`` for English-only models).
        task: ``transcribe`` or ``translate``.
        tokens: the text's token ids instead of ``text`` (no special tokens).

    Returns:
        The :class:`AttentionMap`, with word times from DTW.

    Raises:
        ConfigError: no text or tokens, audio over 30 s or under one attention frame,
            a text longer than the decoder takes, a model without attention weights,
            a language the model does not know.
        OptionConflictError: both ``text`` and ``tokens``, or ``language`` not ``en``
            for an English-only model.
        MissingDependencyError: torch or transformers is not installed.

    Example:
        >>> amap = attention_map("tiny.en", load("clip.flac").samples, "hello there")
        >>> [(w.text, w.start, w.end) for w in amap.words]
    """
    audio = _check_samples(samples)
    hf_model, hf_tokenizer, heads = _resolve_model(model, tokenizer)
    tok = _whisper_tokenizer(hf_model, hf_tokenizer, language, task)
    text_tokens = _text_tokens(tok, text, tokens)
    prompt = [*tok.sot_sequence, tok.no_timestamps]
    sequence = [*prompt, *text_tokens, tok.eot]
    limit = int(hf_model.config.max_target_positions)
    if len(sequence) > limit:
        raise ConfigError(
            f"the text is {len(text_tokens)} tokens long; with the prompt the decoder "
            f"takes at most {limit - len(prompt) - 1}: give a shorter text"
        )
    num_mel_frames = min(audio.size // HOP_LENGTH_SAMPLES, MAX_FRAMES)
    num_frames = num_mel_frames // 2
    if num_frames < 1:
        raise ConfigError(
            f"the audio lasts {audio.size / SAMPLE_RATE:.3f} s, under one attention "
            f"frame ({1 / ATTENTION_FRAMES_PER_SECOND:g} s)"
        )
    mel = _log_mel(audio, int(hf_model.config.num_mel_bins))
    logits, cross = _forward(hf_model, mel, sequence, heads)
    # rows: the steps that predict the text tokens and the end of text
    rows = slice(len(prompt) - 1, len(sequence) - 1)
    probs = cross[:, :, :num_frames]
    probs = probs / probs.sum(axis=-1, keepdims=True)  # softmax over the audio's frames
    weights = alignment_matrix(probs)[rows]
    text_indices, time_indices = dtw_path(-weights)
    token_probs = _token_probabilities(logits[rows], text_tokens, tok.eot)
    words = _words(
        tok, text_tokens, text_indices, time_indices, token_probs, audio.size
    )
    row_tokens = (*text_tokens, tok.eot)
    return AttentionMap(
        tokens=row_tokens,
        token_texts=tuple(
            tok.tokenizer.decode([t], skip_special_tokens=False) for t in row_tokens
        ),
        weights=_frozen(weights.astype(np.float32)),
        head_weights=_frozen(probs[:, rows].astype(np.float32)),
        heads=heads,
        token_probabilities=_frozen(token_probs.astype(np.float32)),
        path=_frozen(np.stack([text_indices, time_indices])),
        mel=_frozen(mel[:, :num_mel_frames].astype(np.float32)),
        words=words,
        language=tok.language_code,
        duration=audio.size / SAMPLE_RATE,
    )


def alignment_matrix(
    probs: np.ndarray, median_filter_width: int = MEDIAN_FILTER_WIDTH
) -> np.ndarray:
    """The heads' attention as one matrix for DTW, as Whisper makes it.

    Args:
        probs: ``(num_heads, num_tokens, num_frames)`` attention probabilities over the
            audio's frames.
        median_filter_width: odd width of the median filter along the frames.

    Returns:
        ``(num_tokens, num_frames)``: each head z-scored over the tokens for each frame,
        median filtered along the frames, then averaged over the heads.
    """
    std = probs.std(axis=-2, keepdims=True)
    mean = probs.mean(axis=-2, keepdims=True)
    # a frame every token attends to equally carries no timing: 0 rather than NaN
    scored = np.divide(probs - mean, std, out=np.zeros_like(probs), where=std > 0)
    matrix: np.ndarray = _median_filter(scored, median_filter_width).mean(axis=0)
    return matrix


def dtw_path(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cheapest monotonic path through ``cost`` from its first cell to its last.

    Each step moves one row down, one column right, or both; ties prefer a move right
    (Whisper's rule). Cells are filled an anti-diagonal at a time (each one depends on
    the two before it), so the loop runs ``rows + columns`` times over arrays.

    Args:
        cost: ``(num_rows, num_columns)``.

    Returns:
        (row indices, column indices) of the path, each ``(path_length,)``.
    """
    n, m = cost.shape
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    trace = np.full((n + 1, m + 1), 2, dtype=np.int8)
    trace[1:, 0] = 1
    cost = np.asarray(cost, dtype=np.float64)
    for diagonal in range(2, n + m + 1):
        i = np.arange(max(1, diagonal - m), min(n, diagonal - 1) + 1)
        j = diagonal - i
        diag, up, left = acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1]
        step = np.where(
            (diag < up) & (diag < left),
            0,
            np.where((up < diag) & (up < left), 1, 2),
        )
        acc[i, j] = cost[i - 1, j - 1] + np.choose(step, [diag, up, left])
        trace[i, j] = step
    path = []
    i, j = n, m
    while i > 0 or j > 0:
        path.append((i - 1, j - 1))
        step = trace[i, j]
        i, j = (i - 1, j - 1) if step == 0 else (i - 1, j) if step == 1 else (i, j - 1)
    rows, columns = np.array(path[::-1], dtype=np.int64).T
    return rows, columns


def _median_filter(x: np.ndarray, width: int) -> np.ndarray:
    """Median over ``width`` values along the last axis, edges mirrored (not
    repeated), as Whisper's ``median_filter``."""
    pad = width // 2
    if x.shape[-1] <= pad:
        return x
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad, pad)], mode="reflect")
    windows = np.lib.stride_tricks.sliding_window_view(padded, width, axis=-1)
    filtered: np.ndarray = np.median(windows, axis=-1)
    return filtered


def _token_probabilities(
    logits: np.ndarray, text_tokens: list[int], eot: int
) -> np.ndarray:
    """The probability of each text token among the text tokens (ids below ``eot``),
    from the rows that predict them."""
    text_logits = logits[: len(text_tokens), :eot].astype(np.float64)
    text_logits -= text_logits.max(axis=-1, keepdims=True)
    log_z = np.log(np.exp(text_logits).sum(axis=-1))
    picked = text_logits[np.arange(len(text_tokens)), text_tokens]
    probs: np.ndarray = np.exp(picked - log_z)
    return probs


def _words(
    tok: Tokenizer,
    text_tokens: list[int],
    text_indices: np.ndarray,
    time_indices: np.ndarray,
    token_probs: np.ndarray,
    num_samples: int,
) -> tuple[Word, ...]:
    """Word times from the DTW path: a word starts where the path enters the row of
    its first token and ends where it enters the row after its last."""
    from faster_whisper.transcribe import merge_punctuations

    texts, word_tokens = tok.split_to_word_tokens([*text_tokens, tok.eot])
    if len(word_tokens) <= 1:  # the end of text alone
        return ()
    bounds = np.pad(np.cumsum([len(t) for t in word_tokens[:-1]]), (1, 0))
    jumps = np.pad(np.diff(text_indices), (1, 0), constant_values=1).astype(bool)
    jump_times = time_indices[jumps] / ATTENTION_FRAMES_PER_SECOND
    items = [
        {
            "word": word,
            "tokens": tokens,
            "start": float(jump_times[a]),
            "end": float(jump_times[b]),
            "probability": float(np.mean(token_probs[a:b])),
        }
        for word, tokens, a, b in zip(
            texts, word_tokens, bounds[:-1], bounds[1:], strict=False
        )
    ]
    merge_punctuations(items, _PREPEND, _APPEND)
    limit = num_samples / SAMPLE_RATE
    return tuple(
        Word(
            round(min(item["start"], limit), 3),
            round(min(item["end"], limit), 3),
            item["word"].strip(),
            round(item["probability"], 4),
        )
        for item in items
        if item["word"].strip()
    )


def _check_samples(samples: np.ndarray | Waveform) -> np.ndarray:
    if isinstance(samples, Waveform):
        if samples.sample_rate != SAMPLE_RATE or samples.num_channels != 1:
            raise ConfigError(
                f"Whisper's attention needs mono {SAMPLE_RATE} Hz audio, got "
                f"{samples.num_channels} channel(s) at {samples.sample_rate} Hz; "
                f"load it with aural.audio.load(source, sample_rate={SAMPLE_RATE})"
            )
        samples = samples.samples
    if not isinstance(samples, np.ndarray) or samples.ndim != 1:
        raise ConfigError(
            "samples must be a 1-D numpy array of 16 kHz mono audio, got "
            f"{getattr(samples, 'shape', type(samples).__name__)}"
        )
    if samples.size > WINDOW_S * SAMPLE_RATE:
        raise ConfigError(
            f"the audio lasts {samples.size / SAMPLE_RATE:.1f} s; an attention map "
            f"covers one {WINDOW_S:g}-second window: cut the audio first"
        )
    return samples.astype(np.float32, copy=False)


def _text_tokens(
    tok: Tokenizer, text: str | None, tokens: list[int] | tuple[int, ...] | None
) -> list[int]:
    if text is not None and tokens is not None:
        raise OptionConflictError(
            "give text or tokens, not both", options=("text", "tokens")
        )
    if tokens is not None:
        ids = [int(t) for t in tokens]
        special = [t for t in ids if t >= tok.eot or t < 0]
        if special:
            raise ConfigError(
                f"tokens must be text tokens (ids below {tok.eot}), got {special[:5]}",
                options=("tokens",),
            )
        return ids
    if text is None or not text.strip():
        raise ConfigError(
            f"there is no text to align ({text!r}): pass the transcript as text "
            "(transcribe the audio first when it is unknown)",
            options=("text",),
        )
    return list(tok.encode(" " + text.strip()))


def _resolve_model(
    model: Any, tokenizer: Any
) -> tuple[Any, Any, tuple[tuple[int, int], ...]]:
    """(PyTorch model, ``tokenizers.Tokenizer``, alignment heads) for ``model``."""
    if isinstance(model, (str, os.PathLike)):
        from aural.engines.whisper.convert import torch_whisper

        name = os.fspath(model)
        built = torch_whisper(
            name if isinstance(model, str) else Path(name), attn_implementation="eager"
        )
        if tokenizer is None:
            tokenizer = _folder_tokenizer(str(_folder_of(name)))
        model = built
    elif tokenizer is None:
        raise ConfigError(
            "a built model needs its tokenizer: pass tokenizer= (a "
            "tokenizers.Tokenizer over the model's tokenizer.json)",
            options=("tokenizer",),
        )
    config: Any = getattr(model, "config", None)
    if getattr(config, "model_type", None) != "whisper":
        raise ConfigError(
            f"model must be a Whisper alias, folder or a transformers "
            f"WhisperForConditionalGeneration, got {type(model).__name__}"
        )
    if getattr(config, "_attn_implementation", "eager") != "eager":
        raise ConfigError(
            f"the model uses {config._attn_implementation!r} attention, which returns "
            "no attention weights: build it with attn_implementation='eager'"
        )
    generation = getattr(model, "generation_config", None)
    heads = getattr(generation, "alignment_heads", None)
    return (
        model,
        getattr(tokenizer, "backend_tokenizer", tokenizer),
        _heads(heads, int(config.decoder_layers), int(config.decoder_attention_heads)),
    )


def _folder_of(name: str) -> Path:
    """The folder of a model given as a folder or an alias."""
    from aural.engines.whisper.models import resolve_whisper_model

    path = Path(name).expanduser()
    return path if path.is_dir() else resolve_whisper_model(name)


@functools.lru_cache(maxsize=4)
def _folder_tokenizer(folder: str) -> Any:
    """Whisper's tokenizer from ``folder``/tokenizer.json (read once per folder)."""
    import tokenizers

    path = Path(folder) / "tokenizer.json"
    if not path.is_file():
        raise ModelNotFoundError(
            f"{folder}: no tokenizer.json; a Whisper folder for attention maps needs "
            "one (CTranslate2 folders from faster-whisper and aural's conversions have "
            "it)"
        )
    return tokenizers.Tokenizer.from_file(str(path))


def _heads(given: Any, num_layers: int, num_heads: int) -> tuple[tuple[int, int], ...]:
    """The alignment heads as (layer, head); without a list, every head of the second
    half of the decoder's layers (Whisper's default)."""
    if not given:
        return tuple(
            (layer, head)
            for layer in range(num_layers // 2, num_layers)
            for head in range(num_heads)
        )
    heads = tuple((int(layer), int(head)) for layer, head in given)
    bad = [h for h in heads if not (0 <= h[0] < num_layers and 0 <= h[1] < num_heads)]
    if bad:
        raise ConfigError(
            f"alignment heads {bad} are outside the decoder's {num_layers} layers x "
            f"{num_heads} heads"
        )
    return heads


def _whisper_tokenizer(
    hf_model: Any, hf_tokenizer: Any, language: str, task: str
) -> Tokenizer:
    from faster_whisper.tokenizer import Tokenizer

    multilingual = int(hf_model.config.vocab_size) >= 51865  # English-only: 51864
    if not multilingual and language != "en":
        raise OptionConflictError(
            f"the model is English-only; language={language!r} needs a multilingual "
            "model",
            options=("language", "model"),
        )
    try:
        return Tokenizer(hf_tokenizer, multilingual, task=task, language=language)
    except ValueError as err:
        raise ConfigError(
            f"language={language!r}, task={task!r}: {err}", options=("language",)
        ) from err


def _log_mel(samples: np.ndarray, num_mels: int) -> np.ndarray:
    """Whisper's log-mel of ``samples`` padded with silence to the 30-second window,
    ``(num_mels, 3000)``: the audio is padded before the transform, as Whisper does."""
    padded = np.pad(samples, (0, int(WINDOW_S * SAMPLE_RATE)))
    mel = _feature_extractor(num_mels)(padded, padding=0)
    return np.ascontiguousarray(mel[:, :MAX_FRAMES], dtype=np.float32)


@functools.lru_cache(maxsize=2)
def _feature_extractor(num_mels: int) -> Any:
    from faster_whisper.feature_extractor import FeatureExtractor

    return FeatureExtractor(feature_size=num_mels)


def _forward(
    model: Any, mel: np.ndarray, sequence: list[int], heads: tuple[tuple[int, int], ...]
) -> tuple[np.ndarray, np.ndarray]:
    """One teacher-forced pass: (logits ``(len(sequence), vocab)``, the alignment
    heads' cross-attention ``(num_heads, len(sequence), 1500)``)."""
    try:
        import torch
    except ImportError as err:
        raise missing_dependency("torch", "whisper-torch", "attention maps") from err
    parameter = next(model.parameters())
    features = torch.from_numpy(mel)[None].to(parameter.device, parameter.dtype)
    ids = torch.tensor([sequence], device=parameter.device)
    with torch.inference_mode():
        # the encoder alone first: asking it for attention too would return every
        # encoder layer's 1500 x 1500 maps
        encoded = model.get_encoder()(features)
        out = model(
            encoder_outputs=encoded, decoder_input_ids=ids, output_attentions=True
        )
    cross = out.cross_attentions
    if not cross:
        raise ConfigError(
            "the model returned no cross-attention weights: build it with "
            "attn_implementation='eager'"
        )
    weights = torch.stack([cross[layer][0, head] for layer, head in heads])
    return (
        out.logits[0].float().cpu().numpy(),
        weights.float().cpu().numpy(),
    )


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array
