"""In-context linear regression by looped linear attention: the bounds, as :class:`Bound` objects.

Setting (docs/theory.md §6, §7): examples (x_i, y_i), i = 1..n, in dimension d; H = XᵀX/n;
w_LS the (minimum-norm) least-squares solution; looped linear attention = gradient descent from
w_0 = 0 with step η (loopbound.constructions.gradient_descent). Every constant below is derived here, in the
``derivation`` of its bound; the sources are named in each provenance.

- :data:`GD_PREDICTION_ERROR` |ŷ_r − ŷ_LS| ≤ ‖x_q‖ ρ^r ‖w_LS‖, ρ = max_{λ_i > 0} |1 − ηλ_i(H)|;
- :data:`RHO_MAX_STEP`, :data:`RHO_OPTIMAL_STEP`: ρ for η = 1/λ_max and η = 2/(λ_max + λ_min);
- :data:`GD_LOOPS_TO_EPSILON` and its κ-forms :data:`GD_LOOPS_KAPPA_MAX_STEP`,
  :data:`GD_LOOPS_KAPPA_OPTIMAL_STEP`: loops after which the normalised bound is ≤ ε;
- :data:`ONE_STEP_ERROR`, :data:`ONE_STEP_OPTIMAL_ETA`, :data:`ONE_STEP_OPTIMUM`,
  :data:`AVERAGING_ERROR`, :data:`LEAST_SQUARES_ERROR`: the reference curves for isotropic data
  (error/d against the number k = n of in-context examples; Garg et al. 2022, Ahn et al. 2023);
- :data:`NS_RESIDUAL`, :data:`NS_LOOPS_TO_EPSILON`, :data:`NS_LOOPS_KAPPA_TRANSPOSE`,
  :data:`NS_LOOPS_KAPPA_SPD`: Newton–Schulz inversion (Giannou et al. 2024).
"""

from __future__ import annotations

import sympy

from loopbound.theory.bounds.core import Bound, Provenance

__all__ = [
    "GD_PREDICTION_ERROR",
    "RHO_MAX_STEP",
    "RHO_OPTIMAL_STEP",
    "GD_LOOPS_TO_EPSILON",
    "GD_LOOPS_KAPPA_MAX_STEP",
    "GD_LOOPS_KAPPA_OPTIMAL_STEP",
    "ONE_STEP_ERROR",
    "ONE_STEP_OPTIMAL_ETA",
    "ONE_STEP_OPTIMUM",
    "AVERAGING_ERROR",
    "LEAST_SQUARES_ERROR",
    "NS_RESIDUAL",
    "NS_LOOPS_TO_EPSILON",
    "NS_LOOPS_KAPPA_TRANSPOSE",
    "NS_LOOPS_KAPPA_SPD",
    "REFERENCE_CURVES",
]

x_norm, w_norm = sympy.symbols("x_norm w_norm", nonnegative=True)
rho, rho0 = sympy.symbols("rho rho0", nonnegative=True)
r, t = sympy.symbols("r t", integer=True, nonnegative=True)
kappa = sympy.Symbol("kappa", positive=True)
epsilon = sympy.Symbol("epsilon", positive=True)
eta = sympy.Symbol("eta", positive=True)
n, d = sympy.symbols("n d", positive=True, integer=True)

_VON_OSWALD = "von Oswald et al. 2023, Transformers learn in-context by gradient descent (ICML)"
_AHN = "Ahn, Cheng, Daneshmand & Sra 2023, Transformers learn to implement preconditioned gradient descent (NeurIPS)"
_GARG = "Garg, Tsipras, Liang & Valiant 2022, What can transformers learn in-context? (NeurIPS)"
_GIANNOU = "Giannou, Yang, Wang, Papailiopoulos & Lee 2024, How well can transformers emulate in-context Newton's method? (AISTATS 2025)"

