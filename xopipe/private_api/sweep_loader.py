"""A sweep's configs composed once per set of group choices (hydra/launcher=xopipe).

A sweep's jobs usually differ in a few values (conv.stride=1,2) and rarely in
their group choices (backend=numpy,torch). Hydra's basic launcher composes the
whole config from the defaults list for every job, twice (once to validate,
once to run): most of a small sweep's time. Here each distinct set of group
overrides is composed once; a job's config is a copy of that composition
with the job's value overrides applied by Hydra's own override code, and
Hydra's record of the overrides rewritten as a full composition writes it.

The sweeper checks every job of a batch by building its config before the
launch builds it again; the configs it built are kept (up to KEPT_CONFIGS
of them) and handed to the launch, so each job's config is built once.
Copies are made by pickling, which OmegaConf supports.

Private Hydra API used: ConfigLoaderImpl._apply_overrides_to_config,
_parse_overrides_and_create_caching_repo, get_overrides_dirname (moved in
Hydra 1.4). The launcher uses this only where private_api_usable() says so.
"""

from __future__ import annotations

import pickle
from collections import deque
from typing import Any

from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import ConfigCompositionException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

# Configs the sweeper's check built, kept for the launch: about 0.3 MB each.
KEPT_CONFIGS = 256


class ReusingSweepLoader:
    """Hydra's config loader, with a load_sweep_config that reuses compositions."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._parser = OverridesParser.create(config_loader=inner)
        self._is_group: dict[tuple[str, str | None, tuple[str, ...]], bool] = {}
        # One repository per config name and search path: 15 ms each.
        self._repos: dict[tuple[str | None, tuple[str, ...]], Any] = {}
        self._parsed: dict[str, Override] = {}  # Hydra's override parser is slow: once per line
        self._compositions: dict[tuple[str, ...], bytes] = {}  # pickled
        self._kept: dict[tuple[str, ...], deque[DictConfig]] = {}
        self._kept_count = 0
        self.compositions = 0  # how many full compositions were made (for tests and logs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _split(
        self, parsed: list[Override], config_name: str | None
    ) -> tuple[list[Override], list[Override]]:
        """What composition needs (group choices, hydra.searchpath), and the value overrides.

        hydra.searchpath is a value, but it decides where groups are found, so
        it goes with the group choices into every composition.
        """
        searchpath = tuple(str(o.input_line) for o in parsed if _is_searchpath(o))
        structure, values = [], []
        for override in parsed:
            if _is_searchpath(override) or self._group(override, config_name, searchpath):
                structure.append(override)
            else:
                values.append(override)
        return structure, values

    def _group(
        self, override: Override, config_name: str | None, searchpath: tuple[str, ...]
    ) -> bool:
        """Hydra's own rule (defaults_list.Overrides): a non-dict value for an existing group."""
        if isinstance(override.value(), dict):
            return False
        key = (override.key_or_group, config_name, searchpath)
        if key not in self._is_group:
            where = (config_name, searchpath)
            if where not in self._repos:
                _, self._repos[where] = self._inner._parse_overrides_and_create_caching_repo(
                    config_name, list(searchpath)
                )
            self._is_group[key] = self._repos[where].group_exists(override.key_or_group)
        return self._is_group[key]

    def _parse(self, line: str) -> Override:
        if line not in self._parsed:
            (self._parsed[line],) = self._parser.parse_overrides([line])
        return self._parsed[line]

    def load_sweep_config(
        self, master_config: DictConfig, sweep_overrides: list[str]
    ) -> DictConfig:
        """Hydra's entry point (the sweeper's check calls it): build, and keep for the launch.

        The sweeper only checks that the config builds and drops it, so the
        same object is kept and handed to take_sweep_config later.
        """
        config = self._build(master_config, sweep_overrides)
        if self._kept_count < KEPT_CONFIGS:
            self._kept.setdefault(tuple(sweep_overrides), deque()).append(config)
            self._kept_count += 1
        return config

    def take_sweep_config(
        self, master_config: DictConfig, sweep_overrides: list[str]
    ) -> DictConfig:
        """The launch's call: the config the check built for these overrides, or a new one."""
        kept = self._kept.get(tuple(sweep_overrides))
        if kept:
            self._kept_count -= 1
            return kept.popleft()
        return self._build(master_config, sweep_overrides)

    def forget(self) -> None:
        """Drop what a batch's check kept and its launch did not take."""
        self._kept.clear()
        self._kept_count = 0

    def _is_master_composition(self, master_config: DictConfig, key: tuple[str, ...]) -> bool:
        """Whether the sweep's own config can stand in for composing `key` again.

        Hydra composed the sweep's config (the master) from every command-line
        override, sweeps left out. When a job's group choices are exactly the
        master's, the master is that composition with the fixed value
        overrides already applied; every job applies them again, which changes
        nothing as long as each is a plain or ++ assignment (a `+key` would be
        added twice, a `~key` deleted twice). hydra.overrides.* and the
        override dirname are rewritten per job anyway. A group left `???`
        (skipped in a sweep's composition, an error in a job's) never matches.
        """
        config_name = master_config.hydra.job.config_name
        lines = [
            *OmegaConf.to_container(master_config.hydra.overrides.hydra),  # type: ignore[misc]
            *OmegaConf.to_container(master_config.hydra.overrides.task),  # type: ignore[misc]
        ]
        fixed = [o for o in map(self._parse, map(str, lines)) if not o.is_sweep_override()]
        structure, values = self._split(fixed, config_name)
        groups = tuple(str(o.input_line) for o in structure)
        plain = all(not (o.is_add() or o.is_delete()) for o in values)
        choices = master_config.hydra.runtime.choices
        missing = any(OmegaConf.is_missing(choices, group) for group in choices)
        return groups == key and plain and not missing

    def _build(self, master_config: DictConfig, sweep_overrides: list[str]) -> DictConfig:
        config_name = master_config.hydra.job.config_name
        hydra_lines = OmegaConf.to_container(master_config.hydra.overrides.hydra)
        assert isinstance(hydra_lines, list)
        lines = [*map(str, hydra_lines), *sweep_overrides]
        parsed = [self._parse(line) for line in lines]
        groups, values = self._split(parsed, config_name)

        key = tuple(str(o.input_line) for o in groups)
        base = self._compositions.get(key)
        if base is None:
            if self._is_master_composition(master_config, key):
                base = self._compositions[key] = pickle.dumps(master_config)
            else:
                composed = self._inner.load_configuration(
                    config_name=config_name, overrides=list(key), run_mode=RunMode.RUN
                )
                base = self._compositions[key] = pickle.dumps(composed)
                self.compositions += 1
        config = pickle.loads(base)
        try:
            ConfigLoaderImpl._apply_overrides_to_config(values, config)
        except OmegaConfBaseException as error:  # as load_configuration reports it
            raise ConfigCompositionException().with_traceback(error.__traceback__) from error
        _record_overrides(config, parsed)
        OmegaConf.copy_cache(from_config=master_config, to_config=config)
        return config


def _is_searchpath(override: Override) -> bool:
    return override.key_or_group == "hydra.searchpath"


def _record_overrides(config: DictConfig, parsed: list[Override]) -> None:
    """hydra.overrides.* and hydra.job.override_dirname as a full composition sets them."""
    task = [o for o in parsed if not o.is_hydra_override()]
    config.hydra.overrides.hydra = [o.input_line for o in parsed if o.is_hydra_override()]
    config.hydra.overrides.task = [o.input_line for o in task]
    dirname = config.hydra.job.config.override_dirname
    config.hydra.job.override_dirname = get_overrides_dirname(
        overrides=task,
        kv_sep=dirname.kv_sep,
        item_sep=dirname.item_sep,
        exclude_keys=dirname.exclude_keys,
    )
