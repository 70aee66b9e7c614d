"""The gradients figure: one row per dL/d map in backward order, centred on 0 whatever the cmap."""

from __future__ import annotations

import numpy as np
from matplotlib.image import AxesImage

import xopipe
from xopipe.figures.gradient_figure import gradients_figure
from xopipe.figures.layout import Style


def _images(figure):
    return [
        image for ax in figure.axes for image in ax.get_images() if isinstance(image, AxesImage)
    ]


def test_rows_run_backward_and_the_scale_is_centred(tmp_path):
    with xopipe.run("loss=sum", "figures=none") as run:
        # a gray colour map (not diverging) still gets a scale centred on 0 here
        figure = gradients_figure(run.experiment, _gradients(run), Style("en", "gray", False))
    titles = [text.get_text() for text in figure.texts]
    order = ["dL/dactivation", "dL/dpool", "dL/dconv", "dL/d kernels", "dL/dinput"]
    positions = [next(i for i, t in enumerate(titles) if t.startswith(name)) for name in order]
    assert positions == sorted(positions), titles
    images = _images(figure)
    assert len(images) == 3 + 3 + 3 + 3 + 1  # every channel, every kernel
    for image in images:
        low, high = image.norm.vmin, image.norm.vmax
        assert low == -high and high > 0
    # the bias is no map: its gradient, one number per kernel, follows the kernels' title
    kernels = next(t for t in titles if t.startswith("dL/d kernels"))
    bias = run.weight_grads["conv"]["bias"]
    assert kernels.endswith(f"dL/d bias [{', '.join(f'{v:.4g}' for v in bias)}]"), kernels
    assert (
        bias.tolist() == run.grads["conv"].sum(axis=(1, 2)).tolist()
    )  # dL/dconv summed over each kernel's cells
    # dL/dinput's panel shows the stored gradient itself
    np.testing.assert_array_equal(np.asarray(images[-1].get_array()), run.grads["input"][0])


def test_a_run_with_a_loss_and_figures_saves_gradients_png(tmp_path):
    with xopipe.run("loss=mse", "figures=png", out_dir=tmp_path) as run:
        assert "figures/gradients.png" in run.manifest["files"]
    assert (tmp_path / "figures" / "gradients.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with xopipe.run("figures=png", out_dir=tmp_path / "plain") as run:
        assert "figures/gradients.png" not in run.manifest["files"]


def _gradients(run):
    from xopipe.backends import get_backend
    from xopipe.backward import backpropagate
    from xopipe.experiment import execute

    numpy = get_backend("numpy")
    return backpropagate(run.experiment, numpy, execute(run.experiment, numpy, keep=True))
