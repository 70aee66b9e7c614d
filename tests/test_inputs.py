"""Inputs and kernels from files, stock kernel sets: read back exactly, or refused with one line."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from xopipe.backends import get_backend
from xopipe.config import read_config
from xopipe.errors import UserError
from xopipe.experiment import build_experiment, execute
from xopipe.inputs import load_input
from xopipe.readers import Limits


def source(make_config, *overrides):
    """The input a config reads (without building the stages, which may not fit it)."""
    cfg = make_config(*overrides)
    limits = Limits(cfg.limits.max_file_bytes, cfg.limits.max_input_cells)
    config = read_config(cfg)
    return load_input(config.input, np.dtype(config.dtype.value), limits)


def user_error(make_config, *overrides) -> str:
    with pytest.raises(UserError) as caught:
        build_experiment(make_config(*overrides))
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- reading back exactly -------------------------------------------------------------


def test_csv_grid_reads_back_bit_exact(tmp_path, make_config):
    grid = np.random.default_rng(0).standard_normal((5, 7))
    path = tmp_path / "grid.csv"
    path.write_text("\n".join(",".join(repr(float(v)) for v in row) for row in grid) + "\n")
    got = source(make_config, "input=file", f"input.path={path}")
    assert got.shape == (1, 5, 7)
    np.testing.assert_array_equal(got[0], grid)


def test_a_runs_own_csv_is_a_valid_input(tmp_path, make_config):
    """matrices/<stage>_<channel>.csv feeds straight back in."""
    from xopipe.sinks.tables import write_csv_grids

    conv = execute(build_experiment(make_config()), get_backend("numpy")).arrays["conv"]
    write_csv_grids(tmp_path, {"conv": conv})
    got = source(make_config, "input=file", f"input.path={tmp_path / 'conv_1.csv'}")
    np.testing.assert_array_equal(got[0], conv[1])


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int16, np.uint8])
@pytest.mark.parametrize("shape", [(4, 6), (3, 4, 6)])
def test_npy_reads_back_exactly(tmp_path, make_config, dtype, shape):
    array = (np.random.default_rng(1).standard_normal(shape) * 50).astype(dtype)
    np.save(tmp_path / "a.npy", array)
    got = source(make_config, "input=file", f"input.path={tmp_path / 'a.npy'}")
    assert got.shape == (shape if len(shape) == 3 else (1, *shape))
    np.testing.assert_array_equal(got.reshape(shape), array.astype(np.float64))


def test_png_grey_scaled_signed_and_unit(tmp_path, make_config):
    pixels = np.arange(0, 256, 8, dtype=np.uint8).reshape(4, 8)
    Image.fromarray(pixels, mode="L").save(tmp_path / "g.png")
    signed = source(make_config, "input=file", f"input.path={tmp_path / 'g.png'}")
    np.testing.assert_array_equal(signed[0], pixels / 127.5 - 1.0)
    assert signed.min() == -1.0
    unit = source(make_config, "input=file", f"input.path={tmp_path / 'g.png'}", "input.scale=unit")
    np.testing.assert_array_equal(unit[0], pixels / 255.0)


def test_png_rgb_channels_in_order(tmp_path, make_config):
    pixels = np.zeros((3, 5, 3), dtype=np.uint8)
    pixels[..., 0], pixels[..., 1], pixels[..., 2] = 255, 0, 51  # R, G, B planes
    Image.fromarray(pixels, mode="RGB").save(tmp_path / "c.png")
    got = source(make_config, "input=file", f"input.path={tmp_path / 'c.png'}", "input.color=rgb")
    assert got.shape == (3, 3, 5)
    np.testing.assert_array_equal(got[:, 0, 0], [1.0, -1.0, 51 / 127.5 - 1.0])
    grey = source(make_config, "input=file", f"input.path={tmp_path / 'c.png'}")
    assert grey.shape == (1, 3, 5)


def test_jpeg_reads_what_pillow_decodes_and_resizes(tmp_path, make_config):
    pixels = np.random.default_rng(2).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "p.jpg", quality=90)
    decoded = np.asarray(Image.open(tmp_path / "p.jpg").convert("L"), dtype=np.float64)
    got = source(make_config, "input=file", f"input.path={tmp_path / 'p.jpg'}")
    np.testing.assert_array_equal(got[0], decoded / 127.5 - 1.0)
    small = source(
        make_config, "input=file", f"input.path={tmp_path / 'p.jpg'}", "input.resize=[10,12]"
    )
    assert small.shape == (1, 10, 12)


def test_random_input_is_reproducible_bit_for_bit(make_config):
    a = source(make_config, "input=random", "input.seed=7", "input.shape=[3,5,6]")
    b = source(make_config, "input=random", "input.seed=7", "input.shape=[3,5,6]")
    c = source(make_config, "input=random", "input.seed=8", "input.shape=[3,5,6]")
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(a, np.random.default_rng(7).uniform(-1, 1, (3, 5, 6)))
    assert a.min() >= -1 and a.max() < 1
    pixels = source(make_config, "input=random", "input.pixels=true", "input.shape=[9,9]")
    assert set(np.unique(pixels)) == {-1.0, 1.0}
    f32 = source(
        make_config, "input=random", "input.seed=7", "input.shape=[3,5,6]", "dtype=float32"
    )
    np.testing.assert_array_equal(f32, a.astype(np.float32))


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


def rgb_file(tmp_path, pixels) -> list[str]:
    Image.fromarray(pixels).save(tmp_path / "rgb.png")
    return ["input=file", f"input.path={tmp_path / 'rgb.png'}", "input.color=rgb"]


@pytest.mark.parametrize("backend", ["loop", "numpy", "torch"])
def test_stock_2d_kernels_on_rgb_are_summed_over_channels(tmp_path, make_config, backend):
    """kernels=sobel on an rgb image just works: each kernel reads every channel, summed."""
    pixels = np.random.default_rng(7).integers(0, 256, (6, 7, 3), dtype=np.uint8)
    cfg = make_config(*rgb_file(tmp_path, pixels), "kernels=sobel", f"backend={backend}")
    experiment = build_experiment(cfg)
    arrays = execute(experiment, get_backend(backend)).arrays
    sobel = torch.from_numpy(experiment.kernels.weight)  # [2, 1, 3, 3] as the set defines it
    assert tuple(sobel.shape) == (2, 1, 3, 3)
    x = torch.from_numpy(experiment.source)[None]
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


# --- refusing bad files ----------------------------------------------------------------


# Bad files of every kind are in tests/corpus (test_corpus.py); these need large data.


def test_huge_files_are_refused_before_reading(tmp_path, make_config):
    np.save(tmp_path / "big.npy", np.zeros((100, 100)))
    text = user_error(
        make_config,
        "input=file",
        f"input.path={tmp_path / 'big.npy'}",
        "limits.max_input_cells=5000",
    )
    assert "holds 10,000 cells (shape [100, 100]), more than limits.max_input_cells (5,000)" in text
    Image.fromarray(np.zeros((100, 100), dtype=np.uint8)).save(tmp_path / "big.png")
    text = user_error(
        make_config,
        "input=file",
        f"input.path={tmp_path / 'big.png'}",
        "limits.max_input_cells=5000",
    )
    assert "holds 10,000 cells" in text
    (tmp_path / "big.csv").write_text("1,2\n" * 1000)
    text = user_error(
        make_config, "input=file", f"input.path={tmp_path / 'big.csv'}", "limits.max_file_bytes=100"
    )
    assert "is 4,000 bytes, more than limits.max_file_bytes (100)" in text


def test_output_cells_limit(make_config):
    text = user_error(make_config, "limits.max_output_cells=100")
    assert text.startswith("the stages would produce 342 cells")
