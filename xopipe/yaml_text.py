"""OmegaConf.to_yaml's exact text, in about half the time, for configs saved on every job.

A sweep writes three YAML files per job (.hydra/) and a fourth copy in
report.html, each through PyYAML's pure-Python emitter, which spends most of
its time analysing every scalar (which quoting it allows) again and again:
the same key names and values in every job. The analysis is a pure function
of the scalar's text (for a given allow_unicode), so it is remembered here.
Everything else is OmegaConf's own dumper, representers and options, so the
text is byte-for-byte what OmegaConf.to_yaml writes (tested).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from omegaconf import Container, OmegaConf
from omegaconf._utils import OmegaConfDumper, get_omega_conf_dumper

get_omega_conf_dumper()  # registers OmegaConf's str representer, which this dumper inherits

_MAX_REMEMBERED = 1 << 16


class _Dumper(OmegaConfDumper):
    _analyses: dict[str, Any] = {}

    def analyze_scalar(self, scalar: str) -> Any:
        found = self._analyses.get(scalar)
        if found is None:
            if len(self._analyses) >= _MAX_REMEMBERED:
                self._analyses.clear()
            found = self._analyses[scalar] = super().analyze_scalar(scalar)
        return found


def to_yaml(cfg: Container) -> str:
    """OmegaConf.to_yaml(cfg): interpolations kept, keys in their order."""
    container = OmegaConf.to_container(cfg, resolve=False, enum_to_str=True)
    text: str = yaml.dump(
        container, default_flow_style=False, allow_unicode=True, sort_keys=False, Dumper=_Dumper
    )
    return text


def save_config(cfg: Container, filename: str, output_dir: Path) -> None:
    """hydra.core.utils._save_config, with this module's to_yaml."""
    output_dir.mkdir(parents=True, exist_ok=True)
    with open(str(output_dir / filename), "w", encoding="utf-8") as file:
        file.write(to_yaml(cfg))
