"""Hydra callbacks xopipe installs (hydra.callbacks in conf/config.yaml)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig


def _ensure_writable(key: str, folder: str) -> None:
    """Create `folder` or stop with one line; Hydra itself would show a traceback."""
    from xopipe.sinks.files import unwritable_reason

    reason = unwritable_reason(Path(folder))
    if reason is not None:
        _refuse(f"{key} must be a folder xopipe can write, got '{folder}' ({reason})")


def _refuse(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


class OutputDirCheck(Callback):
    """Check the run or sweep folder before Hydra writes anything into it.

    It must be writable, and a complete earlier result in it is kept unless
    the user asks otherwise (overwrite=true, or resume=true for a sweep).
    """

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        from xopipe.run_folder import is_complete

        folder = config.hydra.run.dir
        if is_complete(Path(folder)) and not config.get("overwrite", False):
            _refuse(
                f"hydra.run.dir '{folder}' already holds a complete run; add overwrite=true "
                "to replace it, or choose another folder"
            )
        _ensure_writable("hydra.run.dir", folder)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from xopipe.run_folder import complete_jobs

        folder = config.hydra.sweep.dir
        done = complete_jobs(Path(folder))
        if done and not (config.get("overwrite", False) or config.get("resume", False)):
            _refuse(
                f"hydra.sweep.dir '{folder}' already holds a sweep with {len(done)} complete "
                "job(s); add resume=true to run only the failed or missing jobs, "
                "overwrite=true to run them all again, or choose another folder"
            )
        _ensure_writable("hydra.sweep.dir", folder)


def _need_parquet(config: DictConfig) -> None:
    """A sweep's summary and report read each job's matrices.parquet: refuse to go without."""
    tables = config.get("tables")
    if tables is None:  # not xopipe's config (a test's, a plugin's): nothing to check
        return
    if config.get("train") is not None:  # xopipe-train writes its Parquet tables always
        return
    formats = list(tables.get("formats") or [])
    if "parquet" not in formats:
        suggested = ",".join(["parquet", *(f for f in formats if f != "parquet")])
        _refuse(
            f"tables.formats={formats} in a sweep: its summary and diff report read each "
            f"job's matrices.parquet; add parquet: tables.formats=[{suggested}]"
        )


def _note_figures_off(config: DictConfig) -> None:
    """One line when the sweep's jobs will draw no figures (their default in a sweep)."""
    from xopipe.figures.settings import SWEEP_NOTE, figures_on_command_line

    swept = [f"{key}=" for key in (config.hydra.sweeper.get("params") or {})]
    if not figures_on_command_line([*config.hydra.overrides.task, *swept]):
        print(f"note: {SWEEP_NOTE}", file=sys.stderr, flush=True)


class SweepSummary(Callback):
    """At the end of a multirun, summary.parquet, diff.csv and diff_report.md/.html,
    for sweeps of runs (conf/config.yaml) and of training (conf/train.yaml) alike.

    Everything is read from the sweep folder (manifests, .hydra/overrides.yaml,
    matrices.parquet), never from the launcher's in-memory results, so it
    works for every launcher. During the sweep, one progress line per finished
    job goes to stderr when it is a terminal, or always with progress=true
    (xopipe.multirun.progress says where for each launcher), and an interrupt
    names the sweep (xopipe.interrupt.stop_sweep_on_signals) so that
    xopipe.app.main can say how to resume it.

    A sweep with a failed job, or whose summary could not be written, ends
    with SystemExit(1) from on_multirun_end, once its summary and reports are
    written: Hydra turns a callback's Exception into a warning but lets
    SystemExit through, and nothing of Hydra's multirun follows that hook.
    """

    def __init__(self, progress: bool | str = "auto") -> None:
        # auto: only when stderr is a terminal (a log file or a pipe gets the summary alone)
        self.progress = progress
        self._watcher: Any = None
        self._restore_signals: Callable[[], None] | None = None
        self._started = False  # on_multirun_start went through (Hydra 1.4 ends a refused one)
        self._interrupted = False  # a signal stopped the sweep: nothing to summarize

    def __getstate__(self) -> dict[str, Any]:
        # Launchers pickle the callbacks to run jobs elsewhere; the watcher thread and the
        # signal handlers stay here.
        state = dict(self.__dict__)
        state.update(_watcher=None, _restore_signals=None)
        return state

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from xopipe.interrupt import stop_sweep_on_signals
        from xopipe.multirun.progress import ProgressWatcher, planned_jobs

        if self.progress not in (True, False, "auto"):
            _refuse(
                "hydra.callbacks.sweep_summary.progress must be auto, true or false, "
                f"got '{self.progress}'"
            )
        _need_parquet(config)
        _note_figures_off(config)
        if self.progress is True or (self.progress == "auto" and sys.stderr.isatty()):
            total, keys = planned_jobs(config)
            self._watcher = ProgressWatcher(Path(config.hydra.sweep.dir), total, keys)
            self._watcher.start(resuming=bool(config.get("resume", False)))
        self._interrupted = False
        self._restore_signals = stop_sweep_on_signals(
            str(config.hydra.sweep.dir), on_signal=self._note_interrupt
        )
        self._started = True

    def _note_interrupt(self) -> None:
        self._interrupted = True

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from xopipe.sweep_end import finish_sweep

        if self._restore_signals is not None:
            self._restore_signals()
            self._restore_signals = None
        started, self._started = self._started, False
        if not started or self._interrupted:
            # Hydra 1.3 skips this hook after a refused start or an interrupt; 1.4 calls
            # it in a `finally`. Either way there is no sweep to summarize.
            if self._watcher is not None:
                self._watcher.stop()
                self._watcher = None
            return
        shown = self._watcher is not None  # its lines named each failed job's error
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        sweep_dir = Path(config.hydra.sweep.dir)
        diff = config.get("diff") or {}
        print(f"summarizing the sweep in {sweep_dir} ...", file=sys.stderr, flush=True)
        try:
            comparison = finish_sweep(sweep_dir, diff.get("atol"), diff.get("rtol"))
        except Exception as error:
            logging.getLogger("xopipe").exception("sweep summary failed")
            print(
                f"error: could not summarize the sweep in {sweep_dir}: "
                f"{type(error).__name__}: {error}",
                file=sys.stderr,
            )
            raise SystemExit(1) from None
        if not shown:  # a log or a pipe still gets why each failed job failed, one line each
            for job in comparison.skipped:
                print(
                    f"error: job {job.name} ({job.label()}) failed: {job.error}",
                    file=sys.stderr,
                )
        print(comparison.verdict())
        print(f"report: {sweep_dir / 'diff_report.md'} (and .html), {sweep_dir / 'diff.csv'}")
        print(f"summary: {sweep_dir / 'summary.parquet'}")
        if comparison.skipped or not comparison.jobs:
            raise SystemExit(1)
