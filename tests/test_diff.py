"""Comparing runs: grid arithmetic, pairing, diff.csv, reports and xopipe-diff, in process.

Runs are made here as xopipe writes them (matrices.parquet, manifest.json,
.hydra/overrides.yaml), so every number can be stated exactly; real Hydra
sweeps are in test_sweep.py.
"""

from __future__ import annotations

import base64
import csv
import pickle
import re
import struct
import zlib
from io import StringIO
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from omegaconf import OmegaConf

from tests.conftest import compose_config
from xopipe import compare
from xopipe.callbacks import SweepSummary, take_sweep_exit_status
from xopipe.compare import Tolerance, compare_grids
from xopipe.diff import main as diff_main
from xopipe.sinks import grids as grids_module
from xopipe.sinks import tables
from xopipe.sinks.grids import RunGrids
from xopipe.sinks.heatmap import heatmap_png, reduce_blocks
from xopipe.sinks.manifest import Manifest
from xopipe.sinks.tables import read_parquet_arrays, write_parquet
from xopipe.sweep.finish import finish_sweep
from xopipe.sweep.jobs import find_jobs, load_job
from xopipe.sweep.pairs import backend_groups
from xopipe.sweep.progress import ProgressWatcher, planned_jobs

F64 = Tolerance(1e-9, 1e-9)


def random_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "input": rng.uniform(-1, 1, (1, 6, 5)),
        "conv": rng.uniform(-1, 1, (2, 4, 3)),
        "pool": rng.uniform(-1, 1, (2, 2, 2)),
    }


def make_run(
    path: Path,
    arrays: dict[str, np.ndarray] | None,
    overrides: list[str],
    backend: str = "numpy",
    dtype: str = "float64",
    error: str | None = None,
) -> Path:
    """A run folder as xopipe leaves it; `arrays=None` makes a failed run with `error`."""
    path.mkdir(parents=True)
    (path / ".hydra").mkdir()
    lines = "".join(f"- {text}\n" for text in overrides)
    (path / ".hydra" / "overrides.yaml").write_text(lines or "[]\n")
    manifest = Manifest(path, {"backend": backend, "dtype": dtype, "overrides": overrides})
    if arrays is None:
        manifest.write("failed", error=error or "UserError: bad value")
    else:
        write_parquet(path / "matrices.parquet", arrays)
        manifest.write("complete", [path / "matrices.parquet"])
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


# --- grids -------------------------------------------------------------------


def test_tolerance_defaults_by_dtype():
    assert Tolerance.for_dtypes(("float64", "float64")) == Tolerance(1e-9, 1e-9)
    assert Tolerance.for_dtypes(("float32", "float32")) == Tolerance(1e-5, 1e-5)
    assert Tolerance.for_dtypes(("float64", "float32")) == Tolerance(1e-5, 1e-5)  # the looser
    assert Tolerance.for_dtypes(("float32",), atol=0.0, rtol=0.5) == Tolerance(0.0, 0.5)


def test_compare_grids_counts_cells_beyond_atol_plus_rtol_times_b():
    b = np.array([[1.0, 2.0, -4.0], [0.0, 10.0, 3.0]])
    a = b.copy()
    a[0, 0] += 0.15  # bound is 0.1 + 0.01 * 1 = 0.11: beyond
    a[0, 1] += 0.11  # bound is 0.12: within
    a[1, 1] -= 0.5  # bound is 0.2: beyond, the largest difference
    diff = compare_grids(a, b, Tolerance(atol=0.1, rtol=0.01))
    assert not diff.ok
    assert diff.shape_a == diff.shape_b == (2, 3)
    assert diff.cells == 6
    assert diff.mismatched_cells == 2
    assert diff.max_abs_diff == np.max(np.abs(a - b))
    assert diff.max_rel_diff == pytest.approx(0.15 / 1.0)
    assert [(c.row, c.col) for c in diff.worst] == [(1, 1), (0, 0), (0, 1)]
    assert diff.worst[0].a == a[1, 1] and diff.worst[0].b == 10.0
    assert diff.worst[0].abs_diff == abs(a[1, 1] - 10.0)


