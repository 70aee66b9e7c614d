"""xopipe.diff.pairs: which finished runs are compared with which."""

from __future__ import annotations

from tests.finished_runs import make_run, random_arrays
from xopipe.diff.pairs import backend_groups
from xopipe.run_folder import find_jobs


def test_backend_groups_ignore_backend_keys_and_failed_jobs(tmp_path):
    arrays = random_arrays()
    specs = [
        (["backend=loop", "conv.stride=2"], arrays),
        (["backend=torch", "backend.device=cpu", "conv.stride=2"], arrays),
        (["backend=numpy", "conv.stride=1"], arrays),
        (["backend=torch", "conv.stride=1"], None),
        (["backend=numpy", "conv.stride=2"], arrays),
    ]
    for num, (overrides, grid_arrays) in enumerate(specs):
        make_run(tmp_path / str(num), grid_arrays, overrides)
    jobs = find_jobs(tmp_path)
    groups = backend_groups(jobs)
    assert [(label, [job.num for job in members]) for label, members in groups] == [
        ("conv.stride=2", [0, 1, 4]),
        ("conv.stride=1", [2]),
    ]
