"""activation: an elementwise function with its parameters from config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from xopipe.backends.base import ACTIVATIONS, Backend, BackendArray
from xopipe.errors import invalid
from xopipe.ops import Shape, StageConfig, register

if TYPE_CHECKING:
    from xopipe.config.schema import ActivationConfig


@dataclass(frozen=True)
class ActivationParams:
    name: str
    params: Mapping[str, float | str]  # negative_slope, alpha, beta, ... as the name needs


def prepare(stage: StageConfig) -> ActivationParams:
    node: ActivationConfig = stage.node
    keyof = stage.keyof
    name = node.name
    if name not in ACTIVATIONS:
        raise invalid(keyof("name"), name, "one of " + ", ".join(ACTIVATIONS))
    params = {key: getattr(node, key) for key in ACTIVATIONS[name]}
    if name == "gelu" and params["approximate"] not in ("none", "tanh"):
        raise invalid(keyof("approximate"), params["approximate"], "none or tanh")
    if name == "softplus" and not params["beta"] > 0:
        raise invalid(keyof("beta"), params["beta"], "a number > 0")
    return ActivationParams(name, params)


def output_shape(shape: Shape, p: ActivationParams) -> Shape:
    return shape


@register("activation", prepare=prepare, output_shape=output_shape)
def activation(backend: Backend, x: BackendArray, p: ActivationParams) -> BackendArray:
    return backend.activation(p.name, x, p.params)
