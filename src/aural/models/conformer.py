"""Conformer encoder with a CTC head.

The encoder maps features ``(batch, num_frames, num_features)`` plus their lengths to
``(encoded (batch, num_frames // 4, d_model), encoded_lengths)``; the CTC head turns
that into log-probabilities over the tokenizer's vocabulary. A transducer joiner can
reuse the encoder unchanged.

Blocks follow Gulati et al. 2020 (macaron feed-forward halves around self-attention and
a convolution module), with absolute sinusoidal positions, pre-norm residuals and a
LayerNorm in the convolution module (so small or uneven batches and DDP need no
batch-norm statistics). Attention is written with plain matmuls so that it exports to
ONNX and runs the same under onnxruntime.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import torch
from torch import nn

from aural.errors import ConfigError

__all__ = [
    "BlockCache",
    "ConformerCtc",
    "ConformerEncoder",
    "ConformerOptions",
    "ConformerSize",
    "StreamState",
    "chunk_attention_mask",
    "conformer_preset",
    "count_parameters",
    "subsampled_lengths",
]

ConformerSize = Literal["tiny", "small", "medium", "large"]

_PRESETS: dict[str, dict[str, int]] = {
    # name: d_model, num_layers, num_heads, ff multiplier, conv kernel
    # (parameter counts at 80 mels, 30 tokens)
    "tiny": {
        "d_model": 96,
        "num_layers": 4,
        "num_heads": 4,
        "ff_mult": 4,
        "conv_kernel": 15,
    },
    "small": {
        "d_model": 144,
        "num_layers": 12,
        "num_heads": 4,
        "ff_mult": 4,
        "conv_kernel": 31,
    },
    "medium": {
        "d_model": 224,
        "num_layers": 16,
        "num_heads": 4,
        "ff_mult": 4,
        "conv_kernel": 31,
    },
    "large": {
        "d_model": 256,
        "num_layers": 18,
        "num_heads": 4,
        "ff_mult": 4,
        "conv_kernel": 31,
    },
}


@dataclass(frozen=True, slots=True)
class ConformerOptions:
    """Shape of a Conformer-CTC model.

    Attributes:
        num_features: input features per frame.
        vocab_size: output tokens, CTC blank (id 0) included.
        d_model: model width.
        num_layers: Conformer blocks.
        num_heads: attention heads (must divide ``d_model``).
        ff_mult: feed-forward hidden size as a multiple of ``d_model``.
        conv_kernel: depthwise convolution kernel (odd).
        subsampling_channels: channels of the two stride-2 convolutions
            (None = d_model).
        subsampling: 4 (two stride-2 convolutions, for 10 ms features) or 1 (a linear
            projection, for features that already come at 20 ms such as Whisper's).
        dropout: dropout in every residual branch.
        chunk_size: 0 = full context; N > 0 = chunk-causal (streaming) mode: encoded
            frames are grouped in chunks of N, each attends to its own chunk and the
            ``left_chunks`` before it (0 = all earlier ones), and the convolutions
            look only back. A stream then encodes chunk by chunk with cached left
            context (:meth:`ConformerEncoder.stream_chunk`), exactly as offline.
        left_chunks: chunks of left context in chunk-causal mode (0 = unlimited).
    """

    num_features: int
    vocab_size: int
    d_model: int = 144
    num_layers: int = 12
    num_heads: int = 4
    ff_mult: int = 4
    conv_kernel: int = 31
    subsampling_channels: int | None = None
    subsampling: int = 4
    dropout: float = 0.1
    chunk_size: int = 0
    left_chunks: int = 0

    def __post_init__(self) -> None:
        for name in (
            "num_features",
            "vocab_size",
            "d_model",
            "num_layers",
            "num_heads",
            "ff_mult",
            "conv_kernel",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ConfigError(
                    f"conformer {name} must be a positive integer, got {value!r}"
                )
        if self.d_model % self.num_heads:
            raise ConfigError(
                f"conformer d_model ({self.d_model}) must be divisible by num_heads "
                f"({self.num_heads})"
            )
        if self.conv_kernel % 2 == 0:
            raise ConfigError(
                f"conformer conv_kernel must be odd, got {self.conv_kernel}"
            )
        if self.num_features < 7:
            raise ConfigError(
                f"conformer needs num_features >= 7, got {self.num_features}"
            )
        if self.subsampling not in (1, 4):
            raise ConfigError(
                f"conformer subsampling must be 1 or 4, got {self.subsampling!r}"
            )
        for name in ("chunk_size", "left_chunks"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ConfigError(
                    f"conformer {name} must be an integer >= 0, got {value!r}"
                )
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(
                f"conformer dropout must be in [0, 1), got {self.dropout}"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ConformerOptions:
        return cls(**d)


def conformer_preset(
    size: ConformerSize, num_features: int, vocab_size: int, **overrides: Any
) -> ConformerOptions:
    """Options for a named size: tiny (~1 M), small (~6 M), medium (~20 M),
    large (~30 M).

    ``overrides`` replace single fields of the preset (e.g. ``dropout=0.0``).
    """
    if size not in _PRESETS:
        raise ConfigError(
            f"unknown conformer size {size!r}; choose one of {', '.join(_PRESETS)}"
        )
    base = ConformerOptions(
        num_features=num_features, vocab_size=vocab_size, **_PRESETS[size]
    )
    return replace(base, **overrides) if overrides else base


def subsampled_lengths(lengths: torch.Tensor, factor: int = 4) -> torch.Tensor:
    """Frames left after two unpadded stride-2, kernel-3 convolutions (``factor`` 4), or
    ``lengths`` unchanged (``factor`` 1)."""
    if factor == 1:
        return lengths
    return torch.div(
        torch.div(lengths - 1, 2, rounding_mode="floor") - 1, 2, rounding_mode="floor"
    ).clamp(min=0)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _padding_mask(lengths: torch.Tensor, total: int) -> torch.Tensor:
    """True on valid frames, shape ``(batch, total)``."""
    return torch.arange(total, device=lengths.device)[None, :] < lengths[:, None]


class Conv2dSubsampling(nn.Module):
    """Two 3x3 stride-2 convolutions: time and frequency shrink by four."""

    def __init__(self, num_features: int, channels: int, d_model: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, channels, 3, stride=2),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride=2),
            nn.ReLU(),
        )
        freq = ((num_features - 1) // 2 - 1) // 2
        self.out = nn.Linear(channels * freq, d_model)

    def forward(
        self, x: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.conv(x.unsqueeze(1))  # (batch, channels, time', freq')
        b, c, t, f = x.shape
        x = self.out(x.transpose(1, 2).reshape(b, t, c * f))
        return x, subsampled_lengths(lengths)


class LinearInput(nn.Module):
    """No subsampling: each feature frame is projected to ``d_model``."""

    def __init__(self, num_features: int, d_model: int) -> None:
        super().__init__()
        self.out = nn.Linear(num_features, d_model)

    def forward(
        self, x: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.out(x), lengths


class SinusoidalPosition(nn.Module):
    """Adds fixed sine/cosine positions (computed on the fly, so any length works)."""

    def __init__(self, d_model: int, dropout: float) -> None:
        super().__init__()
        self.d_model = d_model
        self.scale = math.sqrt(d_model)
        self.dropout = nn.Dropout(dropout)
        inv = torch.exp(
            torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model)
        )
        self.register_buffer("inv_freq", inv, persistent=False)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        pos = torch.arange(
            offset, offset + x.shape[1], device=x.device, dtype=torch.float32
        )[:, None]
        angles = pos * self.inv_freq[None, :]
        pe = torch.stack([angles.sin(), angles.cos()], dim=-1).flatten(1)
        return self.dropout(x * self.scale + pe[None, :, : self.d_model].to(x.dtype))


class FeedForward(nn.Module):
    def __init__(self, d_model: int, mult: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(d_model),
            nn.Linear(d_model, d_model * mult),
            nn.SiLU(),
            nn.Dropout(dropout),
            nn.Linear(d_model * mult, d_model),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class SelfAttention(nn.Module):
    """Pre-norm multi-head self-attention that ignores padded keys."""

    def __init__(self, d_model: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.num_heads = num_heads
        self.attn_dropout = nn.Dropout(dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor,
        cache: tuple[torch.Tensor, torch.Tensor] | None = None,
        keep: int = 0,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor] | None]:
        """``mask``: ``(b, t_keys)`` valid keys, or ``(b, t, t_keys)`` per query.

        With ``cache`` (keys and values of earlier frames, ``(b, h, n, d/h)``) the
        queries attend to the cache and ``x``; the new cache keeps the last ``keep``
        frames' keys and values (0 = all).
        """
        b, t, d = x.shape
        h = self.num_heads
        q, k, v = (
            self.qkv(self.norm(x)).reshape(b, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
        )
        new_cache = None
        if cache is not None:
            k = torch.cat([cache[0], k], dim=2)
            v = torch.cat([cache[1], v], dim=2)
            new_cache = (k[:, :, -keep:], v[:, :, -keep:]) if keep else (k, v)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(d // h)  # (b, h, t, t_keys)
        mask = mask[:, None, None, :] if mask.dim() == 2 else mask[:, None]
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        weights = self.attn_dropout(torch.softmax(scores, dim=-1))
        out = (weights @ v).transpose(1, 2).reshape(b, t, d)
        return self.dropout(self.proj(out)), new_cache


class ConvModule(nn.Module):
    """Pointwise conv + GLU, depthwise conv, LayerNorm, SiLU, pointwise conv."""

    def __init__(
        self, d_model: int, kernel: int, dropout: float, causal: bool = False
    ) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.pointwise_in = nn.Conv1d(d_model, 2 * d_model, 1)
        self.causal = causal
        self.kernel = kernel
        self.depthwise = nn.Conv1d(
            d_model,
            d_model,
            kernel,
            padding=0 if causal else kernel // 2,
            groups=d_model,
        )
        self.mid_norm = nn.LayerNorm(d_model)
        self.pointwise_out = nn.Conv1d(d_model, d_model, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor, cache: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``mask``: ``(b, t)`` valid frames. Causal mode only: ``cache`` holds the
        last ``kernel - 1`` gated frames before ``x`` (zeros at the start); the new one
        is returned."""
        y = self.norm(x).transpose(1, 2)  # (b, d, t)
        y = nn.functional.glu(self.pointwise_in(y), dim=1)
        y = y * mask[:, None, :].to(y.dtype)  # padding must not leak into valid frames
        new_cache = None
        if self.causal:
            if cache is None:
                cache = y.new_zeros(y.shape[0], y.shape[1], self.kernel - 1)
            y = torch.cat([cache, y], dim=2)
            new_cache = y[:, :, y.shape[2] - (self.kernel - 1) :]
        y = self.depthwise(y)
        y = nn.functional.silu(self.mid_norm(y.transpose(1, 2))).transpose(1, 2)
        return self.dropout(self.pointwise_out(y).transpose(1, 2)), new_cache


@dataclass(frozen=True, slots=True, eq=False)
class BlockCache:
    """One block's streaming state: attention keys/values of the left context
    ``(b, heads, n, d/heads)`` and the causal convolution's last inputs."""

    keys: torch.Tensor | None = None
    values: torch.Tensor | None = None
    conv: torch.Tensor | None = None


@dataclass(frozen=True, slots=True, eq=False)
class StreamState:
    """A chunk-causal encoder stream: the frames encoded so far and each block's
    cache."""

    frames_done: int = 0
    blocks: tuple[BlockCache, ...] = ()


def _empty_kv(x: torch.Tensor, heads: int) -> tuple[torch.Tensor, torch.Tensor]:
    b, _, d = x.shape
    empty = x.new_zeros(b, heads, 0, d // heads)
    return empty, empty


def chunk_attention_mask(
    lengths: torch.Tensor, total: int, chunk_size: int, left_chunks: int
) -> torch.Tensor:
    """``(batch, total, total)``: query frame ``i`` may see key ``j`` when ``j`` is a
    valid frame in ``i``'s chunk or in the ``left_chunks`` chunks before it (0 = all
    earlier chunks)."""
    idx = torch.arange(total, device=lengths.device)
    q_chunk = (idx // chunk_size)[:, None]
    k_chunk = (idx // chunk_size)[None, :]
    allowed = k_chunk <= q_chunk
    if left_chunks > 0:
        allowed = allowed & (k_chunk >= q_chunk - left_chunks)
    return allowed[None] & _padding_mask(lengths, total)[:, None, :]


class ConformerBlock(nn.Module):
    def __init__(self, options: ConformerOptions) -> None:
        super().__init__()
        d, p = options.d_model, options.dropout
        self.ff1 = FeedForward(d, options.ff_mult, p)
        self.attn = SelfAttention(d, options.num_heads, p)
        self.conv = ConvModule(d, options.conv_kernel, p, causal=options.chunk_size > 0)
        self.ff2 = FeedForward(d, options.ff_mult, p)
        self.norm = nn.LayerNorm(d)
        self.keep = options.chunk_size * options.left_chunks

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor,
        attn_mask: torch.Tensor | None = None,
        cache: BlockCache | None = None,
    ) -> tuple[torch.Tensor, BlockCache | None]:
        """``mask``: ``(b, t)`` valid frames; ``attn_mask``: ``(b, t, t_keys)`` (None =
        ``mask`` for every query); ``cache``: a stream's state (see
        :meth:`ConformerEncoder.stream_chunk`)."""
        x = x + 0.5 * self.ff1(x)
        if cache is None:
            a, _ = self.attn(x, mask if attn_mask is None else attn_mask)
            x = x + a
            c, _ = self.conv(x, mask)
            x = x + c
            return self.norm(x + 0.5 * self.ff2(x)), None
        kv = (cache.keys, cache.values) if cache.keys is not None else None
        full = torch.ones(
            x.shape[0],
            x.shape[1] + (0 if kv is None else kv[0].shape[2]),
            dtype=torch.bool,
            device=x.device,
        )
        a, kv_new = self.attn(
            x, full, cache=kv or _empty_kv(x, self.attn.num_heads), keep=self.keep
        )
        x = x + a
        c, conv_new = self.conv(x, mask, cache.conv)
        x = x + c
        assert kv_new is not None
        out = self.norm(x + 0.5 * self.ff2(x))
        return out, BlockCache(kv_new[0], kv_new[1], conv_new)


class ConformerEncoder(nn.Module):
    """Features to encoded frames at a quarter of the frame rate (or the same rate with
    ``subsampling=1``).

    Example:
        >>> enc = ConformerEncoder(
        ...     conformer_preset("tiny", num_features=80, vocab_size=30)
        ... )
        >>> out, n = enc(torch.zeros(2, 100, 80), torch.tensor([100, 60]))
        >>> out.shape, n.tolist()
        (torch.Size([2, 24, 96]), [24, 14])
    """

    def __init__(self, options: ConformerOptions) -> None:
        super().__init__()
        self.options = options
        channels = options.subsampling_channels or options.d_model
        self.subsampling: nn.Module = (
            Conv2dSubsampling(options.num_features, channels, options.d_model)
            if options.subsampling == 4
            else LinearInput(options.num_features, options.d_model)
        )
        self.position = SinusoidalPosition(options.d_model, options.dropout)
        self.blocks = nn.ModuleList(
            ConformerBlock(options) for _ in range(options.num_layers)
        )

    def forward(
        self, features: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode a padded batch.

        Args:
            features: ``(batch, num_frames, num_features)``.
            lengths: valid frames per row, ``(batch,)``.

        Returns:
            ``(encoded (batch, num_frames', d_model), encoded_lengths (batch,))`` with
            ``num_frames' = ((num_frames - 1) // 2 - 1) // 2`` (``num_frames`` when
            ``subsampling`` is 1).
        """
        x, out_lengths = self.subsampling(features, lengths)
        x = self.position(x)
        mask = _padding_mask(out_lengths, x.shape[1])
        opts = self.options
        attn_mask = (
            chunk_attention_mask(
                out_lengths, x.shape[1], opts.chunk_size, opts.left_chunks
            )
            if opts.chunk_size > 0
            else None
        )
        for block in self.blocks:
            x, _ = block(x, mask, attn_mask)
        return x, out_lengths

    def subsample_range(
        self, features: torch.Tensor, start: int, end: int
    ) -> torch.Tensor:
        """Subsampled frames ``[start, end)`` of ``features`` ``(1, n, num_features)``,
        computed from just the input frames they depend on (as :meth:`forward`
        computes them); ``end`` is at most ``subsampled_lengths(n)``."""
        factor = self.options.subsampling
        if factor == 1:
            window = features[:, start:end]
        else:  # two kernel-3 stride-2 convolutions: output j reads rows 4j .. 4j + 6
            window = features[:, factor * start : factor * (end - 1) + 7]
        n = torch.tensor([window.shape[1]], device=features.device)
        x, _ = self.subsampling(window, n)
        return x

    def stream_chunk(
        self, subsampled: torch.Tensor, state: StreamState | None = None
    ) -> tuple[torch.Tensor, StreamState]:
        """Encode the next frames of a stream (chunk-causal models only).

        Args:
            subsampled: ``(1, n, d_model)``: the next ``n`` frames out of
                :attr:`subsampling` (``n`` = ``chunk_size``, or fewer for the last
                chunk).
            state: the stream so far (None = its start).

        Returns:
            ``(encoded (1, n, d_model), state)``; concatenated over a stream's chunks
            this equals :meth:`forward` on the whole input.
        """
        if self.options.chunk_size <= 0:
            raise ConfigError(
                "stream_chunk needs a chunk-causal encoder (model chunk_size > 0)"
            )
        state = state or StreamState(0, tuple(BlockCache() for _ in self.blocks))
        x = self.position(subsampled, offset=state.frames_done)
        mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        caches = []
        for block, cache in zip(self.blocks, state.blocks, strict=True):
            x, new = block(x, mask, cache=cache)
            assert new is not None
            caches.append(new)
        return x, StreamState(state.frames_done + x.shape[1], tuple(caches))


class FeatureNormalizer(nn.Module):
    """Global mean/std normalisation kept inside the model (so exports carry it)."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(num_features))
        self.register_buffer("std", torch.ones(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class ConformerCtc(nn.Module):
    """Conformer encoder plus a linear CTC head over the vocabulary (blank = 0)."""

    def __init__(self, options: ConformerOptions) -> None:
        super().__init__()
        self.options = options
        self.normalizer = FeatureNormalizer(options.num_features)
        self.encoder = ConformerEncoder(options)
        self.head = nn.Linear(options.d_model, options.vocab_size)

    def set_feature_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Install global CMVN statistics (identity by default)."""
        with torch.no_grad():
            self.normalizer.mean.copy_(mean)
            self.normalizer.std.copy_(std)

    def forward(
        self, features: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(log_probs (batch, frames', vocab), out_lengths (batch,))``."""
        encoded, out_lengths = self.encoder(self.normalizer(features), lengths)
        return torch.log_softmax(self.head(encoded).float(), dim=-1), out_lengths