GD_PREDICTION_ERROR = Bound(
    name="looped GD prediction error",
    expression=x_norm * rho**r * w_norm,
    symbols=(x_norm, rho, r, w_norm),
    provenance=Provenance(
        source=_VON_OSWALD,
        statement="r loops of the GD layer are r gradient steps (Prop. 1); per-instance error of the r-th iterate",
        arxiv="2212.07677",
        status="derived here",
    ),
    derivation=(
        "w_{t+1} − w_LS = (I − ηH)(w_t − w_LS) since ∇L(w) = H w − Xᵀy/n = H(w − w_LS) (normal "
        "equations HW_LS = Xᵀy/n), so w_r − w_LS = −(I − ηH)^r w_LS from w_0 = 0. For rank-deficient "
        "H take w_LS the minimum-norm solution: w_LS and every iterate lie in range(H), on which "
        "‖(I − ηH)^r‖₂ = ρ^r with ρ = max over the nonzero eigenvalues λ_i of |1 − ηλ_i|. Then "
        "|ŷ_r − ŷ_LS| = |x_qᵀ(w_r − w_LS)| ≤ ‖x_q‖ ρ^r ‖w_LS‖ (Cauchy–Schwarz). Equality is attained "
        "when x_q and w_LS lie on the eigenvector of the extreme eigenvalue."
    ),
)

RHO_MAX_STEP = Bound(
    name="contraction factor, eta = 1/lambda_max",
    expression=1 - 1 / kappa,
    symbols=(kappa,),
    provenance=Provenance(
        source="standard gradient-descent analysis", statement="ρ for η = 1/λ_max", status="derived here"
    ),
    derivation="|1 − λ_i/λ_max| ∈ [0, 1 − λ_min/λ_max] with κ = λ_max/λ_min (nonzero eigenvalues).",
)

RHO_OPTIMAL_STEP = Bound(
    name="contraction factor, eta = 2/(lambda_max + lambda_min)",
    expression=(kappa - 1) / (kappa + 1),
    symbols=(kappa,),
    provenance=Provenance(
        source="standard gradient-descent analysis",
        statement="ρ for η = 2/(λ_max + λ_min), the minimiser of max_i |1 − ηλ_i|",
        status="derived here",
    ),
    derivation="1 − ηλ_min = (λ_max − λ_min)/(λ_max + λ_min) = −(1 − ηλ_max); both ends equal (κ−1)/(κ+1) in modulus, interior eigenvalues less.",
)

GD_LOOPS_TO_EPSILON = Bound(
    name="loops for the normalised GD bound to reach epsilon",
    expression=sympy.ceiling(sympy.log(1 / epsilon) / sympy.log(1 / rho)),
    symbols=(rho, epsilon),
    provenance=Provenance(
        source=_VON_OSWALD, statement="loops after which ρ^r ≤ ε", arxiv="2212.07677", status="derived here"
    ),
    derivation=(
        "ρ^r ≤ ε ⇔ r ≥ ln(1/ε)/ln(1/ρ) for 0 < ρ < 1, 0 < ε < 1; after this many loops "
        "|ŷ_r − ŷ_LS| ≤ ε‖x_q‖‖w_LS‖, and ρ^r is non-increasing so it stays below."
    ),
)

GD_LOOPS_KAPPA_MAX_STEP = Bound(
    name="loops to epsilon as kappa*log(1/epsilon), eta = 1/lambda_max",
    expression=sympy.ceiling(kappa * sympy.log(1 / epsilon)),
    symbols=(kappa, epsilon),
    provenance=Provenance(
        source="Chen et al. 2024, looped linear transformers for in-context regression",
        statement="loops to reach ε grow like κ log(1/ε)",
        arxiv="2410.11268",
        status="derived here",
    ),
    derivation="ln(1/ρ) = −ln(1 − 1/κ) ≥ 1/κ, so ln(1/ε)/ln(1/ρ) ≤ κ ln(1/ε): an upper bound on GD_LOOPS_TO_EPSILON.",
)

