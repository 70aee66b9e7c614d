"""How the SLURM launcher reads job states and decides a job has ended, without a cluster.

The states come from `sacct -o JobID,State,NodeList --parsable2` (submitit's
watcher runs it), here a stand-in `sacct` on PATH that prints the sample in
tests/data/sacct_parsable2.txt: SLURM's format, with job steps, an array's
pending range, `CANCELLED by <uid>`, jobs killed for memory and preempted.
A stand-in clock lets the waiting rules (a 15 s grace for a result that may
still show up, two minutes unknown to SLURM before a job counts as lost) run
in no time. The real daemons: tests/test_slurm_*.py.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from hydra_plugins.xopipe_submitit import _slurm_jobs as slurm_jobs

pytest.importorskip("submitit")

SAMPLE = Path(__file__).parent / "data" / "sacct_parsable2.txt"


class Clock:
    """time.monotonic and time.sleep for _slurm_jobs: sleeping moves the clock on."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(slurm_jobs, "time", fake)
    return fake


@pytest.fixture
def sacct(tmp_path, monkeypatch) -> Path:
    """`sacct` and `squeue` on PATH: sacct prints the sample and records its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "sacct_calls.txt"
    scripts = {
        "sacct": f'#!/bin/sh\necho "$@" >> {calls}\ncat {SAMPLE}\n',
        "squeue": "#!/bin/sh\nexit 0\n",  # knows nothing: every state comes from sacct
    }
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(stat.S_IRWXU)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return calls


def _jobs(folder: Path, ids: list[str]) -> list:
    import submitit

    watcher = submitit.SlurmJob.watcher
    watcher.clear()
    return [submitit.SlurmJob(folder=folder, job_id=job_id) for job_id in ids]


def test_sacct_parsable2_gives_each_array_tasks_state(tmp_path, sacct):
    ids = [f"4242_{n}" for n in range(9)]
    states = slurm_jobs._slurm_states(_jobs(tmp_path, ids), use_sacct=True)
    assert states == {
        "4242_0": "COMPLETED",
        "4242_1": "OUT_OF_MEMORY",
        "4242_2": "PREEMPTED",
        "4242_3": "CANCELLED by 1000",
        "4242_4": "NODE_FAIL",
        "4242_5": "RUNNING",
        "4242_6": "PENDING",  # from the array's pending range [6-8%2]
        "4242_7": "PENDING",
        "4242_8": "PENDING",
    }
    (line,) = sacct.read_text().splitlines()  # one sacct call for the whole array
    assert line == "-o JobID,State,NodeList --parsable2 -j 4242"


def test_jobs_killed_for_memory_preempted_or_lost_with_their_node_end_failed(
    tmp_path, sacct, clock
):
    ids = ["4242_1", "4242_2", "4242_3", "4242_4"]
    started = clock.now
    ended = slurm_jobs._wait_for_all(_jobs(tmp_path, ids))
    assert [state for _, state in ended] == [
        "OUT_OF_MEMORY",
        "PREEMPTED",
        "CANCELLED by 1000",
        "NODE_FAIL",
    ]
    # seen at the first look (3 s), then given 15 s to show a result file that never comes
    assert clock.now - started == pytest.approx(3 + 15, abs=1.0)


def test_a_result_that_shows_up_in_the_grace_time_wins_over_the_state(tmp_path, sacct, clock):
    (job,) = _jobs(tmp_path, ["4242_1"])
    sleep = clock.sleep

    def sleep_then_write(seconds: float) -> None:
        sleep(seconds)
        if clock.now - 1000 >= 10:  # the shared filesystem shows the result 10 s in
            job.paths.result_pickle.parent.mkdir(parents=True, exist_ok=True)
            job.paths.result_pickle.write_bytes(b"")

    clock.sleep = sleep_then_write  # type: ignore[method-assign]
    assert slurm_jobs._wait_for_all([job]) == [(job, None)]


def _states_over_time(clock: Clock, timeline: dict[str, list[tuple[float, str | None]]]):
    """_slurm_states as a cluster would answer: each job's state from a given second on."""

    def states(jobs: list, use_sacct: bool) -> dict[str, str]:
        found = {}
        for job in jobs:
            current = None
            for since, state in timeline[job.job_id]:
                if clock.now - 1000 >= since:
                    current = state
            if current is not None:
                found[job.job_id] = current
        return found

    return states


def test_a_job_unknown_to_slurm_for_two_minutes_is_lost(tmp_path, clock, monkeypatch):
    timeline = {
        "7_0": [(0, None)],  # never known: lost two minutes after the first look
        "7_1": [(0, None), (100, "RUNNING"), (130, None), (220, "COMPLETED")],
    }
    monkeypatch.setattr(slurm_jobs, "_sacct_answers", lambda job_id: True)
    monkeypatch.setattr(slurm_jobs, "_slurm_states", _states_over_time(clock, timeline))
    jobs = _jobs(tmp_path, list(timeline))
    ended = dict((job.job_id, state) for job, state in slurm_jobs._wait_for_all(jobs))
    assert ended == {"7_0": "unknown to SLURM", "7_1": "COMPLETED"}
    # 7_1 was unknown for more than two minutes in all (0-100 s, 130-220 s), but never
    # two minutes in a row: the count starts again each time SLURM knows the job.
    assert 220 <= clock.now - 1000 <= 220 + 60 + 15 + 1


def test_the_two_minute_rule_counts_from_the_first_look_that_missed_the_job(
    tmp_path, clock, monkeypatch
):
    looks: list[float] = []
    timeline = {"9_0": [(0, None)]}
    answer = _states_over_time(clock, timeline)

    def states(jobs, use_sacct):
        looks.append(clock.now - 1000)
        return answer(jobs, use_sacct)

    monkeypatch.setattr(slurm_jobs, "_sacct_answers", lambda job_id: True)
    monkeypatch.setattr(slurm_jobs, "_slurm_states", states)
    (job,) = _jobs(tmp_path, ["9_0"])
    assert slurm_jobs._wait_for_all([job]) == [(job, "unknown to SLURM")]
    first, lost_at = looks[0], looks[-1]
    assert first == pytest.approx(slurm_jobs.FIRST_POLL_S, abs=1.0)
    # declared lost at the first look two minutes or more after the first that missed it
    assert lost_at - first >= slurm_jobs.UNKNOWN_GRACE_S
    assert lost_at - looks[-2] <= slurm_jobs.LONGEST_POLL_S + 1
    assert looks[-2] - first < slurm_jobs.UNKNOWN_GRACE_S
    assert slurm_jobs.UNKNOWN_GRACE_S == 120.0  # the README's "two minutes"
