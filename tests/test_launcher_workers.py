"""hydra_plugins/xopipe_launcher/_workers.py: a sweep's jobs in forked worker processes.

Every job runs once and returns in order; a worker that dies fails only its
job; a signal stops the sweep, marking the running jobs failed (with xopipe's
own handler, or with none in the process at all).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from hydra.core.utils import JobReturn, JobStatus

from hydra_plugins.xopipe_launcher._workers import run_in_workers


def _square(job: int) -> JobReturn:
    ret = JobReturn()
    ret.status = JobStatus.COMPLETED
    ret.return_value = (job * job, os.getpid())
    return ret


def test_workers_run_every_job_once_and_return_them_in_order():
    runs = run_in_workers(_square, 9, workers=2)
    assert [ret.return_value[0] for ret in runs] == [job * job for job in range(9)]
    pids = {ret.return_value[1] for ret in runs}
    assert len(pids) == 2 and os.getpid() not in pids


def _dies_on_job_one(job: int) -> JobReturn:
    if job == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return _square(job)


def test_a_worker_that_dies_fails_only_the_job_it_was_running(caplog):
    runs = run_in_workers(_dies_on_job_one, 5, workers=2)
    assert [ret.status for ret in runs] == [JobStatus.COMPLETED] * 5  # the sweep goes on
    assert runs[1].return_value == "failed"  # as xopipe's own jobs report a crash
    assert "job 1 failed: its worker process died (signal SIGKILL)" in caplog.text
    assert [ret.return_value[0] for i, ret in enumerate(runs) if i != 1] == [0, 4, 9, 16]


def _raises_on_job_two(job: int) -> JobReturn:
    if job == 2:
        raise OSError("disk gone")
    return _square(job)


def test_an_error_outside_the_task_fails_its_job_as_hydra_would():
    runs = run_in_workers(_raises_on_job_two, 4, workers=2)
    assert [ret.status for ret in runs] == [
        JobStatus.COMPLETED,
        JobStatus.COMPLETED,
        JobStatus.FAILED,
        JobStatus.COMPLETED,
    ]
    with pytest.raises(RuntimeError, match="job 2 failed: OSError: disk gone"):
        _ = runs[2].return_value


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_a_parallel_sweep_and_marks_its_running_jobs_failed(tmp_path, sig, status):
    sweep_dir = tmp_path / "sweep"
    # Four loop-backend jobs of seconds each, on two workers: two are running when the signal comes.
    command = [
        sys.executable,
        "-m",
        "xopipe",
        "-m",
        "backend=loop",
        "input=random",
        "input.shape=[300,300]",
        "input.seed=1,2,3,4",
        "figures=none",
        "print_matrices=false",
        "hydra.launcher.n_jobs=2",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    logs = [sweep_dir / "0" / "xopipe.log", sweep_dir / "1" / "xopipe.log"]
    while not all(log.exists() for log in logs) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # both inside the conv stage by now
    if sig == signal.SIGINT:
        os.killpg(process.pid, sig)  # Ctrl-C: the terminal signals the whole group
    else:
        process.send_signal(sig)  # kill PID: the launching process alone
    _, stderr = process.communicate(timeout=90)

    assert process.returncode == status, stderr
    name = signal.Signals(sig).name
    assert stderr.strip().splitlines()[-1] == (
        f"error: interrupted ({name}); the jobs that were running are marked failed; "
        f"add resume=true to finish the sweep in {sweep_dir}"
    )
    assert "Traceback" not in stderr
    for job in ("0", "1"):
        manifest = json.loads((sweep_dir / job / "manifest.json").read_text())
        assert manifest["status"] == "failed" and manifest["error"] == f"interrupted ({name})"
    for job in ("2", "3"):  # never started
        assert not (sweep_dir / job / "manifest.json").exists()


_STANDALONE = """
import os, sys, time
from hydra.core.utils import JobReturn, JobStatus
from hydra_plugins.xopipe_launcher._workers import run_in_workers

def job(n):
    open(os.path.join(sys.argv[1], str(os.getpid())), "w").close()
    time.sleep(60)

run_in_workers(job, 4, workers=2)
"""


@pytest.mark.slow
def test_sigterm_with_no_handler_stops_the_workers_then_ends_the_process(tmp_path):
    """Outside xopipe (nothing handles SIGTERM), the launcher stops its workers before it ends."""
    process = subprocess.Popen([sys.executable, "-c", _STANDALONE, str(tmp_path)])
    deadline = time.monotonic() + 60
    while len(list(tmp_path.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = [int(path.name) for path in tmp_path.iterdir()]
    assert len(workers) == 2
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == -signal.SIGTERM  # as an unhandled SIGTERM ends it
    for pid in workers:  # gone, not left running their jobs
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
