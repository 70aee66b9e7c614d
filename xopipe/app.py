"""The command line: `xopipe [overrides]` and `python -m xopipe [overrides]`."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from xopipe.config import register_configs
from xopipe.config.compose import compose_config
from xopipe.config.hydra_release import main_options
from xopipe.errors import UserError
from xopipe.figures.settings import figures_on_command_line
from xopipe.interrupt import Interrupted, describe
from xopipe.override_hints import did_you_mean, grammar_error, overrides_of, single_runs
from xopipe.previous import already_done, config_fingerprint
from xopipe.private_api.compose_once import composing_once
from xopipe.runner import run_experiment, run_job

if TYPE_CHECKING:
    from xopipe.experiment import Results

log = logging.getLogger("xopipe")

register_configs()
# Hydra's flags that choose another config: a second composition could not repeat them.
CONFIG_FLAGS = frozenset({"--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd"})
_task_started = False


@hydra.main(config_path="pkg://xopipe.conf", config_name="config", **main_options())
def _hydra_main(cfg: DictConfig) -> str:
    global _task_started
    _task_started = True
    hydra_cfg = HydraConfig.get()
    out_dir = Path(hydra_cfg.runtime.output_dir)
    overrides = list(hydra_cfg.overrides.task)
    sweeping = hydra_cfg.mode == RunMode.MULTIRUN
    if sweeping and cfg.resume and already_done(out_dir, config_fingerprint(cfg)):
        log.info(
            "job %s: a complete run of this config is already here (resume=true)", hydra_cfg.job.num
        )
        return "complete"
    # In a sweep the launching process prints one progress line per job
    # (with its error, if any) instead of every job's matrices.
    job = hydra_cfg.job.num if sweeping else None

    def work() -> Results:
        # Sweep jobs draw figures only when the command line asks (SWEEP_NOTE says why).
        draw = not sweeping or figures_on_command_line(overrides)
        return run_experiment(
            cfg, out_dir, overrides, job=job, show_matrices=not sweeping, draw_figures=draw
        )

    return "failed" if run_job(work, log, job) is None else "complete"


def main() -> None:
    """Run or sweep; a sweep with a failed job exits 1 (SystemExit from its callback)."""
    problem = grammar_error(sys.argv[1:])
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        raise SystemExit(2)
    global _task_started
    _task_started = False
    try:
        with composing_once():
            _hydra_main()
    except SystemExit as stop:
        if stop.code == 1 and not _task_started:  # Hydra refused the config: its lines are out
            hint = _did_you_mean(sys.argv[1:])
            if hint is not None:
                print(hint, file=sys.stderr)
        raise
    except (KeyboardInterrupt, Interrupted) as error:
        # The manifests already say failed; say so once, without a traceback. An
        # interrupt during a sweep names its folder (xopipe.interrupt.stop_sweep_on_signals).
        # A launcher whose jobs outlive the command (SLURM) says so on the error.
        sweep = getattr(error, "sweep", None)
        left_running = getattr(error, "jobs_left_running", None)
        if sweep is None and left_running is None:
            print(f"error: {describe(error)}; the run folder is marked failed", file=sys.stderr)
        else:
            jobs = left_running or "the jobs that were running are marked failed"
            resume = "add resume=true to finish the sweep" + (f" in {sweep}" if sweep else "")
            print(f"error: {describe(error)}; {jobs}; {resume}", file=sys.stderr)
        raise SystemExit(130 if isinstance(error, KeyboardInterrupt) else 143) from None


def _did_you_mean(argv: list[str]) -> str | None:
    """The close names for the key or option Hydra could not find, asked of the Compose API.

    Hydra's own lines stay as they are (their exception is not handed out);
    composing once more costs a fraction of a second, on this path only.
    """
    if CONFIG_FLAGS & set(argv):
        return None
    from hydra.core.global_hydra import GlobalHydra

    for overrides in single_runs(overrides_of(argv)):
        GlobalHydra.instance().clear()
        try:
            compose_config(overrides)
        except UserError as error:
            return did_you_mean(error.__cause__) if error.__cause__ is not None else None
    return None
