"""Stage 3 — the mimic model, trained as the generator of a GAN (paper III.D, Eq. 1-3).

The generator is the mimic F_mimic: an MLP from a record x to class
probabilities (default 10 layers of 50 units, the hidden ones residual). The discriminator sees the pair
[x, y] and tells the target's answer y = F_target(x) (real) from the mimic's
y = F_mimic(x) (fake). Both are trained by alternating back-propagation on the
standard GAN losses; the generator uses the non-saturating form. A supervised
term, ``fidelity_weight`` x cross-entropy to the target's answer, is added by
default (``mimic=gan``); ``mimic=gan_paper`` sets it to 0: the paper's pure GAN.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, NamedTuple

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from socinf.attacks.adam import Adam
from socinf.attacks.mimic_config import GAN_KEYS, MimicConfig  # noqa: F401 - re-exported


class _ResidualBlock(nn.Module):
    """x + LeakyReLU(Linear(LayerNorm(x))): one of the hidden layers of width ``width``."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.LeakyReLU(0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _mlp(n_in: int, n_out: int, depth: int, width: int) -> nn.Sequential:
    """``depth`` linear layers: input layer, (depth - 2) residual hidden layers, output layer.

    Why residual: a plain 10-layer stack trained as a GAN generator collapsed to
    one class on Tweet(4) (label agreement 0.23 with the target); with
    pre-LayerNorm residual layers of the same size it reaches 0.98.
    """
    if depth < 2:
        return nn.Sequential(nn.Linear(n_in, n_out))
    hidden = [_ResidualBlock(width) for _ in range(depth - 2)]
    return nn.Sequential(nn.Linear(n_in, width), nn.LeakyReLU(0.2), *hidden, nn.Linear(width, n_out))


def _direct(net: nn.Sequential) -> Callable[[torch.Tensor], torch.Tensor]:
    """``net``'s forward (an ``_mlp``) as a function calling the layers' operations directly, without
    nn.Module's call machinery (hooks, dispatch: about a sixth of a training step at these sizes). The same
    operations in the same order as ``net(x)``, so the same bits; on the module's own parameter tensors, which
    the optimizers update in place."""
    steps = []
    for layer in net:
        if isinstance(layer, nn.Linear):
            steps.append((F.linear, layer.weight, layer.bias))
        elif isinstance(layer, nn.LeakyReLU):
            steps.append((F.leaky_relu, layer.negative_slope))
        elif isinstance(layer, _ResidualBlock):
            norm, linear, act = layer.body
            steps.append((_residual, norm.normalized_shape, norm.weight, norm.bias, norm.eps, linear.weight,
                          linear.bias, act.negative_slope))
        else:
            raise TypeError(f"_direct: no direct form for {type(layer).__name__}")

    def forward(x: torch.Tensor) -> torch.Tensor:
        for op, *args in steps:
            x = op(x, *args)
        return x

    return forward


def _residual(x, shape, norm_weight, norm_bias, eps, weight, bias, slope) -> torch.Tensor:
    """_ResidualBlock.forward, operation for operation."""
    return x + F.leaky_relu(F.linear(F.layer_norm(x, shape, norm_weight, norm_bias, eps), weight, bias), slope)


class _Training(NamedTuple):
    """What one ``fit`` trains with: both networks' direct forwards, the mimic's parameters, both optimizers."""

    gen: Callable[[torch.Tensor], torch.Tensor]
    disc: Callable[[torch.Tensor], torch.Tensor]
    gen_params: list
    opt_g: Adam
    opt_d: Adam


def fidelity(p_mimic: np.ndarray, p_target: np.ndarray) -> dict:
    """Label agreement and mean absolute probability difference between mimic and target."""
    if len(p_target) == 0:
        return {"label_agreement": float("nan"), "mean_abs_diff": float("nan")}
    return {
        "label_agreement": float((p_mimic.argmax(1) == p_target.argmax(1)).mean()),
        "mean_abs_diff": float(np.abs(p_mimic - p_target).mean()),
    }


