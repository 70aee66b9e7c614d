"""Inputs from CSV, .npy, PNG and JPEG files and at random: read back exactly.

Files and outputs over the limits are refused with one line.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.user_errors import user_error
from xopipe.backends import get_backend
from xopipe.config import read_config
from xopipe.experiment import build_experiment, execute
from xopipe.inputs import load_input
from xopipe.readers import Limits


def source(make_config, *overrides):
    """The input a config reads (without building the stages, which may not fit it)."""
    cfg = make_config(*overrides)
    limits = Limits(cfg.limits.max_file_bytes, cfg.limits.max_input_cells)
    config = read_config(cfg)
    return load_input(config.input, np.dtype(config.dtype.value), limits)


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
    assert small.shape == (1, 10, 12)  # [H, W]: Pillow's own size is (W, H)
    resized = (
        Image.open(tmp_path / "p.jpg").convert("L").resize((12, 10), Image.Resampling.BILINEAR)
    )
    np.testing.assert_array_equal(small[0], np.asarray(resized, dtype=np.float64) / 127.5 - 1.0)


@pytest.mark.parametrize(("resize", "axis"), [("[2,4]", 1), ("[4,2]", 0)])
def test_resize_interpolates_bilinearly_along_each_axis(tmp_path, make_config, resize, axis):
    """A two-pixel ramp 0..255 stretched to four: the new pixels' centres fall at 1/4 and
    3/4 of the way, so bilinear gives 63.75 and 191.25, stored as 8-bit 64 and 191."""
    ramp = np.array([[0, 255], [0, 255]], dtype=np.uint8)
    Image.fromarray(ramp if axis == 1 else ramp.T).save(tmp_path / "ramp.png")
    path = f"input.path={tmp_path / 'ramp.png'}"
    got = source(make_config, "input=file", path, f"input.resize={resize}")
    line = np.array([0, 64, 191, 255]) / 127.5 - 1.0
    expected = np.stack([line, line]) if axis == 1 else np.stack([line, line], axis=1)
    np.testing.assert_array_equal(got[0], expected)


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


def test_random_input_draws_between_input_low_and_high(make_config):
    shape = ("input=random", "input.seed=3", "input.shape=[4,5]")
    got = source(make_config, *shape, "input.low=2", "input.high=5")
    np.testing.assert_array_equal(got[0], np.random.default_rng(3).uniform(2, 5, (4, 5)))
    assert got.min() >= 2 and got.max() < 5
    pixels = source(make_config, *shape, "input.pixels=true", "input.low=-0.5", "input.high=3")
    draws = np.random.default_rng(3).random((4, 5))
    np.testing.assert_array_equal(pixels[0], np.where(draws < 0.5, -0.5, 3.0))
    assert set(np.unique(pixels)) == {-0.5, 3.0}


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
