"""The two task families a model is trained on: a loopbound target on the cube, and in-context
linear regression.

**Cube** (:class:`CubeTask`): X ~ U([0,1]^{N×d}), labels f(X) for a loopbound target f
(:func:`loopbound.target_loading.load_target`); training minimises the mean squared error on fresh
uniform draws. The test error is the estimate ``loopbound verify`` reports: ‖g − f‖_{L^p} over the
cube by randomised quasi-Monte Carlo with its Student-t interval
(:func:`loopbound.theory.error_measure.measure_error`; docs/theory.md §0), on Sobol points the
training never saw. The floor is the constant predictor c = E f(X) (per token and output
coordinate; the L² optimum among constants, estimated on 2^14 uniform draws), measured the same way.

**In-context linear regression** (:class:`InContextTask`, ``icl:linear``; Garg et al. 2022,
arXiv 2208.01066, §2; Yang et al. 2024, arXiv 2311.12424, §4): x_i, w ~ N(0, I_d), y_i = wᵀx_i,
a prompt of N pairs laid out as 2N tokens (x_1, 0), (0, y_1), …, (x_N, 0), (0, y_N) of width
d + 1, causal attention, a prediction of y_{k+1} read at every x token (after k examples). The
error is the squared error divided by d, averaged over held-out prompts with its normal (CLT)
interval (:func:`loopbound.theory.regression.mean_interval`), at k = 2d (or the longest k the
prompt allows). References on the same prompts: least squares (minimum norm), averaging
ŵ = (1/k)Σ y_i x_i, the looped-GD construction at r loops
(:func:`loopbound.constructions.gradient_descent.looped_gd_predict`, step η = 1/(1 + √(d/k))², the
inverse of the Marchenko–Pastur edge of XᵀX/k), and the constant 0 (error/d = 1 in expectation).

Every training batch is drawn from a generator seeded by (seed, step), so a resumed run sees the
same data as an uninterrupted one, and the held-out data by a seed the training streams never use.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from loopbound.training.config import TrainConfig
from loopbound.training.models import DTYPES
from loopbound.training.result import ErrorValue

__all__ = ["CubeTask", "InContextTask", "make_task", "stream_generator"]

TRAIN_STREAM, EVAL_STREAM, MEAN_STREAM = 0, 1, 2
EVAL_PROMPTS = 2048
CHUNK = 256


def stream_generator(seed: int, stream: int, step: int = 0) -> torch.Generator:
    """A CPU generator for (seed, stream, step): independent streams from numpy's SeedSequence."""
    state = np.random.SeedSequence([seed, stream, step]).generate_state(2, dtype=np.uint64)
    return torch.Generator().manual_seed(int(state[0] >> np.uint64(1)))


class CubeTask:
    """A loopbound target on the cube (module docstring)."""

    is_icl = False

    def __init__(self, config: TrainConfig, device: torch.device) -> None:
        from loopbound.target_loading import load_target

        self.config, self.device, self.dtype = config, device, DTYPES[config.dtype]
        self.N, self.d = int(config.N or 1), config.d
        self.target = load_target(config.target, d=self.d, N=self.N)
        self.d_in, self.d_out = self.d, int(self.target.d_out)
        self.tokens = self.N

    def batch(self, step: int, size: int, active_dim: int | None = None) -> tuple[torch.Tensor, torch.Tensor, None]:
        """Inputs [size, N, d] and labels [size, N, d_out] of training step ``step``."""
        generator = stream_generator(self.config.seed, TRAIN_STREAM, step)
        X = torch.rand(size, self.N, self.d, generator=generator, dtype=torch.float64)
        Y = self.target(X)
        return X.to(self.device, self.dtype), Y.to(self.device, self.dtype), None

    def loss(self, outputs: torch.Tensor, labels: torch.Tensor, active_dim: int | None = None) -> torch.Tensor:
        """Mean squared error over the loops kept, the batch, the tokens and the outputs."""
        return (outputs - labels).pow(2).mean()

    def _measure(self, approximant: Any) -> ErrorValue:
        from loopbound.theory.error_measure import lp_error

        config = self.config
        lp = lp_error(
            approximant,
            self.target,
            N=self.N,
            d=self.d,
            p=config.p,
            samples=config.eval_samples,
            scramblings=config.scramblings,
            level=config.level,
            seed=config.seed,
            device=self.device,
            progress=False,
        )
        return ErrorValue(lp.value, lp.lower, lp.upper, lp.level)

    def evaluate(self, model: torch.nn.Module, loops: int) -> tuple[ErrorValue, dict[str, Any] | None]:
        """The L^p test error of ``model`` at ``loops`` loops (no curve for this task)."""

        def approximant(X: torch.Tensor) -> torch.Tensor:
            return model(X.to(self.dtype), loops)[-1].to(torch.float64)

        with torch.no_grad():
            return self._measure(approximant), None

    def baselines(self, loops: int) -> dict[str, ErrorValue]:
        """The constant predictor's L^p error, measured as the model's."""
        generator = stream_generator(self.config.seed, MEAN_STREAM)
        X = torch.rand(1 << 14, self.N, self.d, generator=generator, dtype=torch.float64)
        constant = self.target(X).mean(dim=0).to(self.device)  # [N, d_out]

        def approximant(X: torch.Tensor) -> torch.Tensor:
            return constant.expand(X.shape[0], *constant.shape).to(X.dtype)

        return {"constant": self._measure(approximant)}


