"""Kernels from files, inline and at random, and the stock kernel sets, checked by their numbers.

Also the two-layer pipeline the stock configs define, against torch.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from xopipe.backends import get_backend
from xopipe.experiment import build_experiment, execute


def test_kernels_from_csv_and_npy(tmp_path, make_config):
    np.save(tmp_path / "k.npy", np.arange(2 * 3 * 2, dtype=np.float64).reshape(2, 3, 2))
    from_npy = build_experiment(make_config("kernels=file", f"kernels.path={tmp_path / 'k.npy'}"))
    assert from_npy.kernels.weight.shape == (2, 1, 3, 2)
    np.testing.assert_array_equal(from_npy.kernels.weight[1, 0], [[6, 7], [8, 9], [10, 11]])
    (tmp_path / "k.csv").write_text("1,2,0\n0,-1,3\n")
    from_csv = build_experiment(make_config("kernels=file", f"kernels.path={tmp_path / 'k.csv'}"))
    np.testing.assert_array_equal(from_csv.kernels.weight[0, 0], [[1, 2, 0], [0, -1, 3]])
    assert from_csv.stages["conv"].shape == (1, 8, 7)


def test_inline_kernels_any_rectangular_shape(make_config):
    experiment = build_experiment(make_config("kernels.values=[[[1,2,0],[0,-1,3]]]"))
    assert experiment.kernels.weight.shape == (1, 1, 2, 3)
    assert experiment.stages["conv"].shape == (1, 8, 7)


def test_random_kernels(make_config):
    a = build_experiment(make_config("kernels=random", "kernels.shape=[4,2,3]", "kernels.seed=3"))
    assert a.kernels.weight.shape == (4, 1, 2, 3)
    np.testing.assert_array_equal(
        a.kernels.weight[:, 0], np.random.default_rng(3).uniform(-1, 1, (4, 2, 3))
    )


# --- stock kernel sets -----------------------------------------------------------------


def conv_of(make_config, *overrides):
    return execute(build_experiment(make_config(*overrides)), get_backend("numpy")).arrays["conv"]


def test_sobel_finds_a_vertical_edge(make_config):
    edge = "input.values=[[0,0,1,1],[0,0,1,1],[0,0,1,1]]"
    conv = conv_of(make_config, "kernels=sobel", edge)
    assert build_experiment(make_config("kernels=sobel")).kernels.names == ("sobel_x", "sobel_y")
    np.testing.assert_array_equal(conv[0], [[4, 4]])  # -1-2-1 on the left, +1+2+1 on the right
    np.testing.assert_array_equal(conv[1], [[0, 0]])  # no vertical change


@pytest.mark.parametrize("kernels", ["gaussian", "box", "sharpen"])
def test_smoothing_sets_keep_a_constant_image(make_config, kernels):
    conv = conv_of(
        make_config, f"kernels={kernels}", "input.values=[[2,2,2,2],[2,2,2,2],[2,2,2,2]]"
    )
    np.testing.assert_allclose(conv, 2.0, rtol=0, atol=1e-15)


@pytest.mark.parametrize("kernels", ["laplacian", "sobel", "prewitt", "scharr", "roberts", "edges"])
def test_edge_sets_are_zero_on_a_constant_image(make_config, kernels):
    conv = conv_of(
        make_config, f"kernels={kernels}", "input.values=[[3,3,3,3],[3,3,3,3],[3,3,3,3]]"
    )
    np.testing.assert_array_equal(conv, 0.0)


def test_identity_with_same_padding_copies_the_input(make_config):
    conv = conv_of(make_config, "kernels=identity", "conv.padding=same")
    np.testing.assert_array_equal(conv, build_experiment(make_config()).source)


def test_stock_set_normalize_can_still_be_overridden(make_config):
    assert make_config("kernels=sobel").conv.normalize == "none"
    assert make_config("kernels=sobel", "conv.normalize=mean").conv.normalize == "mean"
    assert make_config("kernels=box").conv.normalize == "mean"
    assert make_config().conv.normalize == "mean"


def test_two_layer_pipeline_matches_torch(make_config):
    experiment = build_experiment(make_config("pipeline=two_layer"))
    assert experiment.pipeline.order == [
        "conv",
        "activation",
        "pool",
        "conv2",
        "activation2",
        "pool2",
    ]
    arrays = execute(experiment, get_backend("numpy")).arrays
    x = torch.from_numpy(experiment.source)[None]
    w = torch.from_numpy(experiment.kernels.weight)
    layer1 = F.pad(F.relu(F.conv2d(x, w) / 9), (0, 1, 0, 1))
    pooled = F.max_pool2d(layer1, 2)
    layer2 = F.pad(F.relu(F.conv2d(pooled, w, padding="same", groups=3) / 9), (0, 0, 0, 0))
    np.testing.assert_allclose(arrays["pool"], pooled[0].numpy(), atol=1e-12)
    np.testing.assert_allclose(arrays["activation2"], layer2[0].numpy(), atol=1e-12)
    np.testing.assert_allclose(arrays["pool2"], F.max_pool2d(layer2, 2)[0].numpy(), atol=1e-12)
