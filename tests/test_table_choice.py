"""tables.formats and tables.stages: a run writes the tables asked for, and says so."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.cli import run_cli
from xopipe.sinks.tables import read_parquet_arrays

QUIET = ("print_matrices=false", "figures=none")


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def files_on_disk(folder: Path) -> set[str]:
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and ".hydra" not in p.parts
    }


def test_defaults_are_parquet_and_csv_for_every_stage(tmp_path):
    run_dir = tmp_path / "run"
    assert run_cli(*QUIET, f"hydra.run.dir={run_dir}").code == 0
    record = manifest(run_dir)
    assert record["tables"] == {
        "formats": ["parquet", "csv"],
        "stages": ["input", "conv", "pool", "activation"],
    }
    assert {"matrices.parquet", "matrices/conv_2.csv", "weights.parquet"} <= set(record["files"])


def test_a_large_run_with_parquet_only_writes_no_csv_and_says_so(tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli(
        *QUIET,
        "input=random",
        "input.shape=[512,512]",
        "tables.formats=[parquet]",
        f"hydra.run.dir={run_dir}",
    )
    assert result.code == 0, result.stderr
    record = manifest(run_dir)
    assert record["tables"]["formats"] == ["parquet"]
    on_disk = files_on_disk(run_dir)
    assert not [name for name in on_disk if name.endswith(".csv")]
    assert not (run_dir / "matrices").exists() and not (run_dir / "weights").exists()
    assert set(record["files"]) == {"matrices.parquet", "weights.parquet", "report.html"}
    arrays = read_parquet_arrays(run_dir / "matrices.parquet")
    assert arrays["conv"].shape == (3, 510, 510)
    page = (run_dir / "report.html").read_text()
    assert "On disk, every value is in matrices.parquet." in page  # not pointing at CSV files


def test_no_formats_writes_no_tables(tmp_path):
    run_dir = tmp_path / "run"
    assert run_cli(*QUIET, "tables.formats=[]", f"hydra.run.dir={run_dir}").code == 0
    record = manifest(run_dir)
    assert record["status"] == "complete"
    assert record["tables"]["formats"] == []
    assert set(record["files"]) == {"report.html"}
    assert files_on_disk(run_dir) == {"report.html", "manifest.json", "xopipe.log"}


def test_npy_tables_round_trip_and_stages_choose_what_is_written(tmp_path, seed_expected):
    run_dir = tmp_path / "run"
    result = run_cli(
        *QUIET,
        "tables.formats=[npy,parquet]",
        "tables.stages=[pool,input]",
        f"hydra.run.dir={run_dir}",
    )
    assert result.code == 0, result.stderr
    record = manifest(run_dir)
    assert record["tables"] == {"formats": ["parquet", "npy"], "stages": ["input", "pool"]}
    pool = np.load(run_dir / "matrices" / "pool.npy")
    np.testing.assert_allclose(pool, seed_expected["pool"], rtol=0, atol=1e-15)
    assert np.load(run_dir / "matrices" / "input.npy").tobytes() == (
        seed_expected["input"].tobytes()
    )
    assert list(read_parquet_arrays(run_dir / "matrices.parquet")) == ["input", "pool"]
    assert not (run_dir / "matrices" / "conv.npy").exists()
    weight = np.load(run_dir / "weights" / "conv_weight.npy")  # weights: every stage's
    np.testing.assert_array_equal(weight[:, 0], seed_expected["kernels"])
    assert np.load(run_dir / "weights" / "conv_bias.npy").tolist() == [0.0, 0.0, 0.0]


def test_a_float32_run_writes_float32_npy_when_asked_and_loses_nothing(tmp_path):
    """tables.npy_dtype=float32: the run's own values at half the bytes; the parquet keeps
    float64 (its schema), and the two hold the same numbers. Weights stay float64."""
    run_dir = tmp_path / "run"
    result = run_cli(
        *QUIET,
        "dtype=float32",
        "input=random",
        "input.shape=[21,17]",
        "loss=sum",
        "tables.formats=[npy,parquet]",
        "tables.npy_dtype=float32",
        f"hydra.run.dir={run_dir}",
    )
    assert result.code == 0, result.stderr
    assert manifest(run_dir)["tables"]["npy_dtype"] == "float32"
    values = read_parquet_arrays(run_dir / "matrices.parquet")
    grads = read_parquet_arrays(run_dir / "gradients.parquet")
    for stage in ("input", "conv", "pool", "activation"):
        for folder, expected in (("matrices", values), ("gradients", grads)):
            stored = np.load(run_dir / folder / f"{stage}.npy")
            assert stored.dtype == np.float32, (folder, stage)
            assert stored.shape == expected[stage].shape
            assert stored.astype(np.float64).tobytes() == expected[stage].tobytes(), stage
    assert np.load(run_dir / "weights" / "conv_weight.npy").dtype == np.float64


def test_the_default_npy_dtype_leaves_the_recorded_config_as_before(tmp_path):
    """tables.npy_dtype at its default is left out of the fingerprint and the report's
    config, as loss=none is: sweeps made before it existed still resume and compare."""
    from omegaconf import OmegaConf

    from xopipe.previous import config_fingerprint, recorded_config

    cfg = OmegaConf.create(
        {"dtype": "float32", "tables": {"formats": ["npy"], "npy_dtype": "float64"}}
    )
    kept = recorded_config(cfg)
    assert OmegaConf.to_container(kept) == {"dtype": "float32", "tables": {"formats": ["npy"]}}
    assert cfg.tables.npy_dtype == "float64"  # the run's own config is untouched
    before = OmegaConf.create({"dtype": "float32", "tables": {"formats": ["npy"]}})
    assert config_fingerprint(cfg) == config_fingerprint(before)
    cfg.tables.npy_dtype = "float32"
    assert recorded_config(cfg).tables.npy_dtype == "float32"
    assert config_fingerprint(cfg) != config_fingerprint(before)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "tables.npy_dtype=float32",
            "tables.npy_dtype must be float64, or float32 in a run with dtype=float32, "
            "got 'float32'",
        ),
        (
            "tables.npy_dtype=float16",
            "tables.npy_dtype must be float64, or float32 in a run with dtype=float32, "
            "got 'float16'",
        ),
        (
            "tables.formats=[xlsx]",
            "tables.formats must be a list of parquet, csv, npy (or [] for none), got ['xlsx']",
        ),
        (
            "tables.stages=[pool,conv3]",
            "tables.stages must be null (all) or a list of input, conv, pool, activation, "
            "got ['pool', 'conv3']",
        ),
    ],
)
def test_a_wrong_choice_is_one_line_before_any_work(tmp_path, override, message):
    run_dir = tmp_path / "run"
    result = run_cli(*QUIET, override, f"hydra.run.dir={run_dir}")
    assert result.code == 2
    assert result.stderr == f"error: {message}\n"
    assert manifest(run_dir)["status"] == "failed"
    assert not (run_dir / "matrices.parquet").exists()


def test_a_sweep_without_parquet_is_refused_with_a_fix_that_works(tmp_path):
    sweep = ["-m", *QUIET, "backend=numpy,loop", f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    refused = run_cli(*sweep, "tables.formats=[csv]")
    assert refused.code == 2
    assert refused.stderr == (
        "error: tables.formats=['csv'] in a sweep: its summary and diff report read each job's "
        "matrices.parquet; add parquet: tables.formats=[parquet,csv]\n"
    )
    assert not list((tmp_path / "sweep").glob("*/manifest.json"))
    fixed = run_cli(*sweep, refused.stderr.strip().rsplit(": ", 1)[1])
    assert fixed.code == 0, fixed.stderr
    assert "backends agree" in fixed.stdout
    assert len(list((tmp_path / "sweep").glob("*/matrices/conv_0.csv"))) == 2


def test_the_console_names_the_file_that_holds_the_channels_it_leaves_out(tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli(
        "figures=none",
        "kernels=random",
        "kernels.shape=[10,3,3]",
        "tables.formats=[npy]",
        f"hydra.run.dir={run_dir}",
    )
    assert result.code == 0, result.stderr
    assert "  ... 2 more channels; every value is in matrices/conv.npy\n" in result.stdout
    assert np.load(run_dir / "matrices" / "conv.npy").shape == (10, 7, 7)
    nothing = run_cli(
        "figures=none",
        "kernels=random",
        "kernels.shape=[10,3,3]",
        "tables.formats=[]",
        f"hydra.run.dir={tmp_path / 'nothing'}",
    )
    assert nothing.code == 0, nothing.stderr
    assert "  ... 2 more channels; not saved on disk (tables.formats is empty)\n" in nothing.stdout
