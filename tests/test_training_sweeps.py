"""Training sweeps: summary.parquet of the final weights and scores, diff.csv and the reports
over the weights and the history, a drifting backend named by table and cell.

The jobs are made in process (tests/faulty_training.py trains the same small model on
each backend, the numpy backend's conv weight gradient transposed where asked), then
summarized as the sweep's callback does; the slow tests run real `xopipe-train -m`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import xopipe
from tests.faulty_training import SHARED, three_trainings
from tests.finished_runs import read_csv
from xopipe.config.compose import compose_config
from xopipe.diff.cli import main as diff_main
from xopipe.diff.compare import Tolerance, compare_grids
from xopipe.diff.grids import HistoryGrids, WeightGrids
from xopipe.errors import UserError
from xopipe.sinks.weights import SCHEMA as WEIGHTS_SCHEMA
from xopipe.sweep_end import finish_sweep

GROUP = " ".join(SHARED)
WEIGHT_GRIDS = ["conv_0", "conv_1", "conv_2", "conv_bias", "head_0", "head_1", "head_bias"]
HISTORY_GRIDS = ["train_loss", "test_loss", "train_accuracy", "test_accuracy"]
SCORES = ("loss", "accuracy")
FEATURES = 3 * 4 * 4 + 3 * 7 * 7  # the seed's pool and relu of a 9x9 image, flattened
WEIGHTS_PER_JOB = 3 * 9 + 3 + 2 * FEATURES + 2
TOLERANCE = Tolerance(1e-9, 1e-9)


def grids(job: Path) -> dict[tuple[str, str], np.ndarray]:
    """(table, stage) -> the grid, read straight from the job's files (channel 0 of each)."""
    found = {}
    for table, reader in (
        ("weights", WeightGrids(job / "weights.parquet")),
        ("history", HistoryGrids(job / "history.parquet")),
    ):
        for stage, channel in reader.grid_keys():
            assert channel == 0
            found[(table, stage)] = reader.grid(stage, channel)
    return found


def history(job: Path) -> dict[str, dict[int, tuple[float, float]]]:
    table = pq.read_table(job / "history.parquet").to_pydict()
    found: dict[str, dict[int, tuple[float, float]]] = {}
    rows = zip(table["epoch"], table["split"], table["loss"], table["accuracy"], strict=True)
    for epoch, split, loss, accuracy in rows:
        found.setdefault(split, {})[epoch] = (loss, accuracy)
    return found


def test_history_grids_hold_each_score_by_epoch(tmp_path, monkeypatch):
    three_trainings(tmp_path, monkeypatch, faulty=None)
    scores = history(tmp_path / "1")
    reader = HistoryGrids(tmp_path / "1" / "history.parquet")
    assert reader.grid_keys() == [(stage, 0) for stage in HISTORY_GRIDS]
    for split in ("train", "test"):
        for score, column in (("loss", 0), ("accuracy", 1)):
            expected = [scores[split][epoch][column] for epoch in range(3)]
            np.testing.assert_array_equal(reader.grid(f"{split}_{score}", 0), [expected])
    # 16 test images: every accuracy is a count over 16; the loss falls as it learns
    accuracy = reader.grid("test_accuracy", 0)[0]
    np.testing.assert_array_equal(accuracy * 16, np.round(accuracy * 16))
    loss = reader.grid("train_loss", 0)[0]
    assert loss[2] < loss[0]


def test_backends_that_train_alike_agree_on_weights_and_history(tmp_path, monkeypatch):
    sweep = three_trainings(tmp_path / "sweep", monkeypatch, faulty=None)
    comparison = finish_sweep(sweep)
    assert comparison.verdict() == (
        "backends agree: 33 grids (weights 21, history 12) within tolerance in 3 pairs"
    )
    rows = read_csv(sweep / "diff.csv")
    assert [(r["table"], r["stage"]) for r in rows[:11]] == [
        *(("weights", stage) for stage in WEIGHT_GRIDS),
        *(("history", stage) for stage in HISTORY_GRIDS),
    ]
    files = {job: grids(sweep / job) for job in ("0", "1", "2")}
    for row in rows:
        a = files[row["run_a"]][(row["table"], row["stage"])]
        b = files[row["run_b"]][(row["table"], row["stage"])]
        assert row["shape_a"] == "x".join(map(str, a.shape))
        assert float(row["max_abs_diff"]) == np.abs(a - b).max() < 1e-12
        assert row["ok"] == "true" and row["group"] == GROUP
    shapes = {(r["stage"], r["shape_a"]) for r in rows}
    assert {("conv_0", "3x3"), ("head_1", f"1x{FEATURES}"), ("test_loss", "1x3")} <= shapes
    report = (sweep / "diff_report.md").read_text()
    assert "Every job's final weights and scores: summary.parquet." in report
    scores = report.split("## Final scores\n")[1]
    for job, backend in enumerate(("loop", "numpy", "torch")):
        final = json.loads((sweep / str(job) / "manifest.json").read_text())["final"]
        line = (
            f"| {job} | {GROUP} backend={backend} | {final['train']['loss']!r} | "
            f"{final['train']['accuracy']!r} | {final['test']['loss']!r} | "
            f"{final['test']['accuracy']!r} |"
        )
        assert line in scores.splitlines()