def test_compare_grids_equal_grids_agree_exactly():
    grid = np.random.default_rng(1).standard_normal((5, 4))
    diff = compare_grids(grid, grid.copy(), F64)
    assert diff.ok and diff.mismatched_cells == 0 and diff.max_abs_diff == 0.0
    assert diff.worst == []


def test_compare_grids_nan_and_infinity():
    a = np.array([[np.nan, np.inf, np.inf, 1.0, 2.0]])
    b = np.array([[np.nan, np.inf, 5.0, np.nan, 2.0]])
    diff = compare_grids(a, b, Tolerance(atol=1e300, rtol=1.0))  # any finite gap would pass
    assert diff.mismatched_cells == 2  # inf vs 5 and 1 vs nan; nan==nan and inf==inf agree
    assert diff.max_abs_diff == np.inf


def test_compare_grids_shapes_and_missing_grids():
    small, large = np.zeros((2, 2)), np.zeros((2, 3))
    diff = compare_grids(small, large, F64)
    assert not diff.ok and diff.shape_b == (2, 3)
    assert diff.max_abs_diff is None and diff.mismatched_cells is None
    missing = compare_grids(small, None, F64)
    assert not missing.ok and missing.shape_b is None


def test_compare_grids_in_row_blocks_gives_the_same_answer(monkeypatch):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((37, 11))
    b = a + np.where(rng.random(a.shape) < 0.2, rng.standard_normal(a.shape), 0.0)
    whole = compare_grids(a, b, F64)
    monkeypatch.setattr(compare, "BLOCK_CELLS", 20)  # one or two rows per block
    blocks = compare_grids(a, b, F64)
    assert blocks == whole
    expected = np.abs(a - b)
    assert whole.mismatched_cells == np.count_nonzero(expected > 1e-9 + 1e-9 * np.abs(b))
    order = np.argsort(-expected, axis=None, kind="stable")[:5]
    assert [(c.row, c.col) for c in whole.worst] == [divmod(int(i), 11) for i in order]


def test_worst_cells_ties_are_broken_by_position():
    a = np.zeros((3, 4))
    diff = compare_grids(a, a + 0.5, F64)
    assert [(c.row, c.col) for c in diff.worst] == [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0)]


@pytest.mark.parametrize("whole_rows", [0, 1 << 30])
def test_run_grids_reads_every_grid_either_way(tmp_path, monkeypatch, whole_rows):
    monkeypatch.setattr(tables, "BATCH_ROWS", 4)  # several row groups per grid
    arrays = random_arrays()
    write_parquet(tmp_path / "m.parquet", arrays)
    reader = RunGrids(tmp_path / "m.parquet", whole_table_rows=whole_rows)
    assert (reader._arrays is None) == (whole_rows == 0)  # per-grid reads only when large
    expected_keys = [(s, c) for s, a in arrays.items() for c in range(a.shape[0])]
    assert reader.grid_keys() == expected_keys
    for stage, channel in expected_keys:
        np.testing.assert_array_equal(reader.grid(stage, channel), arrays[stage][channel])
    assert reader.grid("conv", 5) is None and reader.grid("relu", 0) is None


def test_run_grids_default_threshold_is_used(tmp_path):
    write_parquet(tmp_path / "m.parquet", random_arrays())
    assert grids_module.WHOLE_TABLE_ROWS > 1000
    assert RunGrids(tmp_path / "m.parquet")._arrays is not None


# --- heatmaps ----------------------------------------------------------------


