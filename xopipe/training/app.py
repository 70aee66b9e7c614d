"""The training command line: `xopipe-train [overrides]` and `python -m xopipe.train`."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from xopipe.config import register_configs
from xopipe.config.hydra_release import main_options
from xopipe.errors import UserError
from xopipe.figures.settings import figures_on_command_line
from xopipe.interrupt import Interrupted, describe
from xopipe.override_hints import grammar_error
from xopipe.previous import already_done, config_fingerprint
from xopipe.runner import log_to_file_only

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
    try:
        # Sweep jobs draw figures only when the command line asks (as xopipe -m's jobs).
        draw = not sweeping or figures_on_command_line(overrides)
        job = hydra_cfg.job.num if sweeping else None
        training = run_training(cfg, out_dir, overrides, draw_figures=draw, job=job)
    except UserError as error:
        log_to_file_only(log, logging.ERROR, f"error: {error}")
        if sweeping:
            return "failed"  # the manifest says so; the other jobs go on
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except Exception:
        if not sweeping:
            raise
        # Hydra's basic sweeper would re-raise it after the batch and never call
        # on_multirun_end: keep the sweep alive, the manifest says failed.
        log.exception("job %s failed", hydra_cfg.job.num)
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
