"""Refuse keys that no schema declares.

Hydra's `+key=value` adds a key even to a typed node, so `+conv.strid=2`
would be accepted and silently ignored. xopipe reads only the keys its
schemas declare; anything else is a mistake worth one line.
"""

from __future__ import annotations

import dataclasses

from omegaconf import DictConfig, OmegaConf

from xopipe.errors import UserError

# Nodes whose keys are the user's to choose (stage names, per-stage params).
FREE_FORM = {"pipeline.stages"}


def check_no_unknown_keys(cfg: DictConfig, prefix: str = "") -> None:
    schema = OmegaConf.get_type(cfg)
    if prefix in FREE_FORM:
        return
    if dataclasses.is_dataclass(schema):
        declared = {f.name for f in dataclasses.fields(schema)}
        for key in map(str, cfg):
            if key not in declared:
                where = f"{prefix}.{key}" if prefix else key
                allowed = ", ".join(sorted(declared))
                raise UserError(
                    f"{where} is not a setting xopipe reads (a '+' override added it); "
                    f"{prefix or 'the top level'} has: {allowed}"
                )
    for key in map(str, cfg):
        if OmegaConf.is_missing(cfg, key):
            continue
        child = cfg[key]
        if isinstance(child, DictConfig):
            check_no_unknown_keys(child, f"{prefix}.{key}" if prefix else key)