def png_size_and_pixels(data: bytes) -> tuple[int, int, np.ndarray]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    idat = data.index(b"IDAT")
    length = struct.unpack(">I", data[idat - 4 : idat])[0]
    raw = np.frombuffer(zlib.decompress(data[idat + 4 : idat + 4 + length]), np.uint8)
    rows = raw.reshape(height, 1 + 3 * width)[:, 1:].reshape(height, width, 3)
    return width, height, rows


def test_heatmap_keeps_a_single_cell_of_a_large_grid_visible():
    grid = np.zeros((1000, 600))
    grid[517, 3] = 2.0
    reduced = reduce_blocks(grid, max_side=100)
    assert reduced.shape == (100, 60) and reduced[51, 0] == 2.0 and reduced.sum() == 2.0
    width, height, pixels = png_size_and_pixels(heatmap_png(grid, max_side=100))
    assert (width, height) == (60, 100)
    assert tuple(pixels[0, 0]) == (255, 255, 255)  # agreeing cells are white
    assert tuple(pixels[51, 0]) != (255, 255, 255)


# --- pairing -----------------------------------------------------------------


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


def test_find_jobs_orders_by_job_number_and_reads_status(tmp_path):
    for num in (10, 2, 0):
        make_run(tmp_path / str(num), random_arrays(num), [f"input.seed={num}"])
    make_run(tmp_path / "3", None, ["input.seed=-1"], error="UserError: seed")
    (tmp_path / "4" / ".hydra").mkdir(parents=True)  # started, never finished
    (tmp_path / "4" / ".hydra" / "overrides.yaml").write_text("- input.seed=4\n")
    (tmp_path / ".submitit").mkdir()
    jobs = find_jobs(tmp_path)
    assert [job.num for job in jobs] == [0, 2, 3, 4, 10]
    assert [job.status for job in jobs] == ["complete", "complete", "failed", "failed", "complete"]
    assert jobs[2].error == "UserError: seed"
    assert "did not finish" in (jobs[3].error or "")
    assert jobs[3].label() == "input.seed=4"


# --- the end of a sweep, in process ---------------------------------------------


@pytest.fixture
def sweep(tmp_path) -> Path:
    """Six jobs: two groups of three backends; torch of stride 2 differs; one job failed."""
    root = tmp_path / "sweep"
    base = random_arrays(3)
    shifted = {k: v.copy() for k, v in base.items()}
    shifted["pool"][1, 1, 0] += 0.25
    shifted["pool"][0, 0, 1] -= 1e-12
    runs = [
        (["backend=loop", "conv.stride=1"], base, "loop"),
        (["backend=numpy", "conv.stride=1"], base, "numpy"),
        (["backend=torch", "conv.stride=1"], base, "torch"),
        (["backend=loop", "conv.stride=2"], base, "loop"),
        (["backend=numpy", "conv.stride=2"], base, "numpy"),
        (["backend=torch", "conv.stride=2"], shifted, "torch"),
        (["backend=loop", "conv.stride=0"], None, "loop"),
    ]
    for num, (overrides, arrays, backend) in enumerate(runs):
        make_run(root / str(num), arrays, overrides, backend=backend)
    return root


