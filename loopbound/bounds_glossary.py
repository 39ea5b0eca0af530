"""What every symbol of loopbound's bounds means, for the reports (:mod:`loopbound.bounds_report`).

The bounds (:mod:`loopbound.theory.bounds`) are sympy expressions in plain symbol names (``w``,
``C_band``, ``x_norm``); a report shows them as mathematics (:data:`SYMBOL_LATEX`: ``w`` is
ω_f, ``C_band`` is C_band) and defines each in words, per section (:data:`SECTIONS`), because one
name means different things in different settings (ε is the construction's value error in one
section and the target accuracy of gradient descent in another). Definitions follow
docs/theory.md §1 (moduli), §3 (Theorem 3.6), §4 (Lemma 4.1), §6 (in-context regression), and the
bounds' own derivations. All LaTeX here is math that both LaTeX (amsmath) and matplotlib's mathtext
render: the reports are checked through mathtext, since a machine may have no TeX.
"""

from __future__ import annotations

__all__ = ["SYMBOL_LATEX", "SECTIONS", "LEMMA_4_1_LATEX", "LEMMA_4_1_SYMBOLS", "THEORY", "CONSTRUCTION", "REGRESSION"]

SYMBOL_LATEX: dict[str, str] = {
    "w": r"\omega_f",
    "w_tok": r"\omega^{\mathrm{tok}}_f",
    "w_cont": r"\omega^{\mathrm{cont}}_f",
    "C_band": r"C_{\mathrm{band}}",
    "C_coll": r"C_{\mathrm{coll}}",
    "d_out": r"d_{\mathrm{out}}",
    "mu_B": r"\mu_B",
    "mu_C": r"\mu_C",
    "B_C": r"B_C",
    "x_norm": r"\|x_q\|",
    "w_norm": r"\|w_{\mathrm{LS}}\|",
    "rho0": r"\rho_0",
    "jump": r"J_i",
}
"""How a symbol name is written in a formula (names not listed: sympy's own rendering, e.g. δ for ``delta``)."""

THEORY = "Approximation by looped transformers (Xu and Sato 2024)"
CONSTRUCTION = "loopbound's universal construction"
REGRESSION = "In-context regression by looped linear attention"

_MODULI = r"the supremum of $\|f(X) - f(X')\|_p$ over inputs with $\|X - X'\|_2$ at most its argument"
SECTIONS: dict[str, dict[str, str]] = {
    THEORY: {
        "r": r"the number of loops: applications of the one weight-tied block $\mathrm{TF}$",
        "d": r"the dimension of a token: an input is $X \in [0,1]^{d \times N}$",
        "N": r"the number of tokens of an input sequence",
        "p": r"the exponent of the error's $L^p$ norm over the uniform cube, $1 \leq p < \infty$",
        "delta": r"the grid scale of the quantisation (cells of side $\delta$); in Theorem 3.6 "
        r"$\delta = ((r - N)/2)^{-1/((N+1)d+1)}$, already substituted in the formulas shown",
        "w": r"the modulus of continuity of the target $f$ at $\delta\sqrt{Nd}$: " + _MODULI,
        "w_tok": r"the token modulus of $f$ at $\delta\sqrt{d}$: as $\omega_f$, with only one token $n$ moving "
        r"and the output read at $n$",
        "w_cont": r"the contextual modulus of $f$ at $\delta\sqrt{Nd}$: as $\omega_f$, with token $n$ held "
        r"fixed, the others moving and the output read at $n$",
        "C_coll": r"the constant of the collision term (inputs with two tokens in one grid cell); a construction "
        r"whose error there is at most $E_F$ has $C_{\mathrm{coll}} = 2^{-1/p} E_F$",
        "C_band": r"the constant of the transition-band term (inputs within $1/M$ of a quantisation threshold); "
        r"a construction whose error there is at most $E_F$ has $C_{\mathrm{band}} = E_F$",
        "M": r"the sharpness of the quantiser's ReLU steps: each step is a ramp of slope $M$ and width $1/M$",
        "jump": r"Lemma 4.1's bound for coordinate $i$: the largest jump $\max_j |(y_j - y_{j-1})_i|$ between "
        r"the targets of neighbouring contextual ids",
    },
    CONSTRUCTION: {
        "N": r"the number of tokens of an input sequence",
        "d": r"the dimension of a token",
        "d_out": r"the dimension of a token of the output",
        "p": r"the exponent of the error's $L^p$ norm over the uniform cube",
        "m": r"the number of grid cells per coordinate, $m = 1/\delta$",
        "w": r"the modulus of continuity of the target $f$ at $\delta\sqrt{Nd}$: " + _MODULI,
        "epsilon": r"the construction's value-mapping error per output coordinate (its largest stated "
        r"value error plus its label rounding)",
        "B": r"the bound the construction states on its output's entries",
        "B_C": r"the bound on its output's entries on the collision set (two tokens in one cell); $B$ where it states none",
        "S": r"the supremum of the target, $\sup_X \max_{n,i} |f(X)_{n,i}|$ over the cube",
        "mu_B": r"the measure of the band set: inputs with an entry within a quantiser's ramp",
        "mu_C": r"the measure of the collision set off the bands",
    },
    REGRESSION: {
        "r": r"the number of loops, each one gradient step",
        "rho": r"the contraction factor $\max_{\lambda_i > 0} |1 - \eta\lambda_i(H)|$ of gradient descent with step "
        r"$\eta$ on the empirical covariance $H = X^T X/n$",
        "x_norm": r"the norm of the query $x_q$",
        "w_norm": r"the norm of the minimum-norm least-squares solution $w_{\mathrm{LS}}$",
        "kappa": r"the condition number $\lambda_{\max}/\lambda_{\min}$ of $H$ (of $A$ for Newton-Schulz)",
        "epsilon": r"the accuracy to reach: the normalised bound (or the residual) at most $\epsilon$",
        "eta": r"the step size of the one gradient step (the preconditioner's scale)",
        "n": r"the number of in-context examples $(x_i, y_i)$ of a prompt ($k$ in the figures)",
        "d": r"the dimension of the examples $x_i$",
        "rho0": r"the initial residual $\|I - A X_0\|_2$ of Newton-Schulz, from $X_0 = \alpha I$ or $\alpha A^T$",
        "t": r"the number of Newton-Schulz loops, each one step $X_{t+1} = X_t(2I - A X_t)$",
    },
}
"""Per section, every symbol name its bounds use and its definition (LaTeX text with inline math)."""

LEMMA_4_1_LATEX = (
    r"\left|\left(L_2 \circ (\mathrm{id} + F)^{\circ(K-1)} \circ L_1\right)(k)_i - (y_k)_i\right|"
    r" \leq J_i = \max_{2 \leq j \leq K} \left|(y_j - y_{j-1})_i\right|"
)
"""Lemma 4.1 as a formula (its Bound's expression is the one number J_i loopbound computes)."""
LEMMA_4_1_SYMBOLS: dict[str, str] = {
    "K": r"the number of contextual ids",
    "k": r"a contextual id, $1 \leq k \leq K$",
    "y_k": r"the target value of id $k$, a vector with coordinates $(y_k)_i$",
    "L_1, L_2": r"the token-wise linear maps before and after the loop",
    "F": r"the weight-tied feed-forward block, applied with its residual $K - 1$ times",
    "i": r"an output coordinate",
    "j": r"the index of neighbouring ids $j - 1, j$ over which the maximum runs",
    "J_i": r"the largest jump of coordinate $i$ between neighbouring targets: the lemma's error bound",
}
"""The symbols of :data:`LEMMA_4_1_LATEX`, written as they appear in it."""
