"""Stage 3 — the mimic model, trained as the generator of a GAN (paper III.D, Eq. 1-3).

The generator is the mimic F_mimic: an MLP from a record x to class
probabilities (default 10 layers of 50 units, the hidden ones residual). The discriminator sees the pair
[x, y] and tells the target's answer y = F_target(x) (real) from the mimic's
y = F_mimic(x) (fake). Both are trained by alternating back-propagation on the
standard GAN losses; the generator uses the non-saturating form. A supervised
term, ``fidelity_weight`` x cross-entropy to the target's answer, is added by
default (``mimic=gan``); ``mimic=gan_paper`` sets it to 0: the paper's pure GAN.

Both networks are numpy ``ResidualMLP``s (``socinf.attacks.residual_mlp``: why not torch) trained with Adam.
Sparse records stay sparse: a batch of them is read by the networks' input layers as CSR (only its non-zeros
are multiplied). Where the records' dense form is small (``socinf.sparse.DENSE_BATCH_BYTES``, the paper's
corpora) each batch is densified instead: the very computation of a dense run, bit for bit.
"""
from __future__ import annotations

from dataclasses import asdict

import numpy as np
from threadpoolctl import threadpool_limits

from socinf.attacks.adam import Adam
from socinf.attacks.mimic_config import GAN_KEYS, MimicConfig  # noqa: F401 - re-exported
from socinf.attacks.residual_mlp import ResidualMLP
from socinf.sparse import as_csr, fits_dense, is_sparse

# Part of the stage cache's key of a fitted mimic: a mimic trained by other code (1: torch, up to issue 22) is
# another model, even under the same settings and seed.
IMPLEMENTATION = 2
LOG_EPS = 1e-8  # inside the fidelity term's log
PREDICT_ROWS = 65536  # sparse records the mimic answers at once (its activations: rows x width floats)


def fidelity(p_mimic: np.ndarray, p_target: np.ndarray) -> dict:
    """Label agreement and mean absolute probability difference between mimic and target."""
    if len(p_target) == 0:
        return {"label_agreement": float("nan"), "mean_abs_diff": float("nan")}
    return {
        "label_agreement": float((p_mimic.argmax(1) == p_target.argmax(1)).mean()),
        "mean_abs_diff": float(np.abs(p_mimic - p_target).mean()),
    }


def _batch_records(X, dtype):
    """``X`` as the networks read its batches (``M[idx]``): a dense ``dtype`` array, densified once where ``X`` is
    sparse but small (the same rows as densifying each batch, without a CSR row selection per step: 3-7% of a
    fit), else CSR."""
    if is_sparse(X):
        X = as_csr(X).astype(dtype)
        if not fits_dense(X):
            return X
        X = X.toarray()
    return np.asarray(X, dtype=dtype)


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 + 0.5 * np.tanh(0.5 * z)  # = 1 / (1 + exp(-z)), without overflow


def _bce_with_logits(logits: np.ndarray, target: float) -> tuple[float, np.ndarray]:
    """Mean binary cross-entropy of ``logits`` against the constant label ``target`` (0 or 1), and its
    gradient with respect to the logits."""
    loss = float(np.logaddexp(0.0, -logits if target else logits).mean())
    return loss, (_sigmoid(logits) - target) / len(logits)


