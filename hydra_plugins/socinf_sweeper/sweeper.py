"""socinf's sweeper: Hydra's BasicSweeper, except that with ``resume=true`` it launches only unfinished jobs.

Hydra loads a sweeper only from the ``hydra_plugins`` namespace package, hence this module (shipped in the
wheel, selected by ``conf/hydra/sweeper/socinf.yaml``). What counts as unfinished, and how a job keeps its
original number and dir, is ``socinf_cli.resume``. Plugin discovery imports this module at every start of
Hydra: it imports nothing of socinf until a resumed sweep begins.
"""
from __future__ import annotations

from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper


class SocinfSweeper(BasicSweeper):
    def setup(self, *, hydra_context: Any, task_function: Any, config: Any) -> None:
        super().setup(hydra_context=hydra_context, task_function=task_function, config=config)
        if config.get("resume"):
            from socinf_cli.resume import MissingJobsLauncher

            self.launcher = MissingJobsLauncher(self.launcher, hydra_context.config_loader, config)
