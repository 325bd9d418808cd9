"""The RNN-T (transducer) loss on any device, numba-accelerated on a CPU when available.

:func:`rnnt_loss` has torchaudio's signature and meaning: ``logits`` is the joiner's
output ``(batch, frames, target_len + 1, vocab)`` (unnormalised), the result is the
negative log-likelihood of each target sequence summed over all alignments (Graves
2012), reduced by ``none`` / ``mean`` / ``sum``.

How it is computed (back-end ``torch``):

1. ``log_softmax`` over the vocabulary once, then the blank and the next-label
   log-probabilities are gathered: two ``(B, T, U+1)`` tensors. The recursion never
   touches the vocabulary axis again, so its memory is ``O(B * T * U)``.
2. The forward variables ``alpha`` and backward variables ``beta`` are computed along
   the lattice's anti-diagonals ``t + u = n``: every point of a diagonal depends only
   on the previous one, so each of the ``T + U`` steps is one vectorised operation over
   the batch and the diagonal.
3. The gradient is written by hand from ``alpha`` and ``beta`` (no autograd graph
   through the recursion): with the node occupancy ``gamma(t, u) = exp(alpha + beta -
   log P)`` the gradient of ``-log P`` with respect to the logits is
   ``softmax * gamma - onehot(blank) * gamma_blank - onehot(y_{u+1}) * gamma_label``.

Back-end ``numba`` does the same per sequence in compiled loops over the lattice
(parallel over the batch and over the ``(t, u)`` softmax rows), reading the logits
twice (softmax, gradient) and writing their gradient once, on as many threads as torch
uses. Both agree
to float32 precision (float64 logits are computed in float64). ``backend="auto"`` is
torch: it needs no compilation, runs on GPUs, and on a quiet CPU it was the faster one
(12 x 300 frames x 101 labels x 30 tokens: 0.22 s against 0.35 s forward and backward
(numba on 2 threads),
``ctc_loss`` 0.10 s on the same batch); on the shared, overloaded 2-core machine the
numba loops, which make fewer passes over memory, were 2-2.5x faster than torch
(benchmarks/results/transducer_vs_ctc.md has the measurement on a real batch).

Example:
    >>> logits = torch.randn(2, 50, 11, 30, requires_grad=True)
    >>> targets = torch.randint(1, 30, (2, 10), dtype=torch.int32)
    >>> loss = rnnt_loss(logits, targets, torch.tensor([50, 40]), torch.tensor([10, 7]))
    >>> loss.backward()
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch

from aural.errors import ConfigError, MissingDependencyError

__all__ = ["RnntBackend", "numba_available", "rnnt_loss"]

RnntBackend = Literal["auto", "torch", "numba"]
Reduction = Literal["none", "mean", "sum"]

_NEG_INF = -math.inf


def numba_available() -> bool:
    """True when the numba back-end can run (numba importable)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _check(
    logits: torch.Tensor,
    targets: torch.Tensor,
    logit_lengths: torch.Tensor,
    target_lengths: torch.Tensor,
    blank: int,
    reduction: str,
) -> int:
    """Validate shapes and values; returns the blank index in ``[0, vocab)``."""
    if logits.dim() != 4:
        raise ConfigError(
            f"rnnt_loss: logits must be (batch, frames, target_len + 1, vocab), got "
            f"shape {tuple(logits.shape)}"
        )
    b, t, u1, v = logits.shape
    if targets.dim() != 2 or targets.shape[0] != b or targets.shape[1] != u1 - 1:
        raise ConfigError(
            f"rnnt_loss: targets must be (batch, {u1 - 1}) for logits "
            f"{tuple(logits.shape)}, got {tuple(targets.shape)}"
        )
    for name, lengths in (
        ("logit_lengths", logit_lengths),
        ("target_lengths", target_lengths),
    ):
        if lengths.dim() != 1 or lengths.shape[0] != b:
            raise ConfigError(
                f"rnnt_loss: {name} must be ({b},), got {tuple(lengths.shape)}"
            )
        if lengths.dtype.is_floating_point:
            raise ConfigError(f"rnnt_loss: {name} must be integers")
    if targets.dtype.is_floating_point:
        raise ConfigError("rnnt_loss: targets must be integers")
    if reduction not in ("none", "mean", "sum"):
        raise ConfigError(
            f"rnnt_loss: reduction must be none, mean or sum, got {reduction!r}"
        )
    if not -v <= blank < v:
        raise ConfigError(f"rnnt_loss: blank {blank} is outside the vocabulary of {v}")
    if b:
        if int(logit_lengths.min()) < 1 or int(logit_lengths.max()) > t:
            raise ConfigError(
                f"rnnt_loss: logit_lengths must be in [1, {t}], got "
                f"{logit_lengths.tolist()}"
            )
        if int(target_lengths.min()) < 0 or int(target_lengths.max()) > u1 - 1:
            raise ConfigError(
                f"rnnt_loss: target_lengths must be in [0, {u1 - 1}], got "
                f"{target_lengths.tolist()}"
            )
    return blank % v