GD_LOOPS_KAPPA_OPTIMAL_STEP = Bound(
    name="loops to epsilon as (kappa/2)*log(1/epsilon), eta = 2/(lambda_max + lambda_min)",
    expression=sympy.ceiling(kappa / 2 * sympy.log(1 / epsilon)),
    symbols=(kappa, epsilon),
    provenance=Provenance(
        source="Chen et al. 2024, looped linear transformers for in-context regression",
        statement="loops to reach ε grow like κ log(1/ε)",
        arxiv="2410.11268",
        status="derived here",
    ),
    derivation="ln(1/ρ) = ln((1 + 1/κ)/(1 − 1/κ)) = 2 artanh(1/κ) ≥ 2/κ, so ln(1/ε)/ln(1/ρ) ≤ (κ/2) ln(1/ε).",
)

_ISOTROPIC = "x_i, x_q ~ N(0, I_d), w ~ N(0, I_d), y = Xw (no noise), k = n examples; error/d means E[(ŷ − x_qᵀw)²]/d. "

ONE_STEP_ERROR = Bound(
    name="one-step GD error/d at step eta (isotropic)",
    expression=1 - 2 * eta + eta**2 * (n + d + 1) / n,
    symbols=(eta, n, d),
    provenance=Provenance(
        source=_AHN,
        statement="single-layer linear attention = one preconditioned GD step",
        arxiv="2306.00297",
        status="derived here",
    ),
    derivation=_ISOTROPIC
    + (
        "One step from 0: ŵ = ηXᵀy/n = ηHw, so ŷ − x_qᵀw = x_qᵀ(ηH − I)w and, integrating x_q and w, "
        "E = E tr((I − ηH)²) = d − 2η E tr H + η² E tr H². E tr H = d; W = XᵀX is Wishart(n, I_d) "
        "with E tr W² = n d (n + d + 1), so E tr H² = d(n + d + 1)/n."
    ),
)

ONE_STEP_OPTIMAL_ETA = Bound(
    name="optimal one-step GD step size (isotropic)",
    expression=n / (n + d + 1),
    symbols=(n, d),
    provenance=Provenance(
        source=_AHN,
        statement="the optimal single-layer preconditioner for isotropic data",
        arxiv="2306.00297",
        status="derived here",
    ),
    derivation="minimise 1 − 2η + η²(n + d + 1)/n over η: the derivative vanishes at η* = n/(n + d + 1).",
)

ONE_STEP_OPTIMUM = Bound(
    name="best one-step GD error/d (isotropic)",
    expression=(d + 1) / (n + d + 1),
    symbols=(n, d),
    provenance=Provenance(
        source=_AHN + "; curve as in " + _GARG,
        statement="one optimally preconditioned step: error/d = (d+1)/(n+d+1)",
        arxiv="2306.00297",
        status="derived here",
    ),
    derivation="ONE_STEP_ERROR at η* = n/(n + d + 1): 1 − η* = (d + 1)/(n + d + 1).",
)

AVERAGING_ERROR = Bound(
    name="averaging estimator error/d (isotropic)",
    expression=(d + 1) / n,
    symbols=(n, d),
    provenance=Provenance(
        source=_GARG,
        statement="reference curve: averaging ŵ = (1/k)Σ y_i x_i",
        arxiv="2208.01066",
        status="derived here",
    ),
    derivation="ONE_STEP_ERROR at η = 1 (ŵ = Xᵀy/n): 1 − 2 + (n + d + 1)/n = (d + 1)/n.",
)

LEAST_SQUARES_ERROR = Bound(
    name="minimum-norm least-squares error/d (isotropic, noiseless)",
    expression=sympy.Piecewise((1 - n / d, n < d), (0, True)),
    symbols=(n, d),
    provenance=Provenance(
        source=_GARG,
        statement="reference curve: least squares, 1 − k/d for k < d and 0 after",
        arxiv="2208.01066",
        status="derived here",
    ),
    derivation=(
        "ŵ = X⁺y = Pw with P the projection onto the row space of X (rank min(n, d) a.s.); "
        "E‖(I − P)w‖² = d − min(n, d) for w ~ N(0, I_d), so error/d = max(0, 1 − n/d)."
    ),
)

