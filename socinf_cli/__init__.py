"""socinf_cli: the ``socinf`` command, a Hydra layer that composes configs and builds the library's objects.

The library is the ``socinf`` package (``import socinf``); nothing in it imports this package.
"""
from socinf import __version__

__all__ = ["__version__"]
