"""xopipe.diff.cli: xopipe-diff on two runs or two sweeps, in process."""

from __future__ import annotations

import pytest

from tests.finished_runs import make_run, random_arrays, read_csv
from xopipe.diff.cli import main as diff_main


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
    assert out.splitlines()[0] == (
        "runs differ: 1 of 5 grids beyond tolerance (conv), in 1 of 1 pair: "
        "conv.bias (default) vs conv.bias=0.125"  # b sets it, a leaves the default
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
        "sweeps differ: 1 of 15 grids beyond tolerance (input), in 1 of 3 pairs"
        " (input.seed=2 backend=numpy); 1 run without a match"  # the job both sweeps ran
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
    assert row["table"] == row["stage"] == ""  # no grid of any table was compared
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
