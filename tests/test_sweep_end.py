"""xopipe.sweep_end: the end of a sweep, in process (real Hydra sweeps: test_sweep_*.py)."""

from __future__ import annotations

from tests.conftest import SWEEP_VERDICT
from tests.finished_runs import make_run, random_arrays, read_csv
from xopipe.sinks.tables import read_parquet_arrays
from xopipe.sweep_end import finish_sweep


def test_finish_sweep_writes_summary_diff_and_reports(sweep):
    comparison = finish_sweep(sweep)
    assert comparison.verdict() == SWEEP_VERDICT
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
    # The runs hold no gradients (no loss): every grid is from their matrices.
    assert list(rows[0])[9] == "table" and {row["table"] for row in rows} == {"matrices"}
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
    assert markdown.splitlines()[2] == f"**{SWEEP_VERDICT}**"
    assert "### conv.stride=2: backend=loop vs backend=torch\n\na = 3 (loop), b = 5 (torch)." in (
        markdown
    )
    assert "| a (backend=loop) | b (backend=torch) |" in markdown
    assert "conv.stride=1" not in markdown.split("## Differences")[1].split("Within tolerance")[0]
    assert "| 6 | 6 | backend=loop conv.stride=0 | UserError: bad value |" in markdown


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
