"""A long sweep stays visibly alive: one line per finished job, `[n/N] status seconds overrides`.

The lines are printed by the process that launched the sweep (where
`xopipe -m` was typed), never by the jobs: a thread started at
on_multirun_start polls the sweep folder for job manifests, which each job
writes last. So they appear in the same console whatever runs the jobs: the
basic launcher (this process), joblib (local worker processes), submitit
(local subprocesses, or SLURM nodes sharing the sweep folder's filesystem),
Ray. A job's own output stays where its launcher puts it (submitit: the
.submitit/ logs). N is the number of jobs the basic sweeper will launch,
counted from the command line and hydra.sweeper.params; `?` when it cannot
be known in advance (glob sweeps, other sweepers without n_trials).
"""

from __future__ import annotations

import math
import os
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf

from xopipe.run_folder import MANIFEST, Override, is_run, job_dirs, manifest_or_none

POLL_SECONDS = 0.25

# Held while a progress line is written. xopipe's launcher forks its workers
# while this thread may be running: a fork in the middle of a print would
# leave the child's stderr locked forever, so a fork waits for the line.
_PRINTING = threading.Lock()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_PRINTING.acquire,
        after_in_parent=_PRINTING.release,
        after_in_child=_PRINTING.release,
    )


def planned_jobs(config: DictConfig) -> tuple[int | None, list[str]]:
    """How many jobs the sweep launches and which keys it sweeps; None when unknown.

    Mirrors Hydra's BasicSweeper: hydra.sweeper.params first, then the command
    line, a later override of a key replacing an earlier one; the job count is
    the product of the value counts.
    """
    sweeper = OmegaConf.select(config, "hydra.sweeper") or {}
    if not str(sweeper.get("_target_", "")).endswith(".BasicSweeper"):
        trials = sweeper.get("n_trials")
        return (trials if isinstance(trials, int) else None), []
    params = sweeper.get("params") or {}
    arguments = [f"{key}={value}" for key, value in params.items()]
    task = OmegaConf.to_container(config.hydra.overrides.task, resolve=False)
    arguments.extend(str(text) for text in task or [])  # type: ignore[union-attr]
    try:
        overrides = OverridesParser.create().parse_overrides(arguments)
        counts: dict[str, int] = {}
        for override in overrides:
            if override.is_sweep_override():
                counts[override.get_key_element()] = len(list(override.sweep_string_iterator()))
            else:
                counts[override.get_key_element()] = 1
    except HydraException:  # a glob needs the config loader, an interval is no list
        return None, []
    swept = [Override.parse(key).key for key, count in counts.items() if count > 1]
    return math.prod(counts.values()), swept


class ProgressWatcher:
    """Prints a line for each job whose manifest appears in the sweep folder."""

    def __init__(
        self,
        sweep_dir: Path,
        total: int | None,
        keys: list[str],
        stream: TextIO | None = None,
        interval: float = POLL_SECONDS,
    ) -> None:
        self.sweep_dir = sweep_dir
        self.total = total
        self.keys = set(keys)
        self.stream = stream
        self.interval = interval
        self.finished = 0
        self._before: dict[Path, tuple[int, int]] = {}
        self._known: set[Path] = set()
        self._done: set[Path] = set()
        self._counted: set[Path] = set()  # complete before a resumed sweep started
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, resuming: bool = False) -> None:
        """Remember manifests already there (a reused folder), then poll in the background.

        When resuming, the jobs already complete count as finished from the
        start (they will be skipped, without a line), so the count ends at N.
        """
        for path in self._job_dirs():
            signature = _signature(path / MANIFEST)
            if signature is not None:
                self._before[path] = signature
                manifest = manifest_or_none(path) if resuming else None
                if manifest is not None and manifest.get("status") == "complete":
                    self._counted.add(path)
        self.finished = len(self._counted)
        self._thread = threading.Thread(target=self._run, name="xopipe-progress", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling, then report the jobs that finished since the last poll."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.poll()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def poll(self) -> None:
        for path in self._job_dirs():
            if path in self._done:
                continue
            signature = _signature(path / MANIFEST)
            if signature is None or self._before.get(path) == signature:
                continue
            self._done.add(path)
            manifest = manifest_or_none(path)
            if manifest is not None:
                self._report(manifest, counted=path in self._counted)

    def _job_dirs(self) -> list[Path]:
        """Run folders in the sweep folder; top-level ones are looked up once."""
        try:
            entries = list(os.scandir(self.sweep_dir))
        except OSError:
            return []
        for entry in entries:
            path = Path(entry.path)
            if path in self._known or entry.name.startswith(".") or not entry.is_dir():
                continue
            if is_run(path):
                self._known.add(path)
            else:  # nested hydra.sweep.subdir: look deeper, again next time
                return sorted(self._known | set(job_dirs(self.sweep_dir)))
        return sorted(self._known)

    def _report(self, manifest: dict[str, Any], counted: bool = False) -> None:
        if not counted:  # a job counted at the start and run again (its config changed)
            self.finished += 1
        total = "?" if self.total is None else str(self.total)
        seconds = manifest.get("seconds")
        took = f"{seconds:.2f} s" if isinstance(seconds, int | float) else "? s"
        overrides = [Override.parse(str(text)) for text in manifest.get("overrides") or []]
        shown = [o.text for o in overrides if not self.keys or o.key in self.keys]
        line = f"[{self.finished}/{total}] {manifest.get('status')} {took}  {' '.join(shown)}"
        if manifest.get("status") != "complete" and manifest.get("error"):
            line += f"  ({manifest['error']})"
        with _PRINTING:
            print(line.rstrip(), file=self.stream or sys.stderr, flush=True)


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_ino, status.st_mtime_ns
