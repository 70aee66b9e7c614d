"""xopipe.callbacks: the sweep callback's start and end, in process."""

from __future__ import annotations

import os
import pickle
import signal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.finished_runs import hydra_like
from xopipe.callbacks import SweepSummary
from xopipe.interrupt import Interrupted, SweepKeyboardInterrupt


def test_sweep_callback_survives_pickling_while_watching(tmp_path):
    callback = SweepSummary(progress=True)
    config = hydra_like({}, ["backend=loop,numpy"])
    config.hydra.sweep = {"dir": str(tmp_path)}
    callback.on_multirun_start(config)
    try:
        clone = pickle.loads(pickle.dumps(callback))  # what joblib, submitit and ray do
        assert clone.progress is True and clone._watcher is None
        assert clone._restore_signals is None
    finally:
        callback._watcher.stop()
        callback._restore_signals()


def multirun_config(sweep_dir: Path, **diff: float):
    config = hydra_like({}, ["backend=loop,numpy"])
    config.hydra.sweep = {"dir": str(sweep_dir)}
    config.diff = {"atol": diff.get("atol"), "rtol": diff.get("rtol")}
    return config


def test_sweep_callback_end_prints_the_verdict_and_exits_1_for_a_failed_job(sweep, capsys):
    callback = SweepSummary(progress=False)
    config = multirun_config(sweep, atol=0.3)
    callback.on_multirun_start(config)
    with pytest.raises(SystemExit) as exit_:
        callback.on_multirun_end(config)
    assert exit_.value.code == 1  # a job failed
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0]
        == "backends agree: 30 grids within tolerance in 6 pairs; 1 of 7 jobs failed (skipped)"
    )
    assert out[1] == f"report: {sweep}/diff_report.md (and .html), {sweep}/diff.csv"
    (sweep / "6" / "manifest.json").unlink()
    (sweep / "6" / ".hydra" / "overrides.yaml").unlink()
    (sweep / "6" / ".hydra").rmdir()
    callback.on_multirun_start(config)
    callback.on_multirun_end(config)  # every job complete: no exit
    assert pq.read_table(sweep / "summary.parquet").num_rows == 6 * 62


def test_sweep_callback_reports_its_own_failure_in_one_line(sweep, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("xopipe.sweep_end.finish_sweep", broken)
    callback = SweepSummary(progress=False)
    config = multirun_config(sweep)
    callback.on_multirun_start(config)
    with pytest.raises(SystemExit) as exit_:
        callback.on_multirun_end(config)
    assert exit_.value.code == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == (
        f"error: could not summarize the sweep in {sweep}: "
        "OSError: [Errno 28] No space left on device"
    )


@pytest.mark.parametrize(
    ("sig", "kind"), [(signal.SIGTERM, Interrupted), (signal.SIGINT, SweepKeyboardInterrupt)]
)
def test_during_a_sweep_an_interrupt_names_its_folder(sweep, sig, kind):
    before = signal.getsignal(sig)
    callback = SweepSummary(progress=False)
    config = multirun_config(sweep)
    callback.on_multirun_start(config)
    with pytest.raises(kind) as caught:
        os.kill(os.getpid(), sig)
    assert caught.value.sweep == str(sweep)
    callback._restore_signals()
    assert signal.getsignal(sig) is before
