"""aural.training.losses.rnnt_loss against a plain dynamic programme on the lattice."""

from __future__ import annotations

import pytest
import torch

from aural.errors import ConfigError
from aural.training.losses import numba_available, rnnt_loss

BACKENDS = ["torch"] + (["numba"] if numba_available() else [])


def reference_nll(
    logits: torch.Tensor,
    targets: torch.Tensor,
    logit_lengths: torch.Tensor,
    target_lengths: torch.Tensor,
    blank: int,
) -> torch.Tensor:
    """Graves' forward recursion, one lattice point at a time, in float64 (autograd
    gives its gradients)."""
    out = []
    for b in range(logits.shape[0]):
        lp = torch.log_softmax(logits[b].double(), dim=-1)
        t_len, u_len = int(logit_lengths[b]), int(target_lengths[b])
        alpha: dict[tuple[int, int], torch.Tensor] = {}
        for t in range(t_len):
            for u in range(u_len + 1):
                if t == 0 and u == 0:
                    alpha[t, u] = lp.new_zeros(())
                    continue
                terms = []
                if t > 0:
                    terms.append(alpha[t - 1, u] + lp[t - 1, u, blank])
                if u > 0:
                    terms.append(alpha[t, u - 1] + lp[t, u - 1, int(targets[b, u - 1])])
                alpha[t, u] = torch.logsumexp(torch.stack(terms), 0)
        out.append(-(alpha[t_len - 1, u_len] + lp[t_len - 1, u_len, blank]))
    return torch.stack(out)


def _batch(
    seed: int, b: int, t: int, u: int, v: int, dtype: torch.dtype = torch.float32
) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(b, t, u + 1, v, generator=gen, dtype=dtype) * 2
    targets = torch.randint(1, v, (b, u), generator=gen, dtype=torch.int32)
    return logits.requires_grad_(), targets


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("blank", [0, 3, -1])
def test_values_and_gradients_match_the_reference(
    backend: str, blank: int, dtype: torch.dtype
) -> None:
    logits, targets = _batch(1, 4, 7, 5, 6, dtype)
    # padded batch: shorter sequences, an empty target among them
    t_len = torch.tensor([7, 5, 3, 6], dtype=torch.int32)
    u_len = torch.tensor([5, 2, 0, 4], dtype=torch.int32)
    v = logits.shape[-1]
    targets = torch.where(targets == blank % v, (blank + 1) % v, targets)
    ref = reference_nll(logits, targets, t_len, u_len, blank % v)
    (ref_grad,) = torch.autograd.grad(ref.sum(), logits)
    got = rnnt_loss(
        logits, targets, t_len, u_len, blank=blank, reduction="none", backend=backend
    )
    (grad,) = torch.autograd.grad(got.sum(), logits)
    assert got.dtype == grad.dtype == dtype
    tol = {"rtol": 1e-5, "atol": 1e-4} if dtype == torch.float32 else {}
    torch.testing.assert_close(got.double(), ref, **tol)
    tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == torch.float32 else {}
    torch.testing.assert_close(grad.double(), ref_grad.double(), **tol)
    # gradients of padded frames / labels are exactly zero
    assert float(grad[1, 5:].abs().sum()) == 0.0
    assert float(grad[2, :, 1:].abs().sum()) == 0.0


