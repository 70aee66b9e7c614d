"""RGB inputs: 2-D and multichannel kernels over three channels, against torch.

Every fix the channel-count errors suggest works.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from tests.user_errors import user_error
from xopipe.backends import BACKENDS, get_backend
from xopipe.experiment import build_experiment, execute


def rgb_file(tmp_path, pixels) -> list[str]:
    Image.fromarray(pixels).save(tmp_path / "rgb.png")
    return ["input=file", f"input.path={tmp_path / 'rgb.png'}", "input.color=rgb"]


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_stock_2d_kernels_on_rgb_are_summed_over_channels(tmp_path, make_config, backend):
    """kernels=sobel on an rgb image just works: each kernel reads every channel, summed."""
    pixels = np.random.default_rng(7).integers(0, 256, (6, 7, 3), dtype=np.uint8)
    cfg = make_config(*rgb_file(tmp_path, pixels), "kernels=sobel", f"backend={backend}")
    experiment = build_experiment(cfg)
    arrays = execute(experiment, get_backend(backend)).arrays
    sobel = torch.from_numpy(experiment.kernels.weight)  # [2, 1, 3, 3] as the set defines it
    assert tuple(sobel.shape) == (2, 1, 3, 3)
    x = torch.from_numpy(np.asarray(experiment.source))[None]  # dask: computed here
    expected = F.conv2d(x, sobel.repeat(1, 3, 1, 1))[0].numpy()  # normalize=none for sobel
    np.testing.assert_allclose(arrays["conv"], expected, rtol=0, atol=1e-12)
    assert experiment.stages["conv"].params.weight.shape == (2, 3, 3, 3)  # as applied


def test_2d_kernels_on_equal_rgb_channels_give_the_grey_numbers(tmp_path, make_config):
    """normalize=mean divides by every weight the kernel applies: grey drawn as rgb agrees."""
    grey = np.random.default_rng(8).integers(0, 256, (9, 9), dtype=np.uint8)
    Image.fromarray(grey).save(tmp_path / "grey.png")
    rgb = execute(
        build_experiment(make_config(*rgb_file(tmp_path, np.stack([grey] * 3, axis=-1)))),
        get_backend("numpy"),
    ).arrays
    plain = execute(
        build_experiment(make_config("input=file", f"input.path={tmp_path / 'grey.png'}")),
        get_backend("numpy"),
    ).arrays
    for stage in ("conv", "pool", "activation"):
        np.testing.assert_allclose(rgb[stage], plain[stage], rtol=0, atol=1e-15)


def test_every_fix_the_kernel_channel_errors_suggest_works(tmp_path, make_config):
    pixels = np.zeros((6, 7, 3), dtype=np.uint8)
    rgb = rgb_file(tmp_path, pixels)
    # depthwise with 2 kernels on 3 channels: the message suggests conv.groups=1.
    text = user_error(make_config, *rgb, "kernels=sobel", "conv.groups=depthwise")
    assert text == (
        "conv.groups=depthwise needs a number of kernels that is a multiple of the input's "
        "3 channels, got 2 kernels; set conv.groups=1 to apply every kernel to all channels "
        "(summed)"
    )
    fixed = build_experiment(make_config(*rgb, "kernels=sobel", "conv.groups=1"))
    assert fixed.stages["conv"].shape == (2, 4, 5)
    # depthwise where the count fits: each kernel slides over its own channel.
    depthwise = build_experiment(make_config(*rgb, "conv.groups=depthwise"))
    assert depthwise.stages["conv"].params.weight.shape == (3, 1, 3, 3)
    # kernels with the wrong channel count: both suggested shapes work.
    wrong = ["kernels=random", "kernels.shape=[2,2,3,3]"]
    text = user_error(make_config, *rgb, *wrong)
    assert text == (
        "kernels have 2 channel(s) each but this conv input has 3 channel(s) in 1 group(s), "
        "so 3 per kernel; give kernels [K][3][kh][kw] or 2-D kernels [K][kh][kw]"
    )
    for shape in ("[2,3,3,3]", "[2,3,3]"):
        built = build_experiment(make_config(*rgb, "kernels=random", f"kernels.shape={shape}"))
        assert built.stages["conv"].shape == (2, 4, 5)


def test_rgb_input_with_multichannel_kernels(tmp_path, make_config):
    pixels = np.random.default_rng(4).integers(0, 256, (6, 7, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "rgb.png")
    cfg = make_config(
        "input=file",
        f"input.path={tmp_path / 'rgb.png'}",
        "input.color=rgb",
        "kernels=random",
        "kernels.shape=[2,3,3,3]",
        "conv.normalize=none",
    )
    experiment = build_experiment(cfg)
    conv = execute(experiment, get_backend("loop")).arrays["conv"]
    expected = F.conv2d(
        torch.from_numpy(experiment.source)[None], torch.from_numpy(experiment.kernels.weight)
    )
    np.testing.assert_allclose(conv, expected[0].numpy(), atol=1e-12)
