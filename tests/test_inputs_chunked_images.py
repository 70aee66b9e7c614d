"""Images on backend=dask, and TIFF on every backend: kept at their depth, scaled chunk by chunk.

A PNG or TIFF read for a chunked backend is held as Pillow hands it over (a
byte or two a pixel); each chunk is scaled to float64 by read_image's own
arithmetic, so a dask run reads the numbers of an in-memory one, bit for
bit, while the float64 image never exists whole.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.test_inputs_files import source
from tests.user_errors import user_error
from xopipe.backends import get_backend
from xopipe.experiment import build_experiment, execute

RNG = np.random.default_rng(23)
STAGES = ["kernels=random", "kernels.shape=[2,1,3,3]", "conv.padding=1"]
STAGES += ["conv.padding_mode=reflect", "pool.size=3", "pool.stride=2"]


def tiff_bytes(samples: np.ndarray, order: str = "<") -> bytes:
    """An uncompressed TIFF of 16-bit samples ([H, W] grey or [H, W, 3] rgb), one strip.

    Pillow writes no 16-bit colour TIFF, and a big-endian one only by chance of its
    build: the file is laid out here as the TIFF 6.0 specification has it."""
    height, width = samples.shape[:2]
    channels = 1 if samples.ndim == 2 else samples.shape[2]
    pixels = samples.astype(f"{order}u2").tobytes()
    bits_at = 8 + len(pixels)  # BitsPerSample's three values, when there are three
    ifd_at = bits_at + 6 * (channels == 3)
    entries = [
        (256, 3, 1, width),
        (257, 3, 1, height),
        (258, 3, channels, bits_at if channels == 3 else 16),
        (259, 3, 1, 1),  # no compression
        (262, 3, 1, 2 if channels == 3 else 1),  # rgb, or grey with 0 black
        (273, 4, 1, 8),  # the strip starts after the header
        (277, 3, 1, channels),
        (278, 4, 1, height),
        (279, 4, 1, len(pixels)),
        (284, 3, 1, 1),  # samples interleaved
    ]
    mark = b"II" if order == "<" else b"MM"
    out = mark + struct.pack(f"{order}HI", 42, ifd_at) + pixels
    if channels == 3:
        out += struct.pack(f"{order}3H", 16, 16, 16)
    out += struct.pack(f"{order}H", len(entries))
    for tag, kind, count, value in entries:
        packed = struct.pack(f"{order}H", value) + b"\0\0" if kind == 3 else None
        packed = packed if count == 1 and kind == 3 else struct.pack(f"{order}I", value)
        out += struct.pack(f"{order}HHI", tag, kind, count) + packed
    return out + struct.pack(f"{order}I", 0)


def _images(tmp_path) -> dict[str, tuple]:
    """name -> (path, extra overrides, the expected input [C, H, W])."""
    grey8 = RNG.integers(0, 256, (13, 17), dtype=np.uint8)
    grey16 = RNG.integers(0, 65536, (13, 17), dtype=np.uint16)
    rgb8 = RNG.integers(0, 256, (11, 9, 3), dtype=np.uint8)
    Image.fromarray(grey8).save(tmp_path / "grey8.png")
    Image.fromarray(grey16).save(tmp_path / "grey16.png")
    Image.fromarray(rgb8).save(tmp_path / "rgb8.png")
    Image.fromarray(grey8).save(tmp_path / "grey8.tif")
    Image.fromarray(grey16).save(tmp_path / "grey16.tiff", compression="tiff_deflate")
    (tmp_path / "grey16be.tif").write_bytes(tiff_bytes(grey16, ">"))
    unit = ["input.scale=unit"]
    rgb = ["input.color=rgb"]
    return {
        "grey8.png": (tmp_path / "grey8.png", [], grey8[None] / 127.5 - 1.0),
        "grey16.png": (tmp_path / "grey16.png", unit, grey16[None] / 65535.0),
        "rgb8.png": (tmp_path / "rgb8.png", rgb, np.moveaxis(rgb8, -1, 0) / 127.5 - 1.0),
        "grey8.tif": (tmp_path / "grey8.tif", [], grey8[None] / 127.5 - 1.0),
        "grey16.tiff": (tmp_path / "grey16.tiff", unit, grey16[None] / 65535.0),
        "grey16be.tif": (tmp_path / "grey16be.tif", [], grey16[None] / 32767.5 - 1.0),
        "grey16-as-rgb.tif": (
            tmp_path / "grey16be.tif",
            rgb,
            np.repeat(grey16[None] / 32767.5 - 1.0, 3, axis=0),
        ),
        "grey16-resized.png": (tmp_path / "grey16.png", ["input.resize=[7,9]"], None),
    }


@pytest.mark.parametrize(
    "name",
    [
        "grey8.png",
        "grey16.png",
        "rgb8.png",
        "grey8.tif",
        "grey16.tiff",
        "grey16be.tif",
        "grey16-as-rgb.tif",
        "grey16-resized.png",
    ],
)
def test_an_image_on_tiny_dask_chunks_reads_the_numpy_runs_bits(tmp_path, make_config, name):
    path, extra, expected = _images(tmp_path)[name]
    overrides = ["input=file", f"input.path={path}", *extra, *STAGES]
    want = execute(build_experiment(make_config(*overrides)), get_backend("numpy")).arrays
    chunked = make_config(*overrides, "backend=dask", "backend.chunks=5")
    experiment = build_experiment(chunked)
    # The input is chunked as read, not a whole array chunked afterwards.
    assert type(experiment.source).__module__.startswith("dask")
    assert experiment.source.chunks[1:] == tuple(
        (5,) * (n // 5) + ((n % 5,) if n % 5 else ()) for n in want["input"].shape[1:]
    )
    results = execute(experiment, get_backend("dask", chunks=5))
    got = dict(zip(results.arrays, results.compute(*results.arrays.values()), strict=True))
    if expected is not None:
        np.testing.assert_array_equal(want["input"], expected)
    assert list(got) == list(want)
    np.testing.assert_array_equal(got["input"], want["input"])  # the scaling: the same bits
    for stage, array in want.items():  # conv's tiles may add in another order (README)
        np.testing.assert_allclose(got[stage], array, rtol=1e-12, atol=1e-15, err_msg=stage)


def test_tiff_reads_on_the_in_memory_backends_too(tmp_path, make_config):
    levels = RNG.integers(0, 65536, (6, 5), dtype=np.uint16)
    Image.fromarray(levels).save(tmp_path / "a.tif")
    np.testing.assert_array_equal(
        source(make_config, "input=file", f"input.path={tmp_path / 'a.tif'}")[0],
        levels / 32767.5 - 1.0,
    )


def test_16_bit_colour_tiff_is_refused_rather_than_cut_to_8_bits(tmp_path, make_config):
    path = tmp_path / "colour16.tif"
    path.write_bytes(tiff_bytes(RNG.integers(0, 65536, (3, 4, 3), dtype=np.uint16)))
    with Image.open(path) as image:
        assert image.mode == "RGB"  # what Pillow would hand over: 8 bits a channel
    for backend in (["backend=numpy"], ["backend=dask", "backend.chunks=2"]):
        text = user_error(make_config, "input=file", f"input.path={path}", *backend)
        assert text == (
            f"input.path: '{path}' is a 16-bit RGB image, which can be decoded only at 8 bits "
            "a channel here; save it as a 16-bit grey PNG, or as a [C, H, W] .npy, to keep "
            "its depth"
        )


def test_a_float_tiff_is_refused_on_dask_too(tmp_path, make_config):
    path = tmp_path / "float.tiff"
    Image.fromarray(np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)).save(path)
    text = user_error(make_config, "input=file", f"input.path={path}", "backend=dask")
    assert text.startswith(f"input.path: '{path}' holds 32-bit float pixels (mode F)")


# Reads the image for backend=dask (chunks of 512) and sums every chunk; prints the growth
# of the process's peak resident memory (VmHWM, reset first through clear_refs), in bytes.
PEAK_SCRIPT = """
import sys
import numpy as np, dask, dask.array as da, PIL.Image, PIL.PngImagePlugin, PIL.TiffImagePlugin
from xopipe.config.schema import FileInputConfig
from xopipe.inputs import load_input
from xopipe.readers import Limits