def test_finish_sweep_writes_summary_diff_and_reports(sweep):
    comparison = finish_sweep(sweep)
    assert comparison.verdict() == (
        "backends differ: 2 of 30 grids beyond tolerance (pool), in 2 of 6 pairs;"
        " 1 of 7 jobs failed (skipped)"
    )
    rows = read_csv(sweep / "diff.csv")
    assert list(rows[0])[:9] == [
        "run_a",
        "run_b",
        "stage",
        "channel",
        "shape_a",
        "shape_b",
        "max_abs_diff",
        "mismatched_cells",
        "ok",
    ]
    assert len(rows) == 6 * 5  # pairs x (1 input + 2 conv + 2 pool channels)
    bad = [row for row in rows if row["ok"] == "false"]
    assert [(r["run_a"], r["run_b"], r["stage"], r["channel"]) for r in bad] == [
        ("3", "5", "pool", "1"),
        ("4", "5", "pool", "1"),
    ]
    base = read_parquet_arrays(sweep / "3" / "matrices.parquet")["pool"][1, 1, 0]
    assert float(bad[0]["max_abs_diff"]) == abs((base + 0.25) - base)
    assert bad[0]["mismatched_cells"] == "1" and bad[0]["shape_a"] == "2x2"
    assert (bad[0]["worst_row"], bad[0]["worst_col"]) == ("1", "0")
    assert float(bad[0]["worst_b"]) == base + 0.25
    # pool channel 0 differs by 1e-12 in torch: within tolerance, and said so
    (pool0,) = [
        r for r in rows if r["run_a"] == "4" and r["stage"] == "pool" and r["channel"] == "0"
    ]
    assert pool0["ok"] == "true" and 0 < float(pool0["max_abs_diff"]) < 1e-9
    assert pool0["mismatched_cells"] == "0"
    markdown = (sweep / "diff_report.md").read_text()
    assert markdown.splitlines()[2] == f"**{comparison.verdict()}**"
    assert "conv.stride=2: 3 (loop) vs 5 (torch)" in markdown
    assert "conv.stride=1" not in markdown.split("## Differences")[1].split("Within tolerance")[0]
    assert "| 6 | 6 | backend=loop conv.stride=0 | UserError: bad value |" in markdown


