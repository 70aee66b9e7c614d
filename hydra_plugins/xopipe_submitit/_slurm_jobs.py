"""Submit a sweep's jobs to SLURM and wait for every one of them, within bounded polls.

A job ends in one of three ways: it leaves submitit's result file (the run
itself says complete or failed in its manifest), or SLURM reports it ended
without one (CANCELLED, TIMEOUT, NODE_FAIL, ...), or SLURM no longer knows
it at all. The last two are written into the job's folder as a failed
manifest, so the sweep's summary, report and resume=true see them like any
failed run. States come from sacct (submitit's watcher) and, when sacct
knows nothing (a cluster without accounting), from squeue.
"""

from __future__ import annotations

import copy
import logging
import os
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobStatus, filter_overrides
from omegaconf import OmegaConf, open_dict, read_write

log = logging.getLogger(__name__)

# SLURM job states in which a job may still write its result.
LIVE_STATES = frozenset(
    {
        "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED",
        "REQUEUE_FED", "REQUEUE_HOLD", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED",
        "RESV_DEL_HOLD", "SPECIAL_EXIT", "READY",
    }
)  # fmt: skip
# Seconds between looks at SLURM's job states: often at first, then at most once a minute.
FIRST_POLL_S = 3.0
LONGEST_POLL_S = 60.0
# How long a job may be unknown to both sacct and squeue before it counts as lost.
UNKNOWN_GRACE_S = 120.0
# How long a job SLURM says ended may take to show its result file (shared filesystems lag).
RESULT_GRACE_S = 15.0


class TimeLimitReached(Exception):
    """Raised in a job on SLURM's warning signal when it may not be requeued."""


def launch_and_wait(
    launcher: Any, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
) -> list[JobReturn]:
    """Hydra's BaseSubmititLauncher.launch, but every job ends as complete or failed."""
    import submitit
    from hydra.core.singleton import Singleton
    from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf

    config = launcher.config
    sweep_dir = Path(str(config.hydra.sweep.dir))
    sweep_dir.mkdir(parents=True, exist_ok=True)
    if "mode" in config.hydra.sweep:
        os.chmod(sweep_dir, mode=int(str(config.hydra.sweep.mode), 8))

    nums = [initial_job_idx + n for n in range(len(job_overrides))]
    returns: dict[int, JobReturn] = {}
    if config.get("resume", False):
        for num, overrides in zip(nums, job_overrides, strict=True):
            if _already_complete(launcher, overrides, num):
                log.debug("\t#%d : complete already (resume=true), not submitted", num)
                returns[num] = _job_return(overrides, "complete")
    todo = [
        (num, list(o)) for num, o in zip(nums, job_overrides, strict=True) if num not in returns
    ]

    if todo:
        params = dict(launcher.params)
        executor = submitit.AutoExecutor(
            cluster="slurm",
            folder=params.pop("submitit_folder"),
            slurm_max_num_timeout=params.pop("max_num_timeout"),
        )
        base_keys = set(OmegaConf.structured(BaseQueueConf).keys())
        executor.update_parameters(
            **{key if key in base_keys else f"slurm_{key}": v for key, v in params.items()}
        )
        # Debug, as the other launchers' per-job lines: the console shows progress lines.
        for num, overrides in todo:
            log.debug("\t#%d : %s", num, " ".join(filter_overrides(overrides)))
        state = Singleton.get_state()
        arguments = [(o, "hydra.sweep.dir", num, f"job_id_for_{num}", state) for num, o in todo]
        jobs = executor.map_array(launcher, *zip(*arguments, strict=True))
        array = jobs[0].job_id.split("_")[0]
        log.info(
            "%d jobs submitted to SLURM as job array %s (squeue -j %s)", len(jobs), array, array
        )
        try:
            waited = _wait_for_all(jobs)
        except KeyboardInterrupt as interrupt:
            # The jobs are the cluster's now: the command's one error line says so
            # (read by xopipe's entry point) instead of "marked failed".
            interrupt.jobs_left_running = (  # type: ignore[attr-defined]
                f"the sweep's SLURM jobs (job array {array}) are not stopped and keep running; "
                f"scancel {array} stops them"
            )
            raise
        for (num, overrides), (job, ended) in zip(todo, waited, strict=True):
            returns[num] = _outcome(launcher, job, ended, overrides, num)
    return [returns[num] for num in nums]


