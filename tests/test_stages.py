"""The four SocInf stages on real data slices and constructed cases."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import sparse

from generated_corpus import english_corpus, write_emoint
from socinf.attacks.inout import kmeans_in_out_split
from socinf.attacks.mimic import MimicConfig, MimicGAN, fidelity
from socinf.attacks import pairwise
from socinf.attacks.pairwise import PairwiseModel, synthesize_statistics
from socinf.attacks.residual_mlp import ResidualMLP
from socinf.attacks.synthesis import SynthesisConfig, change_features, format_starts, format_walk
from socinf.data.features import KeywordFeaturizer, chinese_ngrams, english_tokens, keywords_per_class
from socinf.data.loaders import load_corpus
from socinf.data.splits import make_splits
from socinf.errors import ConfigError
from socinf.targets.base import CountingTarget
from socinf.owner.models import fit_local_model


@pytest.fixture(scope="module", params=[pytest.param("real", marks=pytest.mark.corpora), "generated"])
def tweet(request, tmp_path_factory):
    """Tweet(4): 400 a class from the real EmoInt corpus, or from the English corpus the tests generate."""
    if request.param == "real":
        folder = request.getfixturevalue("shared_data_dir") / "emoint"
    else:
        folder = write_emoint(english_corpus(500), tmp_path_factory.mktemp("generated") / "emoint")
    corpus = load_corpus("tweet", 4, folder, per_class=400, seed=0)
    splits = make_splits(corpus, "random", 0.5, 1.0, 150, "heldout", seed=0)
    feat = KeywordFeaturizer("en", keywords_per_class("tweet", corpus.class_names, None, None))
    feat.fit([corpus.texts[i] for i in splits.members], corpus.labels[splits.members])
    return corpus, splits, feat, feat.transform(corpus.texts)


# ------------------------------------------------------------------ features

def test_english_tokens_strip_hashtags_and_lowercase():
    assert english_tokens("So #Angry at @Bob, I'm FUMING!") == {"so", "angry", "at", "i'm", "fuming"}


def test_chinese_ngrams_are_substrings_of_cjk_runs():
    grams = chinese_ngrams("我很开心ok今天", 2, 2)
    assert grams == {"我很", "很开", "开心", "今天"}


def test_keywords_come_from_members_only_and_favour_their_class(tweet):
    corpus, splits, feat, X = tweet
    assert len(feat.keywords_) == 200 and len(set(feat.keywords_)) == 200
    members = splits.members
    for word, cls in zip(feat.keywords_, feat.keyword_class_):
        j = feat.keywords_.index(word)
        in_class = X[members][corpus.labels[members] == cls, j].mean()
        elsewhere = X[members][corpus.labels[members] != cls, j].mean()
        assert in_class > elsewhere, word  # one-vs-rest, positively associated
    # Changing non-member texts cannot change the keyword list: it is fitted on the owner's half only.
    texts = list(corpus.texts)
    for i in splits.heldout:
        texts[i] = "zzz " * 5
    refit = KeywordFeaturizer("en", feat.counts).fit([texts[i] for i in members], corpus.labels[members])
    assert refit.keywords_ == feat.keywords_


def test_weibo_keyword_counts_follow_the_paper():
    assert keywords_per_class("weibo", ["negative", "neutral", "positive"], None, None) == [28, 23, 22]
    assert keywords_per_class("weibo", ["angry", "fear", "happy", "sad", "surprise"], None, None) == [20, 20, 20, 20, 16]
    assert keywords_per_class("tweet", ["negative", "positive"], 2000, None) == [1000, 1000]


def test_chinese_keyword_presence_is_substring_match(shared_data_dir):
    corpus = load_corpus("weibo", 3, shared_data_dir / "weibo-smp2020-ewect", per_class=300, seed=0)
    feat = KeywordFeaturizer("zh", [28, 23, 22]).fit(corpus.texts, corpus.labels)
    X = feat.transform(corpus.texts)  # CSR: presence found through the text's n-grams, not d substring scans
    assert sparse.issparse(X) and X.shape == (len(corpus.texts), 73)
    expected = np.array([[kw in text for kw in feat.keywords_] for text in corpus.texts], dtype=np.float32)
    assert np.array_equal(X.toarray(), expected) and X.nnz == expected.sum() > 0


# ------------------------------------------------------------------ splits

def test_splits_are_disjoint_balanced_and_seeded(tweet):
    corpus, s, _, _ = tweet
    parts = [set(s.members), set(s.heldout), set(s.attacker)]
    assert sum(map(len, parts)) == len(corpus) and len(set.union(*parts)) == len(corpus)
    assert set(s.eval_members) <= parts[0] and set(s.eval_nonmembers) <= parts[1]
    assert len(s.eval_members) == len(s.eval_nonmembers) == 150
    again = make_splits(corpus, "random", 0.5, 1.0, 150, "heldout", seed=0)
    assert np.array_equal(again.members, s.members) and np.array_equal(again.eval_nonmembers, s.eval_nonmembers)
    other = make_splits(corpus, "random", 0.5, 1.0, 150, "attacker", seed=1)
    assert set(other.eval_nonmembers) <= set(other.attacker)
    assert not np.array_equal(other.members, s.members)


def test_attacker_fraction_sizes_the_attacker_alone(tweet):
    """dataset.attacker_fraction shrinks the attacker's population; members, held-out records and the
    evaluation draws stay the same, so an attacker-knowledge sweep scores every level on one evaluation set."""
    corpus, full, _, _ = tweet
    for fraction in (0.1, 0.5):
        part = make_splits(corpus, "random", 0.5, fraction, 150, "heldout", seed=0)
        for key in ("members", "heldout", "eval_members", "eval_nonmembers"):
            assert np.array_equal(getattr(part, key), getattr(full, key)), key
        assert set(part.attacker) < set(full.attacker)
        assert abs(len(part.attacker) - fraction * len(full.attacker)) <= len(np.unique(corpus.labels))
        for cls in np.unique(corpus.labels):  # stratified
            share = np.mean(corpus.labels[part.attacker] == cls)
            assert abs(share - np.mean(corpus.labels[full.attacker] == cls)) < 0.05


def test_official_split_trains_on_emoint_train(shared_data_dir):
    corpus = load_corpus("tweet", 4, shared_data_dir / "emoint", per_class=None, seed=0)
    s = make_splits(corpus, "official", 0.5, 1.0, 500, "attacker", seed=0)
    assert set(corpus.official[s.members]) == {"train"}
    assert set(corpus.official[np.concatenate([s.heldout, s.attacker])]) == {"dev", "test"}


def test_eval_size_larger_than_data_is_a_clear_error(tweet):
    corpus = tweet[0]
    with pytest.raises(ConfigError, match=r"eval.size=5000: at most \d+"):
        make_splits(corpus, "random", 0.5, 1.0, 5000, "heldout", seed=0)


# ------------------------------------------------------------------ stage 1: synthesis

def test_statistics_synthesis_matches_attacker_marginals_with_new_records(tweet):
    corpus, s, _, X = tweet
    X_aux = X[s.attacker]
    X_s = synthesize_statistics(X_aux, 1500, 200, 1, np.random.default_rng(0))
    assert sparse.issparse(X_s) and X_s.shape == (1500, X_aux.shape[1])  # in the population's format
    assert len({r.tobytes() for r in X_s.toarray()}) == X_s.shape[0]  # every accepted record is new
    # The sampler follows the population's density, not uniform noise: sparse rows, correlated marginals.
    assert abs(X_s.sum(1).mean() - X_aux.sum(1).mean()) < 2.0
    assert np.corrcoef(np.asarray(X_s.mean(0)).ravel(), np.asarray(X_aux.mean(0)).ravel())[0, 1] > 0.5
    # The same records from the same population held dense (the format changes nothing but the format).
    dense_s = synthesize_statistics(X_aux.toarray().astype(np.uint8), 1500, 200, 1, np.random.default_rng(0))
    assert dense_s.dtype == np.uint8 and np.array_equal(dense_s, X_s.toarray())


def test_statistics_synthesis_draws_the_same_records_with_or_without_the_presence_matrix(tweet, monkeypatch):
    """The presence matrix (small vocabularies) only answers faster what the search of each chain's features
    answers (large ones); the noisy copies toggle each row's distinct flips, as a per-row setxor1d does."""
    corpus, s, _, X = tweet
    X_aux = X[s.attacker]
    with_matrix = synthesize_statistics(X_aux, 800, 100, 3, np.random.default_rng(4))
    monkeypatch.setattr(pairwise, "PRESENCE_BYTES", 0)
    searched = synthesize_statistics(X_aux, 800, 100, 3, np.random.default_rng(4))
    assert (with_matrix != searched).nnz == 0
    rng = np.random.default_rng(1)
    rows = [np.sort(rng.choice(50, rng.integers(0, 6), replace=False)) for _ in range(300)]
    flips = rng.integers(0, 50, (300, 4))  # repeats among a row's flips: a feature drawn twice toggles once
    noisy = pairwise._noisy(rows, flips, 50)
    assert all(np.array_equal(got, np.setxor1d(row, np.unique(f))) for got, row, f in zip(noisy, rows, flips))


