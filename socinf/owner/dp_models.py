"""Differentially private target models (paper Section V.A): what ``defense=dp`` trains.

- logistic: diffprivlib's ``LogisticRegression`` (objective perturbation,
  Chaudhuri et al. 2011; pure epsilon-DP, delta = 0; rows clipped to
  ``data_norm``, so the bound is data-independent).
- mlp: DP-SGD with Opacus (per-example clipping to ``max_grad_norm``, Gaussian
  noise calibrated to (epsilon, delta) over the planned epochs; the accountant
  reports the epsilon actually spent).

diffprivlib 0.6.6 (the latest release) cannot be imported as-is with
scikit-learn >= 1.9: its package ``__init__`` imports the DP random forest,
which needs a constant sklearn removed, and its ``LogisticRegression.__init__``
passes ``multi_class``, which sklearn removed. ``_diffprivlib_logistic`` works
around both without touching the DP mechanism: the forest module is stubbed
(unused here) and the constructor sets the same attributes itself.
"""
from __future__ import annotations

import sys
import types

import numpy as np


def _diffprivlib_logistic():
    """diffprivlib's LogisticRegression class, importable under scikit-learn 1.9."""
    try:
        from diffprivlib.models.logistic_regression import LogisticRegression
    except ImportError:  # sklearn >= 1.9: the forest module fails; logistic regression does not need it
        for name in [m for m in sys.modules if m.startswith("diffprivlib")]:
            del sys.modules[name]
        stub = types.ModuleType("diffprivlib.models.forest")
        stub.RandomForestClassifier = stub.DecisionTreeClassifier = None
        sys.modules["diffprivlib.models.forest"] = stub
        from diffprivlib.models.logistic_regression import LogisticRegression
    return LogisticRegression


def _dp_logistic_class():
    """Built on first use (diffprivlib is imported lazily); cached as a module attribute, so the stage cache can name it."""
    cls = globals().get("_DP_LOGISTIC")
    if cls is not None:
        return cls
    from sklearn.linear_model import LogisticRegression as SkLogistic

    base = _diffprivlib_logistic()

    class DPLogisticRegression(base):
        def __init__(self, *, epsilon=1.0, data_norm=None, tol=1e-4, C=1.0, fit_intercept=True, max_iter=100,
                     verbose=0, warm_start=False, n_jobs=None, random_state=None, accountant=None):
            SkLogistic.__init__(self, C=C, tol=tol, fit_intercept=fit_intercept, random_state=random_state,
                                solver="lbfgs", max_iter=max_iter, verbose=verbose, warm_start=warm_start,
                                n_jobs=n_jobs)
            self.epsilon, self.data_norm, self.accountant = epsilon, data_norm, accountant

        def predict_proba(self, X):
            # diffprivlib fits one-vs-rest models: normalised per-class sigmoids, as sklearn's own OvR did
            from socinf.sparse import is_sparse

            return self._predict_proba_lr(X.astype(np.float64) if is_sparse(X) else np.asarray(X, dtype=np.float64))

    DPLogisticRegression.__module__, DPLogisticRegression.__qualname__ = __name__, "DPLogisticRegression"
    globals()["_DP_LOGISTIC"] = DPLogisticRegression
    return DPLogisticRegression


def __getattr__(name: str):  # PEP 562: lets the stage cache (socinf.serialize) find the lazily built class
    if name == "DPLogisticRegression":
        return _dp_logistic_class()
    raise AttributeError(name)


def make_dp_logistic(epsilon: float, data_norm: float, seed: int, C: float = 1.0, max_iter: int = 1000):
    """An unfitted epsilon-DP logistic regression with its own (fresh) privacy accountant."""
    cls = _dp_logistic_class()
    from diffprivlib.accountant import BudgetAccountant

    return cls(epsilon=epsilon, data_norm=data_norm, C=C, max_iter=max_iter, random_state=seed,
               accountant=BudgetAccountant())  # per-model accountant: no global budget state


def dp_logistic_spent(model) -> tuple[float, float]:
    epsilon, delta = model.accountant.total()
    return float(epsilon), float(delta)


def _dense_rows(X):
    """A DataLoader's ``collate_fn``: (row numbers, labels) items -> (float32 rows of ``X``, labels)."""
    import torch

    from socinf.sparse import dense, is_sparse

    X = X.tocsr() if is_sparse(X) else np.asarray(X)

    def collate(items):
        rows = np.array([int(i) for i, _ in items], dtype=np.int64)
        return torch.from_numpy(dense(X[rows], np.float32)), torch.stack([label for _, label in items])

    return collate