# ----------------------------------------------------------------------- torch back-end
def _skew_index(t: int, w: int, num_diag: int, device: torch.device) -> torch.Tensor:
    """Flat indices into a ``(t, w)`` grid for the anti-diagonal layout ``(num_diag,
    w)`` (``out[n, u] = x[n - u, u]``), and ``-1`` where ``n - u`` is outside
    ``[0, t)``."""
    n = torch.arange(num_diag, device=device)[:, None]
    u = torch.arange(w, device=device)[None, :]
    rows = n - u
    idx = rows * w + u
    return torch.where((rows >= 0) & (rows < t), idx, -1).reshape(-1)


def _skew(x: torch.Tensor, num_diag: int) -> torch.Tensor:
    """``(B, T, W, ...)`` to anti-diagonal layout ``(B, num_diag, W, ...)``:
    ``out[b, n, u] = x[b, n - u, u]``, ``-inf`` outside the grid."""
    b, t, w = x.shape[:3]
    idx = _skew_index(t, w, num_diag, x.device)
    flat = x.reshape(b, t * w, *x.shape[3:])
    out = flat.index_select(1, idx.clamp(min=0))
    out = out.masked_fill((idx < 0).view(1, -1, *([1] * (x.dim() - 3))), _NEG_INF)
    return out.reshape(b, num_diag, w, *x.shape[3:])


def _unskew(d: torch.Tensor, t: int) -> torch.Tensor:
    """Inverse of :func:`_skew`: ``(B, N, W)`` to ``(B, t, W)``."""
    b, n, w = d.shape
    rows = torch.arange(t, device=d.device)[:, None]
    u = torch.arange(w, device=d.device)[None, :]
    idx = ((rows + u) * w + u).reshape(-1)
    return d.reshape(b, n * w).index_select(1, idx).reshape(b, t, w)


def _lattice(
    blank_lp: torch.Tensor,
    label_lp: torch.Tensor,
    logit_lengths: torch.Tensor,
    target_lengths: torch.Tensor,
) -> tuple[torch.Tensor, ...]:
    """``(alpha, beta, log_p, blank, label)`` on the grid extended by one frame
    (``blank`` and ``label``: the log-probabilities with transitions outside each
    sequence set to ``-inf``, first ``T`` rows).

    ``blank_lp`` ``(B, T, U+1)`` and ``label_lp`` ``(B, T, U)``. Row ``t = T_b`` of each
    sequence is the virtual end: the last blank at ``(T_b - 1, U_b)`` leads to
    ``(T_b, U_b)``, whose ``alpha`` is ``log P``. Transitions outside a sequence's
    lengths are ``-inf``, so padded sequences need no special casing in the recursion.
    Each diagonal step is two additions and one ``logaddexp`` written in place.
    """
    b, t, u1 = blank_lp.shape
    dev = blank_lp.device
    tt = torch.arange(t + 1, device=dev)[None, :, None]
    uu = torch.arange(u1, device=dev)[None, None, :]
    tl = logit_lengths[:, None, None]
    ul = target_lengths[:, None, None]
    both = blank_lp.new_full((b, t + 1, u1, 2), _NEG_INF)
    both[:, :t, :, 0] = blank_lp
    both[:, :t, :-1, 1] = label_lp
    inside = tt < tl
    both[..., 0].masked_fill_(~(inside & (uu <= ul)), _NEG_INF)
    both[..., 1].masked_fill_(~(inside & (uu < ul)), _NEG_INF)
    num_diag = t + u1  # diagonals n = t + u over the (T + 1) x (U + 1) grid
    skewed = _skew(both, num_diag)
    blank_d = skewed[..., 0].contiguous()
    label_d = skewed[..., 1].contiguous()
    # label of (t, u - 1), read at u: shifted right by one, -inf at u = 0
    label_up = torch.nn.functional.pad(label_d[:, :, :-1], (1, 0), value=_NEG_INF)

    # alpha with a guard column of -inf in front: real u at column u + 1
    alpha_p = blank_lp.new_full((b, num_diag, u1 + 1), _NEG_INF)
    alpha_p[:, 0, 1] = 0.0
    for n in range(1, num_diag):
        prev = alpha_p[:, n - 1]
        torch.logaddexp(
            prev[:, 1:] + blank_d[:, n - 1],  # (t - 1, u) --blank--> (t, u)
            prev[:, :-1] + label_up[:, n - 1],  # (t, u - 1) --label--> (t, u)
            out=alpha_p[:, n, 1:],
        )

    # beta(t, u): log-probability of finishing from (t, u), beta(T_b, U_b) = 0; a
    # guard column of -inf at the end
    beta_p = blank_lp.new_full((b, num_diag + 1, u1 + 1), _NEG_INF)
    rows = torch.arange(b, device=dev)
    end_diag = (logit_lengths + target_lengths).tolist()
    ends: dict[int, list[int]] = {}
    for row, n in enumerate(end_diag):
        ends.setdefault(n, []).append(row)
    for n in range(num_diag - 1, -1, -1):
        nxt = beta_p[:, n + 1]
        torch.logaddexp(
            nxt[:, :-1] + blank_d[:, n],  # (t, u) --blank--> (t + 1, u)
            nxt[:, 1:] + label_d[:, n],  # (t, u) --label--> (t, u + 1)
            out=beta_p[:, n, :-1],
        )
        if n in ends:
            r = torch.tensor(ends[n], device=dev)
            beta_p[r, n, target_lengths[r]] = 0.0
    alpha = _unskew(alpha_p[:, :, 1:].contiguous(), t + 1)
    beta = _unskew(beta_p[:, :num_diag, :-1].contiguous(), t + 1)
    log_p = alpha[rows, logit_lengths, target_lengths]
    return alpha, beta, log_p, both[:, :t, :, 0], both[:, :t, :-1, 1]


