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
from xopipe.interrupt import Interrupted, describe
from xopipe.override_hints import grammar_error
from xopipe.runner import log_to_file_only

log = logging.getLogger("xopipe.train")

register_configs()


@hydra.main(config_path="pkg://xopipe.conf", config_name="train", **main_options())
def _hydra_main(cfg: DictConfig) -> str:
    from xopipe.training.run import run_training

    hydra_cfg = HydraConfig.get()
    out_dir = Path(hydra_cfg.runtime.output_dir)
    sweeping = hydra_cfg.mode == RunMode.MULTIRUN
    try:
        training = run_training(cfg, out_dir, list(hydra_cfg.overrides.task))
    except UserError as error:
        log_to_file_only(log, logging.ERROR, f"error: {error}")
        if sweeping:
            return "failed"
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
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
        print(
            f"error: {describe(error)}; the run folder is marked failed and keeps the epochs "
            "done (resume=true in the same folder continues)",
            file=sys.stderr,
        )
        raise SystemExit(130 if isinstance(error, KeyboardInterrupt) else 143) from None