def test_pairwise_couplings_are_the_dense_models_entries_without_a_dense_matrix(tweet):
    """The co-occurrence model is never d x d: each coupling is computed from the sparse counts when a step
    needs it. Every entry equals the dense definition (log odds ratio of co-occurrence, smoothed, clipped,
    shrunk by sqrt(d)), pairs that never co-occur included."""
    corpus, s, _, X = tweet
    X_aux = X[s.attacker].toarray().astype(np.float64)
    n, d = X_aux.shape
    p11 = X_aux.T @ X_aux
    p1 = np.diag(p11)
    p10, p01 = p1[:, None] - p11, p1[None, :] - p11
    p00 = n - p11 - p10 - p01
    W = np.clip(np.log((p11 + 0.5) * (p00 + 0.5)) - np.log((p10 + 0.5) * (p01 + 0.5)), -4, 4) / d ** 0.5
    np.fill_diagonal(W, 0.0)
    model = PairwiseModel(X[s.attacker])
    j, k = np.indices((d, d)).reshape(2, -1)
    assert np.array_equal(model.couplings(j, k).reshape(d, d), W)
    assert (p11 == 0).sum() > d  # never co-occurring pairs are most of them, and still coupled
    m = (p1 + 0.5) / (n + 1.0)
    assert np.array_equal(model.bias, np.log(m / (1 - m)))
    assert len(model._keys) == (p11 > 0).sum()  # what it holds: the pairs that co-occur


