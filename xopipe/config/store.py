"""Register the schemas with Hydra's ConfigStore, where the YAML defaults lists find them."""

from __future__ import annotations

from hydra.core.config_store import ConfigStore

from xopipe.config.hydra_release import store_options
from xopipe.config.schema import SCHEMAS, XopipeConfig
from xopipe.config.train_schema import TRAIN_SCHEMAS, TrainConfig


def register_configs() -> None:
    """Put the schemas where the YAML files' defaults lists look for them."""
    from xopipe.private_api.plugin_path import expose_launcher_plugin

    expose_launcher_plugin()
    store = ConfigStore.instance()
    again = store_options()  # registered again by each composition path: not a collision
    store.store(name="xopipe_schema", node=XopipeConfig, **again)
    store.store(name="xopipe_train_schema", node=TrainConfig, **again)
    for group, schemas in {**SCHEMAS, **TRAIN_SCHEMAS}.items():
        for name, schema in schemas.items():
            store.store(group=f"schema/{group}", name=name, node=schema, **again)
