"""Conformer-transducer: aural's Conformer encoder, a stateless predictor and an
additive joiner (RNN-T, Graves 2012; stateless predictor as in Ghodsi et al. 2020 and
icefall).

* Encoder: :class:`~aural.models.conformer.ConformerEncoder` unchanged (fbank frames
  subsampled by 4, or Whisper-encoder frames at 20 ms), optionally chunk-causal for
  native streaming (``chunk_size`` > 0).
* Predictor: an embedding of the last ``context_size`` tokens (blank stands for
  "nothing yet") and a depthwise 1-D convolution over them, then ReLU: no recurrent
  state, so decoding keys its cache by the last tokens only.
* Joiner: ``out(tanh(enc_proj(e_t) + pred_proj(p_u)))``.

The model owns no search: :mod:`aural.decoding.transducer` searches over the
:class:`TransducerScorer` view of it (projected encoder frames, predictor outputs
for token contexts, joiner log-probabilities).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from aural.errors import ConfigError
from aural.models.conformer import (
    ConformerEncoder,
    ConformerOptions,
    FeatureNormalizer,
    StreamState,
)

__all__ = [
    "ConformerTransducer",
    "StatelessPredictor",
    "TransducerOptions",
    "TransducerScorer",
]


@dataclass(frozen=True, slots=True)
class TransducerOptions:
    """Shape of a Conformer-transducer.

    Attributes:
        encoder: the Conformer encoder's options (``vocab_size``: output tokens, blank
            = id 0, included).
        predictor_dim: predictor embedding width (0 = the encoder's ``d_model``).
        joiner_dim: joiner hidden width (0 = the encoder's ``d_model``).
        context_size: tokens the stateless predictor looks at (>= 1).
        ctc_head: a CTC output layer on the encoder, for an auxiliary CTC loss in
            training (it speeds up the encoder's learning; decoding never uses it).
    """

    encoder: ConformerOptions
    predictor_dim: int = 0
    joiner_dim: int = 0
    context_size: int = 2
    ctc_head: bool = False

    def __post_init__(self) -> None:
        for name in ("predictor_dim", "joiner_dim"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ConfigError(f"transducer {name} must be an integer >= 0")
        if not isinstance(self.ctc_head, bool):
            raise ConfigError("transducer ctc_head must be true or false")
        if not isinstance(self.context_size, int) or self.context_size < 1:
            raise ConfigError(
                f"transducer context_size must be >= 1, got {self.context_size!r}"
            )

    @property
    def vocab_size(self) -> int:
        return self.encoder.vocab_size

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["encoder"] = self.encoder.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TransducerOptions:
        d = dict(d)
        return cls(encoder=ConformerOptions.from_dict(d.pop("encoder")), **d)


class StatelessPredictor(nn.Module):
    """Embedding of the last ``context_size`` tokens plus a depthwise convolution."""

    def __init__(self, vocab_size: int, dim: int, context_size: int, blank: int = 0):
        super().__init__()
        self.context_size = context_size
        self.blank = blank
        self.embedding = nn.Embedding(vocab_size, dim)
        self.conv = (
            nn.Conv1d(dim, dim, context_size, groups=dim, bias=False)
            if context_size > 1
            else None
        )

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """``tokens`` ``(b, n)`` (the start already padded with ``context_size - 1``
        blanks) to ``(b, n - context_size + 1, dim)``: one output per position whose
        context is complete."""
        x = self.embedding(tokens)
        if self.conv is not None:
            x = self.conv(x.transpose(1, 2)).transpose(1, 2)
        return torch.relu(x)


class ConformerTransducer(nn.Module):
    """Conformer encoder + stateless predictor + additive joiner (blank = 0)."""

    blank = 0

    def __init__(self, options: TransducerOptions) -> None:
        super().__init__()
        self.options = options
        enc = options.encoder
        pdim = options.predictor_dim or enc.d_model
        jdim = options.joiner_dim or enc.d_model
        self.normalizer = FeatureNormalizer(enc.num_features)
        self.encoder = ConformerEncoder(enc)
        self.predictor = StatelessPredictor(enc.vocab_size, pdim, options.context_size)
        self.enc_proj = nn.Linear(enc.d_model, jdim)
        self.pred_proj = nn.Linear(pdim, jdim)
        self.joiner_out = nn.Linear(jdim, enc.vocab_size)
        # auxiliary CTC output (training only; not exported, never decoded)
        self.ctc_head = (
            nn.Linear(enc.d_model, enc.vocab_size) if options.ctc_head else None
        )

    def set_feature_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Install global CMVN statistics (identity by default)."""
        with torch.no_grad():
            self.normalizer.mean.copy_(mean)
            self.normalizer.std.copy_(std)

    # -- the three parts -----------------------------------------------------------
    def encode(
        self, features: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(projected encoder frames (b, t', joiner_dim), lengths (b,))``."""
        encoded, out_lengths = self.encoder(self.normalizer(features), lengths)
        return self.enc_proj(encoded), out_lengths

    def predict(self, contexts: torch.Tensor) -> torch.Tensor:
        """``contexts`` ``(n, context_size)`` token ids (oldest first; blank where the
        text has fewer tokens) to projected predictor outputs ``(n, joiner_dim)``."""
        return self.pred_proj(self.predictor(contexts)[:, -1])

    def join(self, enc: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
        """Joiner logits for broadcastable projected encoder / predictor outputs."""
        return self.joiner_out(torch.tanh(enc + pred))

    def forward(
        self,
        features: torch.Tensor,
        lengths: torch.Tensor,
        targets: torch.Tensor,
        with_ctc: bool = False,
    ) -> tuple[torch.Tensor, ...]:
        """Training forward pass.

        Args:
            features: ``(b, frames, num_features)``.
            lengths: ``(b,)`` valid frames.
            targets: ``(b, u)`` label ids, padded with anything valid.
            with_ctc: also return the auxiliary CTC head's log-probabilities
                ``(b, t', vocab)`` (needs ``options.ctc_head``).

        Returns:
            ``(logits (b, t', u + 1, vocab), out_lengths (b,))`` for
            :func:`aural.training.losses.rnnt_loss`, and the CTC log-probabilities
            third when ``with_ctc``.

        Raises:
            ConfigError: ``with_ctc`` on a model without a CTC head.
        """
        encoded, out_lengths = self.encoder(self.normalizer(features), lengths)
        enc = self.enc_proj(encoded)
        k = self.options.context_size
        start = targets.new_full((targets.shape[0], k), self.blank)
        pred = self.pred_proj(self.predictor(torch.cat([start, targets], dim=1)))
        logits = self.join(enc[:, :, None], pred[:, None])
        if not with_ctc:
            return logits, out_lengths
        if self.ctc_head is None:
            raise ConfigError("this transducer has no CTC head (options.ctc_head)")
        ctc = torch.log_softmax(self.ctc_head(encoded).float(), dim=-1)
        return logits, out_lengths, ctc

    # -- streaming -------------------------------------------------------------------
    def stream_encode(
        self,
        features: torch.Tensor,
        start: int,
        end: int,
        state: StreamState | None,
    ) -> tuple[torch.Tensor, StreamState]:
        """Projected encoder frames ``[start, end)`` of a stream whose feature frames
        so far are ``features`` ``(1, n, num_features)`` (chunk-causal models)."""
        x = self.encoder.subsample_range(self.normalizer(features), start, end)
        out, state = self.encoder.stream_chunk(x, state)
        return self.enc_proj(out), state


class TransducerScorer:
    """What :mod:`aural.decoding.transducer` needs of a transducer, over numpy:
    predictor outputs for token contexts (cached) and joiner log-probabilities.

    Args:
        model: the transducer (eval mode).
        cache_size: predictor outputs kept (a stateless predictor depends only on the
            last ``context_size`` tokens, so few contexts recur).
    """

    def __init__(self, model: ConformerTransducer, cache_size: int = 50_000) -> None:
        self.model = model
        self.blank = model.blank
        self.context_size = model.options.context_size
        self.vocab_size = model.options.vocab_size
        self._cache: dict[tuple[int, ...], torch.Tensor] = {}
        self._cache_size = cache_size

    @torch.inference_mode()
    def predict(self, contexts: list[tuple[int, ...]]) -> list[torch.Tensor]:
        """Projected predictor outputs for each context (``context_size`` ids)."""
        missing = [c for c in dict.fromkeys(contexts) if c not in self._cache]
        if missing:
            if len(self._cache) + len(missing) > self._cache_size:
                self._cache.clear()
            dev = next(self.model.parameters()).device
            out = self.model.predict(
                torch.tensor(missing, dtype=torch.long, device=dev)
            )
            for c, row in zip(missing, out, strict=True):
                self._cache[c] = row
        return [self._cache[c] for c in contexts]

    @torch.inference_mode()
    def log_probs(self, frame: torch.Tensor, preds: list[torch.Tensor]) -> np.ndarray:
        """``(len(preds), vocab)`` joiner log-probabilities at one projected encoder
        frame."""
        logits = self.model.join(frame[None], torch.stack(preds))
        return torch.log_softmax(logits.float(), dim=-1).cpu().numpy()
