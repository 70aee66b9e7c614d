"""The launcher's typed config, registered as hydra/launcher=xopipe.

No `from __future__ import annotations` here: Hydra runs plugin modules outside
sys.modules while scanning, where dataclasses cannot resolve string annotations.
"""

from dataclasses import dataclass

from hydra.core.config_store import ConfigStore


@dataclass
class XopipeLauncherConf:
    _target_: str = "hydra_plugins.xopipe_launcher.xopipe_launcher.XopipeLauncher"

    # Compose the config once per distinct set of group choices (backend=...,
    # pool=...) and apply each job's value overrides (conv.stride=2) to a copy.
    # false: compose every job from scratch, exactly as the basic launcher.
    reuse_compositions: bool = True

    # Worker processes forked from the launching one, each taking the next job
    # when free: -1 for every core, 1 for every job in the launching process.
    # (Linux; elsewhere the jobs always run in the launching process.)
    n_jobs: int = -1


ConfigStore.instance().store(
    group="hydra/launcher", name="xopipe", node=XopipeLauncherConf, provider="xopipe"
)