def test_format_synthesis_confidence_acceptance_raises_confidence(tweet):
    corpus, s, _, X = tweet
    model = fit_local_model("logistic", {}, X[s.members], corpus.labels[s.members], seed=0)
    plain = CountingTarget(model, 4, X.shape[1])
    new, new_cls = format_walk(plain, SynthesisConfig(name="format", n_records=400, max_proposals=20000),
                               np.random.default_rng(0))
    conf_target = CountingTarget(model, 4, X.shape[1])
    config = SynthesisConfig(name="format", n_records=400, accept="confidence", max_proposals=20000)
    confident, conf_cls = format_walk(conf_target, config, np.random.default_rng(0))
    assert len(new) == 400 and len(confident) > 0
    assert len({r.tobytes() for r in new}) == 400  # every accepted record is new
    sparse_target = CountingTarget(model, 4, X.shape[1], sparse=True)  # the walk in a sparse audit's format
    walked, walked_cls = format_walk(sparse_target, SynthesisConfig(name="format", n_records=400, max_proposals=20000),
                                     np.random.default_rng(0))
    assert sparse.issparse(walked) and np.array_equal(walked.toarray(), new) and np.array_equal(walked_cls, new_cls)
    assert plain.ledger.as_dict()["sent"] == 0  # accept=new never asks the target
    assert conf_target.ledger.as_dict()["sent"] > 0
    in_class = lambda X_, c: model.predict_proba(X_)[np.arange(len(c)), c].mean()  # noqa: E731
    assert in_class(confident, conf_cls) > in_class(new, new_cls) + 0.1
    # Shokri et al.'s confidence floor: every kept record is labelled as its walk's class above conf_min
    probs = model.predict_proba(confident)
    assert (probs.argmax(1) == conf_cls).all() and (probs[np.arange(len(conf_cls)), conf_cls] > config.conf_min).all()


def test_format_walks_keep_the_known_sparse_format(tweet):
    """The reported defect: walks started from uniformly random vectors (half of all keywords set, against
    1-3 in a real tweet). Starts and accepted records now stay near start_density."""
    corpus, s, _, X = tweet
    model = fit_local_model("logistic", {}, X[s.members], corpus.labels[s.members], seed=0)
    config = SynthesisConfig(name="format", n_records=600, accept="confidence", max_proposals=40000)
    expected = config.start_density * X.shape[1]
    for accept in ("new", "confidence"):
        config.accept = accept
        X_s, _ = format_walk(CountingTarget(model, 4, X.shape[1]), config, np.random.default_rng(1))
        assert X_s.sum(1).mean() < 3 * expected + 2, accept  # was ~100 of 200 keywords
    starts = format_starts(2000, X.shape[1], config.start_density, np.random.default_rng(0))
    assert abs(starts.sum(1).mean() - expected) < 0.3