class DPMLPClassifier:
    """A one-hidden-layer-per-entry ReLU MLP trained with DP-SGD (Opacus); scikit-learn style.

    After ``fit`` the trained weights are copied into a plain torch module, so
    the fitted model is stored by the stage cache (``to_state``) and predicts without Opacus hooks.
    """

    def __init__(self, epsilon: float, delta: float, max_grad_norm: float, hidden_layer_sizes=(64,),
                 epochs: int = 20, batch_size: int = 128, lr: float = 0.5, random_state: int = 0, threads: int = 1):
        self.epsilon, self.delta, self.max_grad_norm = epsilon, delta, max_grad_norm
        self.hidden_layer_sizes = tuple(hidden_layer_sizes)
        self.epochs, self.batch_size, self.lr = epochs, batch_size, lr
        self.random_state, self.threads = random_state, threads

    def _module(self, n_features: int, n_classes: int):
        import torch.nn as nn

        layers, width = [], n_features
        for h in self.hidden_layer_sizes:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        return nn.Sequential(*layers, nn.Linear(width, n_classes))

    def fit(self, X, y) -> "DPMLPClassifier":
        import torch
        from opacus import PrivacyEngine
        from torch.utils.data import DataLoader, TensorDataset

        self.classes_ = np.unique(y)
        y = torch.as_tensor(np.searchsorted(self.classes_, y), dtype=torch.long)
        with torch.random.fork_rng():  # Poisson sampling and noise draw from torch's RNG: seed it locally
            torch.manual_seed(self.random_state)
            module = self._module(X.shape[1], len(self.classes_))
            optimizer = torch.optim.SGD(module.parameters(), lr=self.lr)
            # Opacus draws row numbers; a batch's rows are densified when it is collated (sparse members: a
            # batch at a time, never n x d), the same tensor the rows of a dense array stack into
            loader = DataLoader(TensorDataset(torch.arange(X.shape[0]), y), batch_size=self.batch_size,
                                collate_fn=_dense_rows(X))
            for accountant in ("rdp", "prv"):  # RDP is fast but cannot certify very small epsilons; PRV can
                engine = PrivacyEngine(accountant=accountant)
                try:
                    private, optimizer, loader = engine.make_private_with_epsilon(
                        module=module, optimizer=optimizer, data_loader=loader, target_epsilon=self.epsilon,
                        target_delta=self.delta, epochs=self.epochs, max_grad_norm=self.max_grad_norm)
                    break
                except ValueError:
                    if accountant == "prv":
                        raise
            self.accountant_ = accountant
            loss_fn = torch.nn.CrossEntropyLoss()
            for _ in range(self.epochs):
                for xb, yb in loader:
                    if len(xb) == 0:
                        continue
                    optimizer.zero_grad()
                    loss_fn(private(xb), yb).backward()
                    optimizer.step()
        self.noise_multiplier_ = float(optimizer.noise_multiplier)
        self.epsilon_spent_ = float(engine.get_epsilon(self.delta))
        self.sample_rate_ = float(getattr(loader, "sample_rate", 1.0 / max(len(loader), 1)))
        plain = self._module(X.shape[1], len(self.classes_))
        plain.load_state_dict(private._module.state_dict())
        self.module_ = plain.eval()
        return self

    def to_state(self) -> dict:
        """Plain data (hyper-parameters, results, numpy weights) that ``from_state`` rebuilds the model from."""
        state = {k: v for k, v in vars(self).items() if k != "module_"}
        if hasattr(self, "module_"):
            state["module_"] = {k: v.detach().numpy().copy() for k, v in self.module_.state_dict().items()}
        return state

    @classmethod
    def from_state(cls, state: dict) -> "DPMLPClassifier":
        import torch

        model = cls.__new__(cls)
        model.__dict__.update({k: v for k, v in state.items() if k != "module_"})
        if "module_" in state:
            weights = {k: torch.from_numpy(np.asarray(v)) for k, v in state["module_"].items()}
            first = weights["0.weight"]
            module = model._module(first.shape[1], len(model.classes_))
            module.load_state_dict(weights, strict=True)
            model.module_ = module.eval()
        return model

    def predict_proba(self, X) -> np.ndarray:
        import torch

        from socinf.sparse import dense_batches

        with torch.no_grad():
            logits = [self.module_(torch.as_tensor(block)) for block in dense_batches(X)]
            return torch.softmax(torch.cat(logits), dim=1).double().numpy()
