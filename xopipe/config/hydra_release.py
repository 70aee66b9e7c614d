"""What Hydra's entry points take on the installed release: 1.3 and 1.4 ask differently.

Hydra 1.3 needs `version_base="1.3"` (no change of working directory, no
warning). Hydra 1.4 deprecates the argument (its own behaviour is 1.3's) and
asks instead for an execution whitelist: the `_target_`s a config may
instantiate, here xopipe's own callbacks (launcher plugins are trusted by
Hydra itself). Both are public API; only the release decides which applies.
"""

from __future__ import annotations

from typing import Any

import hydra

# The _target_s xopipe's config instantiates: hydra.callbacks in conf/config.yaml.
EXECUTION_WHITELIST = ["xopipe.callbacks.*"]


def release(version: str = hydra.__version__) -> tuple[int, int]:
    """(major, minor) of a Hydra version string such as "1.4.0rc3"."""
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def asks_for_whitelist(version: str = hydra.__version__) -> bool:
    return release(version) >= (1, 4)


def main_options(version: str = hydra.__version__) -> dict[str, Any]:
    """Keyword arguments for @hydra.main beside the config path and name."""
    if asks_for_whitelist(version):
        return {"execution_whitelist": EXECUTION_WHITELIST}
    return {"version_base": "1.3"}


def store_options(version: str = hydra.__version__) -> dict[str, Any]:
    """Keyword arguments for ConfigStore.store: 1.4 warns when a name is stored again
    without `replace` (xopipe registers its schemas once per composition path)."""
    return {"replace": True} if asks_for_whitelist(version) else {}


def compose_options(version: str = hydra.__version__) -> dict[str, Any]:
    """Keyword arguments for initialize_config_module (the compose API runs no callbacks)."""
    return {} if asks_for_whitelist(version) else {"version_base": "1.3"}