class InContextTask:
    """In-context linear regression (module docstring)."""

    is_icl = True

    def __init__(self, config: TrainConfig, device: torch.device) -> None:
        self.config, self.device, self.dtype = config, device, DTYPES[config.dtype]
        self.N, self.d = int(config.N or 2), config.d
        self.d_in, self.d_out = self.d + 1, 1
        self.tokens = 2 * self.N
        self.k = min(2 * self.d, self.N - 1)
        causal = torch.ones(self.tokens, self.tokens, dtype=torch.bool, device=device).tril()
        self.mask = causal[None]

    def prompts(self, generator: torch.Generator, size: int, active_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
        """x [size, N, d] (coordinates past ``active_dim`` zero) and y = x·w [size, N], float64."""
        x = torch.randn(size, self.N, self.d, generator=generator, dtype=torch.float64)
        w = torch.randn(size, self.d, generator=generator, dtype=torch.float64)
        if active_dim < self.d:
            x[..., active_dim:] = 0
            w[..., active_dim:] = 0
        return x, torch.einsum("bnd,bd->bn", x, w)

    def tokens_of(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The 2N tokens (x_i, 0), (0, y_i) [size, 2N, d + 1] in the model's dtype and device."""
        Z = torch.zeros(x.shape[0], self.tokens, self.d + 1, dtype=torch.float64)
        Z[:, 0::2, : self.d] = x
        Z[:, 1::2, self.d] = y
        return Z.to(self.device, self.dtype)

    def batch(self, step: int, size: int, active_dim: int | None = None) -> tuple[torch.Tensor, torch.Tensor, Any]:
        x, y = self.prompts(stream_generator(self.config.seed, TRAIN_STREAM, step), size, active_dim or self.d)
        mask = self.mask.expand(size, -1, -1)
        return self.tokens_of(x, y), y[..., None].to(self.device, self.dtype), mask

    def loss(self, outputs: torch.Tensor, labels: torch.Tensor, active_dim: int | None = None) -> torch.Tensor:
        """Squared error at every x token, divided by the active dimension, averaged."""
        return (outputs[:, :, 0::2] - labels).pow(2).mean() / (active_dim or self.d)

    def _test_prompts(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.prompts(stream_generator(self.config.seed, EVAL_STREAM), EVAL_PROMPTS, self.d)

    def _interval(self, errors: torch.Tensor) -> ErrorValue:
        from loopbound.theory.regression import mean_interval

        estimate = mean_interval(errors.cpu().numpy(), level=self.config.level, seed=self.config.seed)
        return ErrorValue(estimate.mean, estimate.lower, estimate.upper, estimate.level)

    def evaluate(self, model: torch.nn.Module, loops: int) -> tuple[ErrorValue, dict[str, Any]]:
        """error/d at k = 2d on held-out prompts, and the curve of error/d against k = 0..N−1."""
        x, y = self._test_prompts()
        predictions = []
        with torch.no_grad():
            for start in range(0, EVAL_PROMPTS, CHUNK):
                chunk = slice(start, start + CHUNK)
                tokens = self.tokens_of(x[chunk], y[chunk])
                out = model(tokens, loops, key_mask=self.mask.expand(tokens.shape[0], -1, -1))[-1]
                predictions.append(out[:, 0::2, 0].to("cpu", torch.float64))
        errors = (torch.cat(predictions) - y).pow(2) / self.d  # [prompts, N]
        curve = {"k": list(range(self.N)), "error": [float(v) for v in errors.mean(dim=0)]}
        return self._interval(errors[:, self.k]), curve

    def baselines(self, loops: int) -> dict[str, ErrorValue]:
        """error/d at k = 2d of the constant 0, least squares, averaging and looped GD at ``loops``."""
        from loopbound.constructions.gradient_descent import looped_gd_predict
        from loopbound.theory.reference_curves import averaging_predict, least_squares_predict

        x, y = self._test_prompts()
        k, query, truth = self.k, x[:, self.k : self.k + 1], y[:, self.k]
        eta = 1.0 / (1.0 + math.sqrt(self.d / k)) ** 2
        predictions = {
            "constant": torch.zeros_like(truth),
            "least_squares": least_squares_predict(x[:, :k], y[:, :k], query)[:, 0],
            "averaging": averaging_predict(x[:, :k], y[:, :k], query)[:, 0],
            "looped_gd": looped_gd_predict(x[:, :k], y[:, :k], query, loops=loops, eta=eta)[:, 0],
        }
        return {name: self._interval((value - truth).pow(2) / self.d) for name, value in predictions.items()}


def make_task(config: TrainConfig, device: torch.device) -> CubeTask | InContextTask:
    """The task of ``config``: in-context regression for ``icl:linear``, else the target on the cube."""
    return InContextTask(config, device) if config.is_icl else CubeTask(config, device)
