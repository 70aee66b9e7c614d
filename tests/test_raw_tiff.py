"""Uncompressed TIFFs on backend=dask: read from the file chunk by chunk, never decoded.

Each chunk's pixels come from a memory map of the file; they are the bits a
decode gives (checked against the in-memory read, with Pillow's decoder made
to fail), and a layout whose bytes are not the pixels as they are is decoded.
"""

from __future__ import annotations

import struct
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageFile

from tests.test_inputs_chunked_images import PEAK_SCRIPT, tiff_bytes
from xopipe.config.schema import FileInputConfig
from xopipe.inputs import load_input
from xopipe.raw_tiff import raw_layout
from xopipe.readers import Limits

RNG = np.random.default_rng(5)
LIMITS = Limits(2**31, 2**31)


def striped_tiff(pixels: np.ndarray, rows_per_strip: int, gap: int = 0) -> bytes:
    """An uncompressed 8-bit grey TIFF in strips of `rows_per_strip` rows, `gap` bytes
    between one strip and the next (0: one after another)."""
    height, width = pixels.shape
    strips = [pixels[top : top + rows_per_strip] for top in range(0, height, rows_per_strip)]
    body, offsets = b"", []
    for strip in strips:
        offsets.append(8 + len(body))
        body += strip.tobytes() + b"\xff" * gap
    arrays_at = 8 + len(body)
    counts = [strip.nbytes for strip in strips]
    arrays = struct.pack(f"<{len(strips)}I", *offsets) + struct.pack(f"<{len(strips)}I", *counts)
    entries = [
        (256, 3, 1, width),
        (257, 3, 1, height),
        (258, 3, 1, 8),
        (259, 3, 1, 1),  # no compression
        (262, 3, 1, 1),  # grey, 0 black
        (273, 4, len(strips), arrays_at),
        (277, 3, 1, 1),
        (278, 4, 1, rows_per_strip),
        (279, 4, len(strips), arrays_at + 4 * len(strips)),
    ]
    ifd_at = arrays_at + len(arrays)
    out = b"II" + struct.pack("<HI", 42, ifd_at) + body + arrays
    out += struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        out += struct.pack("<HHI", tag, kind, count) + packed
    return out + struct.pack("<I", 0)


def _files(tmp_path) -> dict[str, tuple]:
    """name -> (path, color, mapped?)."""
    grey8 = RNG.integers(0, 256, (23, 19), dtype=np.uint8)
    grey16 = RNG.integers(0, 65536, (17, 21), dtype=np.uint16)
    rgb8 = RNG.integers(0, 256, (13, 11, 3), dtype=np.uint8)
    Image.fromarray(grey8).save(tmp_path / "grey8.tif")
    Image.fromarray(grey16).save(tmp_path / "grey16.tif")
    Image.fromarray(rgb8).save(tmp_path / "rgb8.tif")
    Image.fromarray(grey8).save(tmp_path / "deflate.tif", compression="tiff_deflate")
    (tmp_path / "grey16be.tif").write_bytes(tiff_bytes(grey16, ">"))
    (tmp_path / "strips.tif").write_bytes(striped_tiff(grey8, 4))
    (tmp_path / "gaps.tif").write_bytes(striped_tiff(grey8, 4, gap=3))
    rotated = Image.fromarray(grey8)
    exif = rotated.getexif()
    exif[0x0112] = 6  # shown rotated by 90 degrees
    rotated.save(tmp_path / "rotated.tif", exif=exif)
    return {
        "grey8": (tmp_path / "grey8.tif", "grey", True),
        "grey16": (tmp_path / "grey16.tif", "grey", True),
        "grey16be": (tmp_path / "grey16be.tif", "grey", True),
        "rgb8": (tmp_path / "rgb8.tif", "rgb", True),
        "strips": (tmp_path / "strips.tif", "grey", True),
        # decoded: compressed, converted, strips apart, rotated
        "deflate": (tmp_path / "deflate.tif", "grey", False),
        "rgb-as-grey": (tmp_path / "rgb8.tif", "grey", False),
        "grey-as-rgb": (tmp_path / "grey8.tif", "rgb", False),
        "grey16be-as-rgb": (tmp_path / "grey16be.tif", "rgb", False),
        "gaps": (tmp_path / "gaps.tif", "grey", False),
        "rotated": (tmp_path / "rotated.tif", "grey", False),
    }