NS_RESIDUAL = Bound(
    name="Newton-Schulz residual ||I - A X_t||_2",
    expression=rho0 ** (2**t),
    symbols=(rho0, t),
    provenance=Provenance(
        source=_GIANNOU,
        statement="Newton's iteration for the inverse, one step per loop",
        arxiv="2403.03183",
        status="derived here",
    ),
    derivation="I − AX_{t+1} = (I − AX_t)², so I − AX_t = (I − AX_0)^{2^t} and ‖·‖₂ ≤ ‖I − AX_0‖₂^{2^t} = ρ₀^{2^t} (submultiplicativity; equality when I − AX_0 is symmetric).",
)

NS_LOOPS_TO_EPSILON = Bound(
    name="Newton-Schulz loops for the residual bound to reach epsilon",
    expression=sympy.ceiling(sympy.log(sympy.log(1 / epsilon) / sympy.log(1 / rho0), 2)),
    symbols=(rho0, epsilon),
    provenance=Provenance(
        source=_GIANNOU, statement="loops after which ρ₀^{2^t} ≤ ε", arxiv="2403.03183", status="derived here"
    ),
    derivation="ρ₀^{2^t} ≤ ε ⇔ 2^t ≥ ln(1/ε)/ln(1/ρ₀) ⇔ t ≥ log₂(ln(1/ε)/ln(1/ρ₀)) (0 < ρ₀ < 1, 0 < ε < ρ₀).",
)

NS_LOOPS_KAPPA_TRANSPOSE = Bound(
    name="Newton-Schulz loops, X_0 = A^T/sigma_max^2: 2 log2(kappa) + log2 ln(1/epsilon)",
    expression=sympy.ceiling(2 * sympy.log(kappa, 2) + sympy.log(sympy.log(1 / epsilon), 2)),
    symbols=(kappa, epsilon),
    provenance=Provenance(
        source=_GIANNOU, statement="about 2 log₂κ + log₂ ln(1/ε) loops", arxiv="2403.03183", status="derived here"
    ),
    derivation=(
        "X_0 = Aᵀ/σ_max²: I − AX_0 = I − AAᵀ/σ_max² has ρ₀ = 1 − 1/κ² (κ = σ_max/σ_min); "
        "ln(1/ρ₀) ≥ 1/κ², so NS_LOOPS_TO_EPSILON ≤ ⌈log₂(κ² ln(1/ε))⌉. With α = 2/(σ_max² + σ_min²) "
        "ρ₀ = (κ² − 1)/(κ² + 1) and one loop fewer suffices."
    ),
)

NS_LOOPS_KAPPA_SPD = Bound(
    name="Newton-Schulz loops, A SPD, X_0 = I/lambda_max: log2(kappa) + log2 ln(1/epsilon)",
    expression=sympy.ceiling(sympy.log(kappa, 2) + sympy.log(sympy.log(1 / epsilon), 2)),
    symbols=(kappa, epsilon),
    provenance=Provenance(
        source=_GIANNOU,
        statement="Newton's iteration for the inverse, symmetric positive definite A",
        arxiv="2403.03183",
        status="derived here",
    ),
    derivation="X_0 = I/λ_max: ρ₀ = 1 − 1/κ, ln(1/ρ₀) ≥ 1/κ, so NS_LOOPS_TO_EPSILON ≤ ⌈log₂(κ ln(1/ε))⌉.",
)

#: The reference curves of docs/theory.md §7, error/d as a function of (n = k, d).
REFERENCE_CURVES: dict[str, Bound] = {
    "least_squares": LEAST_SQUARES_ERROR,
    "averaging": AVERAGING_ERROR,
    "one_step_gd": ONE_STEP_OPTIMUM,
}
