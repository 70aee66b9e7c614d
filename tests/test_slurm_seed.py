"""The seed's sweep on hydra/launcher=submitit_slurm, on a real cluster (tests/slurm_cluster.py).

The seed across the three backends must give the summary, diff report and
exit status of the local launcher, each job a SLURM job with the preset's
sbatch flags. Skipped, with the reason, where the daemons cannot start
(XOPIPE_REQUIRE_SLURM=1, as .ci/run sets it, turns that skip into a failure).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.real_sweeps import assert_three_backends_agree
from tests.slurm_sweeps import SLURM, run, slurm_job_ids

pytestmark = pytest.mark.slow


def test_seed_sweep_on_slurm_matches_the_local_launcher(slurm, tmp_path):
    grid = "backend=loop,numpy,torch"
    local = tmp_path / "local"
    expected = run(slurm, local, grid)
    cluster = tmp_path / "cluster"
    result = run(slurm, cluster, grid, *SLURM)
    assert_three_backends_agree(cluster, result)
    assert len(slurm_job_ids(cluster)) == 3  # each job ran as a SLURM job
    for job in range(3):  # ... on the node, with SLURM's own environment
        log = next((cluster / ".submitit").glob(f"*_{job}/*_{job}_0_log.out")).read_text()
        assert "submitit INFO" in log
    assert result.returncode == expected.returncode == 0
    # The preset's defaults, as sbatch got them (no GPU asked for unless gpus_per_node is set).
    (script,) = (cluster / ".submitit").glob("*/*_submission.sh")
    flags = {line for line in script.read_text().splitlines() if line.startswith("#SBATCH")}
    for flag in ("cpus-per-task=1", "mem=4GB", "time=60", "signal=USR2@90", "job-name=xopipe"):
        assert f"#SBATCH --{flag}" in flags
    assert not any("gpus" in flag or "partition" in flag for flag in flags)

    def verdict(stdout: str, folder: Path) -> list[str]:
        return [line.replace(str(folder), "SWEEP") for line in stdout.splitlines()[-3:]]

    assert verdict(result.stdout, cluster) == verdict(expected.stdout, local)
    for name in ("diff.csv", "diff_report.md"):
        assert (cluster / name).read_text().replace(str(cluster), "SWEEP") == (
            local / name
        ).read_text().replace(str(local), "SWEEP")
    mine, theirs = (pq.read_table(f / "summary.parquet") for f in (cluster, local))
    assert mine.schema == theirs.schema
    assert mine.drop(["run"]).equals(theirs.drop(["run"]))
    assert [Path(r).name for r in mine.column("run").to_pylist()] == [
        Path(r).name for r in theirs.column("run").to_pylist()
    ]