def test_change_features_changes_exactly_k_and_keeps_density():
    rng = np.random.default_rng(0)
    X = format_starts(200, 300, 0.02, rng)
    k = rng.integers(1, 9, len(X))
    changed = change_features(X, k, 0.02, rng)
    assert np.array_equal((changed != X).sum(1), k)
    for _ in range(300):  # a long walk neither fills nor empties the vectors
        X = change_features(X, 4, 0.02, rng)
    assert 3 < X.sum(1).mean() < 9  # stationary count ~ 300 * 0.02 = 6


# ------------------------------------------------------------------ stage 2: in/out

def test_kmeans_split_on_the_papers_fig4_toy_example():
    probs = np.array([[0.9, 0.05, 0.05], [0.8, 0.05, 0.15], [0.4, 0.3, 0.3], [0.5, 0.3, 0.2], [0.6, 0.2, 0.2]])
    assert kmeans_in_out_split(probs).tolist() == [True, True, False, False, False]


def test_kmeans_split_is_per_predicted_class_and_survives_identical_rows():
    probs = np.array([[0.95, 0.05], [0.55, 0.45], [0.1, 0.9], [0.4, 0.6], [0.02, 0.98]])
    assert kmeans_in_out_split(probs).tolist() == [True, False, True, False, True]
    one_hot = np.tile([[0.0, 1.0]], (6, 1))  # label-only outputs: nothing to split
    assert kmeans_in_out_split(one_hot).all()


# ------------------------------------------------------------------ stage 3: mimic

def test_gan_mimic_improves_fidelity_over_its_untrained_start(tweet):
    corpus, s, _, X = tweet
    model = fit_local_model("xgboost", {"n_estimators": 50}, X[s.members], corpus.labels[s.members], seed=0)
    X_s = synthesize_statistics(X[s.attacker], 1200, 100, 1, np.random.default_rng(0))
    Y_s = model.predict_proba(X_s)
    train, held = slice(0, 1000), slice(1000, None)
    gan = MimicGAN(X.shape[1], 4, MimicConfig(epochs=40, fidelity_weight=0.0), random_state=0)  # mimic=gan_paper
    before = fidelity(gan.predict_proba(X_s[held]), Y_s[held])
    gan.fit(X_s[train], Y_s[train])
    after = fidelity(gan.predict_proba(X_s[held]), Y_s[held])
    assert after["label_agreement"] > before["label_agreement"] + 0.2
    assert after["mean_abs_diff"] < before["mean_abs_diff"]
    assert gan.fidelity_weight == 0.0  # the paper's pure GAN did this, no supervised term


def _torch_mlp(net: ResidualMLP):
    """The torch modules the mimic was before issue 22 (nn.Sequential: Linear, LeakyReLU, residual blocks
    x + LeakyReLU(Linear(LayerNorm(x))), Linear), holding ``net``'s weights."""
    from torch import nn

    class Residual(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.body = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.LeakyReLU(0.2))

        def forward(self, x):
            return x + self.body(x)

    n_in = sum(net.n_in)
    layers = ([nn.Linear(n_in, net.n_out)] if net.depth < 2 else
              [nn.Linear(n_in, net.width), nn.LeakyReLU(0.2), *[Residual(net.width) for _ in range(net.depth - 2)],
               nn.Linear(net.width, net.n_out)])
    module = nn.Sequential(*layers).double()
    module.load_state_dict({k: torch.from_numpy(v) for k, v in net.state().items()}, strict=True)
    return module