def test_report_html_is_self_contained_with_heatmaps(sweep):
    finish_sweep(sweep)
    page = (sweep / "diff_report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 2  # pool channel 1 of the two pairs with torch
    width, height, _ = png_size_and_pixels(base64.b64decode(images[0]))
    assert (width, height) == (2, 2)


def test_summary_holds_every_cell_and_the_failed_job(sweep):
    finish_sweep(sweep)
    table = pq.read_table(sweep / "summary.parquet")
    assert table.schema.names == [
        "job",
        "run",
        "status",
        "error",
        "backend",
        "conv.stride",
        "stage",
        "channel",
        "row",
        "col",
        "value",
    ]
    assert str(table.schema.field("conv.stride").type) == "int64"
    frame = table.to_pandas()
    for job in find_jobs(sweep):
        rows = frame[frame.job == job.num]
        if not job.complete:
            assert len(rows) == 1 and rows.status.item() == "failed"
            assert rows.error.item() == "UserError: bad value"
            assert rows.value.isna().all() and rows["conv.stride"].item() == 0
            continue
        assert (rows.status == "complete").all() and rows.error.isna().all()
        assert (rows.backend == job.backend).all()
        arrays = read_parquet_arrays(job.parquet)
        assert len(rows) == sum(a.size for a in arrays.values())
        for stage, array in arrays.items():
            cells = rows[rows.stage == stage]
            grid = np.full(array.shape, np.nan)
            index = [cells[name].to_numpy(dtype=np.int64) for name in ("channel", "row", "col")]
            grid[tuple(index)] = cells.value.to_numpy()
            np.testing.assert_array_equal(grid, array)


def test_summary_streams_large_jobs_in_batches(sweep, monkeypatch):
    monkeypatch.setattr("xopipe.sweep.summary.BATCH_ROWS", 7)
    finish_sweep(sweep)
    table = pq.read_table(sweep / "summary.parquet")
    assert table.num_rows == 6 * (30 + 24 + 8) + 1
    assert pq.ParquetFile(sweep / "summary.parquet").num_row_groups > 7


def test_tolerance_from_the_config_decides(sweep):
    comparison = finish_sweep(sweep, atol=0.3)
    assert comparison.verdict().startswith("backends agree: 30 grids within tolerance in 6 pairs")


def test_float32_runs_get_the_float32_default(tmp_path):
    a = random_arrays()
    b = {k: v + 5e-6 for k, v in a.items()}
    make_run(tmp_path / "0", a, ["backend=numpy"], backend="numpy", dtype="float32")
    make_run(tmp_path / "1", b, ["backend=torch"], backend="torch", dtype="float32")
    assert finish_sweep(tmp_path).agrees
    rows = read_csv(tmp_path / "diff.csv")
    assert {(r["atol"], r["rtol"], r["dtype_a"]) for r in rows} == {("1e-05", "1e-05", "float32")}


def test_a_sweep_without_backend_pairs_says_nothing_to_compare(tmp_path):
    make_run(tmp_path / "0", random_arrays(0), ["conv.stride=1"])
    make_run(tmp_path / "1", random_arrays(1), ["conv.stride=2"])
    comparison = finish_sweep(tmp_path)
    assert comparison.verdict() == (
        "nothing to compare: no two complete runs differ only in backend"
    )
    assert read_csv(tmp_path / "diff.csv") == []


# --- xopipe-diff -----------------------------------------------------------------


def test_xopipe_diff_two_runs_exit_codes_and_exact_numbers(tmp_path, capsys):
    arrays = random_arrays()
    changed = {k: v.copy() for k, v in arrays.items()}
    changed["conv"][1, 2, 0] += 0.125
    a = make_run(tmp_path / "a", arrays, [])
    b = make_run(tmp_path / "b", changed, ["conv.bias=0.125"])
    same = make_run(tmp_path / "same", {k: v.copy() for k, v in arrays.items()}, [])

    assert diff_main([str(a), str(same), "--out", str(tmp_path / "ok")]) == 0
    assert capsys.readouterr().out.startswith("runs agree: 5 grids within tolerance in 1 pair\n")

    assert diff_main([str(a), str(b), "--out", str(tmp_path / "bad")]) == 1
    out = capsys.readouterr().out
    assert (
        out.splitlines()[0] == "runs differ: 1 of 5 grids beyond tolerance (conv), in 1 of 1 pair"
    )
    (row,) = [r for r in read_csv(tmp_path / "bad" / "diff.csv") if r["ok"] == "false"]
    assert (row["run_a"], row["run_b"]) == (str(a), str(b))
    assert (row["stage"], row["channel"], row["mismatched_cells"]) == ("conv", "1", "1")
    assert float(row["max_abs_diff"]) == abs(changed["conv"][1, 2, 0] - arrays["conv"][1, 2, 0])
    assert (row["worst_row"], row["worst_col"]) == ("2", "0")
    assert (tmp_path / "bad" / "diff_report.html").is_file()

    # a looser tolerance makes it agree
    assert diff_main([str(a), str(b), "--atol", "0.2", "--out", str(tmp_path / "loose")]) == 0


def test_xopipe_diff_two_sweeps_matched_by_overrides(tmp_path, capsys):
    for side in ("a", "b"):
        for num, seed in enumerate((1, 2, 3)):
            arrays = random_arrays(seed)
            if side == "b" and seed == 2:
                arrays["input"][0, 5, 4] = 9.0
            # B ran its jobs in another order: matching is by overrides, not by number.
            folder = tmp_path / side / str(num if side == "a" else 2 - num)
            make_run(folder, arrays, [f"input.seed={seed}", "backend=numpy"])
    make_run(tmp_path / "b" / "3", random_arrays(4), ["input.seed=4", "backend=numpy"])
    assert diff_main([str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "d")]) == 1
    verdict = capsys.readouterr().out.splitlines()[0]
    assert verdict == (
        "sweeps differ: 1 of 15 grids beyond tolerance (input), in 1 of 3 pairs;"
        " 1 run without a match"
    )
    rows = read_csv(tmp_path / "d" / "diff.csv")
    (bad,) = [r for r in rows if r["ok"] == "false" and r["stage"]]
    assert (bad["run_a"], bad["run_b"]) == (f"{tmp_path}/a/1", f"{tmp_path}/b/1")
    assert (bad["worst_row"], bad["worst_col"], bad["worst_b"]) == ("5", "4", "9.0")
    (lonely,) = [r for r in rows if not r["stage"]]
    assert lonely["run_b"] == f"{tmp_path}/b/3" and lonely["run_a"] == ""
    assert lonely["note"].startswith("no run with the same overrides in")


