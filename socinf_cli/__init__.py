"""socinf: black-box membership-inference audits (SocInf, IEEE TCSS 2019, and baselines)."""

__version__ = "0.1.0"