def kib(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field))

da.ones((4, 4), chunks=2).sum().compute()  # the thread pool, started before
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")  # the peak is now what is resident
before = kib("VmRSS:")
node = FileInputConfig(path=sys.argv[1])
grid = load_input(node, np.dtype("float64"), Limits(2**31, 2**31), chunks=512)
total = float(da.asarray(grid).sum().compute())
print((kib("VmHWM:") - before) * 1024, total)
"""


@pytest.mark.parametrize(("name", "dtype"), [("big.png", np.uint8), ("big.tif", np.uint16)])
def test_reading_a_large_image_for_dask_holds_about_its_own_bytes(tmp_path, name, dtype):
    """3000x3000 pixels: 9 or 18 MB at their depth, 72 MB as float64 (the old reader held
    that, and its scaled copy: over 144 MB)."""
    side = 3000
    ramp = np.add.outer(np.arange(side), np.arange(side)) % (np.iinfo(dtype).max + 1)
    pixels = ramp.astype(dtype)
    Image.fromarray(pixels).save(tmp_path / name)
    done = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, str(tmp_path / name)],
        capture_output=True,
        text=True,
        check=True,
    )
    grown, total = (float(v) for v in done.stdout.split())
    own = pixels.nbytes
    scale = np.iinfo(dtype).max / 2
    assert total == pytest.approx(float((pixels / scale - 1.0).sum()), rel=1e-12)
    assert grown < 2.5 * own + 16 * 2**20, json.dumps({"grown": grown, "own": own})
