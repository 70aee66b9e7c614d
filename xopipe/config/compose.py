"""One run's config, composed with Hydra's Compose API from the configs the command line uses.

For Python (xopipe.run) and for the command line's second look at a config
Hydra refused: a mistake comes back as xopipe's UserError, in one line, with
Hydra's exception as its cause.
"""

from __future__ import annotations

from collections.abc import Sequence

from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import ConfigCompositionException
from omegaconf import DictConfig

from xopipe.config.hydra_release import compose_options
from xopipe.config.store import register_configs
from xopipe.errors import UserError
from xopipe.override_hints import composition_line, grammar_error

CONFIG_MODULE = "xopipe.conf"


def compose_config(overrides: Sequence[str], config_name: str = "config") -> DictConfig:
    """The composed config (conf/<config_name>.yaml: config for a run, train for training);
    UserError (Hydra's error as its cause) when Hydra refuses it."""
    problem = grammar_error(overrides)
    if problem is not None:
        raise UserError(problem)
    register_configs()
    try:
        if GlobalHydra.instance().is_initialized():  # inside a Hydra app, or a caller's compose
            return compose(config_name=config_name, overrides=list(overrides))
        with initialize_config_module(config_module=CONFIG_MODULE, **compose_options()):
            return compose(config_name=config_name, overrides=list(overrides))
    except ConfigCompositionException as error:  # MissingConfigException is one too
        raise UserError(composition_line(error)) from error
