"""Tables round-trip: Parquet and CSV read back bit for bit, and agree with each other."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from xopipe.sinks import tables
from xopipe.sinks.tables import read_parquet_arrays, write_csv_grids, write_parquet

TRICKY = np.array(
    [[1 / 3, -0.0, 1e-300, 5e-324], [1.7976931348623157e308, -7 / 9, 0.1 + 0.2, 123456789.123]]
)


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    return {
        "input": TRICKY[np.newaxis],
        "conv": rng.standard_normal((3, 5, 7)),
        "pool": rng.standard_normal((3, 2, 3)).astype(np.float32),
    }


def test_parquet_schema_and_rows(tmp_path, arrays):
    path = tmp_path / "matrices.parquet"
    write_parquet(path, arrays)
    table = pq.read_table(path)
    assert table.schema.names == ["stage", "channel", "row", "col", "value"]
    assert str(table.schema.field("stage").type) == "string"
    assert str(table.schema.field("value").type) == "double"
    assert table.num_rows == sum(a.size for a in arrays.values())
    frame = table.to_pandas()
    cell = frame[
        (frame.stage == "conv") & (frame.channel == 2) & (frame.row == 4) & (frame.col == 6)
    ]
    assert cell.value.item() == arrays["conv"][2, 4, 6]


def test_parquet_round_trip_is_exact(tmp_path, arrays):
    path = tmp_path / "matrices.parquet"
    write_parquet(path, arrays)
    back = read_parquet_arrays(path)
    assert list(back) == list(arrays)
    for name, array in arrays.items():
        np.testing.assert_array_equal(back[name], array.astype(np.float64))
        assert np.signbit(back[name]).sum() == np.signbit(array).sum()  # -0.0 survives


def test_parquet_in_small_batches(tmp_path, arrays, monkeypatch):
    monkeypatch.setattr(tables, "BATCH_ROWS", 4)  # several batches per channel
    path = tmp_path / "matrices.parquet"
    write_parquet(path, arrays)
    assert pq.ParquetFile(path).num_row_groups > len(arrays)
    back = read_parquet_arrays(path)
    np.testing.assert_array_equal(back["conv"], arrays["conv"])


def test_csv_grids_round_trip_bit_exact(tmp_path, arrays):
    paths = write_csv_grids(tmp_path / "matrices", arrays)
    assert [p.name for p in paths] == [
        "input_0.csv",
        "conv_0.csv",
        "conv_1.csv",
        "conv_2.csv",
        "pool_0.csv",
        "pool_1.csv",
        "pool_2.csv",
    ]
    for name, array in arrays.items():
        for channel in range(array.shape[0]):
            text = (tmp_path / "matrices" / f"{name}_{channel}.csv").read_text()
            assert not text.startswith(("0,1", '"')), "no header, no quotes"
            grid = np.array([[float(v) for v in line.split(",")] for line in text.splitlines()])
            np.testing.assert_array_equal(grid, array[channel].astype(np.float64))


def test_csv_uses_shortest_repr(tmp_path):
    write_csv_grids(tmp_path, {"x": TRICKY[np.newaxis]})
    first = (tmp_path / "x_0.csv").read_text().splitlines()[0].split(",")
    assert first[0] == repr(1 / 3)


def test_no_partial_files_left(tmp_path, arrays):
    write_parquet(tmp_path / "matrices.parquet", arrays)
    write_csv_grids(tmp_path / "matrices", arrays)
    leftovers = [p for p in tmp_path.rglob("*") if p.name.endswith(".partial")]
    assert leftovers == []


def test_writing_tables_does_not_import_pandas(tmp_path):
    """pandas costs a quarter of a second at start-up; the write path must not pull it in."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np; from pathlib import Path; "
        "from xopipe.sinks.tables import write_csv_grids, write_parquet; "
        "a = {'conv': np.ones((2, 5, 4))}; "
        f"write_parquet(Path(r'{tmp_path}') / 'm.parquet', a); "
        f"write_csv_grids(Path(r'{tmp_path}') / 'csv', a); "
        "print('pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_parquet_encodings_and_exact_schema_on_a_larger_map(tmp_path):
    """stage, channel and row as dictionaries, col delta-packed, values plain, nothing
    compressed, no column nullable; every row group reads back bit for bit, with the
    same schema (plain types: the dictionary arrays written do not show)."""
    rng = np.random.default_rng(4)
    arrays = {
        "input": rng.uniform(-1, 1, (1, 300, 700)),
        "conv": rng.uniform(-1, 1, (3, 298, 698)).astype(np.float32),
    }
    path = tmp_path / "matrices.parquet"
    write_parquet(path, arrays)
    metadata = pq.ParquetFile(path).metadata
    assert metadata.num_row_groups == 4  # a row group per channel here
    for group in range(metadata.num_row_groups):
        chunks = {
            metadata.schema.column(i).name: metadata.row_group(group).column(i)
            for i in range(metadata.num_columns)
        }
        assert {chunk.compression for chunk in chunks.values()} == {"UNCOMPRESSED"}
        for name in ("stage", "channel", "row"):
            assert chunks[name].has_dictionary_page, name
        assert "DELTA_BINARY_PACKED" in chunks["col"].encodings
        assert not chunks["col"].has_dictionary_page
        assert not chunks["value"].has_dictionary_page
        assert chunks["value"].statistics.has_min_max  # the diff reads grids by statistics
    for i in range(metadata.num_columns):  # REQUIRED: no definition levels to write
        assert metadata.schema.column(i).max_definition_level == 0
    table = pq.read_table(path)
    assert table.schema.equals(tables.SCHEMA)
    kinds = ["string", "int32", "int32", "int32", "double"]
    assert str(table.schema) == "\n".join(
        f"{name}: {kind} not null"
        for name, kind in zip(["stage", "channel", "row", "col", "value"], kinds, strict=True)
    )
    back = tables.arrays_from_table(table)
    for name, array in arrays.items():
        assert back[name].tobytes() == array.astype(np.float64).tobytes(), name


def test_parquet_speed_script_compares_encodings_and_checks_them(capsys):
    from xopipe.bench.parquet_speed import main

    assert main(["64", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "64x64 seed pipeline, 0.0 M cells, 2 rounds"
    assert [line.split(":")[0] for line in out[1:]] == ["- pyarrow defaults", "- xopipe"]