def test_the_summary_holds_every_jobs_final_weights_and_scores(tmp_path, monkeypatch):
    sweep = three_trainings(tmp_path / "sweep", monkeypatch, faulty=None)
    with pytest.raises(UserError, match="optim.lr"):
        xopipe.train(*SHARED, "optim.lr=-1", out_dir=sweep / "3")
    finish_sweep(sweep)
    summary = pq.read_table(sweep / "summary.parquet")
    assert summary.schema.names == [
        "job",
        "run",
        "status",
        "error",
        "train_loss",
        "train_accuracy",
        "test_loss",
        "test_accuracy",
        "backend",
        "optim.lr",
        *WEIGHTS_SCHEMA.names,
    ]
    assert str(summary.schema.field("optim.lr").type) == "int64"  # -1 as typed
    frame = summary.to_pandas()
    assert len(frame) == 3 * WEIGHTS_PER_JOB + 1
    for job, backend in enumerate(("loop", "numpy", "torch")):
        rows = frame[frame.job == job].reset_index(drop=True)
        assert set(rows.backend) == {backend} and set(rows.status) == {"complete"}
        scores = history(sweep / str(job))
        for split in ("train", "test"):
            loss, accuracy = scores[split][2]  # the last epoch's
            assert set(rows[f"{split}_loss"]) == {loss}
            assert set(rows[f"{split}_accuracy"]) == {accuracy}
        weights = pq.read_table(sweep / str(job) / "weights.parquet").to_pandas()
        for name in WEIGHTS_SCHEMA.names:
            np.testing.assert_array_equal(rows[name].to_numpy(), weights[name].to_numpy())
        head = rows[(rows.stage == "head") & (rows.param == "weight")]
        assert len(head) == 2 * FEATURES and set(head.kernel) == {0, 1}
    failed = summary.slice(summary.num_rows - 1).to_pylist()[0]
    assert failed["job"] == 3 and failed["status"] == "failed"
    assert failed["error"] == "optim.lr must be a number > 0, got -1.0"
    assert failed["optim.lr"] == -1 and failed["backend"] is None
    assert all(failed[name] is None for name in [*HISTORY_GRIDS, *WEIGHTS_SCHEMA.names])
    report = (sweep / "diff_report.md").read_text()
    assert "## Failed jobs (skipped)" in report
    assert "| 3 | 3 | " in report  # the failed job, listed; its scores are not
    assert len(report.split("## Final scores\n")[1].splitlines()) == 2 + 3 + 1