def test_xopipe_diff_failed_runs(tmp_path, capsys):
    good = make_run(tmp_path / "good", random_arrays(), [])
    bad = make_run(tmp_path / "bad", None, [], error="UserError: conv.stride must be positive")
    bad2 = make_run(tmp_path / "bad2", None, [], error="UserError: conv.stride must be positive")
    assert diff_main([str(good), str(bad), "--out", str(tmp_path / "o1")]) == 1
    assert "1 pair with a failed run" in capsys.readouterr().out
    (row,) = read_csv(tmp_path / "o1" / "diff.csv")
    assert row["ok"] == "false" and "conv.stride must be positive" in row["note"]
    assert diff_main([str(bad), str(bad2), "--out", str(tmp_path / "o2")]) == 0  # alike


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{run}", "{tmp}/nowhere"], "error: no such folder: {tmp}/nowhere\n"),
        (["{run}", "{tmp}/file.txt"], "error: not a folder: {tmp}/file.txt\n"),
        (
            ["{run}", "{tmp}/empty"],
            "error: {tmp}/empty is neither an xopipe run (no manifest.json)"
            " nor a sweep (no run folders in it)\n",
        ),
        (
            ["{run}", "{tmp}"],
            "error: {run} is a run and {tmp} is a sweep: give two runs or two sweeps\n",
        ),
        (["{run}"], "error: the following arguments are required: B (see xopipe-diff --help)\n"),
        (["{run}", "{run}", "--rtol", "-1"], "error: --rtol must be a number >= 0, got -1.0\n"),
        (
            ["{run}", "{run}", "--out", "{tmp}/file.txt/out"],
            "error: --out must be a folder xopipe can write, got '{tmp}/file.txt/out'"
            " (Not a directory)\n",
        ),
    ],
)
def test_xopipe_diff_usage_errors_are_one_line_and_exit_2(tmp_path, capsys, args, message):
    run = make_run(tmp_path / "run", random_arrays(), [])
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    values = {"run": str(run), "tmp": str(tmp_path)}
    assert diff_main([arg.format(**values) for arg in args]) == 2
    captured = capsys.readouterr()
    assert captured.err == message.format(**values)
    assert captured.out == ""


# --- progress and the callback -----------------------------------------------------


def hydra_like(params: dict[str, str], task: list[str], sweeper: str = "BasicSweeper"):
    target = f"hydra._internal.core_plugins.basic_sweeper.{sweeper}"
    return OmegaConf.create(
        {"hydra": {"sweeper": {"_target_": target, "params": params}, "overrides": {"task": task}}}
    )


@pytest.mark.parametrize(
    ("params", "task", "expected"),
    [
        ({}, ["backend=loop,numpy,torch", "conv.stride=1,2"], (6, ["backend", "conv.stride"])),
        ({"backend": "loop,numpy,torch"}, ["+sweep=backends"], (3, ["backend"])),
        ({"conv.stride": "1,2", "pool.size": "2,3"}, ["conv.stride=1"], (2, ["pool.size"])),
        ({}, ["conv.stride=range(1,4)", "figures=none"], (3, ["conv.stride"])),
        ({}, ["input=glob(*)"], (None, [])),
        ({}, [], (1, [])),
    ],
)
def test_planned_jobs_counts_like_the_basic_sweeper(params, task, expected):
    assert planned_jobs(hydra_like(params, task)) == expected


def test_planned_jobs_from_the_real_presets():
    config = compose_config_with_hydra(["+sweep=[backends,geometry]", "figures=none"])
    assert planned_jobs(config) == (24, ["backend", "conv.stride", "conv.padding", "pool.size"])


