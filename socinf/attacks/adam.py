"""Adam (Kingma & Ba 2015) for the mimic GAN, on one network's flat weight array.

The update of ``torch.optim.Adam`` (no weight decay, no amsgrad) that the mimic was trained with when it was a
torch model: ``m = lerp(m, g, 1 - beta1)``, ``v = beta2 v + (1 - beta2) g^2``, ``w -= lr / (1 - beta1^t) * m /
(sqrt(v) / sqrt(1 - beta2^t) + eps)``. The network keeps all its weights in one array (``ResidualMLP.params``),
so a step is a few whole-array operations instead of one loop over the layers' tensors.
"""
from __future__ import annotations

import numpy as np


class Adam:
    def __init__(self, params: np.ndarray, grads: np.ndarray, lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8):
        self.params, self.grads = params, grads  # updated in place: views of the network's own arrays
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.exp_avg, self.exp_avg_sq = np.zeros_like(params), np.zeros_like(params)
        self.steps = 0

    def step(self) -> None:
        self.steps += 1
        bias_correction1 = 1 - self.beta1**self.steps
        bias_correction2_sqrt = (1 - self.beta2**self.steps) ** 0.5
        grads, exp_avg, exp_avg_sq = self.grads, self.exp_avg, self.exp_avg_sq
        exp_avg += (1 - self.beta1) * (grads - exp_avg)
        exp_avg_sq *= self.beta2
        exp_avg_sq += (1 - self.beta2) * grads * grads
        denom = np.sqrt(exp_avg_sq)
        denom /= bias_correction2_sqrt
        denom += self.eps
        self.params -= (self.lr / bias_correction1) * exp_avg / denom