@pytest.mark.parametrize("depth", [1, 2, 3, 10])
def test_mimic_networks_compute_what_the_torch_modules_did(depth):
    """The numpy networks (attacks/residual_mlp.py) are the torch model the mimic was: same layers, same
    weight names, same answers; inputs given in blocks (the discriminator's [x, y]) read as one."""
    rng = np.random.default_rng(depth)
    net = ResidualMLP((7, 3), 2, depth, 5, rng, dtype=np.float64)
    x, y = (rng.random((9, 7)) < 0.3).astype(float), rng.dirichlet(np.ones(3), 9)
    expected = _torch_mlp(net)(torch.from_numpy(np.hstack([x, y]))).detach().numpy()
    assert np.allclose(net.forward(x, y)[0], expected, rtol=1e-12, atol=1e-12)
    y2 = rng.dirichlet(np.ones(3), 9)  # a block of 9 rows read by both halves of 18 (the discriminator's x)
    assert np.allclose(net.forward(x, np.vstack([y, y2]))[0], np.vstack([net.forward(x, y)[0], net.forward(x, y2)[0]]))
    with pytest.raises(ValueError, match="input blocks of 9 and 10 rows"):
        net.forward(x, rng.dirichlet(np.ones(3), 10))
    again = ResidualMLP((7, 3), 2, depth, 5, np.random.default_rng(99), dtype=np.float64)
    again.load(net.state())
    assert np.array_equal(again.forward(x, y)[0], net.forward(x, y)[0])
    with pytest.raises(ValueError, match="weight"):
        ResidualMLP((7, 3), 3, depth, 5, rng).load(net.state())  # another number of classes


def _numeric_gradient(params: np.ndarray, loss, step: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(params)
    for i in range(len(params)):
        kept = params[i]
        params[i] = kept + step
        up = loss()
        params[i] = kept - step
        down = loss()
        params[i] = kept
        grad[i] = (up - down) / (2 * step)
    return grad


@pytest.mark.parametrize("fidelity_weight, records", [(0.0, "dense"), (0.7, "dense"), (0.7, "sparse")])
def test_mimic_gradients_are_the_derivatives_of_the_gan_losses(fidelity_weight, records):
    """Eq. (2)'s and Eq. (3)'s gradients, written out by hand in attacks/mimic.py and residual_mlp.py, equal
    the losses' finite differences for every weight of both networks (float64), records dense or a CSR batch
    (the input layers multiply its non-zeros)."""
    rng = np.random.default_rng(0)
    config = MimicConfig(depth=4, width=5, d_depth=3, d_width=4, fidelity_weight=fidelity_weight)
    gan = MimicGAN(6, 3, config, random_state=0, dtype=np.float64)
    x, y_real = (rng.random((11, 6)) < 0.4).astype(float), rng.dirichlet(np.ones(3), 11)
    x = sparse.csr_matrix(x) if records == "sparse" else x
    gen, disc = gan.generator, gan.discriminator

    def d_loss():
        logits, _ = gen.forward(x)
        return gan.discriminator_step(x, y_real, np.exp(logits) / np.exp(logits).sum(1, keepdims=True))

    def g_loss():
        return gan.generator_step(x, y_real, *gen.forward(x))

    d_loss()
    analytic = disc.grads.copy()
    assert np.allclose(analytic, _numeric_gradient(disc.params, d_loss), rtol=1e-6, atol=1e-9)
    disc_grads = disc.grads.copy()
    g_loss()
    analytic = gen.grads.copy()
    assert np.array_equal(disc.grads, disc_grads)  # the mimic's step leaves the discriminator's gradients alone
    assert np.abs(analytic).max() > 1e-4
    assert np.allclose(analytic, _numeric_gradient(gen.params, g_loss), rtol=1e-6, atol=1e-9)


def test_attacker_knowledge_experiment_sweeps_the_fraction_on_an_overfit_target():
    from hydra import compose, initialize_config_dir

    from socinf_cli.conf_tree import config_dir
    from socinf_cli.config import register_configs
    from socinf_cli.validate import validate

    register_configs()
    with initialize_config_dir(version_base="1.3", config_dir=str(config_dir())):
        cfg = compose("config", overrides=["experiment=attacker_knowledge"], return_hydra_config=True)
    fractions = [float(f) for f in cfg.hydra.sweeper.params["dataset.attacker_fraction"].split(",")]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and all(0 < f <= 1 for f in fractions)
    assert cfg.target.name == "xgboost" and cfg.target.params.max_depth == 6  # overfit level 4
    assert cfg.hydra.sweeper.params["+experiment/sota_method"] == "lira,rmia,shadow,socinf"  # each attack
    validate(cfg)
    cfg.dataset.attacker_fraction = 0.0
    with pytest.raises(ConfigError, match=r"dataset.attacker_fraction=0.0: expected a number in \(0, 1\]"):
        validate(cfg)


def test_the_renamed_heldout_fraction_key_names_its_replacement(tmp_path):
    from socinf_runner import socinf

    proc = socinf(["run", "dataset.heldout_fraction=0.5"], cwd=tmp_path, data_dir=None)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(
        "socinf: error: dataset.heldout_fraction was replaced by dataset.attacker_fraction")
