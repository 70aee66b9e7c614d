"""The work behind hydra/launcher=xopipe: Hydra's basic launcher, in this process or in workers.

Each job's config comes from the sweep's config loader (xopipe's reusing
loader, sweep_loader, when the launcher installed it) and the job runs as
Hydra's run_job runs it (xopipe.private_api.job_runner). With n_jobs > 1 the
jobs run in forked worker processes (_workers.py).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from hydra.core.utils import JobReturn, configure_log, filter_overrides, setup_globals
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict

from xopipe.private_api.job_runner import run_sweep_job

log = logging.getLogger(__name__)


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
    # Debug, not info: the sweep's console shows one progress line per job instead
    # (hydra.verbose=true shows these again).
    log.debug(f"Launching {len(job_overrides)} jobs locally")
    loader = hydra_context.config_loader
    # xopipe.private_api.sweep_loader's loader hands over the configs the sweeper's check built.
    take = getattr(loader, "take_sweep_config", loader.load_sweep_config)
    workers = min(worker_count(n_jobs), len(job_overrides))

    def run(position: int) -> JobReturn:
        idx = initial_job_idx + position
        overrides = list(job_overrides[position])
        sweep_config = take(config, overrides)
        with open_dict(sweep_config):
            sweep_config.hydra.job.id = str(idx)  # a str field, as the basic launcher sets it
            sweep_config.hydra.job.num = idx
        ret = run_sweep_job(hydra_context, task_function, sweep_config)
        configure_log(config.hydra.hydra_logging, config.hydra.verbose)
        return ret

    try:
        if workers > 1 and can_fork():
            for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
                log.debug(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
            return run_in_workers(run, len(job_overrides), workers)
        runs: list[JobReturn] = []
        for position, overrides in enumerate(job_overrides):
            log.debug(f"\t#{initial_job_idx + position} : {' '.join(filter_overrides(overrides))}")
            runs.append(run(position))
        return runs
    finally:
        if hasattr(loader, "forget"):
            loader.forget()


def worker_count(n_jobs: int) -> int:
    """n_jobs as joblib reads it: N workers, or -1 for every core this process may use."""
    if n_jobs > 0:
        return n_jobs
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (usable or 1) + 1 + n_jobs)
