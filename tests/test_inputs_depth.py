"""Images at their own bit depth: every mode Pillow can hand over, its values in, scaled out.

8-bit modes scale from 0..255, 16-bit grey from 0..65535; a mode that cannot be read
faithfully is refused in one line. PNGs Pillow cannot write (2- and 4-bit grey, 16-bit
colour) are written here byte by byte, as the PNG specification lays them out.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from tests.test_inputs_files import source
from tests.user_errors import user_error
from xopipe.backends import get_backend
from xopipe.experiment import build_experiment, execute

RNG = np.random.default_rng(19)


def png_bytes(samples: np.ndarray, bit_depth: int, color_type: int) -> bytes:
    """A PNG of `samples` ([H, W] or [H, W, channels] integers), filter 0 on every row."""
    height, width = samples.shape[:2]
    flat = samples.reshape(height, -1)
    if bit_depth == 16:
        rows = [b"\0" + row.astype(">u2").tobytes() for row in flat]
    elif bit_depth == 8:
        rows = [b"\0" + row.astype(np.uint8).tobytes() for row in flat]
    else:  # 1, 2, 4 bits: samples packed from the high bits of each byte
        per_byte = 8 // bit_depth
        rows = []
        for row in flat:
            padded = np.concatenate([row, np.zeros(-len(row) % per_byte, int)]).astype(int)
            groups = padded.reshape(-1, per_byte)
            shifts = bit_depth * np.arange(per_byte - 1, -1, -1)
            rows.append(b"\0" + bytes((groups << shifts).sum(axis=1).astype(np.uint8)))

    def chunk(kind: bytes, data: bytes) -> bytes:
        checksum = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + checksum

    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def read(make_config, path, *overrides) -> np.ndarray:
    return source(make_config, "input=file", f"input.path={path}", *overrides)


# --- 16-bit grey: the silent wrong answer --------------------------------------------


def test_a_16_bit_gradient_keeps_every_level(tmp_path, make_config):
    """The 64x64 0..65535 gradient that read as 99.6% ones: every level now stays apart."""
    levels = np.linspace(0, 65535, 64 * 64).round().astype(np.uint16).reshape(64, 64)
    path = tmp_path / "sixteen.png"
    Image.fromarray(levels).save(path)
    with Image.open(path) as image:
        assert image.mode == "I;16"
    got = read(make_config, path)
    np.testing.assert_array_equal(got[0], levels / 32767.5 - 1.0)
    assert len(np.unique(got)) == len(np.unique(levels)) == 4096
    assert got.min() == -1.0 and got.max() == 1.0
    unit = read(make_config, path, "input.scale=unit")
    np.testing.assert_array_equal(unit[0], levels / 65535.0)


def test_16_bit_grey_written_big_endian_by_hand_reads_the_same(tmp_path, make_config):
    levels = RNG.integers(0, 65536, (5, 7), dtype=np.uint16)
    path = tmp_path / "grey16.png"
    path.write_bytes(png_bytes(levels, 16, 0))
    np.testing.assert_array_equal(read(make_config, path)[0], levels / 32767.5 - 1.0)


def test_16_bit_grey_as_rgb_gives_three_equal_channels(tmp_path, make_config):
    levels = RNG.integers(0, 65536, (4, 6), dtype=np.uint16)
    path = tmp_path / "grey16.png"
    Image.fromarray(levels).save(path)
    got = read(make_config, path, "input.color=rgb", "input.scale=unit")
    assert got.shape == (3, 4, 6)
    for channel in got:
        np.testing.assert_array_equal(channel, levels / 65535.0)


def test_16_bit_grey_is_resized_at_16_bits(tmp_path, make_config):
    """Bilinear resizing happens before the scaling, at the image's depth: no 8-bit step."""
    levels = RNG.integers(0, 65536, (12, 10), dtype=np.uint16)
    path = tmp_path / "grey16.png"
    Image.fromarray(levels).save(path)
    got = read(make_config, path, "input.resize=[5,4]", "input.scale=unit")
    resized = np.asarray(Image.fromarray(levels).resize((4, 5), Image.Resampling.BILINEAR))
    assert resized.dtype == np.uint16 and resized.max() > 255
    np.testing.assert_array_equal(got[0], resized / 65535.0)


def test_a_16_bit_run_writes_its_levels(tmp_path, make_config):
    """The whole run, not only the reader: the input stage holds the 16-bit levels."""
    levels = np.arange(81, dtype=np.uint16).reshape(9, 9) * 809
    path = tmp_path / "sixteen.png"
    Image.fromarray(levels).save(path)
    cfg = make_config("input=file", f"input.path={path}")
    arrays = execute(build_experiment(cfg), get_backend("numpy")).arrays
    np.testing.assert_array_equal(arrays["input"][0], levels / 32767.5 - 1.0)
    assert len(np.unique(arrays["input"])) == 81


# --- 8-bit modes and fewer bits ------------------------------------------------------


def test_one_bit_images_are_minus_one_and_one(tmp_path, make_config):
    bits = RNG.integers(0, 2, (6, 9)).astype(bool)
    path = tmp_path / "bits.png"
    Image.fromarray(bits).save(path)
    with Image.open(path) as image:
        assert image.mode == "1"
    np.testing.assert_array_equal(read(make_config, path)[0], np.where(bits, 1.0, -1.0))


