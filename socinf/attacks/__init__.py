"""Membership attacks, one per module, all with ``fit(target, knowledge, ctx)`` then ``score(probs, labels)``.

``SocInf`` (the paper's four stages: synthesis, k-means in/out split, GAN mimic, attack model),
``ShadowTraining`` (Shokri et al. 2017), ``LiRA`` (Carlini et al. 2022) and ``RMIA`` (Zarifzadeh et
al. 2024) with shared reference models (``references``) and the threshold attacks of ``baselines``. Constructors take plain
keyword arguments and only store them; ``fit`` learns; ``score`` before ``fit`` is a NotFittedError.
"""
_LAZY = {"SocInf": "socinf.attacks.socinf", "ShadowTraining": "socinf.attacks.shadow",
         "LiRA": "socinf.attacks.lira", "RMIA": "socinf.attacks.rmia", "ReferenceConfig": "socinf.attacks.references",
         "MimicConfig": "socinf.attacks.mimic", "MimicGAN": "socinf.attacks.mimic",
         "SynthesisConfig": "socinf.attacks.synthesis", "AttackContext": "socinf.attacks.base",
         "AttackerKnowledge": "socinf.attacks.base", "ReferenceJobs": "socinf.attacks.reference_jobs"}
__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'socinf.attacks' has no attribute {name!r}")
