"""Whole runs on backend=dask: the same files as an in-memory run, and nothing gathered whole.

Tables stream a band of chunk rows at a time (one matrices.parquet in row
groups, memory-mapped .npy, CSV lines); the console, explain and the
figures read only what they show; random and .npy inputs are made chunk by
chunk with the in-memory values.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import xopipe
from xopipe import outputs
from xopipe.backends import get_backend
from xopipe.backends.dask import DaskBackend
from xopipe.chunked import NpyRegions, random_chunks
from xopipe.errors import UserError
from xopipe.experiment import build_experiment, execute
from xopipe.explain import explain, parse_cell
from xopipe.html import report
from xopipe.sinks.console import print_results
from xopipe.sinks.files import sha256_of
from xopipe.sinks.tables import read_parquet_arrays

RUN = ["input=random", "input.shape=[2,37,41]", "kernels=random", "kernels.shape=[3,2,3,3]"]
RUN += ["conv.padding=1", "conv.padding_mode=reflect", "pool.size=3", "pool.stride=2"]
RUN += ["tables.formats=[parquet,csv,npy]", "figures=none"]


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted((folder / "matrices").iterdir())
    }


def test_a_dask_run_writes_the_tables_of_an_in_memory_run(tmp_path):
    with xopipe.run(*RUN, out_dir=tmp_path / "numpy"):
        pass
    with xopipe.run(*RUN, "backend=dask", "backend.chunks=8", out_dir=tmp_path / "dask") as run:
        assert run.manifest["status"] == "complete" and run.manifest["backend"] == "dask"
    # CSV grids and .npy arrays: the same bytes.
    assert _files(tmp_path / "dask") == _files(tmp_path / "numpy")
    # matrices.parquet: one file, the same schema and cells, a row group per chunk block
    # and channel: chunks of 8 cells, 5 x 6 of the input, conv and activation; the
    # stride-2 pool's tiles of 4 outputs, 5 x 5 of its 18 x 20.
    parquet = pq.ParquetFile(tmp_path / "dask" / "matrices.parquet")
    assert parquet.schema_arrow == pq.read_schema(tmp_path / "numpy" / "matrices.parquet")
    ours = read_parquet_arrays(tmp_path / "dask" / "matrices.parquet")
    theirs = read_parquet_arrays(tmp_path / "numpy" / "matrices.parquet")
    assert list(ours) == list(theirs) == ["input", "conv", "pool", "activation"]
    for name in theirs:
        np.testing.assert_array_equal(ours[name], theirs[name])
    blocks = {"input": 2 * 5 * 6, "conv": 3 * 5 * 6, "pool": 3 * 5 * 5, "activation": 3 * 5 * 6}
    assert parquet.num_row_groups == sum(blocks.values())
    # The manifest hashes every file of the folder (the manifest aside).
    hashes = run.manifest["files"]
    on_disk = {
        p.relative_to(tmp_path / "dask").as_posix()
        for p in (tmp_path / "dask").rglob("*")
        if p.is_file() and ".hydra" not in p.parts and p.name not in ("manifest.json",)
    }
    assert set(hashes) == on_disk - {"xopipe.log"}
    for name, digest in hashes.items():
        assert sha256_of(tmp_path / "dask" / name) == digest, name


def test_float32_npy_streamed_by_dask_are_the_in_memory_runs_bytes(tmp_path):
    """tables.npy_dtype=float32 through the memory-mapped writer: each block at its own
    rows and columns, at 4 bytes a cell, as the in-memory run writes them."""
    run = [*RUN, "dtype=float32", "tables.npy_dtype=float32"]
    with xopipe.run(*run, out_dir=tmp_path / "numpy"):
        pass
    with xopipe.run(*run, "backend=dask", "backend.chunks=8", out_dir=tmp_path / "dask"):
        pass
    ours, theirs = _files(tmp_path / "dask"), _files(tmp_path / "numpy")
    assert ours == theirs
    conv = np.load(tmp_path / "dask" / "matrices" / "conv.npy")
    assert conv.dtype == np.float32 and conv.shape == (3, 37, 41)


def test_nothing_gathers_a_whole_stage(tmp_path, monkeypatch):
    """Every array the backend computes during a large run is one band of chunk rows (the
    tables), the corners (the console), or block means and ranges (the figures)."""
    computed: list[tuple[int, ...]] = []
    original = DaskBackend.compute

    def spy(self, *arrays):
        done = original(self, *arrays)
        computed.extend(np.shape(a) for a in done)
        return done

    monkeypatch.setattr(DaskBackend, "compute", spy)
    # The explorer page's limit, lowered: this run counts as too large for the page.
    monkeypatch.setattr(outputs, "MAX_CELLS", 1000)
    monkeypatch.setattr(report, "MAX_CELLS", 1000)
    overrides = ["backend=dask", "backend.chunks=64", "input=random", "input.shape=[130,1100]"]
    overrides += ["tables.formats=[parquet,csv,npy]", "explain=pool:1:20:300"]
    with xopipe.run(*overrides, out_dir=tmp_path / "run") as run:
        shapes = {name: array.shape for name, array in run.arrays.items()}
    assert computed
    for shape in computed:
        assert shape not in shapes.values(), shape
        if len(shape) == 3:  # a band of 64 rows, the console's corners, or block means
            assert shape[1] <= 64 or max(shape[1:]) <= 512, shape
    assert (3, 42, 366) in computed  # conv's 128 x 1098 maps, averaged down by 3
    assert "no explorer" in (tmp_path / "run" / "report.html").read_text()
    assert (tmp_path / "run" / "figures" / "explain_pool_1_20_300.png").is_file()


def test_the_figures_of_a_large_dask_run_are_the_in_memory_runs(tmp_path, monkeypatch):
    """Maps over 512 a side are drawn from block means: dask's, computed chunk by chunk,
    make the same pictures as the means of the whole arrays."""
    monkeypatch.setattr(outputs, "MAX_CELLS", 1000)
    monkeypatch.setattr(report, "MAX_CELLS", 1000)
    overrides = ["input=random", "input.shape=[600,530]", "tables.formats=[]"]
    overrides += ["explain=conv:2:0:5"]
    with xopipe.run(*overrides, out_dir=tmp_path / "numpy"):
        pass
    with xopipe.run(*overrides, "backend=dask", "backend.chunks=128", out_dir=tmp_path / "dask"):
        pass
    figures = sorted(p.name for p in (tmp_path / "numpy" / "figures").iterdir())
    assert "explain_conv_2_0_5.png" in figures
    for name in figures:
        ours = (tmp_path / "dask" / "figures" / name).read_bytes()
        assert ours == (tmp_path / "numpy" / "figures" / name).read_bytes(), name


def test_explain_reads_only_the_chunks_its_cell_needs(tmp_path, make_config, monkeypatch):
    path = tmp_path / "input.npy"
    np.save(path, np.random.default_rng(2).uniform(-1, 1, (64, 64)))
    overrides = ["backend=dask", "backend.chunks=8", "input=file", f"input.path={path}"]
    experiment = build_experiment(make_config(*overrides))
    arrays = execute(experiment, get_backend("dask", chunks=8)).arrays
    reads: list[tuple] = []
    original = NpyRegions.__getitem__
    monkeypatch.setattr(
        NpyRegions, "__getitem__", lambda self, key: reads.append(key) or original(self, key)
    )
    text = explain(parse_cell("activation:1:40:44", experiment), experiment, arrays).steps
    assert "identical, bit for bit" in text[-1]
    # activation[1, 40, 44] reads conv[1, 40, 44]: the conv tile from row 40, col 40 reads
    # input rows and cols 40..49, in 2 x 2 chunks of the file's 64 (8 x 8 of 8 cells).
    regions = {(key[0].start, key[1].start) for key in reads}
    assert regions == {(40, 40), (40, 48), (48, 40), (48, 48)}


@pytest.mark.parametrize(
    ("shape", "chunks", "pixels"),
    [([7, 9], 3, False), ([2, 13, 11], 5, False), ([3, 10, 10], 4, True), ([40, 33], 7, False)],
)
def test_random_input_chunk_by_chunk_equals_the_in_memory_draw(shape, chunks, pixels):
    lazy = random_chunks(shape, 5, -0.5, 2.0, pixels, chunks).compute()
    rng = np.random.default_rng(5)
    want = np.where(rng.random(shape) < 0.5, -0.5, 2.0) if pixels else rng.uniform(-0.5, 2.0, shape)
    assert lazy.tobytes() == want.reshape(lazy.shape).tobytes()


def test_a_npy_input_is_read_chunk_by_chunk_and_checked_the_same(tmp_path, make_config):
    values = np.random.default_rng(1).uniform(-1, 1, (3, 17, 19)).astype(np.float32)
    values[2, 9, 4] = np.nan
    np.save(tmp_path / "bad.npy", values)
    messages = []
    for backend in ("numpy", "dask"):
        config = make_config(f"backend={backend}", "input=file", f"input.path={tmp_path}/bad.npy")
        with pytest.raises(UserError) as refused:
            build_experiment(config)
        messages.append(str(refused.value))
    assert messages[0] == messages[1]
    assert messages[0].endswith("must hold finite numbers; got nan at index [2, 9, 4]")
    values[2, 9, 4] = 0.5
    np.save(tmp_path / "good.npy", values)
    good = f"input.path={tmp_path}/good.npy"
    source = build_experiment(make_config("backend=dask", "backend.chunks=5", "input=file", good))
    assert not isinstance(source.source, np.ndarray)  # a graph of chunk reads
    assert source.source.chunks == ((3,), (5, 5, 5, 2), (5, 5, 5, 4))
    assert source.source.compute().tobytes() == values.astype(np.float64).tobytes()


def test_the_console_prints_a_dask_run_as_an_in_memory_one():
    """Small grids whole, large ones by numpy's own summary from the corner chunks."""
    backend = get_backend("dask", chunks=7)
    for shape in [(2, 30, 40), (1, 200, 3), (1, 3, 500), (1, 9, 9)]:
        x = np.random.default_rng(1).uniform(-1, 1, shape)
        plain, lazy = io.StringIO(), io.StringIO()
        print_results({"a": x}, {}, plain)
        print_results({"a": backend.to_backend(x)}, {}, lazy, compute=backend.compute)
        assert lazy.getvalue() == plain.getvalue(), shape


