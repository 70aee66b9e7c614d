"""Training's bad inputs, a diverging loss, an interrupted run and resume=true."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

import xopipe
from xopipe.errors import UserError
from xopipe.training import run as training_run

SMALL = ["data.n_train=24", "data.n_test=8", "figures=none", "train.batch_size=8"]


def _folder(tmp_path, classes: dict[str, list[np.ndarray]]):
    root = tmp_path / "data"
    for name, grids in classes.items():
        (root / name).mkdir(parents=True)
        for number, grid in enumerate(grids):
            np.save(root / name / f"{number}.npy", grid)
    return root


def _refusal(*overrides: str) -> str:
    with pytest.raises(UserError) as caught:
        xopipe.train(*overrides)
    assert "\n" not in str(caught.value)
    return str(caught.value)


def test_a_folder_of_classes_trains(tmp_path):
    rng = np.random.default_rng(0)
    root = _folder(
        tmp_path,
        {
            "dark": [rng.uniform(-1, 0, (8, 8)) for _ in range(6)],
            "light": [rng.uniform(0, 1, (8, 8)) for _ in range(6)],
        },
    )
    Image.fromarray(np.full((8, 8), 250, dtype=np.uint8)).save(root / "light" / "png.png")
    (root / "dark" / "csv.csv").write_text("\n".join(",".join(["-0.5"] * 8) for _ in range(8)))
    with xopipe.train("data=folder", f"data.path={root}", "figures=none", "train.epochs=15") as run:
        assert run.classes == ("dark", "light")
        assert len(run.training.data.labels) == 14
        assert (run.training.data.splits == "test").sum() == 4  # a quarter of each class, rounded
        assert run.manifest["final"]["train"]["accuracy"] >= 0.9


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: _folder(p, {"only": [np.zeros((4, 4))] * 3}), "at least two class folders"),
        (
            lambda p: _folder(p, {"a": [np.zeros((4, 4))], "b": [np.zeros((5, 4))]}),
            "every image must have one size; found [4, 4] and [5, 4]",
        ),
        (lambda p: p / "missing", "data.path must name a folder of class folders"),
    ],
)
def test_bad_folders_are_one_line(tmp_path, make, expected):
    root = make(tmp_path)
    assert expected in _refusal("data=folder", f"data.path={root}", "figures=none")


def test_an_unreadable_file_is_named(tmp_path):
    root = _folder(tmp_path, {"a": [np.zeros((4, 4))], "b": [np.zeros((4, 4))]})
    (root / "b" / "broken.png").write_bytes(b"not a png")
    message = _refusal("data=folder", f"data.path={root}", "figures=none")
    assert "b/broken.png" in message


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("optim.lr=0", "optim.lr must be a number > 0, got 0.0"),
        ("optim.lr=-0.1", "optim.lr must be a number > 0, got -0.1"),
        ("train.batch_size=0", "train.batch_size must be a whole number >= 1, got 0"),
        ("train.epochs=0", "train.epochs must be a whole number >= 1, got 0"),
        ("train.freeze=[pool]", "train.freeze must be stages with weights: conv, got ['pool']"),
        ("data.n_train=0", "data.n_train must be a whole number >= 1, got 0"),
        ("loss=mse", "loss must be cross_entropy for xopipe-train, got 'mse'"),
    ],
)
def test_bad_settings_are_one_line_before_any_work(tmp_path, override, expected):
    with pytest.raises(UserError) as caught:
        xopipe.train(*SMALL, override, out_dir=tmp_path)
    assert str(caught.value) == expected
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["files"] == {}


def test_the_command_line_says_it_in_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "xopipe.train", "optim.lr=0", f"hydra.run.dir={tmp_path}"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == "error: optim.lr must be a number > 0, got 0.0"


def test_a_diverging_loss_stops_with_the_epoch_and_keeps_the_rest(tmp_path):
    with pytest.raises(UserError) as caught:
        xopipe.train(*SMALL, "optim.lr=1e300", "train.epochs=5", out_dir=tmp_path)
    assert "the loss became nan in epoch 1" in str(caught.value) or "became inf" in str(
        caught.value
    )
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "in epoch 1" in manifest["error"]
    # what was done stays: epoch 0's history and weights, listed and on disk
    assert {"history.parquet", "weights_history.parquet", "data.parquet"} <= set(manifest["files"])
    assert pq.read_table(tmp_path / "history.parquet").column("epoch").to_pylist() == [0, 0]


def _interrupt_after(epoch: int, monkeypatch) -> None:
    save = training_run._save_epochs

    def saving(folder, epochs):
        written = save(folder, epochs)
        if epochs[-1].number == epoch:
            raise KeyboardInterrupt
        return written

    monkeypatch.setattr(training_run, "_save_epochs", saving)


def test_ctrl_c_leaves_a_failed_manifest_and_resume_ends_where_a_whole_run_ends(
    tmp_path, monkeypatch
):
    overrides = [*SMALL, "train.epochs=4", "optim.lr=0.5"]
    with xopipe.train(*overrides, out_dir=tmp_path / "whole") as whole:
        expected = whole.weights
    _interrupt_after(2, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        xopipe.train(*overrides, out_dir=tmp_path / "cut")
    manifest = json.loads((tmp_path / "cut" / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["error"] == "interrupted (SIGINT)"
    epochs = pq.read_table(tmp_path / "cut" / "history.parquet").column("epoch").to_pylist()
    assert sorted(set(epochs)) == [0, 1, 2]
    monkeypatch.undo()
    with xopipe.train(*overrides, "resume=true", out_dir=tmp_path / "cut") as resumed:
        assert [e.number for e in resumed.training.trained.epochs] == [0, 1, 2, 3, 4]
        for name, value in expected.items():
            np.testing.assert_array_equal(resumed.weights[name], value, err_msg=name)
        history = pq.read_table(tmp_path / "cut" / "history.parquet").to_pandas()
        np.testing.assert_array_equal(history.to_numpy(), whole.history.to_numpy())