def test_a_drifting_backend_is_named_by_table_and_cell(tmp_path, monkeypatch):
    """numpy's conv weight gradient transposed: its final weights and its losses part from
    loop's and torch's, which agree; epoch 0, scored before any step, agrees everywhere."""
    sweep = three_trainings(tmp_path / "sweep", monkeypatch, faulty="numpy")
    comparison = finish_sweep(sweep)
    files = {job: grids(sweep / job) for job in ("0", "1", "2")}
    rows = read_csv(sweep / "diff.csv")
    bad = [r for r in rows if r["ok"] == "false"]
    assert {(r["backend_a"], r["backend_b"]) for r in bad} == {
        ("loop", "numpy"),
        ("numpy", "torch"),
    }
    assert not [r for r in rows if r["run_a"] == "0" and r["run_b"] == "2" and r["ok"] != "true"]
    for row in rows:
        a = files[row["run_a"]][(row["table"], row["stage"])]
        b = files[row["run_b"]][(row["table"], row["stage"])]
        expected = compare_grids(a, b, TOLERANCE)
        assert int(row["mismatched_cells"]) == expected.mismatched_cells
        assert row["ok"] == ("true" if expected.ok else "false")
        if not expected.ok:
            worst = expected.worst[0]
            assert float(row["max_abs_diff"]) == worst.abs_diff == np.abs(a - b).max()
            assert (int(row["worst_row"]), int(row["worst_col"])) == (worst.row, worst.col)
            assert (float(row["worst_a"]), float(row["worst_b"])) == (worst.a, worst.b)
    # Every weight moved; in the history, the epochs after the first step (col = epoch)
    scored = []
    for run_a, run_b in (("0", "1"), ("1", "2")):
        mine = {
            (r["table"], r["stage"]): r for r in bad if (r["run_a"], r["run_b"]) == (run_a, run_b)
        }
        assert {stage for table, stage in mine if table == "weights"} == set(WEIGHT_GRIDS)
        scored.append([stage for stage in HISTORY_GRIDS if ("history", stage) in mine])
        assert {"train_loss", "test_loss"} <= set(scored[-1])
        for stage in scored[-1]:
            assert int(mine[("history", stage)]["worst_col"]) >= 1
            a, b = files[run_a][("history", stage)], files[run_b][("history", stage)]
            assert abs(a[0, 0] - b[0, 0]) < 1e-12  # epoch 0: the same start, the same pass
    assert scored[0] == scored[1]  # loop and torch agree: numpy parts from both alike
    stages = ", ".join(WEIGHT_GRIDS)
    assert len(bad) == 2 * (len(WEIGHT_GRIDS) + len(scored[0]))
    pairs = f"{GROUP}: backend=loop vs backend=numpy, {GROUP}: backend=numpy vs backend=torch"
    assert comparison.verdict() == (
        f"backends differ: {len(bad)} of 33 grids beyond tolerance "
        f"(weights: {stages}; history: {', '.join(scored[0])}), in 2 of 3 pairs ({pairs})"
    )
    report = (sweep / "diff_report.md").read_text()
    section = report.split(f"### {GROUP}: backend=loop vs backend=numpy\n")[1].split("###")[0]
    assert "a = 0 (loop), b = 1 (numpy)." in section
    assert "By table: weights: 7 of 7 grids beyond tolerance (conv_0 0, conv_1 0, " in section
    header = "| table | stage | channel | row | col | a (backend=loop) | b (backend=numpy) |"
    assert header in section
    conv = next(r for r in bad if r["run_b"] == "1" and r["stage"] == "conv_1")
    worst_line = (
        f"| weights | conv_1 | 0 | {conv['worst_row']} | {conv['worst_col']} | "
        f"{conv['worst_a']} | {conv['worst_b']} | {conv['max_abs_diff']} |"
    )
    assert worst_line in section.splitlines()
    assert "weights conv_1: |a - b| beyond tolerance" in (sweep / "diff_report.html").read_text()


def test_xopipe_diff_and_load_read_training_runs(tmp_path, monkeypatch, capsys):
    """Two training runs compared by xopipe-diff: their weights and history, their scores;
    a training sweep opened by xopipe.load: its summary as a DataFrame."""
    sweep = three_trainings(tmp_path / "sweep", monkeypatch, faulty="numpy")
    finish_sweep(sweep)
    same = diff_main([str(sweep / "0"), str(sweep / "2"), "--out", str(tmp_path / "same")])
    differ = diff_main([str(sweep / "0"), str(sweep / "1"), "--out", str(tmp_path / "differ")])
    assert (same, differ) == (0, 1)
    verdicts = [line for line in capsys.readouterr().out.splitlines() if line.startswith("runs")]
    assert verdicts[0] == "runs agree: 11 grids (weights 7, history 4) within tolerance in 1 pair"
    assert (
        verdicts[1].startswith("runs differ: ") and "backend=loop vs backend=numpy" in verdicts[1]
    )
    rows = read_csv(tmp_path / "differ" / "diff.csv")
    assert {r["table"] for r in rows if r["ok"] == "false"} == {"weights", "history"}
    report = (tmp_path / "same" / "diff_report.md").read_text()
    assert "## Final scores" in report and f"| 2 | {GROUP} backend=torch |" not in report
    assert f"{sweep / '2'} | {GROUP} backend=torch |" in report  # named as given
    folder = xopipe.load(sweep)
    assert folder.kind == "sweep" and "summary" in folder.tables()
    summary = folder.frame("summary")
    assert len(summary) == 3 * WEIGHTS_PER_JOB
    assert list(summary.columns[4:8]) == [f"{s}_{k}" for s in ("train", "test") for k in SCORES]


def test_the_diff_tolerance_is_the_training_configs(tmp_path, monkeypatch):
    """diff.atol/diff.rtol are keys of xopipe-train's config too; loose enough, the drifting
    backend passes (the sweep's callback hands them to finish_sweep)."""
    config = compose_config(["diff.atol=0.1", "diff.rtol=0"], config_name="train")
    assert (config.diff.atol, config.diff.rtol) == (0.1, 0)
    sweep = three_trainings(tmp_path / "sweep", monkeypatch, faulty="numpy")
    comparison = finish_sweep(sweep, config.diff.atol, config.diff.rtol)
    assert comparison.verdict() == (
        "backends agree: 33 grids (weights 21, history 12) within tolerance in 3 pairs"
    )
    assert "atol 0.1, rtol 0.0" in (sweep / "diff_report.md").read_text()
