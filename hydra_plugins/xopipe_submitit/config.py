"""The hydra/launcher=submitit_slurm preset: Hydra's submitit settings, xopipe's launcher.

Every key of hydra-submitit-launcher's SlurmQueueConf works (`xopipe
hydra/launcher=submitit_slurm --cfg hydra -p hydra.launcher` lists them);
the ones below are those most sweeps set, with xopipe's defaults.

The preset takes the name `submitit_slurm` from Hydra's own. Hydra's plugin
scan runs the submitit plugin's module again on every start, storing its
node anew, so the preset is stored from a search-path hook, which Hydra
calls after the scan and before composing anything. Nothing happens when
the submitit extra is not installed.

No `from __future__ import annotations` here: Hydra runs plugin modules outside
sys.modules while scanning, where dataclasses cannot resolve string annotations.
"""

import inspect
from dataclasses import dataclass
from typing import Any, Optional

from hydra.core.config_search_path import ConfigSearchPath
from hydra.core.config_store import ConfigStore
from hydra.plugins.search_path_plugin import SearchPathPlugin

try:
    from hydra_plugins.hydra_submitit_launcher.config import SlurmQueueConf
except ImportError:  # pip install -e ".[submitit]" brings it
    SlurmQueueConf = None

if SlurmQueueConf is not None:

    @dataclass
    class XopipeSlurmQueueConf(SlurmQueueConf):
        _target_: str = "hydra_plugins.xopipe_submitit.slurm_launcher.XopipeSlurmLauncher"

        # --partition: the queue the jobs wait in; None: the cluster's default.
        partition: Optional[str] = None  # noqa: UP045 (Hydra's schema types)
        # --time, in minutes. A job still running at the limit is stopped and
        # marked failed; the other jobs go on. More than a minute above signal_delay_s.
        timeout_min: int = 60
        # --cpus-per-task: numpy and torch use as many threads.
        cpus_per_task: Optional[int] = 1  # noqa: UP045
        # --mem, in GB per job (a 4096x4096 run with figures needs about 2).
        mem_gb: Optional[int] = 4  # noqa: UP045
        # --gpus-per-node: 1 for backend=torch backend.device=cuda; None: not asked for.
        gpus_per_node: Optional[int] = None  # noqa: UP045
        # SLURM warns a job this many seconds before its time limit (submitit's
        # USR2), up to a minute early; the job then stops and is marked failed.
        signal_delay_s: int = 90


class XopipeSlurmPreset(SearchPathPlugin):
    """Stores the preset once every plugin module has run (see the module's docstring).

    Hydra 1.4 finds plugins through entry points, and an entry point cannot name a
    class that exists only with an extra installed: this hook registers the launcher
    class itself when Hydra has not found it (Plugins.register is Hydra's public way).
    """

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        if SlurmQueueConf is None:
            return
        # Hydra 1.4 warns when a stored name is replaced without saying so; 1.3 has no flag.
        says_replace = "replace" in inspect.signature(ConfigStore.store).parameters
        replace: dict[str, Any] = {"replace": True} if says_replace else {}
        ConfigStore.instance().store(
            group="hydra/launcher",
            name="submitit_slurm",
            node=XopipeSlurmQueueConf,
            provider="xopipe",
            **replace,
        )
        _register_launcher()


def _register_launcher() -> None:
    from hydra.core.plugins import Plugins
    from hydra.plugins.launcher import Launcher

    from hydra_plugins.xopipe_submitit.slurm_launcher import XopipeSlurmLauncher

    plugins = Plugins.instance()
    name = f"{XopipeSlurmLauncher.__module__}.{XopipeSlurmLauncher.__qualname__}"
    if all(f"{c.__module__}.{c.__qualname__}" != name for c in plugins.discover(Launcher)):
        plugins.register(XopipeSlurmLauncher)
