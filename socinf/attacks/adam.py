"""Adam for the mimic GAN, without ``torch.optim``.

``torch.optim``'s optimizers import ``torch._dynamo`` on first use (their methods are wrapped to keep the
compiler out), which costs about 1 s per process: a tenth of a whole ``socinf run`` and paid again by every
sweep worker. This is the same update as ``torch.optim.Adam``'s CPU path (single-tensor, no weight decay,
no amsgrad), operation for operation, so a mimic trains to the same bits either way (tests/test_stages.py).

The update runs as torch's multi-tensor ``_foreach`` operations: one call per operation for all the
parameters instead of a Python loop over them (the mimic and its discriminator hold 42 tensors, and the GAN
takes two steps a batch). On CPU each ``_foreach`` op applies the single-tensor kernel to every tensor in
turn, so the arithmetic is the same, element for element.
"""
from __future__ import annotations

from typing import Iterable

import torch


class Adam:
    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8):
        self.params = [p for p in params if p.requires_grad]
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.exp_avg = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.steps = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        step = float(self.steps)  # torch keeps the count as a float tensor and reads it back as a float
        bias_correction1 = 1 - self.beta1**step
        bias_correction2_sqrt = (1 - self.beta2**step) ** 0.5
        step_size = self.lr / bias_correction1
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        if not live:
            return
        params = [self.params[i] for i in live]
        grads = [p.grad for p in params]
        exp_avg = [self.exp_avg[i] for i in live]
        exp_avg_sq = [self.exp_avg_sq[i] for i in live]
        torch._foreach_lerp_(exp_avg, grads, 1 - self.beta1)
        torch._foreach_mul_(exp_avg_sq, self.beta2)
        torch._foreach_addcmul_(exp_avg_sq, grads, grads, value=1 - self.beta2)
        denom = torch._foreach_sqrt(exp_avg_sq)
        torch._foreach_div_(denom, bias_correction2_sqrt)
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(params, exp_avg, denom, value=-step_size)
