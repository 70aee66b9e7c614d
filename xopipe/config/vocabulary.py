"""Every name a setting can take, with its parameters and defaults, defined once.

The ops check against these, every backend provides each activation named
here, and the explorer page receives them from Python (its choices and
defaults), so a new activation or mode is added in one place.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from xopipe.config.schema import (
    SCHEMAS,
    ActivationConfig,
    EluConfig,
    GeluConfig,
    LeakyReluConfig,
    SoftplusConfig,
)

# Activation name -> the schema of its node (conf/activation/<name>.yaml selects it).
ACTIVATION_SCHEMAS: dict[str, type[ActivationConfig]] = {
    "relu": ActivationConfig,
    "leaky_relu": LeakyReluConfig,
    "elu": EluConfig,
    "gelu": GeluConfig,
    "sigmoid": ActivationConfig,
    "tanh": ActivationConfig,
    "softplus": SoftplusConfig,
    "identity": ActivationConfig,
}


def parameters(schema: type) -> dict[str, Any]:
    """A node's settings besides its name, with their defaults, in the schema's order."""
    return {f.name: f.default for f in dataclasses.fields(schema) if f.name != "name"}


# Activation name -> {parameter: default}.
ACTIVATIONS: dict[str, dict[str, Any]] = {
    name: parameters(schema) for name, schema in ACTIVATION_SCHEMAS.items()
}
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")  # conv.padding_mode, as nn.Conv2d
PAD_MODES = ("constant", "reflect", "replicate", "circular")  # pad.mode, as F.pad
POOL_KINDS = tuple(SCHEMAS["pool"])  # pool=max | avg
NORMALIZE = ("mean", "none")  # conv.normalize


def vocabulary() -> dict[str, Any]:
    """All of it as JSON, for the explorer page."""
    return {
        "activations": ACTIVATIONS,
        "padding_modes": list(PADDING_MODES),
        "pad_modes": list(PAD_MODES),
        "pool_kinds": list(POOL_KINDS),
        "normalize": list(NORMALIZE),
    }