NAMES = ["grey8", "grey16", "grey16be", "rgb8", "strips"]
NAMES += ["deflate", "rgb-as-grey", "grey-as-rgb", "grey16be-as-rgb", "gaps", "rotated"]


@pytest.mark.parametrize("name", NAMES)
def test_a_tiff_on_dask_chunks_reads_the_in_memory_bits(tmp_path, monkeypatch, name):
    path, color, mapped = _files(tmp_path)[name]
    node = FileInputConfig(path=str(path), color=color)
    whole = load_input(node, np.dtype("float64"), LIMITS)
    with Image.open(path) as image:
        layout = raw_layout(image, str(path), color, resized=False)
    assert (layout is not None) == mapped
    if mapped:  # no pixel may come from Pillow's decoder

        def refuse(self):  # type: ignore[no-untyped-def]
            raise AssertionError("decoded")

        monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    chunked = load_input(node, np.dtype("float64"), LIMITS, chunks=5)
    assert chunked.chunks[1][0] == 5
    got = chunked.compute(scheduler="synchronous")
    assert got.dtype == np.float64 and got.shape == whole.shape
    np.testing.assert_array_equal(got, whole)


def test_a_resized_tiff_is_decoded(tmp_path):
    path, _, _ = _files(tmp_path)["grey8"]
    with Image.open(path) as image:
        assert raw_layout(image, str(path), "grey", resized=True) is None
    node = FileInputConfig(path=str(path), resize=[7, 9])
    whole = load_input(node, np.dtype("float64"), LIMITS)
    chunked = load_input(node, np.dtype("float64"), LIMITS, chunks=4)
    assert whole.shape == (1, 7, 9)
    np.testing.assert_array_equal(chunked.compute(scheduler="synchronous"), whole)


def test_a_tiff_cut_short_is_decoded_and_refused_in_one_line(tmp_path, make_config):
    from tests.user_errors import user_error

    path, _, _ = _files(tmp_path)["grey8"]  # Pillow's: the header first, then the pixels
    path.write_bytes(path.read_bytes()[:-10])  # the last row cut short
    with Image.open(path) as image:
        assert raw_layout(image, str(path), "grey", resized=False) is None
    text = user_error(make_config, "input=file", f"input.path={path}", "backend=dask")
    assert text.startswith(f"input.path: '{path}' is not a readable PNG/JPEG/TIFF image"), text


def _peak_growth(path) -> tuple[float, float]:
    done = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, str(path)], capture_output=True, text=True, check=True
    )
    grown, total = (float(v) for v in done.stdout.split())
    return grown, total


def test_reading_a_large_uncompressed_tiff_holds_less_than_decoding_it(tmp_path):
    """3000x3000 16-bit pixels (18 MB), chunks of 512^2: read from the file, the peak grows
    by the bands of rows the chunks being read map (about 15 MB here); decoded (the same
    pixels, compressed), by the image and its decode (about 42 MB)."""
    side = 3000
    pixels = (np.add.outer(np.arange(side), np.arange(side)) % 65536).astype(np.uint16)
    Image.fromarray(pixels).save(tmp_path / "raw.tif")
    Image.fromarray(pixels).save(tmp_path / "deflate.tif", compression="tiff_deflate")
    mapped, total = _peak_growth(tmp_path / "raw.tif")
    decoded, decoded_total = _peak_growth(tmp_path / "deflate.tif")
    assert total == decoded_total == pytest.approx(float((pixels / 32767.5 - 1.0).sum()), rel=1e-12)
    assert mapped < decoded / 2, (mapped, decoded)
