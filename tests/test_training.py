"""Training: one full-batch step against torch.autograd, the backends in step, the lesson's
accuracy, and the files a training run leaves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
import torch.nn.functional as F

import xopipe
from xopipe.backends import BACKENDS
from xopipe.training.data import TEMPLATES

SMALL = ["data.n_train=24", "data.n_test=8", "figures=none"]


def _torch_step(result, lr: float):
    """One full-batch SGD step of the same model, written with torch.nn.functional."""
    start = {k: torch.tensor(v, requires_grad=True) for k, v in result.weights_by_epoch[0].items()}
    data = result.training.data
    images, labels = data.part("train")
    x = torch.tensor(images)
    conv = F.conv2d(x, start["conv.weight"]) / 9 + start["conv.bias"][None, :, None, None]
    pool = F.max_pool2d(F.pad(conv, (0, 1, 0, 1)), 2)
    relu = F.relu(conv)
    features = torch.cat([pool.flatten(1), relu.flatten(1)], dim=1)
    logits = features @ start["head.weight"].T + start["head.bias"]
    F.cross_entropy(logits, torch.tensor(labels)).backward()
    return {k: (v - lr * v.grad).detach().numpy() for k, v in start.items()}


def test_full_batch_descent_is_one_autograd_step():
    overrides = [*SMALL, "train.epochs=1", "train.batch_size=24", "optim.momentum=0"]
    with xopipe.train(*overrides, "optim.lr=0.3") as result:
        expected = _torch_step(result, 0.3)
        for name, value in result.weights.items():
            np.testing.assert_allclose(value, expected[name], rtol=1e-9, atol=1e-9, err_msg=name)
            assert not np.array_equal(value, result.weights_by_epoch[0][name]), name


def test_the_backends_train_in_step():
    """Same batches, same order, same start: every epoch's weights within 1e-9 (float64)."""
    overrides = [*SMALL, "train.epochs=3", "train.batch_size=8", "optim.lr=0.5"]
    runs = {b: xopipe.train(*overrides, f"backend={b}") for b in BACKENDS}
    try:
        reference = runs["numpy"].weights_by_epoch
        assert len(reference) == 4  # the start and 3 epochs
        for backend, run in runs.items():
            for epoch, (ours, theirs) in enumerate(
                zip(run.weights_by_epoch, reference, strict=True)
            ):
                for name in theirs:
                    np.testing.assert_allclose(
                        ours[name],
                        theirs[name],
                        rtol=1e-9,
                        atol=1e-9,
                        err_msg=f"{backend} epoch {epoch} {name}",
                    )
        assert not np.allclose(reference[0]["conv.weight"], reference[-1]["conv.weight"])
    finally:
        for run in runs.values():
            run.close()


def test_the_default_learns_x_from_o(tmp_path):
    """The lesson: seeded random kernels, 95% or more of the held-out images right."""
    with xopipe.train("figures=none", out_dir=tmp_path) as result:
        accuracy = result.manifest["final"]["test"]["accuracy"]
        assert accuracy >= 0.95
        history = result.history
        first = history[(history.epoch == 0) & (history.split == "test")].accuracy.item()
        assert first < 0.8  # it was learned, not given
        predictions = pq.read_table(tmp_path / "predictions.parquet").to_pandas()
        assert len(predictions) == 100
        np.testing.assert_allclose(predictions[["o", "x"]].sum(axis=1), 1.0, rtol=1e-12)
        assert (predictions.label == predictions.predicted).mean() == pytest.approx(accuracy)


def test_frozen_kernels_stay_as_given():
    with xopipe.train(*SMALL, "kernels=xo", "train.freeze=[conv]", "train.epochs=2") as result:
        first, last = result.weights_by_epoch[0], result.weights
        np.testing.assert_array_equal(first["conv.weight"], last["conv.weight"])
        assert not np.array_equal(first["head.weight"], last["head.weight"])


def test_the_folder_tells_the_story(tmp_path):
    with xopipe.train(*SMALL, "train.epochs=2", out_dir=tmp_path) as result:
        data = pq.read_table(tmp_path / "data.parquet").to_pandas()
        assert list(data.columns) == ["index", "split", "label", "row", "col", "value"]
        assert len(data) == 32 * 81
        first = data[data["index"] == 0].value.to_numpy().reshape(9, 9)
        np.testing.assert_array_equal(first, result.training.data.images[0, 0])
        history = pq.read_table(tmp_path / "history.parquet").to_pandas()
        assert history[["epoch", "split"]].values.tolist() == [
            [e, s] for e in range(3) for s in ("train", "test")
        ]
        weights = pq.read_table(tmp_path / "weights_history.parquet").to_pandas()
        assert sorted(set(weights.epoch)) == [0, 1, 2]
        head = weights[
            (weights.stage == "head") & (weights.param == "weight") & (weights.epoch == 2)
        ]
        assert len(head) == 2 * 195  # classes x (pool 3x4x4 + activation 3x7x7) features
        stored = head.sort_values(["kernel", "col"]).value.to_numpy().reshape(2, 195)
        np.testing.assert_array_equal(stored, result.weights["head.weight"])
        final = result.manifest["final"]
        assert final["test"]["accuracy"] == history.accuracy.iloc[-1]
        assert {"data.parquet", "history.parquet", "weights.parquet"} <= set(
            result.manifest["files"]
        )


def test_xo_data_is_seeded_and_distorted():
    with (
        xopipe.train(*SMALL, "train.epochs=1") as one,
        xopipe.train(*SMALL, "train.epochs=1") as two,
    ):
        np.testing.assert_array_equal(one.training.data.images, two.training.data.images)
        images, labels = one.training.data.images, one.training.data.labels
        assert one.classes == ("o", "x") and set(labels[:4]) == {0, 1}
        clean = np.stack([TEMPLATES[one.classes[k]] for k in labels])
        assert not np.array_equal(images[:, 0], clean)  # every image differs from its template


@pytest.mark.slow
def test_the_training_notebook_runs(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    path = Path(__file__).parent.parent / "docs" / "training.ipynb"
    notebook = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "learned from random: test accuracy 0.98" in text
    assert "hand-made, frozen: test accuracy 0.99" in text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1  # the kernels, epoch by epoch
