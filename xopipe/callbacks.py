"""Hydra callbacks xopipe installs (hydra.callbacks in conf/config.yaml)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig


def _ensure_writable(key: str, folder: str) -> None:
    """Create `folder` or stop with one line; Hydra itself would show a traceback."""
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".xopipe-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        print(
            f"error: {key} must be a folder xopipe can write, got '{folder}' ({error.strerror})",
            file=sys.stderr,
        )
        raise SystemExit(2) from None


class OutputDirCheck(Callback):
    """Check the run or sweep folder before Hydra tries to use it."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        _ensure_writable("hydra.run.dir", config.hydra.run.dir)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _ensure_writable("hydra.sweep.dir", config.hydra.sweep.dir)
