"""The fused numba kernels of :func:`aural.training.losses.rnnt_loss` (needs numba).

Imported only when the numba back-end runs. Three compiled passes, each parallel:

1. :func:`rnnt_normalise` over the ``(b, t)`` rows of the logits: the log-softmax
   denominator of every lattice point, its blank and next-label log-probabilities, and
   ``exp(logit - max)`` written straight into the gradient buffer (so the vocabulary
   axis is exponentiated once); rows outside a sequence's lengths are zeroed there.
2. :func:`rnnt_lattice` over the batch: the forward variables ``alpha`` and backward
   variables ``beta`` (float64), the log-likelihood, and the posterior occupancy of
   every node, blank and label transition.
3. :func:`rnnt_gradient` over the ``(b, t)`` rows again: the gradient of ``-log P``
   with respect to the logits in place, warp-transducer's formula
   ``softmax * gamma(t, u) - onehot(blank) * gamma_blank - onehot(y) * gamma_label``,
   clamped and scaled by the reduction's factor.

The vocabulary loops use a Cephes-style ``exp`` in float32 written so that LLVM
vectorises it (numba's ``math.exp`` is a scalar libm call: without Intel's SVML it
never vectorises, and the exponentials were most of the loss's time); float64 logits
use ``math.exp``.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

__all__ = ["rnnt_gradient", "rnnt_lattice", "rnnt_normalise"]

# numba's OpenMP threading layer shares libgomp's thread settings with torch: after one
# of its parallel launches, torch's own OpenMP regions ran with other thread counts and
# training stopped being reproducible (exact resume broke). The workqueue layer keeps
# its own threads. It does not nest, which these kernels never do.
if numba.config.THREADING_LAYER == "default":
    numba.config.THREADING_LAYER = "workqueue"

_FAST = {"contract", "arcp", "nsz", "afn", "reassoc"}


@intrinsic  # type: ignore[untyped-decorator]
def _float32_from_bits(typingctx: Any, bits: Any) -> Any:
    """The float32 whose IEEE bit pattern is the low 32 bits of ``bits``."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        value = args[0]
        if value.type.width > 32:
            value = builder.trunc(value, ir.IntType(32))
        return builder.bitcast(value, ir.FloatType())

    return types.float32(bits), codegen


@intrinsic  # type: ignore[untyped-decorator]
def _float32_bits(typingctx: Any, value: Any) -> Any:
    """The IEEE bit pattern of the float32 ``value``, as an int64."""
    if not isinstance(value, types.Float) or value.bitwidth != 32:
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        bits = builder.bitcast(args[0], ir.IntType(32))
        return builder.zext(bits, ir.IntType(64))

    return types.int64(value), codegen


def _exp(x):  # type: ignore[no-untyped-def]  # pragma: no cover - the overload runs
    return math.exp(x)


def _log(x):  # type: ignore[no-untyped-def]  # pragma: no cover - the overload runs
    return math.log(x)


@overload(_exp, jit_options={"fastmath": _FAST})  # type: ignore[untyped-decorator]
def _exp_overload(x):  # type: ignore[no-untyped-def]
    if isinstance(x, types.Float) and x.bitwidth == 32:

        def exp32(x):  # type: ignore[no-untyped-def]
            # Cephes expf: 2**n * exp(r), r = x - n ln 2 in [-ln2/2, ln2/2]
            below = x < np.float32(-87.0)
            x = max(x, np.float32(-87.0))
            n = np.floor(x * np.float32(1.44269504) + np.float32(0.5))
            r = x - n * np.float32(0.693359375) + n * np.float32(2.12194440e-4)
            z = r * r
            p = np.float32(1.9875691500e-4)
            p = p * r + np.float32(1.3981999507e-3)
            p = p * r + np.float32(8.3334519073e-3)
            p = p * r + np.float32(4.1665795894e-2)
            p = p * r + np.float32(1.6666665459e-1)
            p = p * r + np.float32(5.0000001201e-1)
            y = p * z + r + np.float32(1.0)
            scale = _float32_from_bits((np.int64(n) + 127) << 23)
            return np.float32(0.0) if below else y * scale

        return exp32

    def exp64(x):  # type: ignore[no-untyped-def]
        return math.exp(x)

    return exp64


