"""Targets: every model under audit, local or remote, behind one black-box interface."""
from socinf.targets.base import BlackBox, CountingTarget, QueryLedger

__all__ = ["BlackBox", "CountingTarget", "QueryLedger"]