def test_the_manifest_records_the_dask_options(tmp_path):
    with xopipe.run("backend=dask", "backend.chunks=4", out_dir=tmp_path) as run:
        manifest = json.loads((tmp_path / "manifest.json").read_text())
        assert manifest["backend_options"] == {
            "chunks": 4,
            "scheduler": "threads",
            "address": None,
        }
        np.testing.assert_allclose(np.asarray(run.arrays["pool"]).max(), 1.0)


def test_tiny_chunks_of_a_large_input_get_one_warning_line(make_config):
    """Chunks of 8 cut 300x300 into 1,444: dask's scheduling, not arithmetic, would take
    the time. The chunk-hostile tests' small inputs (a few dozen chunks) are not warned."""
    run = ["backend=dask", "input=random", "backend.chunks=8"]
    experiment = build_experiment(make_config(*run, "input.shape=[300,300]"))
    assert experiment.warnings == (
        "backend.chunks=8 cuts the 300x300 input into 1,444 chunks: dask spends about a "
        "millisecond scheduling each of their tasks, more than their arithmetic; chunks of "
        "512 to 4096 cells a side suit a large input",
    )
    for shape in ("[2,37,41]", "[128,128]"):  # 30 and 256 chunks
        assert build_experiment(make_config(*run, f"input.shape={shape}")).warnings == ()
    fine = ["backend=dask", "input=random", "input.shape=[4096,4096]", "backend.chunks=256"]
    assert build_experiment(make_config(*fine)).warnings == ()


@pytest.mark.parametrize("chunks", ["0", "-5"])
@pytest.mark.parametrize("source", [["input=x"], ["input=random", "input.shape=[40,40]"]])
def test_a_chunk_size_below_one_is_one_line_before_the_input_is_read(tmp_path, chunks, source):
    """backend.chunks is checked before the input is read chunk by chunk (0 divided by zero
    there, -5 reached dask as an empty chunk tuple)."""
    from tests.cli import run_cli

    result = run_cli(
        "backend=dask", f"backend.chunks={chunks}", *source, f"hydra.run.dir={tmp_path / 'run'}"
    )
    assert result.code == 2
    assert result.stderr == (
        f"error: backend.chunks must be a positive integer (cells per side), got {chunks}\n"
    )