@overload(_log, jit_options={"fastmath": _FAST})  # type: ignore[untyped-decorator]
def _log_overload(x):  # type: ignore[no-untyped-def]
    if isinstance(x, types.Float) and x.bitwidth == 32:

        def log32(x):  # type: ignore[no-untyped-def]
            # Cephes logf for positive normal x: x = m * 2**e, m in [sqrt(1/2), sqrt 2)
            bits = _float32_bits(x)
            e = np.float32(((bits >> 23) & 0xFF) - 126)
            m = _float32_from_bits((bits & 0x807FFFFF) | 0x3F000000)  # [0.5, 1)
            small = m < np.float32(0.707106781)
            e = e - np.float32(1.0) if small else e
            m = (m + m if small else m) - np.float32(1.0)
            z = m * m
            p = np.float32(7.0376836292e-2)
            p = p * m - np.float32(1.1514610310e-1)
            p = p * m + np.float32(1.1676998740e-1)
            p = p * m - np.float32(1.2420140846e-1)
            p = p * m + np.float32(1.4249322787e-1)
            p = p * m - np.float32(1.6668057665e-1)
            p = p * m + np.float32(2.0000714765e-1)
            p = p * m - np.float32(2.4999993993e-1)
            p = p * m + np.float32(3.3333331174e-1)
            y = p * m * z - e * np.float32(2.12194440e-4) - np.float32(0.5) * z
            return m + y + e * np.float32(0.693359375)

        return log32

    def log64(x):  # type: ignore[no-untyped-def]
        return math.log(x)

    return log64


@numba.njit(parallel=True, cache=True, fastmath=_FAST)  # type: ignore[untyped-decorator]
def rnnt_normalise(  # type: ignore[no-untyped-def]
    logits,
    targets,
    t_len,
    u_len,
    blank,
    fused,
    grads,
    zeroed,
    sums,
    blank_lp,
    label_lp,
):
    """Pass 1: ``blank_lp`` / ``label_lp`` ``(B, T, U+1)``, ``grads`` =
    ``exp(logit - shift)`` on valid points and 0 elsewhere (already 0 when
    ``zeroed``), ``sums`` its sum over the vocabulary (when not ``fused`` the logits
    are log-probabilities and ``grads`` stays 0).

    The shift is the largest logit of the whole ``(b, t)`` slab, so that the
    exponentials run over one contiguous, vectorisable range; a lattice point whose
    own largest logit is so far below it that its sum would lose precision is redone
    with its own maximum (softmax does not depend on the shift).
    """
    b_size, t_max, u1_max, vocab = logits.shape
    flat_in = logits.reshape((b_size, t_max, u1_max * vocab))
    flat_out = grads.reshape((b_size, t_max, u1_max * vocab))
    for flat in numba.prange(b_size * t_max):
        b = flat // t_max
        t = flat % t_max
        out = flat_out[b, t]
        if t >= t_len[b]:
            if not zeroed:
                out[:] = 0.0
            continue
        x = flat_in[b, t]
        ul = u_len[b]
        n = (ul + 1) * vocab
        if not zeroed:
            out[n:] = 0.0
        if not fused:
            for u in range(ul + 1):
                blank_lp[b, t, u] = x[u * vocab + blank]
                if u < ul:
                    label_lp[b, t, u] = x[u * vocab + targets[b, u]]
            continue
        shift = x[0]
        for i in range(1, n):
            shift = max(shift, x[i])
        for i in range(n):
            out[i] = _exp(x[i] - shift)
        total = np.zeros(ul + 1, logits.dtype)
        for v in range(vocab):  # column by column: no dependency chain
            for u in range(ul + 1):
                total[u] += out[u * vocab + v]
        row_shift = np.full(ul + 1, float(shift))
        for u in range(ul + 1):
            if total[u] < 1e-20:  # far below the slab's maximum: use the row's own
                base = u * vocab
                m = x[base]
                for v in range(1, vocab):
                    m = max(m, x[base + v])
                total[u] = 0.0
                for v in range(vocab):
                    out[base + v] = _exp(x[base + v] - m)
                    total[u] += out[base + v]
                row_shift[u] = float(m)
        log_total = np.empty(ul + 1, logits.dtype)
        for u in range(ul + 1):
            log_total[u] = _log(total[u])
        for u in range(ul + 1):
            base = u * vocab
            log_norm = row_shift[u] + float(log_total[u])
            sums[b, t, u] = total[u]
            blank_lp[b, t, u] = float(x[base + blank]) - log_norm
            if u < ul:
                label_lp[b, t, u] = float(x[base + targets[b, u]]) - log_norm


@numba.njit(cache=True, fastmath={"contract", "arcp", "nsz"})  # type: ignore[untyped-decorator]
def _log_add(a: float, b: float) -> float:
    if a < b:
        a, b = b, a
    if b == -np.inf:
        return a
    return a + math.log1p(math.exp(b - a))


