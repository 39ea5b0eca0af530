"""Newton–Schulz matrix inversion as a looped linear-attention transformer.

The iteration (Schulz 1933; used for in-context Newton's method by Giannou et al. 2024, "How Well
Can Transformers Emulate In-context Newton's Method?", AISTATS 2025, arXiv 2403.03183; docs/theory.md
§6) is

    X_{t+1} = X_t (2I − A X_t),       hence   I − A X_{t+1} = I − 2AX_t + (AX_t)² = (I − A X_t)²,

so I − A X_t = (I − A X_0)^{2^t} for any A and X_0 (no commutation is used), and X_t → A⁻¹ as
soon as the spectral radius of I − A X_0 is below 1. Two starting points, both O(1) token-wise
linear maps of the input:

- ``init="identity"``: X_0 = αI, for symmetric positive definite A; I − AX_0 = I − αA has
  spectral norm ρ₀ = max_i |1 − αλ_i| (= (κ−1)/(κ+1) for α = 2/(λ_max + λ_min));
- ``init="transpose"``: X_0 = αAᵀ, for any invertible A; I − αAAᵀ is symmetric with
  ρ₀ = max_i |1 − ασ_i²| (= 1 − 1/κ² for α = 1/σ_max²).

**The layout (derived here; Giannou et al. use a different, two-layer one).** A is m×m; there
are m tokens, token k holding three slots of width m (residual width 3m):

    x-slot: row k of X_t,     a-slot: column k of A,     e-slot: the one-hot e_k.

The input token k is (A[:, k], e_k) ∈ R^{2m}; L₁ copies both and writes the x-slot
α·e_k = row k of αI (``identity``) or α·A[:, k] = row k of αAᵀ (``transpose``). L₂ reads the
x-slot, so the output [B, m, m] is X_t with its rows on the token axis.

**One block = one Newton–Schulz step, exactly.** A single linear-attention head of size 2m, every
token a key, feed-forward 0:

    W_Q z = (x, −e),   W_K z = (a, e),   W_V z = (x, 0),   W_O: −1 on the x-slot.

The score of token j on key k is x_j·a_k − e_j·e_k = Σ_p X_{jp}A_{pk} − δ_{jk} = (XA − I)_{jk},
so the head writes −Σ_k (XA − I)_{jk} X_{k,:} = −(XAX)_{j,:} + X_{j,:} into the x-slot and the
residual connection makes it X_{j,:} + X_{j,:} − (XAX)_{j,:} = (X(2I − AX))_{j,:}. The a- and
e-slots receive nothing (W_O has no rows there), and the zero feed-forward adds exactly 0.
The weights are an exact :class:`~loopbound.constructions.spec.LoopedSpec`
(:func:`newton_schulz_spec`, one head of size 2m), built into the float module as every other
construction is; every step is a standard block of :mod:`loopbound.constructions.blocks` (``MultiHeadAttention`` of kind
``"linear"``, the cubic map Z ↦ (ZW_Q)(ZW_K)ᵀ(ZW_V)W_O); nothing had to be done outside a block.

What the construction does *not* do: it does not choose α from A. α is a weight of L₁, fixed when
the model is built, so one model serves every A whose spectrum it contracts (ρ₀ < 1);
:func:`looped_newton_schulz` picks one α for a whole batch from the batch's extreme eigenvalues
(computed outside the transformer, as a step size is chosen outside the GD construction).
In floating point the iteration is self-correcting: ‖I − AX_t‖ falls as ρ₀^{2^t} down to a
rounding floor of order κ·u (u the unit roundoff), where it stays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

import torch

from loopbound.constructions.blocks import LoopedTransformer
from loopbound.constructions.built import Built
from loopbound.constructions.spec import Affine, BlockSpec, LoopedSpec, WideHead, state_dict, to_module, var
from loopbound.constructions.validation import check_choice, check_int, check_loops, check_positive_real
from loopbound.theory.errors import InputError

__all__ = [
    "NewtonSchulzGuarantee",
    "newton_schulz_spec",
    "newton_schulz_state_dict",
    "build_newton_schulz",
    "newton_schulz_tokens",
    "default_alpha",
    "looped_newton_schulz",
]

Init = Literal["identity", "transpose"]
INITS: tuple[str, ...] = ("identity", "transpose")


@dataclass(frozen=True)
class NewtonSchulzGuarantee:
    """What the Newton–Schulz transformer claims: I − A X_t = (I − A X_0)^{2^t} exactly (in exact
    arithmetic), so ‖I − A X_t‖₂ ≤ ρ₀^{2^t} with ρ₀ = ‖I − A X_0‖₂ (loopbound.theory.bounds.regression).
    Sizes: one linear head of size 2m on the residual width 3m, no feed-forward (``ff_width`` 0; the
    float block stores one zero unit); no stated precision need (``precision_bits`` None: the
    iteration is self-correcting down to a rounding floor of order κ·u)."""

    m: int
    alpha: float
    init: str
    loops: int
    embedding_width: int
    ff_width: int
    heads: int
    head_size: int
    parameter_count: int
    claim: str
    precision_bits: int | None = None


def _check(m: Any, alpha: Any, init: Any) -> tuple[int, float, str]:
    return (
        check_int("matrix size m", m, minimum=1),
        check_positive_real("alpha", alpha),
        check_choice("init", init, INITS),
    )


def newton_schulz_spec(m: int, *, alpha: float, init: Init = "identity", loops: int = 1) -> LoopedSpec:
    """The exact weights (module docstring) over the slots x0 … x{m−1}, a0 … a{m−1}, e0 … e{m−1};
    the input token k is (A[:, k], e_k) = in0 … in{2m−1}, α is taken as the exact value of its float.

    One linear head of size 2m: queries (x, −e), keys (a, e), values (x, 0), value component p
    routed to x_p with −1; no feed-forward unit; L₂ reads the x-slot.
    """
    m, alpha, start = _check(m, alpha, init)
    x, a, e = ([f"{slot}{p}" for p in range(m)] for slot in "xae")
    scale = Fraction(alpha)
    source = range(m, 2 * m) if start == "identity" else range(m)  # row k of X_0: α e_k, or α A[:, k]
    embed = {
        **{a[p]: var(f"in{p}") for p in range(m)},
        **{e[p]: var(f"in{m + p}") for p in range(m)},
        **{x[p]: var(f"in{i}") * scale for p, i in enumerate(source)},
    }
    head = WideHead(
        queries=(*(var(name) for name in x), *(-var(name) for name in e)),  # q_j = (x_j, −e_j)
        keys=(*(var(name) for name in a), *(var(name) for name in e)),  # k_k = (a_k, e_k): score (XA − I)_{jk}
        values=(*(var(name) for name in x), *(Affine() for _ in e)),  # v_k = (x_k, 0)
        out=(*({name: Fraction(-1)} for name in x), *({} for _ in e)),
        label="one Newton–Schulz step",
    )
    block = BlockSpec((*x, *a, *e), heads=(head,), units=(), attention="linear")
    return LoopedSpec(block, d_in=2 * m, embed=embed, readout=tuple(var(name) for name in x), loops=loops)


def newton_schulz_state_dict(
    m: int, *, alpha: float, init: Init = "identity", dtype: torch.dtype = torch.float64
) -> dict[str, torch.Tensor]:
    """The complete state dict, from :func:`newton_schulz_spec`. Slots: x = [0, m), a = [m, 2m), e = [2m, 3m).

    Shapes: ``embed`` [3m, 2m] (+ bias [3m]); ``block.attention.W_Q/W_K/W_V`` [1, 2m, 3m];
    ``W_O`` [1, 3m, 2m]; feed-forward hidden width 1, all zero; ``readout`` [m, 3m] (+ bias [m]).
    """
    return state_dict(newton_schulz_spec(m, alpha=alpha, init=init), dtype)


def build_newton_schulz(
    m: int,
    *,
    alpha: float,
    init: Init = "identity",
    loops: int = 1,
    dtype: torch.dtype = torch.float64,
    device: torch.device | None = None,
) -> Built[LoopedTransformer, NewtonSchulzGuarantee]:
    """The looped transformer of one Newton–Schulz step per loop for m×m matrices, built from
    :func:`newton_schulz_spec` (state dict loaded strictly), with its guarantee."""
    loops = check_loops(loops)
    if dtype not in (torch.float32, torch.float64):
        raise InputError(f"the Newton–Schulz construction computes in float32 or float64, got {dtype}")
    spec = newton_schulz_spec(m, alpha=alpha, init=init, loops=loops)
    model = to_module(spec, dtype=dtype, device=device)
    start = "αI" if init == "identity" else "αAᵀ"
    guarantee = NewtonSchulzGuarantee(
        m=m,
        alpha=float(alpha),
        init=init,
        loops=loops,
        embedding_width=spec.block.width,
        ff_width=len(spec.block.units),
        heads=len(spec.block.heads),
        head_size=spec.block.head_size,
        parameter_count=spec.parameter_count(),
        claim=f"loop t maps X_t to X_t(2I − AX_t) from X_0 = {start}; I − AX_t = (I − AX_0)^(2^t) exactly",
    )
    return Built(model, guarantee)


def newton_schulz_tokens(A: torch.Tensor) -> torch.Tensor:
    """Input tokens [B, m, 2m]: token k = (A[:, k], e_k), i.e. the rows of [Aᵀ | I]."""
    B, m, _ = A.shape
    eye = torch.eye(m, dtype=A.dtype, device=A.device).expand(B, m, m)
    return torch.cat([A.transpose(1, 2), eye], dim=-1)


def _check_matrices(A: Any, dtype: torch.dtype, device: torch.device | None) -> torch.Tensor:
    try:
        A = torch.as_tensor(A)
    except (TypeError, ValueError, RuntimeError):
        raise InputError("A must be a tensor or array of numbers") from None
    A = A.to(dtype=dtype, device=device if device is not None else A.device)
    if A.dim() != 3 or A.shape[1] != A.shape[2] or A.shape[1] < 1 or A.shape[0] < 1:
        raise InputError(f"A must be a batch of square matrices [B, m, m], got {list(A.shape)}")
    if not torch.isfinite(A).all():
        raise InputError("A contains NaN or infinite entries")
    return A


def default_alpha(A: torch.Tensor, init: Init = "identity") -> float:
    """One α for the whole batch that contracts every matrix in it:
    ``identity`` (symmetric positive definite A): α = 2/(max_b λ_max + min_b λ_min);
    ``transpose`` (invertible A): α = 2/(max_b σ_max² + min_b σ_min²).
    Then |1 − αμ| < 1 for every eigenvalue μ (λ or σ²) of every matrix of the batch."""
    A = _check_matrices(A, torch.float64, torch.device("cpu"))
    if init == "identity":
        asymmetry = (A - A.transpose(1, 2)).abs().amax()
        if asymmetry > 1e-12 * max(1.0, float(A.abs().amax())):
            raise InputError("init='identity' needs symmetric positive definite A; use init='transpose' or pass alpha")
        spectrum = torch.linalg.eigvalsh(A)
    elif init == "transpose":
        spectrum = torch.linalg.svdvals(A) ** 2
    else:
        check_choice("init", init, INITS)
    low, high = float(spectrum.amin()), float(spectrum.amax())
    if not low > 1e-300 or not math.isfinite(high):
        what = "positive definite" if init == "identity" else "invertible"
        raise InputError(
            f"A is not {what} (smallest {'eigenvalue' if init == 'identity' else 'squared singular value'} {low:.3g})"
        )
    return 2.0 / (high + low)


def looped_newton_schulz(
    A: Any,
    *,
    loops: int,
    alpha: float | None = None,
    init: Init = "identity",
    trace: bool = False,
    dtype: torch.dtype = torch.float64,
    device: torch.device | None = None,
) -> torch.Tensor:
    """X_loops ≈ A⁻¹ [B, m, m] computed by the looped transformer (``trace=True``:
    [loops + 1, B, m, m], every iterate X_0..X_loops from one pass). ``alpha`` defaults to
    :func:`default_alpha` of the batch. Bad input raises :class:`~loopbound.theory.errors.InputError`."""
    loops = check_loops(loops)
    check_choice("init", init, INITS)
    A = _check_matrices(A, dtype, device)
    if alpha is None:
        alpha = default_alpha(A, init)
    model = build_newton_schulz(A.shape[1], alpha=alpha, init=init, loops=loops, dtype=dtype, device=A.device).model
    tokens = newton_schulz_tokens(A)
    with torch.no_grad():
        if trace:
            iterates: list[torch.Tensor] = []
            readout = model.readout
            model(tokens, loops, capture=lambda t, Z: iterates.append(readout(Z)))
            return torch.stack(iterates)
        return model(tokens, loops)
