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


ConfigStore.instance().store(
    group="hydra/launcher", name="xopipe", node=XopipeLauncherConf, provider="xopipe"
)
