"""A sweep job run as hydra.core.utils.run_job runs it, with the config copies made by pickling.

Hydra's run_job deep-copies the job's config twice per job (the task's copy
without the hydra node, and HydraConfig's node); OmegaConf supports
pickling, which makes the same copies in less time. Everything else is
run_job (Hydra 1.3) step for step: the same files (.hydra/config.yaml,
hydra.yaml, overrides.yaml, written by yaml_text), callbacks and JobReturn.
It reads OmegaConf's private node structure (_content, _get_node,
_set_parent) and Hydra's _flush_loggers, so run_sweep_job takes Hydra's own
run_job wherever private_api_usable() says no.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import (
    JobReturn,
    JobRuntime,
    JobStatus,
    _flush_loggers,
    configure_log,
    env_override,
    run_job,
)
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from xopipe.private_api import private_api_usable
from xopipe.private_api.yaml_text import save_config


def run_sweep_job(
    hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
) -> JobReturn:
    """One job of a sweep, its folder under hydra.sweep.dir/hydra.sweep.subdir."""
    if not private_api_usable():
        return run_job(
            hydra_context=hydra_context,
            task_function=task_function,
            config=config,
            job_dir_key="hydra.sweep.dir",
            job_subdir_key="hydra.sweep.subdir",
        )
    return _run_job(hydra_context, task_function, config)


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
            # Hydra's _save_config, with yaml_text's copy of OmegaConf.to_yaml's text.
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
