"""The edge: Hydra's composed config becomes typed objects, once per run.

`read_config` refuses keys no schema declares, converts the whole tree with
`OmegaConf.to_object` (dataclass instances, plain lists and dicts), and
checks the free-form `pipeline.stages` entries. Everything below it (inputs,
kernels, ops, figures, sinks) reads these objects; nothing there reads
OmegaConf.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from xopipe.config.schema import SCHEMAS, KernelsConfig, XopipeConfig
from xopipe.config.strict import check_no_unknown_keys
from xopipe.errors import UserError, invalid

STAGE_KEYS = ("op", "input", "params")


@dataclass(frozen=True)
class StageEntry:
    """One `pipeline.stages` entry: which op, what it reads, its own settings."""

    op: str
    input: str  # 'input' or another stage's name
    # Values over the op's own node for this stage only; a conv stage's
    # `kernels` is already a typed KernelsConfig here.
    params: dict[str, Any] = field(default_factory=dict)


def read_config(cfg: DictConfig) -> XopipeConfig:
    """The composed config as typed objects; a mistake in it is one UserError."""
    check_no_unknown_keys(cfg)
    config = _to_object(cfg, "")
    assert isinstance(config, XopipeConfig), type(config)
    check_installed(config.backend)
    config.pipeline.stages = {
        str(name): _stage_entry(str(name), entry) for name, entry in config.pipeline.stages.items()
    }
    return config


# Backends whose libraries are an optional extra: backend -> (modules, extra).
EXTRAS = {"dask": (("dask", "dask.array"), "dask")}


def check_installed(backend: Any) -> None:
    """A backend from an extra that is not installed: one line naming it, before any work."""
    found = EXTRAS.get(backend.name)
    needs = list(found[0]) if found else []
    if getattr(backend, "address", None):  # a dask.distributed scheduler's client
        needs.append("distributed")
    missing = [name for name in needs if not _importable(name)]
    if missing:
        extra = found[1] if found else backend.name
        raise UserError(
            f"backend: {backend.name} needs {missing[0]}, which is not installed here; install "
            f'the extra: pip install -c constraints.txt -e ".[{extra}]"'
        )


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # "dask.array" where dask itself is missing
        return False


def _to_object(node: Any, where: str) -> Any:
    try:
        return OmegaConf.to_object(node)
    except OmegaConfBaseException as error:
        key = ".".join(k for k in (where, getattr(error, "full_key", "") or "?") if k)
        reason = str(error).splitlines()[0]
        raise UserError(f"{key}: {reason}") from None


def _stage_entry(name: str, entry: Any) -> StageEntry:
    """One pipeline.stages entry, checked: {op: str, input: str, params: dict}."""
    key = f"pipeline.stages.{name}"
    if not isinstance(entry, dict):
        raise invalid(key, entry, "a mapping {op: ..., input: ...}")
    unknown = sorted(set(entry) - set(STAGE_KEYS))
    if unknown:
        raise UserError(
            f"{key} has an unknown key '{unknown[0]}' (allowed: {', '.join(STAGE_KEYS)})"
        )
    for field_name in ("op", "input"):
        if not isinstance(entry.get(field_name), str):
            raise invalid(f"{key}.{field_name}", entry.get(field_name), "a name")
    params = entry.get("params") or {}
    if not isinstance(params, dict):
        raise invalid(f"{key}.params", params, "a mapping of settings, e.g. {stride: 2}")
    if params.get("kernels") is not None:  # an op's own weights (conv); others refuse it
        params = {**params, "kernels": _typed_kernels(f"{key}.params.kernels", params["kernels"])}
    return StageEntry(entry["op"], entry["input"], params)


def _typed_kernels(key: str, node: Any) -> KernelsConfig:
    """A stage's own `kernels` mapping, checked against the schema of its kind."""
    kinds = SCHEMAS["kernels"]
    if not isinstance(node, dict) or node.get("kind") not in kinds:
        kind = node.get("kind") if isinstance(node, dict) else node
        raise invalid(f"{key}.kind", kind, "one of " + ", ".join(kinds))
    try:
        typed = OmegaConf.merge(OmegaConf.structured(kinds[node["kind"]]), node)
    except OmegaConfBaseException as error:
        field_name = getattr(error, "full_key", "") or "?"
        reason = str(error).splitlines()[0]
        raise UserError(f"{key}.{field_name}: {reason}") from None
    return _to_object(typed, key)  # type: ignore[no-any-return]