def compose_config_with_hydra(overrides: list[str]):
    from hydra import compose, initialize_config_module

    from xopipe.config import register_configs

    register_configs()
    with initialize_config_module(config_module="xopipe.conf", version_base="1.3"):
        return compose(config_name="config", overrides=overrides, return_hydra_config=True)


def test_presets_compose():
    assert compose_config(["+sweep=backends"]).backend.name == "numpy"  # only hydra.* is set


def test_progress_watcher_prints_one_line_per_finished_job(tmp_path):
    make_run(tmp_path / "old", random_arrays(), ["backend=loop"])  # from an earlier sweep
    stream = StringIO()
    watcher = ProgressWatcher(tmp_path, 2, ["backend"], stream=stream, interval=0.01)
    watcher.start()
    make_run(tmp_path / "0", random_arrays(), ["backend=numpy", "figures=none"])
    make_run(tmp_path / "1", None, ["backend=torch", "figures=none"], error="UserError: no")
    watcher.stop()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"\[1/2\] complete \d+\.\d\d s  backend=numpy", lines[0])
    assert re.fullmatch(r"\[2/2\] failed \d+\.\d\d s  backend=torch  \(UserError: no\)", lines[1])


def test_sweep_callback_survives_pickling_while_watching(tmp_path):
    callback = SweepSummary(progress=True)
    config = hydra_like({}, ["backend=loop,numpy"])
    config.hydra.sweep = {"dir": str(tmp_path)}
    callback.on_multirun_start(config)
    try:
        clone = pickle.loads(pickle.dumps(callback))  # what joblib, submitit and ray do
        assert clone.progress is True and clone._watcher is None
    finally:
        callback._watcher.stop()


def test_load_job_reads_overrides_from_the_manifest_without_hydra_folder(tmp_path):
    run = make_run(tmp_path / "r", random_arrays(), ["input=o"])
    (run / ".hydra" / "overrides.yaml").unlink()
    assert load_job(run, "r").label() == "input=o"


def multirun_config(sweep_dir: Path, **diff: float):
    config = hydra_like({}, ["backend=loop,numpy"])
    config.hydra.sweep = {"dir": str(sweep_dir)}
    config.diff = {"atol": diff.get("atol"), "rtol": diff.get("rtol")}
    return config


def test_sweep_callback_end_prints_the_verdict_and_sets_the_exit_status(sweep, capsys):
    callback = SweepSummary(progress=False)
    config = multirun_config(sweep, atol=0.3)
    callback.on_multirun_start(config)
    callback.on_multirun_end(config)
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0]
        == "backends agree: 30 grids within tolerance in 6 pairs; 1 of 7 jobs failed (skipped)"
    )
    assert out[1] == f"report: {sweep}/diff_report.md (and .html), {sweep}/diff.csv"
    assert take_sweep_exit_status() == 1  # a job failed
    assert take_sweep_exit_status() == 0  # taken: the next run in this process starts clean
    (sweep / "6" / "manifest.json").unlink()
    (sweep / "6" / ".hydra" / "overrides.yaml").unlink()
    (sweep / "6" / ".hydra").rmdir()
    callback.on_multirun_start(config)
    callback.on_multirun_end(config)
    assert take_sweep_exit_status() == 0
    assert pq.read_table(sweep / "summary.parquet").num_rows == 6 * 62


def test_sweep_callback_reports_its_own_failure_in_one_line(sweep, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("xopipe.sweep.finish.finish_sweep", broken)
    callback = SweepSummary(progress=False)
    config = multirun_config(sweep)
    callback.on_multirun_start(config)
    callback.on_multirun_end(config)
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == (
        f"error: could not summarize the sweep in {sweep}: "
        "OSError: [Errno 28] No space left on device"
    )
    assert take_sweep_exit_status() == 1
