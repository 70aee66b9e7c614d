"""The training command line: `xopipe-train [overrides]` and `python -m xopipe.train`."""

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
from xopipe.config.hydra_release import main_options
from xopipe.figures.settings import figures_on_command_line
from xopipe.interrupt import Interrupted, describe
from xopipe.override_hints import grammar_error
from xopipe.previous import already_done, config_fingerprint
from xopipe.runner import run_job

if TYPE_CHECKING:
    from xopipe.training.run import Training

log = logging.getLogger("xopipe.train")

register_configs()


@hydra.main(config_path="pkg://xopipe.conf", config_name="train", **main_options())
def _hydra_main(cfg: DictConfig) -> str:
    from xopipe.training.run import run_training

    hydra_cfg = HydraConfig.get()
    out_dir = Path(hydra_cfg.runtime.output_dir)
    overrides = list(hydra_cfg.overrides.task)
    sweeping = hydra_cfg.mode == RunMode.MULTIRUN
    if sweeping and cfg.resume and already_done(out_dir, config_fingerprint(cfg)):
        log.info("job %s: a complete training of this config is already here", hydra_cfg.job.num)
        return "complete"
    job = hydra_cfg.job.num if sweeping else None

    def work() -> Training:
        # Sweep jobs draw figures only when the command line asks (as xopipe -m's jobs).
        draw = not sweeping or figures_on_command_line(overrides)
        return run_training(cfg, out_dir, overrides, draw_figures=draw, job=job)

    training = run_job(work, log, job)
    if training is None:
        return "failed"
    final = training.trained.epochs[-1].scores
    log.info(
        "trained %d epochs: test accuracy %.3f, loss %.4f; wrote %s",
        training.trained.epochs[-1].number,
        final["test"][1],
        final["test"][0],
        out_dir,
    )
    return "complete"


def main() -> None:
    problem = grammar_error(sys.argv[1:])
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        raise SystemExit(2)
    try:
        _hydra_main()
    except (KeyboardInterrupt, Interrupted) as error:
        sweep = getattr(error, "sweep", None)  # a sweep's interrupt names its folder
        where = f"the sweep in {sweep}" if sweep else "the same folder"
        print(
            f"error: {describe(error)}; the run folder is marked failed and keeps the epochs "
            f"done (resume=true in {where} continues)",
            file=sys.stderr,
        )
        raise SystemExit(130 if isinstance(error, KeyboardInterrupt) else 143) from None
