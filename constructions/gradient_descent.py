"""In-context linear regression by looped linear attention: one loop is one gradient-descent step.

Source: von Oswald et al. 2023, "Transformers learn in-context by gradient descent" (ICML 2023,
arXiv 2212.07677), Proposition 1; the preconditioned step of Ahn et al. 2023 (NeurIPS 2023,
arXiv 2306.00297); docs/theory.md §6. The weights are set by hand here; nothing is trained.

**Token layout** (code notation, tokens on dim 1; width d + 1): the n in-context examples
e_j = (x_j, y_j), j = 1..n, then m ≥ 1 queries e_q = (x_q, 0). Coordinates 0..d−1 are the
x-slot, coordinate d is the y-slot. ``key_mask`` is True on the n examples only: a query attends
to the examples but is never a key, so queries do not influence each other or the examples.

**Weights** (one block, one linear-attention head of size d + 1, no softmax, feed-forward 0):

    W_Q = [[Aᵀ, 0], [0, 0]],  W_K = [[I_d, 0], [0, 0]],  W_V = [[0, 0], [W_0, −1]],
    W_O = (η/n) · e_y e_yᵀ   (the projection η/n onto the y-slot),  W_0 = 0,

with A = I_d for plain gradient descent (von Oswald et al.'s W_K = W_Q = [[I_d, 0], [0, 0]]) and
A the preconditioner otherwise. L₁ is the identity on (x, y); L₂ reads minus the y-slot.

**Why one loop is exactly one gradient step.** Let L(w) = (1/2n) Σ_k (wᵀx_k − y_k)², so
∇L(w) = (1/n) Σ_k x_k (x_kᵀw − y_k), and let w_0 = 0, w_{t+1} = w_t − ηA∇L(w_t). Claim: after t
loops every y-slot holds the residual of w_t,

    ỹ_j^{(t)} = y_j − w_tᵀx_j   (examples),      ỹ_q^{(t)} = 0 − w_tᵀx_q   (queries),

and the x-slots are unchanged. For t = 0 this is the input (w_0 = 0). Suppose it holds at t. The
score of token i on key k is (W_Q z_i)·(W_K z_k) = (Aᵀx_i)·x_k = x_iᵀ A x_k (no normalisation:
linear attention); the value of key k is W_V z_k = (0, W_0 x_k − ỹ_k) = (0, −ỹ_k^{(t)}); W_O
writes (η/n)·(that) into the y-slot only. So the residual update of token i is

    ỹ_i^{(t+1)} = ỹ_i^{(t)} − (η/n) Σ_{k ≤ n} x_iᵀ A x_k (y_k − w_tᵀx_k)
               = y_i − x_iᵀ [ w_t + ηA (1/n) Σ_k x_k (y_k − x_kᵀw_t) ]
               = y_i − x_iᵀ [ w_t − ηA∇L(w_t) ] = y_i − x_iᵀ w_{t+1},

for examples and (with y_i replaced by 0) for queries alike, and the x-slots receive nothing; the
feed-forward is W_out ReLU(W_in z + b_in) + b_out with every weight 0, which adds exactly 0. Hence
after r loops the query's y-slot is −w_rᵀx_q and the prediction, L₂ = minus the y-slot, is
ŷ_r = w_rᵀx_q: r loops of the same layer are exactly r steps of (preconditioned) gradient descent
from 0 — in exact arithmetic. In floating point each loop rounds once more; the tests check that
r loops agree with r steps of plain gradient descent computed independently in float64 to 1e-10
relative. Nothing requires the step to converge: for η > 2/λ_max the transformer diverges exactly
as gradient descent does.

The weights are an exact :class:`~loopbound.constructions.spec.LoopedSpec` (:func:`gd_spec`), built
into the float module as every other construction is. They depend on n (through η/n), so a model
is built for one prompt length; a batch shares
n, d, η and A. :func:`looped_gd_predict` builds the model and runs it; ``trace=True`` returns the
prediction after every loop from one pass (through ``LoopedTransformer``'s ``capture``).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import torch

from loopbound.constructions.blocks import LoopedTransformer
from loopbound.constructions.built import Built
from loopbound.constructions.spec import Affine, BlockSpec, LoopedSpec, WideHead, state_dict, to_module, var
from loopbound.constructions.validation import check_int, check_loops, check_positive_real
from loopbound.theory.errors import InputError

__all__ = [
    "GDGuarantee",
    "gd_spec",
    "gd_state_dict",
    "build_gd_transformer",
    "gd_tokens",
    "looped_gd_predict",
]


@dataclass(frozen=True)
class GDGuarantee:
    """What the looped-GD transformer claims.

    ``claim``: what one loop computes; the guarantee is exact equality in exact arithmetic
    (error 0 against r steps of gradient descent), so the claimed error bound is 0 and float
    rounding is the only deviation (no precision wall: the weights are O(1) reals, none needs
    more than the dtype's significand, so ``precision_bits`` is None). Sizes: one linear head of
    size d + 1 on the residual width d + 1, no feed-forward (``ff_width`` 0; the float block stores
    one zero unit, counted in ``parameter_count``).
    """

    d: int
    n: int
    eta: float
    preconditioned: bool
    loops: int
    embedding_width: int
    ff_width: int
    heads: int
    head_size: int
    parameter_count: int
    claim: str
    claimed_error: float = 0.0
    precision_bits: int | None = None


def _check_preconditioner(preconditioner: Any, d: int, dtype: torch.dtype) -> torch.Tensor | None:
    if preconditioner is None:
        return None
    A = torch.as_tensor(preconditioner).to(dtype=dtype, device="cpu")
    if A.shape != (d, d):
        raise InputError(f"preconditioner must be [{d}, {d}] (d×d), got {list(A.shape)}")
    if not torch.isfinite(A).all():
        raise InputError("preconditioner contains NaN or infinite entries")
    return A


def gd_spec(
    d: int,
    n: int,
    *,
    eta: float,
    preconditioner: torch.Tensor | None = None,
    loops: int = 1,
    dtype: torch.dtype = torch.float64,
) -> LoopedSpec:
    """The exact weights of the looped-GD transformer (module docstring), over the coordinates
    x0 … x{d−1} (the x-slot) and y (the y-slot); the preconditioner's entries are taken as the
    exact values of their ``dtype`` floats.

    One linear head of size w = d + 1: query rows (Aᵀx, 0), key rows (x, 0), value rows (0, −y),
    value component d routed to y with η/n; no feed-forward unit; L₁ the identity on (x, y) and
    L₂ = −y.
    """
    d = check_int("d", d, minimum=1)
    n = check_int("n", n, minimum=1)
    eta = check_positive_real("eta", eta)
    A = _check_preconditioner(preconditioner, d, dtype)
    xs = [f"x{i}" for i in range(d)]
    zero = Affine()
    # row a of W_Q is row a of Aᵀ: (W_Q z_i)·(W_K z_k) = x_iᵀ A x_k
    queries = [
        var(xs[a]) if A is None else Affine({xs[b]: Fraction(float(A[b, a])) for b in range(d)}) for a in range(d)
    ]
    head = WideHead(
        queries=(*queries, zero),
        keys=(*(var(x) for x in xs), zero),
        values=(*(zero for _ in xs), -var("y")),  # [[0, 0], [W_0, −1]] with W_0 = 0
        out=(*({} for _ in xs), {"y": Fraction(eta) / n}),  # the projection η/n onto the y-slot
        label="one gradient step",
    )
    block = BlockSpec((*xs, "y"), heads=(head,), units=(), attention="linear")
    embed = {**{x: var(f"in{i}") for i, x in enumerate(xs)}, "y": var(f"in{d}")}
    return LoopedSpec(block, d_in=d + 1, embed=embed, readout=(-var("y"),), loops=loops)


def gd_state_dict(
    d: int,
    n: int,
    *,
    eta: float,
    preconditioner: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float64,
) -> dict[str, torch.Tensor]:
    """The complete state dict of the looped-GD transformer, from :func:`gd_spec`.

    Shapes (width w = d + 1, one head of size w, feed-forward hidden width 1 with zero weights):
    ``embed`` [w, w] identity; ``block.attention.W_Q/W_K/W_V`` [1, w, w]; ``W_O`` [1, w, w];
    ``block.feed_forward.W_in`` [1, w], ``b_in`` [1], ``W_out`` [w, 1], ``b_out`` [w] (all 0);
    ``readout`` [1, w] = −e_y. See the module docstring for the matrices and why they work.
    """
    return state_dict(gd_spec(d, n, eta=eta, preconditioner=preconditioner, dtype=dtype), dtype)


def build_gd_transformer(
    d: int,
    n: int,
    *,
    eta: float,
    preconditioner: torch.Tensor | None = None,
    loops: int = 1,
    dtype: torch.dtype = torch.float64,
    device: torch.device | None = None,
) -> Built[LoopedTransformer, GDGuarantee]:
    """The looped transformer whose every loop is one step w ← w − ηA∇L(w) (A = I when no
    preconditioner is given) on the in-context loss of n examples in dimension d, built from
    :func:`gd_spec` (state dict loaded strictly: a missing or misshapen weight raises), with its
    guarantee."""
    loops = check_loops(loops)
    if dtype not in (torch.float32, torch.float64):
        raise InputError(f"the GD construction computes in float32 or float64, got {dtype}")
    spec = gd_spec(d, n, eta=eta, preconditioner=preconditioner, loops=loops, dtype=dtype)
    model = to_module(spec, dtype=dtype, device=device)
    step = "w ← w − ηA∇L(w) (preconditioned)" if preconditioner is not None else "w ← w − η∇L(w)"
    guarantee = GDGuarantee(
        d=d,
        n=n,
        eta=float(eta),
        preconditioned=preconditioner is not None,
        loops=loops,
        embedding_width=spec.block.width,
        ff_width=len(spec.block.units),
        heads=len(spec.block.heads),
        head_size=spec.block.head_size,
        parameter_count=spec.parameter_count(),
        claim=f"each loop is exactly one step {step} from w_0 = 0 on L(w) = (1/2n)Σ(wᵀx_i − y_i)²; "
        "prediction after r loops = w_rᵀx_q (von Oswald et al. 2023, Prop. 1)",
    )
    return Built(model, guarantee)


def _as_float_tensor(name: str, value: Any, dtype: torch.dtype, device: torch.device | None) -> torch.Tensor:
    try:
        tensor = torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError):
        raise InputError(f"{name} must be a tensor or array of numbers") from None
    if not (tensor.is_floating_point() or tensor.dtype in (torch.int32, torch.int64)):
        raise InputError(f"{name} must hold real numbers, got dtype {tensor.dtype}")
    tensor = tensor.to(dtype=dtype, device=device if device is not None else tensor.device)
    if not torch.isfinite(tensor).all():
        raise InputError(f"{name} contains NaN or infinite entries")
    return tensor


def _check_regression_inputs(
    X: Any, y: Any, x_query: Any, dtype: torch.dtype, device: torch.device | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, bool]:
    """Validated float tensors X [B, n, d], y [B, n], queries [B, m, d]; and whether the queries
    came as [B, d] (one query per prompt)."""
    X = _as_float_tensor("X", X, dtype, device)
    if X.dim() != 3 or X.shape[1] < 1 or X.shape[2] < 1 or X.shape[0] < 1:
        raise InputError(f"X must be [B, n, d] with B, n, d >= 1, got {list(X.shape)}")
    B, n, d = X.shape
    y = _as_float_tensor("y", y, dtype, X.device)
    if y.shape != (B, n):
        raise InputError(f"y must be [B, n] = [{B}, {n}] to match X {list(X.shape)}, got {list(y.shape)}")
    x_query = _as_float_tensor("x_query", x_query, dtype, X.device)
    single = x_query.dim() == 2
    queries = x_query[:, None, :] if single else x_query
    if queries.dim() != 3 or queries.shape[0] != B or queries.shape[2] != d or queries.shape[1] < 1:
        raise InputError(
            f"x_query must be [B, d] = [{B}, {d}] or [B, m, d] to match X {list(X.shape)}, got {list(x_query.shape)}"
        )
    return X, y, queries, single


def gd_tokens(X: torch.Tensor, y: torch.Tensor, queries: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokens [B, n + m, d + 1] — examples (x_j, y_j) then queries (x_q, 0) — and the key mask
    [B, n + m], True on the examples. Inputs as validated by :func:`looped_gd_predict`."""
    B, n, _ = X.shape
    m = queries.shape[1]
    examples = torch.cat([X, y[..., None]], dim=-1)
    query_tokens = torch.cat([queries, torch.zeros(B, m, 1, dtype=X.dtype, device=X.device)], dim=-1)
    key_mask = torch.zeros(B, n + m, dtype=torch.bool, device=X.device)
    key_mask[:, :n] = True
    return torch.cat([examples, query_tokens], dim=1), key_mask


def looped_gd_predict(
    X: Any,
    y: Any,
    x_query: Any,
    *,
    loops: int,
    eta: float,
    preconditioner: Any = None,
    trace: bool = False,
    dtype: torch.dtype = torch.float64,
    device: torch.device | None = None,
) -> torch.Tensor:
    """The looped transformer's predictions after ``loops`` loops, computed by the transformer.

    X [B, n, d], y [B, n], x_query [B, d] (or [B, m, d]: m queries per prompt, none of them a
    key); returns [B] (or [B, m]) = ŷ_r = w_rᵀx_q with w_r the r-th iterate of
    w ← w − η·A·∇L(w) from 0 (A = ``preconditioner`` [d, d], default I). ``trace=True`` returns
    [loops + 1, B] (or [loops + 1, B, m]): the prediction after every loop 0..loops, from one pass.
    Computes in ``dtype`` (float64 by default) on ``device`` (default: X's device).
    Bad input (shapes that do not match, η ≤ 0, loops < 0, NaN or inf anywhere) raises
    :class:`~loopbound.theory.errors.InputError` with a one-line message.
    """
    loops = check_loops(loops)
    eta = check_positive_real("eta", eta)
    X, y, queries, single = _check_regression_inputs(X, y, x_query, dtype, device)
    B, n, d = X.shape
    A = _check_preconditioner(preconditioner, d, dtype)
    model = build_gd_transformer(d, n, eta=eta, preconditioner=A, loops=loops, dtype=dtype, device=X.device).model
    tokens, key_mask = gd_tokens(X, y, queries)
    with torch.no_grad():
        if trace:
            per_loop: list[torch.Tensor] = []
            readout = model.readout  # L₂ applied to the queries' state after every loop
            model(tokens, loops, key_mask=key_mask, capture=lambda t, Z: per_loop.append(readout(Z[:, n:])[..., 0]))
            result = torch.stack(per_loop)  # [loops + 1, B, m]
            return result[..., 0] if single else result
        out = model(tokens, loops, key_mask=key_mask)[:, n:, 0]  # [B, m]
    return out[:, 0] if single else out
