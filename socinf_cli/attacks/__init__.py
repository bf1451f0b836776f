"""Attacks: SocInf's four stages and the baselines, all against a CountingTarget."""