class MimicGAN:
    """The mimic F_mimic and its discriminator; ``config`` is a ``MimicConfig`` (its GAN fields are used)."""

    def __init__(self, n_features: int, n_classes: int, config: MimicConfig | None = None, random_state: int = 0):
        self.n_features, self.n_classes, self.random_state = n_features, n_classes, random_state
        self.config = config or MimicConfig()
        for key in GAN_KEYS:
            setattr(self, key, getattr(self.config, key))
        torch.manual_seed(self.random_state)
        self.generator = _mlp(self.n_features, self.n_classes, self.depth, self.width)
        self.discriminator = _mlp(self.n_features + self.n_classes, 1, self.d_depth, self.d_width)
        self.history_: list[dict] = []

    def to_state(self) -> dict:
        """Plain data (numbers, strings, numpy weights) that ``from_state`` rebuilds the fitted GAN from."""
        weights = {part: {k: v.detach().numpy().copy() for k, v in getattr(self, part).state_dict().items()}
                   for part in ("generator", "discriminator")}
        return {"n_features": self.n_features, "n_classes": self.n_classes, "random_state": self.random_state,
                "config": asdict(self.config), "history": self.history_, **weights}

    @classmethod
    def from_state(cls, state: dict) -> "MimicGAN":
        gan = cls(int(state["n_features"]), int(state["n_classes"]), MimicConfig(**state["config"]),
                  int(state["random_state"]))
        for part in ("generator", "discriminator"):
            tensors = {k: torch.from_numpy(np.asarray(v)) for k, v in state[part].items()}
            getattr(gan, part).load_state_dict(tensors, strict=True)  # shapes checked against the config
        gan.history_ = list(state["history"])
        return gan

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        self.generator.eval()
        with torch.no_grad():
            logits = self.generator(torch.as_tensor(np.asarray(X), dtype=torch.float32))
        return torch.softmax(logits, dim=1).double().numpy()

    def _train_step(self, x: torch.Tensor, y_real: torch.Tensor, training: _Training) -> tuple[float, float]:
        """One batch: a discriminator step, then a mimic step; returns both losses."""
        gen, disc, gen_params, opt_g, opt_d = training
        bce = F.binary_cross_entropy_with_logits
        y_fake = torch.softmax(gen(x), dim=1)
        ones, zeros = torch.ones(len(x), 1), torch.zeros(len(x), 1)
        # Eq. (2): the discriminator learns [x, F_target(x)] real vs [x, F_mimic(x)] fake.
        d_loss = bce(disc(torch.cat([x, y_real], 1)), ones) + bce(disc(torch.cat([x, y_fake.detach()], 1)), zeros)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        # Eq. (3): the mimic learns to make its answers pass as the target's.
        g_loss = bce(disc(torch.cat([x, y_fake], 1)), ones)
        if self.fidelity_weight > 0:
            g_loss = g_loss - self.fidelity_weight * (y_real * torch.log(y_fake + 1e-8)).sum(1).mean()
        # The mimic's gradients only: the discriminator's from this loss would be dropped by its next zero_grad
        # unused (the same mimic gradients, bit for bit, without three weight-gradient products a step).
        for p, grad in zip(gen_params, torch.autograd.grad(g_loss, gen_params)):
            p.grad = grad
        opt_g.step()
        return d_loss.item(), g_loss.item()

    def fit(self, X: np.ndarray, Y_target: np.ndarray, progress=None) -> "MimicGAN":
        if len(X) == 0:
            raise ValueError("MimicGAN.fit: no records to mimic (X is empty)")
        X_t = torch.as_tensor(np.asarray(X), dtype=torch.float32)
        Y_t = torch.as_tensor(np.asarray(Y_target), dtype=torch.float32)
        gen, disc = self.generator, self.discriminator
        training = _Training(_direct(gen), _direct(disc), list(gen.parameters()),
                             Adam(gen.parameters(), lr=self.lr_g, betas=(0.5, 0.999)),
                             Adam(disc.parameters(), lr=self.lr_d, betas=(0.5, 0.999)))
        g = torch.Generator().manual_seed(self.random_state)
        for epoch in range(self.epochs):
            gen.train()
            disc.train()
            order = torch.randperm(len(X_t), generator=g)
            d_sum = g_sum = 0.0
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                d_loss, g_loss = self._train_step(X_t[idx], Y_t[idx], training)
                d_sum += d_loss * len(idx)
                g_sum += g_loss * len(idx)
            self.history_.append({"epoch": epoch + 1, "d_loss": d_sum / len(X_t), "g_loss": g_sum / len(X_t)})
            if progress is not None:
                progress(epoch + 1, self.epochs)
        return self