def _occupancies(
    alpha: torch.Tensor,
    beta: torch.Tensor,
    log_p: torch.Tensor,
    blank_lp: torch.Tensor,
    label_lp: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior probabilities of each blank ``(B, T, U+1)`` and label ``(B, T, U)``
    transition: the negated gradients of ``log P`` with respect to their
    log-probabilities."""
    t = blank_lp.shape[1]
    lp = log_p[:, None, None]
    occ_blank = torch.exp(alpha[:, :t] + blank_lp + beta[:, 1:] - lp)
    occ_label = torch.exp(alpha[:, :t, :-1] + label_lp + beta[:, :t, 1:] - lp)
    return torch.nan_to_num(occ_blank, nan=0.0), torch.nan_to_num(occ_label, nan=0.0)


class _RnntTorch(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        logits: torch.Tensor,
        targets: torch.Tensor,
        logit_lengths: torch.Tensor,
        target_lengths: torch.Tensor,
        blank: int,
        fused_log_softmax: bool,
        clamp: float,
    ) -> torch.Tensor:
        x = logits if logits.dtype == torch.float64 else logits.float()
        log_probs = torch.log_softmax(x, dim=-1) if fused_log_softmax else x
        u = targets.shape[1]
        blank_lp = log_probs[..., blank]
        label_lp = log_probs[:, :, :u].gather(
            3, targets[:, None, :, None].expand(-1, log_probs.shape[1], -1, 1)
        )[..., 0]
        alpha, beta, log_p, blank_m, label_m = _lattice(
            blank_lp, label_lp, logit_lengths, target_lengths
        )
        occ_blank, occ_label = _occupancies(alpha, beta, log_p, blank_m, label_m)
        ctx.save_for_backward(log_probs, targets, occ_blank, occ_label)
        ctx.blank = blank
        ctx.fused = fused_log_softmax
        ctx.logits_dtype = logits.dtype
        ctx.clamp = clamp
        return -log_p

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[Any, ...]:
        log_probs, targets, occ_blank, occ_label = ctx.saved_tensors
        u = targets.shape[1]
        # clamping applies to the per-sequence gradient, before grad_out scales it
        scale = grad_out[:, None, None].to(occ_blank.dtype)
        if ctx.clamp <= 0:
            occ_blank, occ_label = occ_blank * scale, occ_label * scale
        if ctx.fused:  # d(-log P)/d logits = softmax * gamma - transitions taken
            grad = torch.exp(log_probs)
            node = occ_blank + torch.nn.functional.pad(occ_label, (0, 1))
            grad.mul_(node.unsqueeze(-1))
        else:
            grad = torch.zeros_like(log_probs)
        grad[..., ctx.blank] -= occ_blank
        label_grad = grad[:, :, :u]
        label_grad.scatter_add_(
            3,
            targets[:, None, :, None].expand(-1, log_probs.shape[1], -1, 1),
            -occ_label.unsqueeze(-1),
        )
        if ctx.clamp > 0:
            grad = grad.clamp_(-ctx.clamp, ctx.clamp).mul_(scale.unsqueeze(-1))
        return grad.to(ctx.logits_dtype), None, None, None, None, None, None


# ----------------------------------------------------------------------- numba back-end
_NUMBA_KERNEL: Any = None


def _numba_kernel() -> Any:
    """Compile (once per process; cached on disk) the numba lattice kernel."""
    global _NUMBA_KERNEL
    if _NUMBA_KERNEL is not None:
        return _NUMBA_KERNEL
    import numba
    import numpy as np

    @numba.njit(
        parallel=True, cache=True, fastmath={"contract", "arcp", "reassoc", "afn"}
    )  # type: ignore[untyped-decorator]
    def kernel(  # type: ignore[no-untyped-def]
        logits, targets, t_len, u_len, blank, fused, grads
    ):
        b_size, t_max, u1_max, vocab = logits.shape
        costs = np.zeros(b_size, dtype=np.float64)
        # 1. log-softmax denominators, blank and label log-probabilities
        denom = np.zeros((b_size, t_max, u1_max), dtype=logits.dtype)
        blank_lp = np.full((b_size, t_max, u1_max), -np.inf, dtype=logits.dtype)
        label_lp = np.full((b_size, t_max, u1_max), -np.inf, dtype=logits.dtype)
        for flat in numba.prange(b_size * t_max * u1_max):
            b = flat // (t_max * u1_max)
            t = (flat // u1_max) % t_max
            u = flat % u1_max
            if t >= t_len[b] or u > u_len[b]:
                continue
            row = logits[b, t, u]
            d = 0.0
            if fused:
                m = row[0]
                for v in range(1, vocab):
                    if row[v] > m:
                        m = row[v]
                s = 0.0
                for v in range(vocab):
                    s += math.exp(row[v] - m)
                d = m + math.log(s)
            denom[b, t, u] = d
            blank_lp[b, t, u] = row[blank] - d
            if u < u_len[b]:
                label_lp[b, t, u] = row[targets[b, u]] - d
        # 2. alpha / beta per sequence, 3. gradients
        for b in numba.prange(b_size):
            tl, ul = t_len[b], u_len[b]
            alpha = np.full((tl, ul + 1), -np.inf)
            beta = np.full((tl, ul + 1), -np.inf)
            alpha[0, 0] = 0.0
            for t in range(tl):
                for u in range(ul + 1):
                    if t == 0 and u == 0:
                        continue
                    a = -np.inf
                    if t > 0:
                        a = alpha[t - 1, u] + blank_lp[b, t - 1, u]
                    if u > 0:
                        c = alpha[t, u - 1] + label_lp[b, t, u - 1]
                        if c > a:
                            a, c = c, a
                        if c > -np.inf:
                            a = a + math.log1p(math.exp(c - a))
                    alpha[t, u] = a
            beta[tl - 1, ul] = blank_lp[b, tl - 1, ul]
            for t in range(tl - 1, -1, -1):
                for u in range(ul, -1, -1):
                    if t == tl - 1 and u == ul:
                        continue
                    a = -np.inf
                    if t < tl - 1:
                        a = beta[t + 1, u] + blank_lp[b, t, u]
                    if u < ul:
                        c = beta[t, u + 1] + label_lp[b, t, u]
                        if c > a:
                            a, c = c, a
                        if c > -np.inf:
                            a = a + math.log1p(math.exp(c - a))
                    beta[t, u] = a
            log_p = beta[0, 0]
            costs[b] = -log_p
            for t in range(tl):
                for u in range(ul + 1):
                    g_node = math.exp(alpha[t, u] + beta[t, u] - log_p)
                    if t < tl - 1:
                        g_blank = math.exp(
                            alpha[t, u] + blank_lp[b, t, u] + beta[t + 1, u] - log_p
                        )
                    elif u == ul:
                        g_blank = math.exp(alpha[t, u] + blank_lp[b, t, u] - log_p)
                    else:
                        g_blank = 0.0
                    g_label = 0.0
                    if u < ul:
                        g_label = math.exp(
                            alpha[t, u] + label_lp[b, t, u] + beta[t, u + 1] - log_p
                        )
                    row = logits[b, t, u]
                    out = grads[b, t, u]
                    if fused:
                        d = denom[b, t, u]
                        for v in range(vocab):
                            out[v] = math.exp(row[v] - d) * g_node
                    out[blank] -= g_blank
                    if u < ul:
                        out[targets[b, u]] -= g_label
        return costs

    _NUMBA_KERNEL = kernel
    return kernel


class _RnntNumba(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        logits: torch.Tensor,
        targets: torch.Tensor,
        logit_lengths: torch.Tensor,
        target_lengths: torch.Tensor,
        blank: int,
        fused_log_softmax: bool,
        clamp: float,
    ) -> torch.Tensor:
        kernel = _numba_kernel()
        import numba

        # as many threads as torch uses (torch.set_num_threads), at most numba's pool
        numba.set_num_threads(
            max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS))
        )
        x = logits.detach()
        x = (x if x.dtype == torch.float64 else x.float()).contiguous()
        grads = torch.zeros_like(x)
        costs = kernel(
            x.numpy(),
            targets.detach().to(torch.int64).contiguous().numpy(),
            logit_lengths.detach().to(torch.int64).numpy(),
            target_lengths.detach().to(torch.int64).numpy(),
            blank,
            fused_log_softmax,
            grads.numpy(),
        )
        if clamp > 0:
            grads.clamp_(-clamp, clamp)
        ctx.save_for_backward(grads)
        ctx.logits_dtype = logits.dtype
        return torch.from_numpy(costs).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[Any, ...]:
        (grads,) = ctx.saved_tensors
        grad = grads * grad_out[:, None, None, None].to(grads.dtype)
        return grad.to(ctx.logits_dtype), None, None, None, None, None, None


# ----------------------------------------------------------------------- public API
def rnnt_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    logit_lengths: torch.Tensor,
    target_lengths: torch.Tensor,
    blank: int = 0,
    clamp: float = -1.0,
    reduction: Reduction = "mean",
    fused_log_softmax: bool = True,
    *,
    backend: RnntBackend = "auto",
) -> torch.Tensor:
    """The RNN-T loss (negative log-likelihood), as ``torchaudio.functional.rnnt_loss``.

    Args:
        logits: joiner outputs ``(batch, max_frames, max_target_len + 1, vocab)``,
            unnormalised (or log-probabilities with ``fused_log_softmax=False``).
        targets: ``(batch, max_target_len)`` label ids (padding beyond each length is
            ignored; it must still be a valid index).
        logit_lengths: valid frames per sequence ``(batch,)``, each >= 1.
        target_lengths: valid labels per sequence ``(batch,)`` (0 is allowed).
        blank: the blank id (negative values count from the end, as in torchaudio).
        clamp: if > 0, the gradient with respect to the logits is clamped to
            ``[-clamp, clamp]``.
        reduction: ``none`` (one loss per sequence), ``mean`` (over the batch) or
            ``sum``.
        fused_log_softmax: apply ``log_softmax`` to ``logits`` inside the loss
            (False: ``logits`` already are log-probabilities).
        backend: ``torch`` (anti-diagonal recursion, any device), ``numba`` (compiled
            CPU loops; needs numba) or ``auto`` (torch).

    Returns:
        The loss: a scalar, or ``(batch,)`` with ``reduction="none"``.

    Raises:
        ConfigError: inconsistent shapes, lengths, blank or reduction.
    """
    blank = _check(logits, targets, logit_lengths, target_lengths, blank, reduction)
    if backend not in ("auto", "torch", "numba"):
        raise ConfigError(
            f"rnnt_loss: backend must be auto, torch or numba, got {backend!r}"
        )
    use_numba = backend == "numba"
    if use_numba and logits.device.type != "cpu":
        raise ConfigError("rnnt_loss: the numba back-end needs CPU tensors")
    if use_numba and not numba_available():
        raise MissingDependencyError(
            "rnnt_loss(backend='numba') needs numba; install it with "
            "`pip install 'aural[train]'` or use backend='torch'"
        )
    targets = targets.to(torch.int64)
    logit_lengths = logit_lengths.to(logits.device, torch.int64)
    target_lengths = target_lengths.to(logits.device, torch.int64)
    fn = _RnntNumba if use_numba else _RnntTorch
    losses = fn.apply(
        logits, targets, logit_lengths, target_lengths, blank, fused_log_softmax, clamp
    )
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses
