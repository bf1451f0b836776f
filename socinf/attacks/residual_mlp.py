"""The mimic GAN's two networks (paper III.D), in numpy, with their backward pass written out.

A run used to import torch for these two small networks alone, and ``import torch`` was about half of a default
run's import time (~1 s of ~2.2 s). At their sizes (layers of 50-64 units, batches of 128) numpy's cost per
operation is also lower than torch's, so a training step takes under half the time (docs/benchmarks.md, "A faster run").

The layers and their initialisation are torch's defaults: ``nn.Linear`` (weight and bias uniform in
+-1/sqrt(fan_in)), ``nn.LayerNorm`` (weight 1, bias 0, eps 1e-5), ``LeakyReLU(0.2)``; ``state()`` names the
weights as torch's ``state_dict`` of the same ``nn.Sequential`` did. tests/test_stages.py checks the forward
pass against torch's modules and every gradient against finite differences.

The input layer may read its input as separate blocks (``n_in`` a tuple): the discriminator reads the pair
[x, y] without concatenating it, and the mimic's step asks for the gradient of y alone. An input block may be
a ``scipy.sparse`` CSR matrix (keyword records over a large vocabulary): the input layer multiplies its
non-zeros only, and its weight gradient is ``(x^T d)^T``.
"""
from __future__ import annotations

import numpy as np
from scipy.sparse import issparse

SLOPE = 0.2  # LeakyReLU's negative slope
EPS = 1e-5  # LayerNorm's


class ResidualMLP:
    """``depth`` linear layers: an input layer (LeakyReLU after it), ``depth - 2`` residual hidden layers
    ``a + LeakyReLU(Linear(LayerNorm(a)))`` of ``width`` units, an output layer (``depth`` 1: one linear layer).

    All weights live in one flat array ``params`` (the layers' arrays are views of it) and their gradients in
    ``grads``, so an optimizer updates the whole network in a few array operations.
    """

    def __init__(self, n_in: int | tuple[int, ...], n_out: int, depth: int, width: int, rng: np.random.Generator,
                 dtype=np.float32):
        self.n_in = (n_in,) if isinstance(n_in, int) else tuple(n_in)
        self.depth, self.width, self.n_out = depth, width, n_out
        first = n_out if depth < 2 else width
        shapes = ([(first, n) for n in self.n_in] + [(first,)] + [(width,), (width,), (width, width), (width,)]
                  * max(depth - 2, 0) + ([(n_out, width), (n_out,)] if depth >= 2 else []))
        sizes = [int(np.prod(s)) for s in shapes]
        self.params, self.grads = np.zeros(sum(sizes), dtype), np.zeros(sum(sizes), dtype)
        ends = np.cumsum(sizes)
        self._p = [self.params[e - n:e].reshape(s) for e, n, s in zip(ends, sizes, shapes)]
        self._g = [self.grads[e - n:e].reshape(s) for e, n, s in zip(ends, sizes, shapes)]
        self._mean = np.full((width, 1), 1.0 / width, dtype)  # row means as a matrix product: faster than .mean
        self._rise, self._slope = np.dtype(dtype).type(1 - SLOPE), np.dtype(dtype).type(SLOPE)
        self._init(rng)

    def _layers(self, arrays: list) -> tuple[list, list, list]:
        """(input weights + bias, [LayerNorm weight, bias, weight, bias] per hidden layer, output weight + bias)."""
        k = len(self.n_in) + 1
        hidden = [arrays[i:i + 4] for i in range(k, k + 4 * max(self.depth - 2, 0), 4)]
        return arrays[:k], hidden, arrays[k + 4 * len(hidden):]

    def _init(self, rng: np.random.Generator) -> None:
        first, hidden, last = self._layers(self._p)
        fan_in = sum(self.n_in)
        for array in first:
            array[...] = rng.uniform(-1, 1, array.shape) / np.sqrt(fan_in)
        for norm_w, _, weight, bias in hidden:
            norm_w[...] = 1.0
            weight[...] = rng.uniform(-1, 1, weight.shape) / np.sqrt(self.width)
            bias[...] = rng.uniform(-1, 1, bias.shape) / np.sqrt(self.width)
        for array in last:
            array[...] = rng.uniform(-1, 1, array.shape) / np.sqrt(self.width)

    def forward(self, *inputs: np.ndarray) -> tuple[np.ndarray, list]:
        """The output for ``inputs`` (one array per input block) and the trace ``backward`` needs. A block with
        fewer rows than the longest is read by each group of that many rows (the discriminator's x, shared by its
        real and fake halves: projected once)."""
        first, hidden, last = self._layers(self._p)
        rows = max(x.shape[0] for x in inputs)
        h = first[-1] + np.zeros((rows, 1), first[-1].dtype)
        for x, w in zip(inputs, first[:-1]):
            n = x.shape[0]  # a CSR block has no len()
            if n == rows:  # every block as long (also zero rows: an empty held-out set)
                h += x @ w.T
                continue
            if n == 0 or rows % n:
                raise ValueError(f"input blocks of {n} and {rows} rows: the longer must repeat the shorter")
            h += np.tile(x @ w.T, (rows // n, 1))
        trace = [inputs]
        if self.depth < 2:
            return h, trace
        trace.append(self._leaky_slope(h))
        a = h * trace[-1]
        for norm_w, norm_b, weight, bias in hidden:
            centred = a - a @ self._mean
            rstd = 1.0 / np.sqrt((centred * centred) @ self._mean + EPS)
            xhat = centred * rstd
            normed = xhat * norm_w + norm_b
            z = normed @ weight.T + bias
            slope = self._leaky_slope(z)
            trace.append((xhat, rstd, normed, slope))
            a = a + z * slope
        trace.append(a)
        return a @ last[0].T + last[1], trace

    def _leaky_slope(self, z: np.ndarray) -> np.ndarray:
        """LeakyReLU's derivative at ``z`` (1 or SLOPE; SLOPE at 0, as torch's); LeakyReLU(z) = z * it."""
        slope = (z > 0) * self._rise
        slope += self._slope
        return slope

    def backward(self, trace: list, d_out: np.ndarray, weights: bool = True,
                 inputs: tuple[int, ...] = ()) -> list[np.ndarray]:
        """Back-propagates ``d_out`` (the loss's gradient at the output): into ``grads`` if ``weights`` (else
        the weights' gradients are not computed); returns the gradients of the input blocks numbered ``inputs``."""
        p_first, p_hidden, p_last = self._layers(self._p)
        g_first, g_hidden, g_last = self._layers(self._g)
        d_first = d_out
        if self.depth >= 2:
            if weights:
                _weight_grads(d_out, trace[-1], *g_last)
            d_a = d_out @ p_last[0]
            for (norm_w, _, weight, _), grad, (xhat, rstd, normed, slope) in zip(
                    p_hidden[::-1], g_hidden[::-1], trace[2:-1][::-1]):
                d_z = d_a * slope
                d_normed = d_z @ weight
                if weights:
                    _weight_grads(d_z, normed, grad[2], grad[3])
                    np.sum(d_normed * xhat, axis=0, out=grad[0])
                    np.sum(d_normed, axis=0, out=grad[1])
                d_xhat = d_normed * norm_w
                d_a = d_a + rstd * (d_xhat - d_xhat @ self._mean - xhat * ((d_xhat * xhat) @ self._mean))
            d_first = d_a * trace[1]
        if weights:
            for x, grad in zip(trace[0], g_first[:-1]):
                if issparse(x):
                    grad[...] = (x.T @ _fold(d_first, x.shape[0])).T
                else:
                    np.matmul(_fold(d_first, x.shape[0]).T, x, out=grad)
            np.sum(d_first, axis=0, out=g_first[-1])
        return [_fold(d_first, trace[0][i].shape[0]) @ p_first[i] for i in inputs]

    def state(self) -> dict[str, np.ndarray]:
        """The weights under the names torch's ``state_dict`` gave them (an ``nn.Sequential`` of the layers)."""
        first, hidden, last = self._layers(self._p)
        weight = first[0] if len(first) == 2 else np.concatenate(first[:-1], axis=1)
        state = {"0.weight": weight, "0.bias": first[-1]}
        for i, arrays in enumerate(hidden, start=2):
            state.update(zip((f"{i}.body.0.weight", f"{i}.body.0.bias", f"{i}.body.1.weight", f"{i}.body.1.bias"),
                             arrays))
        if last:
            state.update({f"{self.depth}.weight": last[0], f"{self.depth}.bias": last[1]})
        return {name: array.copy() for name, array in state.items()}

    def load(self, state: dict) -> None:
        """Weights from ``state()``; a missing, extra or misshapen weight raises ``ValueError``."""
        mine = self.state()
        if set(state) != set(mine):
            raise ValueError(f"weights {sorted(set(state) ^ set(mine))} do not fit this network")
        for name, array in mine.items():
            if np.shape(state[name]) != array.shape:
                raise ValueError(f"weight {name}: shape {np.shape(state[name])}, expected {array.shape}")
        first, hidden, last = self._layers(self._p)
        splits = np.cumsum(self.n_in)[:-1]
        for view, block in zip(first[:-1], np.split(np.asarray(state["0.weight"]), splits, axis=1)):
            view[...] = block
        first[-1][...] = state["0.bias"]
        for i, arrays in enumerate(hidden, start=2):
            for view, name in zip(arrays, ("body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias")):
                view[...] = state[f"{i}.{name}"]
        for view, name in zip(last, ("weight", "bias")):
            view[...] = state[f"{self.depth}.{name}"]


def _weight_grads(d_out: np.ndarray, layer_input: np.ndarray, weight_grad: np.ndarray, bias_grad: np.ndarray) -> None:
    """A linear layer's weight and bias gradients, written into the network's gradient array."""
    np.matmul(d_out.T, layer_input, out=weight_grad)
    np.sum(d_out, axis=0, out=bias_grad)


def _fold(d: np.ndarray, rows: int) -> np.ndarray:
    """``d`` summed over its groups of ``rows`` rows: the gradient of a block that each group read."""
    return d if len(d) == rows else d.reshape(-1, rows, d.shape[1]).sum(0)
