"""A training run's report.html in a real browser (tests/browser.py): the epoch slider puts that
epoch's stored weights (weights_history.parquet) into the kernel cells, bit for bit, and the
explorer recomputes the chosen test image's maps as the NumPy backend does; the head's votes at
the last epoch are predictions.parquet's; "Back" returns to the run's own values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import xopipe
from tests.browser import open_page
from xopipe.backends import get_backend
from xopipe.experiment import execute
from xopipe.training.outputs import experiment_at

pytestmark = pytest.mark.slow
SMALL = ["data.n_train=40", "data.n_test=20", "train.epochs=4", "train.batch_size=8"]
TOLERANCE = 1e-12


def shown(page) -> dict[str, np.ndarray]:
    plain = page.page.evaluate("() => window.xopipe.shown()")
    return {name: np.array(t["data"]).reshape(t["shape"]) for name, t in plain.items()}


def kernel_cells(page) -> np.ndarray:
    """The conv kernels the side panel shows, from each cell's full digits (its title)."""
    titles = page.page.eval_on_selector_all(
        '.kernels[data-for="conv"] .c.k', "els => els.map(e => e.title)"
    )
    return np.array([float(t) for t in titles]).reshape(3, 1, 3, 3)


def stored_kernels(table: pd.DataFrame, epoch: int) -> np.ndarray:
    rows = table[(table.stage == "conv") & (table.param == "weight") & (table.epoch == epoch)]
    return (
        rows.sort_values(["kernel", "channel", "row", "col"]).value.to_numpy().reshape(3, 1, 3, 3)
    )


def test_the_epoch_slider_and_the_test_image_replay_the_training(browser, tmp_path):
    result = xopipe.train(*SMALL, "figures=none", out_dir=tmp_path)
    weights = pd.read_parquet(tmp_path / "weights_history.parquet")
    predictions = pd.read_parquet(tmp_path / "predictions.parquet")
    images = pd.read_parquet(tmp_path / "data.parquet")
    training = result.training
    test = [int(i) for i in predictions["index"]]

    def image(index: int) -> np.ndarray:
        pixels = images[images["index"] == index].sort_values(["row", "col"])
        return pixels.value.to_numpy().reshape(1, 9, 9)

    def numpy_maps(epoch: int, index: int) -> dict[str, np.ndarray]:
        params = training.trained.epochs[epoch].params
        at = experiment_at(training.model.experiment, params, image(index), "oracle")
        return execute(at, get_backend("numpy")).arrays

    def at_epoch(page, epoch: int, index: int) -> None:
        assert page.page.input_value("#epoch") == str(epoch)
        assert page.page.inner_text("#epoch-number") == str(epoch)
        at = page.page.evaluate("() => window.xopipe.training.shown()")
        assert at == {"epoch": epoch, "index": index}
        assert np.array_equal(kernel_cells(page), stored_kernels(weights, epoch)), epoch
        got, want = shown(page), numpy_maps(epoch, index)
        assert np.array_equal(got["input"], want["input"])  # the test image, exactly
        for name in ("conv", "pool", "activation"):
            np.testing.assert_allclose(got[name], want[name], rtol=TOLERANCE, atol=TOLERANCE)

    def votes(page) -> list[float]:
        return page.page.evaluate("() => window.xopipe.training.votes()")

    with open_page(browser, tmp_path / "report.html") as page:
        p = page.page
        # It opens on the last epoch and the first test image: the run's own values.
        at_epoch(page, 4, test[0])
        assert p.inner_text("#status").startswith(f"Epoch 4, test image #{test[0]}: the values")
        first = predictions.iloc[0][["o", "x"]].to_numpy(dtype=np.float64)
        np.testing.assert_allclose(votes(page), first, rtol=0, atol=TOLERANCE)
        stored = shown(page)

        # The slider, from the keyboard as a reader moves it.
        p.focus("#epoch")
        p.keyboard.press("Home")
        at_epoch(page, 0, test[0])
        assert not np.array_equal(stored_kernels(weights, 0), stored_kernels(weights, 4))
        p.keyboard.press("ArrowRight")
        p.keyboard.press("ArrowRight")
        at_epoch(page, 2, test[0])
        history = pd.read_parquet(tmp_path / "history.parquet")
        row = history[(history.epoch == 2) & (history.split == "test")].iloc[0]
        assert f"test loss {row.loss:.4f}, accuracy {row.accuracy:.3f}" in p.inner_text("#scores")

        # Any test image: the explorer shows its pipeline at the chosen epoch.
        p.select_option("#image", "7")
        at_epoch(page, 2, test[7])
        p.focus("#epoch")
        p.keyboard.press("End")
        at_epoch(page, 4, test[7])
        seventh = predictions.iloc[7][["o", "x"]].to_numpy(dtype=np.float64)
        np.testing.assert_allclose(votes(page), seventh, rtol=0, atol=TOLERANCE)
        label, predicted = predictions.iloc[7][["label", "predicted"]]
        assert p.inner_text("#votes").endswith(f"→ {predicted} (its label: {label}).")

        # The explorer's contract holds: a click marks what the cell reads and explains it.
        p.click('[data-stage="conv"][data-channel="1"][data-row="2"][data-col="3"]')
        assert len(page.cells('[data-stage="input"][data-role="source"]')) == 9
        last = p.inner_text("#explain").splitlines()[-1]
        value = numpy_maps(4, test[7])["conv"][1, 2, 3]
        assert last.startswith("stored conv[1, 2, 3] = ") and last.endswith(
            "(identical, bit for bit)"
        )
        assert abs(float(last.split("= ")[1].split()[0]) - value) <= TOLERANCE

        # Back: the epoch and image the page opened on, with the run's own values bit for bit.
        p.get_by_role("button", name=f"Back to epoch 4, test image #{test[0]}").click()
        assert (p.input_value("#epoch"), p.input_value("#image")) == ("4", "0")
        now = shown(page)
        assert all(np.array_equal(now[n].view(np.uint64), stored[n].view(np.uint64)) for n in now)
        assert np.array_equal(kernel_cells(page), stored_kernels(weights, 4))
        assert page.errors == [] and page.requests == []