def _wait_for_all(jobs: list[Any]) -> list[tuple[Any, str | None]]:
    """Each job with None (it left its result) or the SLURM state it ended in without one."""
    ended: dict[int, str | None] = {}
    dying: dict[int, tuple[str, float]] = {}  # ended says SLURM; the result may still show up
    unknown_since: dict[int, float] = {}
    use_sacct = bool(jobs) and _sacct_answers(jobs[0].job_id)
    started = time.monotonic()
    next_look = started + FIRST_POLL_S
    while len(ended) < len(jobs):
        now = time.monotonic()
        for index, job in enumerate(jobs):
            if index in ended:
                continue
            if job.paths.result_pickle.exists():
                ended[index] = None
            elif index in dying and now >= dying[index][1]:
                ended[index] = dying[index][0]
        waiting = [i for i in range(len(jobs)) if i not in ended and i not in dying]
        if waiting and now >= next_look:
            states = _slurm_states([jobs[index] for index in waiting], use_sacct)
            for index in waiting:
                found = states.get(jobs[index].job_id)
                if found is None:  # neither sacct nor squeue knows it (yet, or any more)
                    unknown_since.setdefault(index, now)
                    if now - unknown_since[index] >= UNKNOWN_GRACE_S:
                        dying[index] = ("unknown to SLURM", now)
                    continue
                unknown_since.pop(index, None)
                if found.split()[0].upper() not in LIVE_STATES:
                    dying[index] = (found, now + RESULT_GRACE_S)
            next_look = now + min(LONGEST_POLL_S, max(FIRST_POLL_S, (now - started) / 10))
        if len(ended) < len(jobs):
            time.sleep(1.0)
    return [(job, ended[index]) for index, job in enumerate(jobs)]


def _sacct_answers(job_id: str) -> bool:
    """Whether this cluster keeps accounting: sacct fails on one without (slurmdbd)."""
    command = ["sacct", "-n", "-X", "-j", job_id.split("_")[0]]
    try:
        return subprocess.run(command, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _slurm_states(jobs: list[Any], use_sacct: bool) -> dict[str, str]:
    """{job id: state} from sacct (submitit's watcher), then squeue for what sacct lacks."""
    states = {}
    if use_sacct:
        watcher = jobs[0].watcher
        for job in jobs:
            watcher.register_job(job.job_id)
        watcher.update()  # one sacct call for every job
        for job in jobs:
            state = watcher.get_state(job.job_id, mode="cache")
            if state.upper() != "UNKNOWN":
                states[job.job_id] = state
    missing = [job.job_id for job in jobs if job.job_id not in states]
    if missing:
        states.update(_squeue_states(missing))
    return states


def _squeue_states(job_ids: list[str]) -> dict[str, str]:
    main_ids = sorted({job_id.split("_")[0] for job_id in job_ids})
    command = ["squeue", "-h", "-r", "-t", "all", "-o", "%i|%T", "-j", ",".join(main_ids)]
    try:
        listing = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        log.warning("squeue failed (%s); job states unknown for now", error)
        return {}
    pairs = (line.split("|", 1) for line in listing.stdout.splitlines() if "|" in line)
    return {job_id: state for job_id, state in pairs if job_id in job_ids}


def _outcome(
    launcher: Any, job: Any, ended: str | None, overrides: list[str], num: int
) -> JobReturn:
    """The job's own JobReturn, or a failed one whose reason is now in the job's manifest."""
    from xopipe.previous import mark_failed

    if ended is None:
        try:
            return job.results()[0]
        except Exception as error:  # the job failed outside the run (Hydra, submitit)
            reason = f"SLURM job {job.job_id} failed: {_first_line(error)}"
    else:
        reason = f"SLURM job {job.job_id} ended without a result ({ended})"
    reason += f"; its log: {job.paths.stderr}"
    folder = _job_folder(launcher, overrides, num)[0]
    mark_failed(folder, list(overrides), reason)
    log.debug("job %d failed: %s", num, reason)  # the sweep's summary reports it
    return _job_return(overrides, "failed")


def _first_line(error: BaseException) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def _job_return(overrides: Sequence[str], status: str) -> JobReturn:
    """What xopipe's task returns ('complete' or 'failed'): the sweep goes on either way."""
    result = JobReturn(overrides=list(overrides), status=JobStatus.COMPLETED)
    result.return_value = status
    return result


def _job_folder(launcher: Any, overrides: Sequence[str], num: int) -> tuple[Path, Any]:
    """The job's run folder and task config, composed as the job composes them."""
    config = launcher.hydra_context.config_loader.load_sweep_config(
        launcher.config, list(overrides)
    )
    with open_dict(config.hydra.job):
        config.hydra.job.num = num
    hydra_config = HydraConfig.instance()
    saved = hydra_config.cfg
    hydra_config.set_config(config)  # for ${hydra:...} in the folder's name
    try:
        folder = Path(str(config.hydra.sweep.dir)) / str(config.hydra.sweep.subdir)
        task = copy.deepcopy(config)
        with read_write(task), open_dict(task):
            del task["hydra"]
        OmegaConf.resolve(task)
    finally:
        hydra_config.cfg = saved
    return folder, task


def _already_complete(launcher: Any, overrides: Sequence[str], num: int) -> bool:
    from xopipe.previous import already_done, config_fingerprint

    folder, task = _job_folder(launcher, overrides, num)
    return already_done(folder, config_fingerprint(task))
