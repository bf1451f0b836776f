"""The two evaluation protocols (paper Section IV.B.4 vs. the honest default), and the config resolvers
experiment configs use. Both are read by the library (reports of saved runs) and by the CLI (composing)."""
from __future__ import annotations

PROTOCOL_NAMES = ("honest", "paper")


def protocol_name(synthesis: str, eval_nonmembers: str) -> str:
    """"paper" for the paper's own protocol (IV.B.4: real attacker records as X_s, tested on them), else "honest"."""
    return "paper" if synthesis == "population" and eval_nonmembers == "attacker" else "honest"


def sweep_values(values) -> str:
    """``[0, 1]`` -> ``"0,1"``: a list becomes a Hydra sweep (``seed: ${socinf_sweep:${seeds}}``)."""
    return ",".join(str(v) for v in values)


def paper_split(dataset_name: str) -> str:
    """The paper's split: EmoInt's official one for Tweet; Weibo has none, so a random half."""
    return "official" if dataset_name == "tweet" else "random"


def register_resolvers() -> None:
    """``socinf_sweep`` and ``socinf_paper_split``, needed to resolve a saved job config (``.hydra/config.yaml``)."""
    from omegaconf import OmegaConf

    for name, resolver in (("socinf_sweep", sweep_values), ("socinf_paper_split", paper_split)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)
