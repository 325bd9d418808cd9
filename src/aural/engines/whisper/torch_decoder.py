"""Whisper's decoder in PyTorch, stepped by aural, with CTranslate2's search rules.

CTranslate2 gives no hook into Whisper's decoding loop, so hotword fusion needs a
decoder aural steps itself. :class:`TorchWhisperDecoder` runs the decoder of the PyTorch
Whisper that :func:`aural.engines.whisper.convert.torch_whisper` builds from the same
CTranslate2 folder, on the encoder output CTranslate2 computed, and reproduces
``ctranslate2.models.Whisper.generate``: the prompt forwarded at once (no-speech
probability read at the start-of-transcript position), the suppressed tokens (all steps)
and the blank/end suppressed at the first step, Whisper's timestamp rules, and
CTranslate2's beam search (``2 * beam`` candidates per step, a finished hypothesis
replaced by the next unfinished candidate, ``round(beam * patience)`` hypotheses, scores
divided by ``length ** length_penalty``). With temperature it samples ``num_hypotheses``
sequences. Without biasing its transcripts are CTranslate2's (see
``benchmarks/whisper_torch_parity.py``).

:class:`TorchWhisper` is the stand-in for the CTranslate2 model that faster-whisper and
:class:`~aural.engines.whisper.window.WhisperWindowDecoder` call: ``generate`` goes to
this decoder (with the hotword biasing), everything else (``encode``,
``detect_language``, ``align``...) to CTranslate2.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aural.engines.whisper.biasing import BiasState, TokenBiasing

__all__ = ["GenerationResult", "TorchWhisper", "TorchWhisperDecoder"]

NEG_INF = float("-inf")


@dataclass
class GenerationResult:
    """What ``ctranslate2.models.WhisperGenerationResult`` carries, as plain data."""

    sequences_ids: list[list[int]]
    scores: list[float] = field(default_factory=list)
    no_speech_prob: float = 0.0
    bonuses: list[float] = field(default_factory=list)  # hotword bonus kept

    @property
    def sequences(self) -> list[list[int]]:
        return self.sequences_ids


class _Linear:
    """``x @ weight.T + bias`` in float32, or with int8 weights (per-row scales, as
    CTranslate2's int8 compute type keeps them) and dynamically quantised inputs:
    on a CPU the output projection over Whisper's 51,864 tokens is then about ten
    times faster, and it is most of a decoder step."""

    def __init__(self, weight: Any, bias: Any = None, int8: bool = False) -> None:
        import torch

        self.weight = weight.detach().contiguous()
        self.bias = None if bias is None else bias.detach()
        self.packed = None
        if int8:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # quantized tensors: deprecated
                    w = self.weight
                    scales = (w.abs().amax(1) / 127).clamp_min(1e-12).double()
                    zeros = torch.zeros(w.shape[0], dtype=torch.long)
                    qw = torch.quantize_per_channel(w, scales, zeros, 0, torch.qint8)
                    self.packed = torch.ops.quantized.linear_prepack(qw, self.bias)
            except (AttributeError, RuntimeError):  # a torch without fbgemm: float32
                self.packed = None

    def __call__(self, x: Any) -> Any:
        import torch
        import torch.nn.functional as F

        if self.packed is not None:
            return torch.ops.quantized.linear_dynamic(x, self.packed, False)
        return F.linear(x, self.weight, self.bias)


def _ln(norm: Any) -> tuple[Any, Any]:
    return norm.weight.detach(), norm.bias.detach()


class _Layer:
    """One decoder layer's weights."""

    def __init__(self, layer: Any, int8: bool) -> None:
        sa, ca = layer.self_attn, layer.encoder_attn

        def lin(m: Any, bias: bool = True) -> _Linear:
            return _Linear(m.weight, m.bias if bias else None, int8)

        import torch

        self.sa_ln = _ln(layer.self_attn_layer_norm)
        # q, k and v in one matrix (k has no bias: a zero one)
        self.qkv = _Linear(
            torch.cat([sa.q_proj.weight, sa.k_proj.weight, sa.v_proj.weight]),
            torch.cat(
                [sa.q_proj.bias, torch.zeros_like(sa.v_proj.bias), sa.v_proj.bias]
            ),
            int8,
        )
        self.o = lin(sa.out_proj)
        self.ca_ln = _ln(layer.encoder_attn_layer_norm)
        self.cq, self.co = lin(ca.q_proj), lin(ca.out_proj)
        # the encoder's keys and values, once per call: float32
        self.ck = _Linear(ca.k_proj.weight)
        self.cv = _Linear(ca.v_proj.weight, ca.v_proj.bias)
        self.ff_ln = _ln(layer.final_layer_norm)
        self.fc1, self.fc2 = lin(layer.fc1), lin(layer.fc2)


class _State:
    """KV caches of one generate call: self-attention per row, cross-attention per
    batch item (rows ``g * group ... (g + 1) * group - 1`` belong to the ``g``-th item
    still searching)."""

    def __init__(
        self, cross: list[tuple[Any, Any]], heads: int, head_dim: int, capacity: int
    ) -> None:
        import torch

        rows = cross[0][0].shape[0]
        self.all_cross = self.cross = cross
        self.items = list(range(rows))
        self.group = 1
        self.length = 0
        shape = (rows, heads, capacity, head_dim)
        self.keys = [torch.zeros(shape) for _ in cross]
        self.values = [torch.zeros(shape) for _ in cross]

    def reorder(self, rows: Any, group: int, items: list[int]) -> None:
        """Keep the cache rows ``rows`` (a LongTensor): ``group`` rows for each of
        ``items`` (batch indices), in that order."""
        self.keys = [k[rows] for k in self.keys]
        self.values = [v[rows] for v in self.values]
        self.group = group
        if items != self.items:
            index = items
            self.cross = [(k[index], v[index]) for k, v in self.all_cross]
            self.items = list(items)


class TorchWhisperDecoder:
    """The decoder of a ``transformers`` ``WhisperForConditionalGeneration``.

    Args:
        model: the PyTorch Whisper (float32, eval mode).
        config: the CTranslate2 folder's ``config.json`` (``suppress_ids``,
            ``suppress_ids_begin``).
        eot, sot, no_timestamps, no_speech: special token ids.
        int8: run the linear layers and the output projection with int8 weights
            (the engine's ``int8`` compute types), else float32.
    """

    def __init__(
        self,
        model: Any,
        config: dict[str, Any],
        *,
        eot: int,
        sot: int,
        no_timestamps: int,
        no_speech: int,
        int8: bool = False,
    ) -> None:
        decoder = model.model.decoder
        self.embed = decoder.embed_tokens.weight.detach()
        self.output = _Linear(self.embed, None, int8)
        self.positions = decoder.embed_positions.weight.detach()
        self.layers = [_Layer(layer, int8) for layer in decoder.layers]
        self.final_ln = _ln(decoder.layer_norm)
        self.heads = model.config.decoder_attention_heads
        self.dim = self.embed.shape[1]
        self.head_dim = self.dim // self.heads
        self.vocab_size = self.embed.shape[0]
        self.max_positions = self.positions.shape[0]
        self.eot, self.sot = eot, sot
        self.no_timestamps, self.no_speech = no_timestamps, no_speech
        self.timestamp_begin = no_timestamps + 1
        self.suppress_default = [int(i) for i in config.get("suppress_ids", ())]
        self.suppress_begin = [int(i) for i in config.get("suppress_ids_begin", ())]

    # -- the network -------------------------------------------------------------------
    def _cross(self, encoded: Any) -> list[tuple[Any, Any]]:
        """Cross-attention keys and values of each layer, ``(B, H, S, dh)``."""

        b, s, _ = encoded.shape
        out = []
        for layer in self.layers:
            k = layer.ck(encoded)
            v = layer.cv(encoded)
            out.append(
                (
                    k.view(b, s, self.heads, self.head_dim).transpose(1, 2),
                    v.view(b, s, self.heads, self.head_dim).transpose(1, 2),
                )
            )
        return out

    def _forward(self, tokens: Any, state: _State) -> Any:
        """Run ``tokens`` ``(rows, n)`` after what the cache holds; the final hidden
        states ``(rows, n, dim)``."""
        import torch
        import torch.nn.functional as F

        rows, n = tokens.shape
        start = state.length
        h, dh = self.heads, self.head_dim
        x = F.embedding(tokens, self.embed) + self.positions[start : start + n]
        mask = None
        if n > 1:
            mask = torch.full((n, start + n), NEG_INF).triu(start + 1)
        group = state.group
        attend = F.scaled_dot_product_attention
        for i, layer in enumerate(self.layers):
            y = F.layer_norm(x, (self.dim,), *layer.sa_ln)
            q, k, v = (
                layer.qkv(y).view(rows, n, 3, h, dh).permute(2, 0, 3, 1, 4).unbind(0)
            )
            state.keys[i][:, :, start : start + n] = k
            state.values[i][:, :, start : start + n] = v
            keys = state.keys[i][:, :, : start + n]
            values = state.values[i][:, :, : start + n]
            y = attend(q, keys, values, attn_mask=mask)
            x = x + layer.o(y.transpose(1, 2).reshape(rows, n, self.dim))
            # cross-attention: the rows of one item share its encoder keys/values
            y = F.layer_norm(x, (self.dim,), *layer.ca_ln)
            q = layer.cq(y).view(rows // group, group, n, h, dh)
            q = q.permute(0, 3, 1, 2, 4).reshape(rows // group, h, group * n, dh)
            ck, cv = state.cross[i]
            y = attend(q, ck, cv)  # (B, H, group*n, dh)
            y = y.view(rows // group, h, group, n, dh).permute(0, 2, 3, 1, 4)
            x = x + layer.co(y.reshape(rows, n, self.dim))
            y = F.layer_norm(x, (self.dim,), *layer.ff_ln)
            x = x + layer.fc2(F.gelu(layer.fc1(y)))
        state.length = start + n
        return F.layer_norm(x, (self.dim,), *self.final_ln)

    def _logits(self, hidden: Any) -> Any:
        return self.output(hidden)

    # -- generate ----------------------------------------------------------------------
    def generate(
        self,
        encoded: Any,
        prompts: Sequence[Sequence[int]],
        *,
        beam_size: int = 5,
        patience: float = 1.0,
        length_penalty: float = 1.0,
        repetition_penalty: float = 1.0,
        no_repeat_ngram_size: int = 0,
        max_length: int = 448,
        return_scores: bool = False,
        return_no_speech_prob: bool = False,
        suppress_blank: bool = True,
        suppress_tokens: Sequence[int] | None = (-1,),
        max_initial_timestamp_index: int = 50,
        num_hypotheses: int = 1,
        sampling_topk: int = 1,
        sampling_temperature: float = 1.0,
        biasing: TokenBiasing | None = None,
        **unused: Any,
    ) -> list[GenerationResult]:
        """``ctranslate2.models.Whisper.generate`` on ``encoded`` (the encoder output,
        a StorageView or array ``(batch, frames, dim)``), with ``biasing`` fused into
        the search. The prompts must share their layout (as CTranslate2 requires)."""
        import torch

        if no_repeat_ngram_size:
            raise ValueError("no_repeat_ngram_size is not supported by the torch path")
        with torch.inference_mode():
            enc = torch.as_tensor(np.asarray(_cpu(encoded), dtype=np.float32))
            return self._generate(
                enc if enc.dim() == 3 else enc[None],
                [list(p) for p in prompts],
                _Rules(
                    beam_size=max(1, beam_size),
                    patience=patience,
                    length_penalty=length_penalty,
                    repetition_penalty=repetition_penalty,
                    max_length=max_length,
                    no_speech=return_no_speech_prob,
                    disabled=self._disabled(list(suppress_tokens or ())),
                    disabled_begin=self.suppress_begin if suppress_blank else [],
                    max_initial=max_initial_timestamp_index,
                    num_hypotheses=max(1, num_hypotheses),
                    topk=sampling_topk,
                    temperature=sampling_temperature,
                ),
                biasing,
            )

    def _layout(self, prompt: list[int]) -> tuple[int, int]:
        """(index of the start of transcript, length of the prompt before the text)."""
        if self.sot not in prompt:
            raise ValueError("the prompt has no start-of-transcript token")
        sot_index = length = prompt.index(self.sot)
        while length < len(prompt) and self.sot <= prompt[length] <= self.no_timestamps:
            length += 1
        return sot_index, length

    def _disabled(self, suppress_tokens: list[int]) -> list[int]:
        out: list[int] = []
        for t in suppress_tokens:
            if t >= 0:
                out.append(t)
            elif t == -1:
                out.extend(self.suppress_default)
        return out

    def _generate(
        self,
        enc: Any,
        prompts: list[list[int]],
        rules: _Rules,
        biasing: TokenBiasing | None,
    ) -> list[GenerationResult]:
        import torch

        batch = len(prompts)
        layouts = {self._layout(p) for p in prompts}
        if len(layouts) != 1:
            raise ValueError(
                "the prompts of one generate call must have the start of transcript "
                "at the same position and the same task tokens after it"
            )
        sot_index, length = layouts.pop()
        prompt = torch.tensor([p[: length - 1] for p in prompts], dtype=torch.long)
        starts = torch.tensor([p[length - 1 :] for p in prompts], dtype=torch.long)
        start_step = prompt.shape[1]
        steps = min(rules.max_length // 2, rules.max_length - start_step)
        steps = max(1, min(steps, self.max_positions - start_step - starts.shape[1]))
        timestamps = prompts[0][length - 1] != self.no_timestamps
        sampling = rules.topk != 1 or (
            rules.beam_size == 1 and rules.num_hypotheses > 1
        )
        group = rules.num_hypotheses if sampling else rules.beam_size
        capacity = start_step + starts.shape[1] + steps + 1

        cross = self._cross(enc)
        state = _State(cross, self.heads, self.head_dim, capacity)
        no_speech_probs = [0.0] * batch
        if start_step:
            hidden = self._forward(prompt, state)
            if rules.no_speech and sot_index < start_step:
                probs = self._logits(hidden[:, sot_index]).float().softmax(-1)
                no_speech_probs = probs[:, self.no_speech].tolist()
        hidden = self._forward(starts, state)
        logits = self._logits(hidden[:, -1])
        if rules.no_speech and sot_index == start_step + starts.shape[1] - 1:
            no_speech_probs = logits.softmax(-1)[:, self.no_speech].tolist()

        search = _Search(
            self,
            rules,
            biasing,
            batch=batch,
            group=group,
            steps=steps,
            sampling=sampling,
            timestamps=timestamps,
            max_hypotheses=(
                rules.num_hypotheses
                if sampling
                else round(rules.beam_size * rules.patience)
            ),
        )
        search.run(logits, state)
        return [
            GenerationResult(
                sequences_ids=[h for h, _, _ in hyps],
                scores=[s for _, s, _ in hyps],
                no_speech_prob=float(no_speech_probs[i]),
                bonuses=[b for _, _, b in hyps],
            )
            for i, hyps in enumerate(search.results)
        ]


@dataclass(frozen=True, slots=True)
class _Rules:
    """One generate call's options, as CTranslate2's ``generate`` takes them
    (``disabled``: the suppressed ids, ``-1`` expanded)."""

    beam_size: int
    patience: float
    length_penalty: float
    repetition_penalty: float
    max_length: int
    no_speech: bool
    disabled: list[int]
    disabled_begin: list[int]
    max_initial: int
    num_hypotheses: int
    topk: int
    temperature: float


class _Search:
    """One beam search (or sampling) over a batch, CTranslate2's rules.

    ``group`` rows per item (the beam, or the samples), at most ``steps`` steps;
    ``max_hypotheses`` finished hypotheses end an item's search."""

    def __init__(
        self,
        decoder: TorchWhisperDecoder,
        rules: _Rules,
        biasing: TokenBiasing | None,
        *,
        batch: int,
        group: int,
        steps: int,
        sampling: bool,
        timestamps: bool,
        max_hypotheses: int,
    ) -> None:
        self.d, self.rules, self.biasing = decoder, rules, biasing
        self.batch, self.group, self.steps = batch, group, steps
        self.sampling, self.timestamps = sampling, timestamps
        self.max_hypotheses = max_hypotheses
        self.results: list[list[tuple[list[int], float, float]]] = [
            [] for _ in range(batch)
        ]

    def _mask(self, logits: Any, seqs: list[list[int]], step: int) -> Any:
        """Apply the suppressions and the timestamp rules to ``logits`` in place."""
        import torch

        d = self.d
        if self.rules.repetition_penalty != 1.0:
            for row, seq in enumerate(seqs):
                if seq:
                    ids = torch.tensor(sorted(set(seq)))
                    vals = logits[row, ids]
                    logits[row, ids] = torch.where(
                        vals < 0,
                        vals * self.rules.repetition_penalty,
                        vals / self.rules.repetition_penalty,
                    )
        if self.rules.disabled:
            logits[:, self.rules.disabled] = NEG_INF
        if step == 0 and self.rules.disabled_begin:
            logits[:, self.rules.disabled_begin] = NEG_INF
        if not self.timestamps:
            return logits
        tb, eot = d.timestamp_begin, d.eot
        check: list[int] = []
        for row, seq in enumerate(seqs):
            line = logits[row]
            line[d.no_timestamps] = NEG_INF
            if step == 0:
                line[:tb] = NEG_INF
                line[tb + self.rules.max_initial + 1 :] = NEG_INF
                continue
            last = seq[-1]
            if last >= tb:
                penultimate = seq[-2] if len(seq) > 1 else last
                if penultimate >= tb:
                    line[tb:] = NEG_INF
                else:
                    line[:eot] = NEG_INF
                    line[tb:last] = NEG_INF
                    check.append(row)
            else:
                check.append(row)
                for token in reversed(seq):
                    if token >= tb:
                        line[tb : token + 1] = NEG_INF
                        break
        if check:
            log_probs = logits[check].log_softmax(-1)
            for k, row in enumerate(check):
                text = log_probs[k, :tb].max()
                stamps = torch.logsumexp(log_probs[k, tb:], -1)
                if stamps > text:
                    logits[row, :tb] = NEG_INF
        return logits

    def run(self, logits: Any, state: _State) -> None:
        if self.sampling:
            self._sample(logits, state)
        else:
            self._beam(logits, state)

    def _ranked(self, log_probs: Any, bias_states: list[BiasState]) -> Any:
        import torch

        if self.biasing is None:
            return log_probs
        return log_probs + torch.from_numpy(self.biasing.deltas(bias_states))

    def _sample(self, logits: Any, state: _State) -> None:
        """``group`` samples per item, each until its end of text."""
        import torch

        d, group, batch, biasing = self.d, self.group, self.batch, self.biasing
        rows = batch * group
        state.reorder(
            torch.arange(batch).repeat_interleave(group), group, list(range(batch))
        )
        logits = logits.repeat_interleave(group, 0)
        seqs: list[list[int]] = [[] for _ in range(rows)]
        pure = [0.0] * rows
        bonus = [0.0] * rows
        bias_states = [biasing.start if biasing else BiasState()] * rows
        done = [False] * rows
        for step in range(self.steps):
            last = step + 1 == self.steps
            log_probs = self._mask(logits.float(), seqs, step).log_softmax(-1)
            scaled = self._ranked(log_probs, bias_states) / max(
                self.rules.temperature, 1e-6
            )
            if self.rules.topk > 1:
                kth = scaled.topk(self.rules.topk, -1).values[:, -1:]
                scaled = scaled.masked_fill(scaled < kth, NEG_INF)
            tokens = torch.multinomial(scaled.softmax(-1), 1)[:, 0].tolist()
            for r, tok in enumerate(tokens):
                if done[r]:
                    continue
                pure[r] += float(log_probs[r, tok])
                if biasing is not None:
                    bias_states[r], delta = biasing.step(bias_states[r], tok)
                    bonus[r] += delta
                if tok == d.eot or last:
                    seq = seqs[r] + ([] if tok == d.eot else [tok])
                    self._register(r // group, seq, pure[r], bonus[r])
                    done[r] = True
                else:
                    seqs[r] = seqs[r] + [tok]
            if all(done):
                break
            logits = self._step_logits(tokens, state)
        for item in range(batch):
            self._finish(item)

    def _beam(self, logits: Any, state: _State) -> None:
        """CTranslate2's beam search (``decoding.cc``, ``BeamSearch::search``)."""
        import torch

        d, group, batch, biasing = self.d, self.group, self.batch, self.biasing
        seqs: list[list[int]] = [[] for _ in range(batch)]
        scores = torch.zeros(batch)  # ranking score: log-probs + hotword bonus
        pure = [0.0] * batch  # log-probs only
        bias_states = [biasing.start if biasing else BiasState()] * batch
        bonus = [0.0] * batch
        top_finished = [False] * batch
        alive = list(range(batch))  # items still searching
        width = 1  # rows per item: one at the first step, then the beam
        for step in range(self.steps):
            last = step + 1 == self.steps
            log_probs = self._mask(logits.float(), seqs, step).log_softmax(-1)
            total = self._ranked(log_probs, bias_states) + scores[:, None]
            vocab = total.shape[1]
            # the best 2*beam of each item's width*vocab candidates: each row's best
            # first (cheaper than one top-k over the flattened rows)
            row_scores, row_ids = total.topk(2 * group, -1)
            cand_scores, pos = row_scores.view(-1, width * 2 * group).topk(
                2 * group, -1
            )
            rows_of = pos // (2 * group) + (torch.arange(len(alive))[:, None] * width)
            tokens_of = row_ids.view(-1)[rows_of * 2 * group + pos % (2 * group)]
            cand_ids = (rows_of - torch.arange(len(alive))[:, None] * width) * vocab
            cand_ids = cand_ids + tokens_of
            nxt: list[tuple[int, int, float]] = []  # (source row, token, score)
            next_alive: list[int] = []
            for k, item in enumerate(alive):
                cs, ci = cand_scores[k].tolist(), cand_ids[k].tolist()
                chosen: list[int] = []
                secondary = group
                for j in range(group):
                    pick = j
                    src, tok = k * width + ci[j] // vocab, ci[j] % vocab
                    if tok == d.eot or last:
                        if j == 0:
                            top_finished[item] = True
                        b = bonus[src]
                        if biasing is not None:
                            b += biasing.step(bias_states[src], tok)[1]
                        self._register(
                            item,
                            seqs[src] + ([] if tok == d.eot else [tok]),
                            pure[src] + float(log_probs[src, tok]),
                            b,
                        )
                        for jj in range(secondary, 2 * group):
                            if ci[jj] % vocab != d.eot:
                                pick, secondary = jj, jj + 1
                                break
                    chosen.append(pick)
                found = len(self.results[item])
                if self.rules.length_penalty == 0:
                    finished = top_finished[item] and found >= self.rules.num_hypotheses
                else:
                    finished = found >= self.max_hypotheses
                if last or finished:
                    self._finish(item)
                    continue
                next_alive.append(item)
                nxt += [
                    (k * width + ci[p] // vocab, ci[p] % vocab, cs[p]) for p in chosen
                ]
            if not next_alive:
                return
            new_seqs, new_pure, new_bias, new_bonus = [], [], [], []
            for src, tok, _ in nxt:
                new_seqs.append(seqs[src] + [tok])
                new_pure.append(pure[src] + float(log_probs[src, tok]))
                if biasing is not None:
                    st, delta = biasing.step(bias_states[src], tok)
                    new_bias.append(st)
                    new_bonus.append(bonus[src] + delta)
                else:
                    new_bias.append(bias_states[src])
                    new_bonus.append(0.0)
            alive, width = next_alive, group
            state.reorder(
                torch.tensor([src for src, _, _ in nxt], dtype=torch.long),
                group,
                alive,
            )
            seqs, pure, bias_states, bonus = new_seqs, new_pure, new_bias, new_bonus
            scores = torch.tensor([score for _, _, score in nxt])
            logits = self._step_logits([tok for _, tok, _ in nxt], state)

    def _step_logits(self, tokens: list[int], state: _State) -> Any:
        import torch

        hidden = self.d._forward(torch.tensor(tokens, dtype=torch.long)[:, None], state)
        return self.d._logits(hidden[:, -1])

    def _register(self, item: int, seq: list[int], pure: float, bonus: float) -> None:
        self.results[item].append((seq, pure, bonus))

    def _finish(self, item: int) -> None:
        """CTranslate2's finalisation: scores over ``length ** penalty``, best first
        (ranked with the hotword bonus), ``num_hypotheses`` kept."""
        hyps = []
        for seq, pure, bonus in self.results[item]:
            norm = (
                max(len(seq), 1) ** self.rules.length_penalty
                if self.rules.length_penalty
                else 1
            )
            hyps.append((seq, pure / norm, bonus, (pure + bonus) / norm))
        hyps.sort(key=lambda h: -h[3])
        self.results[item] = [
            (s, p, b) for s, p, b, _ in hyps[: self.rules.num_hypotheses]
        ]


def _cpu(encoded: Any) -> Any:
    """A CTranslate2 StorageView on the CPU (arrays pass through)."""
    device = getattr(encoded, "device", "cpu")
    if device not in ("cpu", None) and hasattr(encoded, "to_device"):
        import ctranslate2

        return encoded.to_device(ctranslate2.Device.cpu)
    return encoded


class TorchWhisper:
    """The CTranslate2 Whisper model with ``generate`` on :class:`TorchWhisperDecoder`
    and hotwords fused: hand it to faster-whisper (as ``WhisperModel.model``) or to the
    window decoder in place of the CTranslate2 model."""

    def __init__(
        self, ct2_model: Any, decoder: TorchWhisperDecoder, biasing: TokenBiasing | None
    ) -> None:
        self._ct2 = ct2_model
        self.decoder = decoder
        self.biasing = biasing

    def generate(
        self, encoded: Any, prompts: Sequence[Sequence[int]], **kwargs: Any
    ) -> list[GenerationResult]:
        kwargs.setdefault("biasing", self.biasing)
        return self.decoder.generate(encoded, prompts, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ct2, name)