class MimicGAN:
    """The mimic F_mimic and its discriminator; ``config`` is a ``MimicConfig`` (its GAN fields are used)."""

    def __init__(self, n_features: int, n_classes: int, config: MimicConfig | None = None, random_state: int = 0,
                 dtype=np.float32):
        self.n_features, self.n_classes, self.random_state = n_features, n_classes, random_state
        self.config = config or MimicConfig()
        for key in GAN_KEYS:
            setattr(self, key, getattr(self.config, key))
        rng = np.random.default_rng([self.random_state, 0])
        self.generator = ResidualMLP(self.n_features, self.n_classes, self.depth, self.width, rng, dtype)
        self.discriminator = ResidualMLP((self.n_features, self.n_classes), 1, self.d_depth, self.d_width, rng, dtype)
        self.dtype = np.dtype(dtype)
        self.history_: list[dict] = []

    def to_state(self) -> dict:
        """Plain data (numbers, strings, numpy weights) that ``from_state`` rebuilds the fitted GAN from."""
        return {"n_features": self.n_features, "n_classes": self.n_classes, "random_state": self.random_state,
                "config": asdict(self.config), "history": self.history_,
                "generator": self.generator.state(), "discriminator": self.discriminator.state()}

    @classmethod
    def from_state(cls, state: dict) -> "MimicGAN":
        gan = cls(int(state["n_features"]), int(state["n_classes"]), MimicConfig(**state["config"]),
                  int(state["random_state"]))
        for part in ("generator", "discriminator"):
            getattr(gan, part).load(state[part])  # names and shapes checked against the config
        gan.history_ = list(state["history"])
        return gan

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities of records ``X``: dense, or sparse (CSR blocks, or dense ones where ``X`` is small)."""
        records = _batch_records(X, self.dtype)
        if records.shape[0] == 0:  # e.g. no held-out record: nothing to ask, no block to join
            return np.zeros((0, self.n_classes))
        step = PREDICT_ROWS if is_sparse(records) else records.shape[0]  # CSR: bounded activations
        return np.concatenate([_softmax(self.generator.forward(records[start:start + step])[0])
                               for start in range(0, records.shape[0], step)]).astype(np.float64)

    def discriminator_step(self, x: np.ndarray, y_real: np.ndarray, y_fake: np.ndarray) -> float:
        """Eq. (2): the discriminator's loss on [x, F_target(x)] (real) and [x, F_mimic(x)] (fake); its
        gradient goes to ``discriminator.grads``."""
        # Both halves in one pass (rows are independent): half the calls of two passes, x projected once.
        judged, trace = self.discriminator.forward(x, np.concatenate([y_real, y_fake]))
        loss_real, d_real = _bce_with_logits(judged[: x.shape[0]], 1.0)
        loss_fake, d_fake = _bce_with_logits(judged[x.shape[0] :], 0.0)
        self.discriminator.backward(trace, np.concatenate([d_real, d_fake]))
        return loss_real + loss_fake

    def generator_step(self, x: np.ndarray, y_real: np.ndarray, logits: np.ndarray, trace: list) -> float:
        """Eq. (3), non-saturating: the mimic's loss for its answers being told apart from the target's, plus
        ``fidelity_weight`` x their cross-entropy to the target's; its gradient goes to ``generator.grads``
        (the discriminator's weights get none)."""
        y_fake = _softmax(logits)
        judged, disc_trace = self.discriminator.forward(x, y_fake)
        loss, d_judged = _bce_with_logits(judged, 1.0)
        (d_y,) = self.discriminator.backward(disc_trace, d_judged, weights=False, inputs=(1,))
        if self.fidelity_weight > 0:
            loss -= self.fidelity_weight * float((y_real * np.log(y_fake + LOG_EPS)).sum(1).mean())
            d_y = d_y - (self.fidelity_weight / x.shape[0]) * y_real / (y_fake + LOG_EPS)
        d_logits = y_fake * (d_y - (d_y * y_fake).sum(1, keepdims=True))  # through the softmax
        self.generator.backward(trace, d_logits)
        return loss

    def _train_step(self, x: np.ndarray, y_real: np.ndarray, opt_g: Adam, opt_d: Adam) -> tuple[float, float]:
        """One batch: a discriminator step, then a mimic step (against the updated discriminator)."""
        logits, trace = self.generator.forward(x)
        d_loss = self.discriminator_step(x, y_real, _softmax(logits))
        opt_d.step()
        g_loss = self.generator_step(x, y_real, logits, trace)
        opt_g.step()
        return d_loss, g_loss

    def fit(self, X, Y_target: np.ndarray, progress=None) -> "MimicGAN":
        if X.shape[0] == 0:
            raise ValueError("MimicGAN.fit: no records to mimic (X is empty)")
        with threadpool_limits(limits=1, user_api="blas"):  # layers of 50-64 units: BLAS threads cost, not pay
            return self._fit(X, np.asarray(Y_target, dtype=self.dtype), progress)

    def _fit(self, X, Y: np.ndarray, progress) -> "MimicGAN":
        records, n = _batch_records(X, self.dtype), X.shape[0]
        gen, disc = self.generator, self.discriminator
        opt_g = Adam(gen.params, gen.grads, lr=self.lr_g, betas=(0.5, 0.999))
        opt_d = Adam(disc.params, disc.grads, lr=self.lr_d, betas=(0.5, 0.999))
        rng = np.random.default_rng([self.random_state, 1])
        for epoch in range(self.epochs):
            order = rng.permutation(n)
            d_sum = g_sum = 0.0
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                d_loss, g_loss = self._train_step(records[idx], Y[idx], opt_g, opt_d)
                d_sum += d_loss * len(idx)
                g_sum += g_loss * len(idx)
            self.history_.append({"epoch": epoch + 1, "d_loss": d_sum / n, "g_loss": g_sum / n})
            if progress is not None:
                progress(epoch + 1, self.epochs)
        return self
