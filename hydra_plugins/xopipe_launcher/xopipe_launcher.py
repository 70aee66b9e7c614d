"""hydra/launcher=xopipe: Hydra's basic launcher, with every per-job artefact (.hydra/, log,
callbacks) it writes, but without re-composing the whole config for every job, and with
the jobs spread over worker processes forked from this one (n_jobs).

It uses nothing of the xopipe app; its shortcuts through Hydra's private API live in
xopipe.private_api, behind that package's version guard."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

# hydra/launcher=xopipe: Hydra 1.4 loads this module through its entry point only,
# without scanning the package, so the config node is stored from here too.
from hydra_plugins.xopipe_launcher import config as _config  # noqa: F401


class XopipeLauncher(Launcher):
    def __init__(self, reuse_compositions: bool = True, n_jobs: int = -1) -> None:
        if n_jobs == 0:  # joblib's reading of n_jobs, which has no 0
            print(
                "error: hydra.launcher.n_jobs must be a number of worker processes (1 runs "
                "every job in this process) or -1 for one per core (-2: all but one), got 0",
                file=sys.stderr,
            )
            raise SystemExit(2)
        self.reuse_compositions = reuse_compositions
        self.n_jobs = n_jobs
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        from xopipe.private_api import private_api_usable

        if self.reuse_compositions and private_api_usable():
            from xopipe.private_api.sweep_loader import ReusingSweepLoader

            if not isinstance(hydra_context.config_loader, ReusingSweepLoader):
                # The sweeper validates every job with this same loader before launching:
                # sharing it means that check composes once per group choice too.
                loader: Any = ReusingSweepLoader(hydra_context.config_loader)  # by duck typing
                hydra_context.config_loader = loader
        self.config, self.task_function, self.hydra_context = config, task_function, hydra_context

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        from hydra_plugins.xopipe_launcher._core import launch

        assert self.config is not None and self.task_function is not None
        assert self.hydra_context is not None
        return launch(
            self.hydra_context,
            self.task_function,
            self.config,
            job_overrides,
            initial_job_idx,
            self.n_jobs,
        )
