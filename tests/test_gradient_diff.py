"""Gradients in the diff: a backward bug in one backend shows in diff.csv and the reports the
way a forward bug does, named by backend, table and cell.

The bug (tests/faulty_backward.py) gives a max-pool tie to the window's last maximum in
the numpy backend. The seed's X under loss=sum has ties in 5 pool windows, so the
gradient moves from each window's first maximum to its last: dL/dconv changes in exactly
those cells, by exactly 1 (the window's dL/dpool), and everything upstream of them with it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import xopipe
from tests.faulty_backward import SHARED, last_maximum_pool_backward, three_backends
from tests.finished_runs import read_csv
from xopipe.backends.numpy_backward import NumpyBackward
from xopipe.diff.cli import main as diff_main
from xopipe.sinks.tables import read_parquet_arrays
from xopipe.sweep_end import finish_sweep

GROUP = "loss=sum figures=none"
ROOT = Path(__file__).parent.parent


def tied_cells(conv: np.ndarray) -> dict[int, set[tuple[int, int]]]:
    """Per channel, the first and last maximum of every 2x2 pool window with a tie (the
    seed's pool: zero fill to even size, then 2x2 max, stride 2)."""
    found: dict[int, set[tuple[int, int]]] = {}
    for channel, grid in enumerate(conv):
        filled = np.pad(grid, ((0, grid.shape[0] % 2), (0, grid.shape[1] % 2)))
        for top in range(0, filled.shape[0], 2):
            for left in range(0, filled.shape[1], 2):
                window = filled[top : top + 2, left : left + 2]
                rows, cols = np.nonzero(window == window.max())  # row-major order
                if len(rows) > 1:
                    cells = found.setdefault(channel, set())
                    cells.add((top + int(rows[0]), left + int(cols[0])))
                    cells.add((top + int(rows[-1]), left + int(cols[-1])))
    return found


def test_a_backward_bug_in_one_backend_is_named_by_table_and_cell(tmp_path, monkeypatch):
    sweep = three_backends(tmp_path / "sweep", monkeypatch)
    comparison = finish_sweep(sweep)
    pairs = f"{GROUP}: backend=loop vs backend=numpy, {GROUP}: backend=numpy vs backend=torch"
    assert comparison.verdict() == (
        "backends differ: 10 of 72 grids beyond tolerance "
        f"(gradients: input, conv; weight_gradients: conv_0), in 2 of 3 pairs ({pairs})"
    )
    conv = read_parquet_arrays(sweep / "0" / "matrices.parquet")["conv"]
    ties = tied_cells(conv)
    assert {c: len(cells) for c, cells in ties.items()} == {0: 6, 1: 2, 2: 2}  # 5 windows
    right = read_parquet_arrays(sweep / "0" / "gradients.parquet")
    wrong = read_parquet_arrays(sweep / "1" / "gradients.parquet")
    rows = read_csv(sweep / "diff.csv")
    assert {r["table"] for r in rows} == {"matrices", "gradients", "weight_gradients"}
    bad = [r for r in rows if r["ok"] == "false"]
    expected = {("gradients", "input", "0"), ("weight_gradients", "conv_0", "0")}
    expected |= {("gradients", "conv", str(c)) for c in ties}
    for run_a, run_b in (("0", "1"), ("1", "2")):
        mine = [r for r in bad if (r["run_a"], r["run_b"]) == (run_a, run_b)]
        assert {(r["table"], r["stage"], r["channel"]) for r in mine} == expected
        assert {r["backend_a"] for r in mine} | {r["backend_b"] for r in mine} >= {"numpy"}
    assert not [r for r in bad if r["run_a"] == "0" and r["run_b"] == "2"]  # loop = torch
    for c, cells in ties.items():
        (row,) = [
            r
            for r in bad
            if (r["run_a"], r["table"], r["stage"], r["channel"])
            == ("0", "gradients", "conv", str(c))
        ]
        assert int(row["mismatched_cells"]) == len(cells) and float(row["max_abs_diff"]) == 1.0
        cell = (int(row["worst_row"]), int(row["worst_col"]))
        assert cell in cells
        assert float(row["worst_a"]) == right["conv"][c][cell]
        assert float(row["worst_b"]) == wrong["conv"][c][cell]
        moved = np.argwhere(right["conv"][c] != wrong["conv"][c])
        assert {tuple(int(i) for i in at) for at in moved} == cells
    # A tie moves dL/dconv within one map: the bias, its sum, agrees to the last bit.
    (bias,) = [r for r in rows if r["run_b"] == "1" and r["stage"] == "conv_bias"]
    assert bias["ok"] == "true" and bias["max_abs_diff"] == "0.0" and bias["shape_a"] == "1x3"
    markdown = (sweep / "diff_report.md").read_text()
    assert (
        "By table: matrices: all 10 grids within tolerance; gradients: 4 of 10 grids beyond "
        "tolerance (input 0, conv 0, conv 1, conv 2); weight_gradients: 1 of 4 grids beyond "
        "tolerance (conv_0 0)."
    ) in markdown
    loop_vs_numpy = markdown.split("backend=loop vs backend=numpy\n")[1].split("###")[0]
    assert "| table | stage | channel | row | col | a (backend=loop) | b (backend=numpy) |" in (
        loop_vs_numpy
    )
    listed = [
        line.split(" | ")[2:8]
        for line in loop_vs_numpy.splitlines()
        if line.startswith("| gradients | conv |") and line.endswith("| 1.0 |")
    ]
    for c, cells in ties.items():  # the moved cells, up to 5 per grid, with both runs' values
        mine = [cell for cell in listed if cell[0] == str(c)]
        assert len(mine) == min(5, len(cells))
        for _, r, q, a, b, _ in mine:
            assert (int(r), int(q)) in cells
            assert (a, b) == (
                repr(right["conv"][c][int(r), int(q)].item()),
                repr(wrong["conv"][c][int(r), int(q)].item()),
            )
    page = (sweep / "diff_report.html").read_text()
    assert "gradients conv: |a - b| beyond tolerance" in page
    assert "weight_gradients conv_0: |a - b| beyond tolerance" in page


def test_backends_that_agree_say_which_tables_they_compared(tmp_path, monkeypatch):
    sweep = three_backends(tmp_path / "sweep", monkeypatch, faulty=None)
    comparison = finish_sweep(sweep)
    assert comparison.verdict() == (
        "backends agree: 72 grids (matrices 30, gradients 30, weight_gradients 12) "
        "within tolerance in 3 pairs"
    )
    rows = read_csv(sweep / "diff.csv")
    per_table = {t: sum(r["table"] == t for r in rows) for t in {r["table"] for r in rows}}
    assert per_table == {"matrices": 30, "gradients": 30, "weight_gradients": 12}


def test_xopipe_diff_of_two_runs_compares_their_gradients(tmp_path, monkeypatch, capsys):
    xopipe.run(*SHARED, out_dir=tmp_path / "right").close()
    with monkeypatch.context() as patch:
        patch.setattr(NumpyBackward, "max_pool2d_backward", last_maximum_pool_backward)
        xopipe.run(*SHARED, out_dir=tmp_path / "wrong").close()
    a, b = tmp_path / "right", tmp_path / "wrong"
    assert diff_main([str(a), str(b), "--out", str(tmp_path / "d")]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        "runs differ: 5 of 24 grids beyond tolerance "
        f"(gradients: input, conv; weight_gradients: conv_0), in 1 of 1 pair: {a} vs {b}"
    )
    rows = read_csv(tmp_path / "d" / "diff.csv")
    assert all(r["ok"] == "true" for r in rows if r["table"] == "matrices")
    weights = [r for r in rows if r["table"] == "weight_gradients"]
    assert [(r["stage"], r["channel"], r["shape_a"]) for r in weights] == [
        ("conv_0", "0", "3x3"),
        ("conv_1", "0", "3x3"),
        ("conv_2", "0", "3x3"),
        ("conv_bias", "0", "1x3"),
    ]
    (kernel0,) = [r for r in weights if r["ok"] == "false"]
    right = np.loadtxt(a / "weight_gradients" / "conv_0_0.csv", delimiter=",")
    wrong = np.loadtxt(b / "weight_gradients" / "conv_0_0.csv", delimiter=",")
    assert int(kernel0["mismatched_cells"]) == np.count_nonzero(np.abs(right - wrong) > 1e-9)
    assert float(kernel0["max_abs_diff"]) == np.max(np.abs(right - wrong))
    worst = int(kernel0["worst_row"]), int(kernel0["worst_col"])
    assert (float(kernel0["worst_a"]), float(kernel0["worst_b"])) == (right[worst], wrong[worst])


def test_a_run_without_a_loss_against_one_with_lacks_its_gradients(tmp_path, capsys):
    xopipe.run("figures=none", out_dir=tmp_path / "plain").close()
    xopipe.run(*SHARED, out_dir=tmp_path / "loss").close()
    out = tmp_path / "d"
    assert diff_main([str(tmp_path / "plain"), str(tmp_path / "loss"), "--out", str(out)]) == 1
    rows = read_csv(out / "diff.csv")
    assert all(r["ok"] == "true" for r in rows if r["table"] == "matrices")
    missing = [r for r in rows if r["table"] != "matrices"]
    assert len(missing) == 14 and all(r["shape_a"] == "" and r["ok"] == "false" for r in missing)


@pytest.mark.parametrize("loss", [(), ("loss=none",)])
def test_runs_without_a_loss_compare_matrices_alone(tmp_path, capsys, loss):
    for name in ("a", "b"):
        xopipe.run("figures=none", *loss, out_dir=tmp_path / name).close()
    out = tmp_path / "d"
    assert diff_main([str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(out)]) == 0
    rows = read_csv(out / "diff.csv")
    assert len(rows) == 10 and {r["table"] for r in rows} == {"matrices"}
    assert list(rows[0])[9] == "table"
    assert "table" not in (out / "diff_report.md").read_text()


@pytest.mark.slow
def test_a_real_sweep_with_the_bug_names_numpy(tmp_path):
    """`xopipe -m loss=sum backend=loop,numpy,torch` in its own process, the numpy backend's
    backward broken there: the sweep's own diff.csv and report find it."""
    folder = tmp_path / "sweep"
    args = ["-m", "loss=sum", "backend=loop,numpy,torch", "figures=none", "print_matrices=false"]
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    result = subprocess.run(
        [sys.executable, "-m", "tests.faulty_backward", *args, f"hydra.sweep.dir={folder}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]  # backends that differ: still 0
    group = "loss=sum figures=none print_matrices=False"  # the overrides the pairs share
    pairs = f"{group}: backend=loop vs backend=numpy, {group}: backend=numpy vs backend=torch"
    verdict = (
        "backends differ: 10 of 72 grids beyond tolerance "
        f"(gradients: input, conv; weight_gradients: conv_0), in 2 of 3 pairs ({pairs})"
    )
    assert verdict in result.stdout.splitlines()
    rows = read_csv(folder / "diff.csv")
    bad = {
        (r["backend_a"], r["backend_b"], r["table"], r["stage"]) for r in rows if r["ok"] != "true"
    }
    assert {(a, b) for a, b, _, _ in bad} == {("loop", "numpy"), ("numpy", "torch")}
    assert {(t, s) for _, _, t, s in bad} == {
        ("gradients", "input"),
        ("gradients", "conv"),
        ("weight_gradients", "conv_0"),
    }
    ties = tied_cells(read_parquet_arrays(folder / "1" / "matrices.parquet")["conv"])
    right = read_parquet_arrays(folder / "2" / "gradients.parquet")["conv"]  # torch's
    wrong = read_parquet_arrays(folder / "1" / "gradients.parquet")["conv"]
    for c, cells in ties.items():
        (row,) = [
            r
            for r in rows
            if (r["backend_a"], r["backend_b"], r["table"], r["stage"], r["channel"])
            == ("numpy", "torch", "gradients", "conv", str(c))
        ]
        assert int(row["mismatched_cells"]) == len(cells)
        worst = (int(row["worst_row"]), int(row["worst_col"]))
        assert worst in cells
        assert (float(row["worst_a"]), float(row["worst_b"])) == (wrong[c][worst], right[c][worst])
    report = (folder / "diff_report.md").read_text()
    assert report.splitlines()[2] == f"**{verdict}**"
    summary = pq.read_table(folder / "summary.parquet").to_pandas()
    assert set(summary.table) == {"matrices", "gradients", "weight_gradients"}


def test_a_rounding_tie_routes_a_gradient_apart_and_the_report_says_so(tmp_path):
    """Two cells of one pool window one unit in the last place apart, the other way round
    in the second run: the values agree within any tolerance, but each run's maximum is a
    different cell, so dL/dinput differs by a whole 1 at both. (Backends meet this when their
    sums round a tie apart: two_layer on the O has such windows, rounded one way by the loop
    backend and, on some machines' BLAS, the other way by numpy.)"""
    above = float(np.nextafter(1.0, 2.0))
    grids = {"first": [[1.0, above], [0.5, 0.25]], "second": [[above, 1.0], [0.5, 0.25]]}
    (tmp_path / "k.csv").write_text("1\n")
    runs = {name: tmp_path / name for name in grids}
    for name, grid in grids.items():
        (tmp_path / f"{name}.csv").write_text("\n".join(",".join(map(repr, r)) for r in grid))
        with xopipe.run(
            *("loss=sum", "figures=none", "input=file", f"input.path={tmp_path / name}.csv"),
            *("kernels=file", f"kernels.path={tmp_path / 'k.csv'}", "conv.normalize=none"),
            out_dir=runs[name],
        ) as run:
            assert run.arrays["pool"][0].tolist() == [[above]]
            # 1 from relu(conv), and 1 more where the pool's maximum is
            assert run.grads["input"][0, 0].tolist() == (
                [1.0, 2.0] if name == "first" else [2.0, 1.0]
            )
    out = tmp_path / "d"
    assert diff_main([str(runs["first"]), str(runs["second"]), "--out", str(out)]) == 1
    rows = read_csv(out / "diff.csv")
    assert all(r["ok"] == "true" for r in rows if r["table"] == "matrices")
    assert any(r["ok"] == "false" for r in rows if r["table"] == "gradients")
    report = (out / "diff_report.md").read_text()
    assert "The values agree; only gradients differ." in report
