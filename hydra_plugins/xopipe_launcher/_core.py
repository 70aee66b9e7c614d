"""The work behind hydra/launcher=xopipe.

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

Configs are copied by pickling, which OmegaConf supports and which is about
2.5 times faster than its deepcopy on xopipe's config; Hydra's run_job is
followed step for step with that one change (it deep-copies twice per job).

With n_jobs > 1 the jobs run in forked worker processes (_workers.py).
"""

from __future__ import annotations

import logging
import os
import pickle
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.core.utils import (
    JobReturn,
    JobRuntime,
    JobStatus,
    _flush_loggers,
    configure_log,
    env_override,
    filter_overrides,
    setup_globals,
)
from hydra.errors import ConfigCompositionException
from hydra.types import HydraContext, RunMode, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict, read_write
from omegaconf.errors import OmegaConfBaseException

from xopipe.yaml_text import save_config

log = logging.getLogger(__name__)

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


def launch(
    hydra_context: HydraContext,
    task_function: TaskFunction,
    config: DictConfig,
    job_overrides: Sequence[Sequence[str]],
    initial_job_idx: int,
    n_jobs: int = 1,
) -> Sequence[JobReturn]:
    """Run the jobs: Hydra's basic launcher, step for step, in this process or in workers."""
    from hydra_plugins.xopipe_launcher._workers import can_fork, run_in_workers

    setup_globals()
    configure_log(config.hydra.hydra_logging, config.hydra.verbose)
    Path(str(config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
    log.info(f"Launching {len(job_overrides)} jobs locally")
    loader = hydra_context.config_loader
    workers = min(worker_count(n_jobs), len(job_overrides))

    def run(position: int) -> JobReturn:
        idx = initial_job_idx + position
        overrides = list(job_overrides[position])
        if isinstance(loader, ReusingSweepLoader):
            sweep_config = loader.take_sweep_config(config, overrides)
        else:
            sweep_config = loader.load_sweep_config(config, overrides)
        with open_dict(sweep_config):
            sweep_config.hydra.job.id = idx
            sweep_config.hydra.job.num = idx
        ret = _run_job(hydra_context, task_function, sweep_config)
        configure_log(config.hydra.hydra_logging, config.hydra.verbose)
        return ret

    try:
        if workers > 1 and can_fork():
            for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
                log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
            return run_in_workers(run, len(job_overrides), workers)
        runs: list[JobReturn] = []
        for position, overrides in enumerate(job_overrides):
            log.info(f"\t#{initial_job_idx + position} : {' '.join(filter_overrides(overrides))}")
            runs.append(run(position))
        return runs
    finally:
        if isinstance(loader, ReusingSweepLoader):
            loader.forget()


def worker_count(n_jobs: int) -> int:
    """n_jobs as joblib reads it: N workers, or -1 for every core this process may use."""
    if n_jobs > 0:
        return n_jobs
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (usable or 1) + 1 + n_jobs)


def _task_copy(config: DictConfig) -> DictConfig:
    """run_job's `deepcopy(config)` then `del task_cfg["hydra"]`, without copying the hydra node.

    The hydra node is half the config: it is left out of the pickle (taken
    out of the container's content for the moment) instead of being copied
    and then deleted.
    """
    content = config.__dict__["_content"]
    order = list(content)
    hydra_node = content.pop("hydra")
    try:
        copied: DictConfig = pickle.loads(pickle.dumps(config))
    finally:
        content["hydra"] = hydra_node
        for key in order:  # back in the original order
            content[key] = content.pop(key)
    return copied


def _hydra_copy(hydra_config: DictConfig) -> DictConfig:
    """run_job's `deepcopy(HydraConfig.instance().cfg)`.

    HydraConfig's hydra node has the whole job config as its parent (so the
    user's config can interpolate it); a deep copy re-parents the copied node
    to the copied root and leaves the parent out. Pickling would copy the
    parent too, so the node points at its own root while it is pickled.
    """
    node = hydra_config._get_node("hydra")
    assert isinstance(node, DictConfig)
    parent = node._get_parent()
    node._set_parent(hydra_config)
    try:
        copied: DictConfig = pickle.loads(pickle.dumps(hydra_config))
    finally:
        node._set_parent(parent)
    return copied


def _run_job(
    hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
) -> JobReturn:
    """hydra.core.utils.run_job (Hydra 1.3) for a sweep job, copying configs by pickling.

    Same steps, same files (.hydra/config.yaml, hydra.yaml, overrides.yaml),
    same callbacks and JobReturn; version_base 1.3, so no change of directory
    unless hydra.job.chdir asks for it.
    """
    callbacks = hydra_context.callbacks
    old_cwd = os.getcwd()
    orig_hydra_cfg = HydraConfig.instance().cfg
    sweep = OmegaConf.to_container(config.hydra.sweep, resolve=False)
    if "${hydra:" in str(sweep):
        # The folder's name reads the hydra: resolver, which needs HydraConfig set first
        # (run_job always does this; it costs a copy of the hydra node).
        HydraConfig.instance().set_config(config)
    output_dir = os.path.join(
        str(OmegaConf.select(config, "hydra.sweep.dir")),
        str(OmegaConf.select(config, "hydra.sweep.subdir")),
    )
    with read_write(config.hydra.runtime), open_dict(config.hydra.runtime):
        config.hydra.runtime.output_dir = os.path.abspath(output_dir)
    HydraConfig.instance().set_config(config)
    chdir = False
    try:
        ret = JobReturn()
        task_cfg = _task_copy(config)
        ret.cfg = task_cfg
        hydra_cfg = _hydra_copy(HydraConfig.instance().cfg)  # type: ignore[arg-type]
        ret.hydra_cfg = hydra_cfg
        ret.overrides = OmegaConf.to_container(config.hydra.overrides.task)  # type: ignore[assignment]
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        chdir = bool(hydra_cfg.hydra.job.chdir)
        if chdir:
            os.chdir(output_dir)
            ret.working_dir = output_dir
        else:
            ret.working_dir = os.getcwd()
        configure_log(config.hydra.job_logging, config.hydra.verbose)
        if config.hydra.output_subdir is not None:
            hydra_output = Path(config.hydra.runtime.output_dir) / Path(config.hydra.output_subdir)
            # Hydra's _save_config, with the same text written faster (xopipe.yaml_text).
            save_config(task_cfg, "config.yaml", hydra_output)
            save_config(hydra_cfg, "hydra.yaml", hydra_output)
            save_config(config.hydra.overrides.task, "overrides.yaml", hydra_output)
        with env_override(hydra_cfg.hydra.job.env_set):
            callbacks.on_job_start(config=config, task_function=task_function)
            try:
                ret.return_value = task_function(task_cfg)
                ret.status = JobStatus.COMPLETED
            except Exception as error:
                ret.return_value = error
                ret.status = JobStatus.FAILED
        ret.task_name = JobRuntime.instance().get("name")
        _flush_loggers()
        callbacks.on_job_end(config=config, job_return=ret)
        return ret
    finally:
        HydraConfig.instance().cfg = orig_hydra_cfg
        if chdir:
            os.chdir(old_cwd)