@numba.njit(parallel=True, cache=True)  # type: ignore[untyped-decorator]
def rnnt_lattice(blank_lp, label_lp, t_len, u_len, alpha, beta):  # type: ignore[no-untyped-def]
    """Pass 2: the forward and backward variables ``alpha`` / ``beta`` ``(B, T, U+1)``
    (float64) of each sequence's lattice; returns ``log P`` ``(B,)``.

    Each sequence is swept along the anti-diagonals ``t + u = n``: the points of one
    diagonal are independent, so the processor overlaps their ``exp`` / ``log1p``
    instead of waiting on a chain along ``u`` (twice as fast as row by row here).
    """
    b_size = blank_lp.shape[0]
    log_p = np.zeros(b_size)
    for b in numba.prange(b_size):
        tl, ul = t_len[b], u_len[b]
        a, be, bl, lb = alpha[b], beta[b], blank_lp[b], label_lp[b]
        a[0, 0] = 0.0
        for n in range(1, tl + ul):
            for u in range(max(0, n - tl + 1), min(n, ul) + 1):
                t = n - u
                if t == 0:
                    a[t, u] = a[t, u - 1] + lb[t, u - 1]
                elif u == 0:
                    a[t, u] = a[t - 1, u] + bl[t - 1, u]
                else:
                    a[t, u] = _log_add(
                        a[t - 1, u] + bl[t - 1, u], a[t, u - 1] + lb[t, u - 1]
                    )
        be[tl - 1, ul] = bl[tl - 1, ul]
        for n in range(tl + ul - 2, -1, -1):
            for u in range(max(0, n - tl + 1), min(n, ul) + 1):
                t = n - u
                if t == tl - 1:
                    be[t, u] = be[t, u + 1] + lb[t, u]
                elif u == ul:
                    be[t, u] = be[t + 1, u] + bl[t, u]
                else:
                    be[t, u] = _log_add(
                        be[t + 1, u] + bl[t, u], be[t, u + 1] + lb[t, u]
                    )
        log_p[b] = be[0, 0]
    return log_p


@numba.njit(parallel=True, cache=True, fastmath=_FAST)  # type: ignore[untyped-decorator]
def rnnt_gradient(  # type: ignore[no-untyped-def]
    targets,
    t_len,
    u_len,
    blank,
    fused,
    clamp,
    scale,
    log_p,
    grads,
    sums,
    alpha,
    beta,
    blank_lp,
    label_lp,
):
    """Pass 3: ``grads`` (holding ``exp(logit - shift)`` from pass 1) becomes the
    gradient of ``-log P`` per sequence, clamped to ``[-clamp, clamp]`` when
    ``clamp > 0``, times ``scale[b]``. The occupancies of each lattice point and of
    its blank and label transitions are ``exp(alpha + (transition) + beta - log P)``,
    exponentiated in the logits' precision."""
    b_size, t_max, u1_max, vocab = grads.shape
    flat_out = grads.reshape((b_size, t_max, u1_max * vocab))
    for flat in numba.prange(b_size * t_max):
        b = flat // t_max
        t = flat % t_max
        tl, ul = t_len[b], u_len[b]
        if t >= tl:
            continue
        ll = log_p[b]
        node = np.empty(ul + 1, grads.dtype)
        occ_blank = np.empty(ul + 1, grads.dtype)
        occ_label = np.empty(ul + 1, grads.dtype)
        for u in range(ul + 1):
            a = alpha[b, t, u] - ll
            node[u] = a + beta[b, t, u]
            if t < tl - 1:
                occ_blank[u] = a + blank_lp[b, t, u] + beta[b, t + 1, u]
            elif u == ul:
                occ_blank[u] = a + blank_lp[b, t, u]
            else:
                occ_blank[u] = -np.inf
            if u < ul:
                occ_label[u] = a + label_lp[b, t, u] + beta[b, t, u + 1]
            else:
                occ_label[u] = -np.inf
        for u in range(ul + 1):
            node[u] = _exp(node[u])
            occ_blank[u] = _exp(occ_blank[u])
            occ_label[u] = _exp(occ_label[u])
        g = flat_out[b, t]
        k = scale[b]
        for u in range(ul + 1):
            base = u * vocab
            if fused:  # softmax * node = exp(logit - shift) / sum * node
                f = node[u] / g.dtype.type(sums[b, t, u])
                for v in range(vocab):
                    g[base + v] *= f
            g[base + blank] -= occ_blank[u]
            if u < ul:
                g[base + targets[b, u]] -= occ_label[u]
            if clamp > 0:
                for v in range(vocab):
                    g[base + v] = min(max(g[base + v], -clamp), clamp)
            if k != 1.0:
                for v in range(vocab):
                    g[base + v] *= k