@pytest.mark.slow  # numba compiles its float64 kernel here
@pytest.mark.parametrize("backend", BACKENDS)
def test_gradcheck_float64(backend: str) -> None:
    logits, targets = _batch(2, 2, 4, 3, 5, torch.float64)
    t_len, u_len = torch.tensor([4, 3]), torch.tensor([3, 1])

    def fn(x: torch.Tensor) -> torch.Tensor:
        return rnnt_loss(x, targets, t_len, u_len, reduction="sum", backend=backend)

    assert torch.autograd.gradcheck(fn, (logits,), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_padding_does_not_change_a_sequence_loss(backend: str) -> None:
    logits, targets = _batch(3, 3, 9, 6, 7)
    t_len, u_len = torch.tensor([9, 4, 6]), torch.tensor([6, 3, 0])
    batched = rnnt_loss(
        logits, targets, t_len, u_len, reduction="none", backend=backend
    )
    for b in range(3):
        t, u = int(t_len[b]), int(u_len[b])
        alone = rnnt_loss(
            logits[b : b + 1, :t, : u + 1],
            targets[b : b + 1, :u],
            t_len[b : b + 1],
            u_len[b : b + 1],
            reduction="none",
            backend=backend,
        )
        torch.testing.assert_close(batched[b], alone[0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_targets_is_the_blank_path(backend: str) -> None:
    logits, _ = _batch(4, 2, 5, 0, 4)
    targets = torch.zeros(2, 0, dtype=torch.int32)
    loss = rnnt_loss(
        logits,
        targets,
        torch.tensor([5, 2]),
        torch.tensor([0, 0]),
        reduction="none",
        backend=backend,
    )
    lp = torch.log_softmax(logits, -1)[..., 0, 0]
    torch.testing.assert_close(loss, torch.stack([-lp[0].sum(), -lp[1, :2].sum()]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_reductions_and_log_prob_input(backend: str) -> None:
    logits, targets = _batch(5, 3, 6, 4, 5)
    t_len, u_len = torch.tensor([6, 6, 2]), torch.tensor([4, 1, 2])
    none = rnnt_loss(logits, targets, t_len, u_len, reduction="none", backend=backend)
    total = rnnt_loss(logits, targets, t_len, u_len, reduction="sum", backend=backend)
    mean = rnnt_loss(logits, targets, t_len, u_len, backend=backend)
    torch.testing.assert_close(total, none.sum())
    torch.testing.assert_close(mean, none.mean())
    log_probs = torch.log_softmax(logits.detach(), -1).requires_grad_()
    unfused = rnnt_loss(
        log_probs,
        targets,
        t_len,
        u_len,
        reduction="none",
        fused_log_softmax=False,
        backend=backend,
    )
    torch.testing.assert_close(unfused, none)
    (g_unfused,) = torch.autograd.grad(unfused.sum(), log_probs)
    ref = reference_nll(
        log_probs, targets, t_len, u_len, 0
    )  # log_softmax is idempotent
    (g_ref,) = torch.autograd.grad(ref.sum(), log_probs)
    # the unfused gradient is w.r.t. log-probabilities: it is the reference's before
    # the softmax Jacobian, so compare the implied logits gradient
    implied = g_unfused - torch.exp(log_probs) * g_unfused.sum(-1, keepdim=True)
    torch.testing.assert_close(implied.double(), g_ref.double(), rtol=1e-4, atol=1e-5)


def test_backends_agree_on_a_larger_batch() -> None:
    if not numba_available():
        pytest.skip("numba is not installed")
    logits, targets = _batch(6, 5, 40, 15, 29)
    t_len = torch.tensor([40, 33, 20, 40, 17])
    u_len = torch.tensor([15, 10, 15, 0, 7])
    a = rnnt_loss(logits, targets, t_len, u_len, reduction="none", backend="torch")
    (ga,) = torch.autograd.grad(a.sum(), logits)
    b = rnnt_loss(logits, targets, t_len, u_len, reduction="none", backend="numba")
    (gb,) = torch.autograd.grad(b.sum(), logits)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-3)
    torch.testing.assert_close(ga, gb, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_clamp_bounds_the_gradient(backend: str) -> None:
    logits, targets = _batch(7, 2, 6, 3, 5)
    loss = rnnt_loss(
        logits * 10,
        targets,
        torch.tensor([6, 6]),
        torch.tensor([3, 3]),
        clamp=0.05,
        backend=backend,
    )
    (g,) = torch.autograd.grad(loss, logits)
    assert float(g.abs().max()) <= 0.05 * 10 / 2 + 1e-6  # chain rule: x10, mean over 2
    unclamped = rnnt_loss(
        logits * 10,
        targets,
        torch.tensor([6, 6]),
        torch.tensor([3, 3]),
        backend=backend,
    )
    (g_free,) = torch.autograd.grad(unclamped, logits)
    assert float(g_free.abs().max()) > 0.05 * 10 / 2  # the clamp did something


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_upstream_gradient_scales_each_sequence(backend: str, reduction: str) -> None:
    """The gradient reaching the logits is the per-sequence gradient times what flows
    back into the loss (weights, a mean's 1/B), as for the reference."""
    logits, targets = _batch(9, 3, 6, 4, 5)
    t_len, u_len = torch.tensor([6, 5, 3]), torch.tensor([4, 2, 1])
    weights = torch.tensor([0.5, -2.0, 3.0], dtype=torch.float64)
    ref = reference_nll(logits, targets, t_len, u_len, 0)
    ref_out = {"none": ref, "mean": ref.mean(), "sum": ref.sum()}[reduction]
    got = rnnt_loss(logits, targets, t_len, u_len, reduction=reduction, backend=backend)
    w = weights if reduction == "none" else weights[1]
    (g_ref,) = torch.autograd.grad((ref_out * w).sum(), logits)
    (g,) = torch.autograd.grad((got * w.float()).sum(), logits)
    torch.testing.assert_close(g.double(), g_ref.double(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_second_backward_pass_gives_the_same_gradient(backend: str) -> None:
    logits, targets = _batch(10, 2, 5, 3, 6)
    t_len, u_len = torch.tensor([5, 4]), torch.tensor([3, 2])
    loss = rnnt_loss(logits, targets, t_len, u_len, backend=backend)
    (g1,) = torch.autograd.grad(loss, logits, retain_graph=True)
    (g2,) = torch.autograd.grad(loss, logits)
    torch.testing.assert_close(g1, g2, rtol=0, atol=0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_points_far_below_the_frame_maximum_stay_exact(backend: str) -> None:
    """The numba pass shifts a frame's exponentials by the frame's largest logit; a
    lattice point 300 nats below it (whose exponentials would underflow) is
    normalised with its own maximum instead."""
    logits, targets = _batch(11, 2, 6, 4, 7)
    with torch.no_grad():
        logits[0, :, 2] -= 300.0
        logits[1, 3, 0] += 300.0
    t_len, u_len = torch.tensor([6, 6]), torch.tensor([4, 3])
    ref = reference_nll(logits, targets, t_len, u_len, 0)
    (g_ref,) = torch.autograd.grad(ref.sum(), logits)
    got = rnnt_loss(logits, targets, t_len, u_len, reduction="none", backend=backend)
    (g,) = torch.autograd.grad(got.sum(), logits)
    assert bool(torch.isfinite(got).all())
    torch.testing.assert_close(got.double(), ref, rtol=1e-5, atol=1e-3)
    torch.testing.assert_close(g.double(), g_ref.double(), rtol=1e-4, atol=1e-5)


def test_auto_backend_is_numba_on_a_cpu_when_installed() -> None:
    logits, targets = _batch(12, 1, 3, 2, 4)
    loss = rnnt_loss(logits, targets, torch.tensor([3]), torch.tensor([2]))
    expected = "Numba" if numba_available() else "Torch"
    assert expected in type(loss.grad_fn).__name__ or expected in str(
        loss.grad_fn.next_functions if loss.grad_fn is not None else ""
    )


def test_bad_arguments_are_config_errors() -> None:
    logits, targets = _batch(8, 2, 4, 3, 5)
    t_len, u_len = torch.tensor([4, 4]), torch.tensor([3, 3])
    with pytest.raises(ConfigError, match="logits must be"):
        rnnt_loss(logits[0], targets, t_len, u_len)
    with pytest.raises(ConfigError, match="targets must be"):
        rnnt_loss(logits, targets[:, :2], t_len, u_len)
    with pytest.raises(ConfigError, match="logit_lengths must be in"):
        rnnt_loss(logits, targets, torch.tensor([5, 4]), u_len)
    with pytest.raises(ConfigError, match="target_lengths must be in"):
        rnnt_loss(logits, targets, t_len, torch.tensor([4, 1]))
    with pytest.raises(ConfigError, match="reduction"):
        rnnt_loss(logits, targets, t_len, u_len, reduction="avg")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="blank"):
        rnnt_loss(logits, targets, t_len, u_len, blank=5)
    with pytest.raises(ConfigError, match="backend"):
        rnnt_loss(logits, targets, t_len, u_len, backend="cuda")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="lengths must be integers"):
        rnnt_loss(logits, targets, t_len.float(), u_len)
