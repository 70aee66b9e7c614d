"""The config: typed schemas, their registration with Hydra, and the one conversion to them.

- `schema`: the dataclasses (keys, types, defaults: the one place defaults live);
- `store`: registers them with Hydra's ConfigStore for the YAML in conf/;
- `typed`: the edge, where a composed config becomes typed objects once.
"""

from xopipe.config import dask_schema  # noqa: F401  (adds backend=dask to SCHEMAS)
from xopipe.config.schema import SCHEMAS, XopipeConfig
from xopipe.config.store import register_configs
from xopipe.config.typed import StageEntry, read_config

__all__ = ["SCHEMAS", "StageEntry", "XopipeConfig", "read_config", "register_configs"]