@pytest.mark.parametrize("bit_depth", [2, 4])
def test_low_bit_grey_is_scaled_by_its_own_range(tmp_path, make_config, bit_depth):
    """A 2-bit grey PNG's level 3 is white: Pillow widens the levels to 0..255 exactly."""
    top = 2**bit_depth - 1
    levels = RNG.integers(0, top + 1, (5, 7))
    levels[0, :2] = (0, top)
    path = tmp_path / f"grey{bit_depth}.png"
    path.write_bytes(png_bytes(levels, bit_depth, 0))
    np.testing.assert_allclose(
        read(make_config, path, "input.scale=unit")[0], levels / top, rtol=0, atol=1e-15
    )


def test_eight_bit_grey_and_grey_with_alpha(tmp_path, make_config):
    levels = RNG.integers(0, 256, (5, 6), dtype=np.uint8)
    alpha = RNG.integers(0, 256, (5, 6), dtype=np.uint8)
    Image.fromarray(levels).save(tmp_path / "l.png")
    Image.fromarray(np.stack([levels, alpha], axis=-1), mode="LA").save(tmp_path / "la.png")
    for name in ("l.png", "la.png"):  # alpha is not a brightness: it is left out
        np.testing.assert_array_equal(read(make_config, tmp_path / name)[0], levels / 127.5 - 1.0)


def test_palette_images_read_their_palette_colours(tmp_path, make_config):
    colours = RNG.integers(0, 256, (16, 3), dtype=np.uint8)
    indices = RNG.integers(0, 16, (4, 5), dtype=np.uint8)
    image = Image.fromarray(indices, mode="P")
    image.putpalette(colours.tobytes())
    image.save(tmp_path / "p.png")
    with Image.open(tmp_path / "p.png") as opened:
        assert opened.mode == "P"
    got = read(make_config, tmp_path / "p.png", "input.color=rgb", "input.scale=unit")
    np.testing.assert_array_equal(got, np.moveaxis(colours[indices], -1, 0) / 255.0)


def test_rgb_and_rgba_read_every_channel(tmp_path, make_config):
    pixels = RNG.integers(0, 256, (4, 5, 4), dtype=np.uint8)
    Image.fromarray(pixels[..., :3]).save(tmp_path / "rgb.png")
    Image.fromarray(pixels, mode="RGBA").save(tmp_path / "rgba.png")
    expected = np.moveaxis(pixels[..., :3], -1, 0) / 127.5 - 1.0
    for name in ("rgb.png", "rgba.png"):
        np.testing.assert_array_equal(
            read(make_config, tmp_path / name, "input.color=rgb"), expected
        )


def test_jpeg_modes_grey_rgb_and_cmyk(tmp_path, make_config):
    """JPEG is lossy: the values are Pillow's decode of the file, scaled from 0..255."""
    pixels = RNG.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "rgb.jpg", quality=95)
    Image.fromarray(pixels[..., 0]).save(tmp_path / "l.jpg", quality=95)
    Image.fromarray(pixels).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    for name, mode in (("rgb.jpg", "RGB"), ("l.jpg", "L"), ("cmyk.jpg", "CMYK")):
        with Image.open(tmp_path / name) as image:
            assert image.mode == mode
            decoded = np.asarray(image.convert("RGB"), dtype=np.float64)
        got = read(make_config, tmp_path / name, "input.color=rgb", "input.scale=unit")
        np.testing.assert_array_equal(got, np.moveaxis(decoded, -1, 0) / 255.0)


# --- refused in one line --------------------------------------------------------------


@pytest.mark.parametrize(
    ("color_type", "channels", "mode"), [(2, 3, "RGB"), (6, 4, "RGBA"), (4, 2, "RGBA")]
)
def test_16_bit_colour_is_refused_rather_than_cut_to_8_bits(
    tmp_path, make_config, color_type, channels, mode
):
    samples = RNG.integers(0, 65536, (3, 4, channels), dtype=np.uint16)
    path = tmp_path / "colour16.png"
    path.write_bytes(png_bytes(samples, 16, color_type))
    text = user_error(make_config, "input=file", f"input.path={path}", "input.color=rgb")
    assert text == (
        f"input.path: '{path}' is a 16-bit {mode} image, which can be decoded only at 8 bits "
        "a channel here; save it as a 16-bit grey PNG, or as a [C, H, W] .npy, to keep its "
        "depth"
    )


@pytest.mark.parametrize(
    ("array", "mode", "what"),
    [
        (np.arange(12, dtype=np.int32).reshape(3, 4) * 100_000, "I", "32-bit integer"),
        (np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4), "F", "32-bit float"),
    ],
)
def test_modes_without_a_fixed_range_are_refused(tmp_path, make_config, array, mode, what):
    """A TIFF under a .png name still opens in Pillow; its I or F pixels have no full scale."""
    path = tmp_path / "wide.png"
    Image.fromarray(array).save(path, format="TIFF")
    with Image.open(path) as image:
        assert image.mode == mode
    text = user_error(make_config, "input=file", f"input.path={path}")
    assert text == (
        f"input.path: '{path}' holds {what} pixels (mode {mode}), which have no fixed range "
        "to scale from; save it as an 8- or 16-bit PNG, or as .npy to read the numbers as "
        "they are"
    )
