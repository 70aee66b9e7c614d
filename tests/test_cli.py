"""The command line end to end, in subprocesses, as a user runs it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from xopipe.sinks.tables import read_parquet_arrays

pytestmark = pytest.mark.slow

STAGES = {"input": 1, "conv": 3, "pool": 3, "activation": 3}


def xopipe(*args: str, cwd: Path, script: bool = False) -> subprocess.CompletedProcess:
    if script:
        executable = shutil.which("xopipe", path=str(Path(sys.executable).parent))
        assert executable, "the xopipe console script is installed beside python"
        command = [executable, *args]
    else:
        command = [sys.executable, "-m", "xopipe", *args]
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    root = tmp_path_factory.mktemp("seed")
    run_dir = root / "run"
    result = xopipe(f"hydra.run.dir={run_dir}", cwd=root)
    assert result.returncode == 0, result.stderr
    return run_dir, result


def test_seed_run_writes_every_file(seed_run):
    run_dir, _ = seed_run
    expected = {"matrices.parquet", "manifest.json", "xopipe.log", ".hydra", "matrices"}
    assert expected <= {p.name for p in run_dir.iterdir()}
    csvs = sorted(p.name for p in (run_dir / "matrices").iterdir())
    assert csvs == sorted(f"{s}_{c}.csv" for s, n in STAGES.items() for c in range(n))
    assert (run_dir / ".hydra" / "config.yaml").is_file()
    assert not list(run_dir.rglob("*.partial"))


def test_seed_run_prints_rounded_matrices(seed_run):
    _, result = seed_run
    out = result.stdout
    assert "conv [3x7x7]" in out and "pool [3x4x4]" in out and "activation [3x7x7]" in out
    assert "[[ 0.78 -0.11  0.11  0.33  0.56 -0.11  0.33]" in out  # the seed's first conv row


def test_csv_and_parquet_agree_and_hold_the_seed(seed_run, seed_expected):
    run_dir, _ = seed_run
    from_parquet = read_parquet_arrays(run_dir / "matrices.parquet")
    assert list(from_parquet) == list(STAGES)
    for stage, channels in STAGES.items():
        for channel in range(channels):
            grid = np.loadtxt(
                run_dir / "matrices" / f"{stage}_{channel}.csv", delimiter=",", ndmin=2
            )
            np.testing.assert_array_equal(grid, from_parquet[stage][channel])
        np.testing.assert_allclose(from_parquet[stage], seed_expected[stage], rtol=0, atol=1e-12)


def test_manifest_is_complete_and_hashes_match(seed_run):
    run_dir, _ = seed_run
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["error"] is None
    assert manifest["backend"] == "numpy" and manifest["dtype"] == "float64"
    assert manifest["stages"]["conv"]["shape"] == [3, 7, 7]
    assert manifest["stages"]["pool"]["input"] == "conv"
    assert set(manifest["versions"]) >= {"python", "numpy", "pyarrow", "hydra-core"}
    assert "torch" not in manifest["versions"]  # numpy runs never import torch
    files = manifest["files"]
    assert "matrices.parquet" in files and "matrices/conv_0.csv" in files
    tables = [name for name in files if name.startswith("matrices")]
    assert len(tables) == 1 + sum(STAGES.values())
    for name, digest in files.items():
        assert hashlib.sha256((run_dir / name).read_bytes()).hexdigest() == digest, name


def test_log_is_named_xopipe(seed_run):
    run_dir, _ = seed_run
    files = json.loads((run_dir / "manifest.json").read_text())["files"]
    assert f"wrote {len(files) + 1} files" in (run_dir / "xopipe.log").read_text()
    hydra_cfg = (run_dir / ".hydra" / "hydra.yaml").read_text()
    assert "name: xopipe" in hydra_cfg


def test_torch_backend_gives_the_seed_numbers(tmp_path, seed_expected):
    run_dir = tmp_path / "run"
    result = xopipe(
        "backend=torch", "print_matrices=false", f"hydra.run.dir={run_dir}", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    arrays = read_parquet_arrays(run_dir / "matrices.parquet")
    np.testing.assert_allclose(arrays["conv"], seed_expected["conv"], rtol=0, atol=1e-12)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["backend"] == "torch" and "torch" in manifest["versions"]


def test_bad_value_is_one_line_and_nothing_complete(tmp_path):
    run_dir = tmp_path / "run"
    result = xopipe("conv.stride=0", f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert result.returncode == 2
    assert (
        result.stderr
        == "error: conv.stride must be a positive integer or a pair [h, w] of them, got 0\n"
    )
    assert "Traceback" not in result.stdout
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "conv.stride" in manifest["error"]
    assert not (run_dir / "matrices.parquet").exists()
    assert "conv.stride" in (run_dir / "xopipe.log").read_text()


def test_unknown_key_and_option_fail_without_traceback(tmp_path):
    says = {
        "conv.strid=2": "Key 'strid' not in 'ConvConfig'",
        "backend=cuda": "Could not find 'backend/cuda'",
    }
    for override, message in says.items():
        result = xopipe(override, f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
        assert result.returncode != 0
        assert "Traceback" not in result.stderr
        assert message in result.stderr
    assert not (tmp_path / "run" / "manifest.json").exists()


def test_unwritable_output_dir_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = xopipe(f"hydra.run.dir={blocker}/run", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: hydra.run.dir must be a folder xopipe can write")
    assert result.stderr.count("\n") == 1


def test_installed_script_runs_from_any_folder(tmp_path):
    result = xopipe("input=o", "print_matrices=false", cwd=tmp_path, script=True)
    assert result.returncode == 0, result.stderr
    (run_dir,) = (tmp_path / "outputs").glob("*/*")
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "complete"
    assert pq.read_table(run_dir / "matrices.parquet").num_rows == 81 + 3 * 49 * 2 + 3 * 16


def test_two_runs_in_the_same_second_get_two_folders(tmp_path):
    command = [sys.executable, "-m", "xopipe", "print_matrices=false"]
    first = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    second = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert first.wait(timeout=120) == 0 and second.wait(timeout=120) == 0
    run_dirs = list((tmp_path / "outputs").glob("*/*"))
    assert len(run_dirs) == 2
    for run_dir in run_dirs:
        assert json.loads((run_dir / "manifest.json").read_text())["status"] == "complete"


def test_help_says_xopipe_and_lists_every_option(tmp_path):
    from tests.test_configs import group_options

    result = xopipe("--help", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("xopipe:")
    assert "__main__" not in result.stdout
    for group, option in group_options():
        assert option in result.stdout, (group, option)
