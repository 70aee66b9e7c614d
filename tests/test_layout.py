"""sinks/layout.py: the names of a run's table files, and where a stage's values are, in words."""

from __future__ import annotations

from xopipe.sinks.layout import saved_in, saved_where


def test_saved_in_names_every_chosen_format():
    tables = {"formats": ["parquet", "csv", "npy"], "stages": ["conv", "pool"]}
    assert saved_in(tables, "pool") == (
        "every value is in matrices.parquet and matrices/pool_<channel>.csv and matrices/pool.npy"
    )
    assert saved_where(tables, "conv", weights=True) == (
        ["weights.parquet", "weights/conv_<kernel>_<channel>.csv", "weights/conv_weight.npy"],
        None,
    )


def test_saved_in_says_why_nothing_is_there():
    only_pool = {"formats": ["csv"], "stages": ["pool"]}
    assert saved_in(only_pool, "conv") == "not saved on disk (tables.stages leaves conv out)"
    assert saved_where(only_pool, "conv") == ([], "stages")
    # a stage's weights are written whatever tables.stages says of its matrices
    assert saved_in(only_pool, "conv", weights=True) == (
        "every value is in weights/conv_<kernel>_<channel>.csv"
    )
    nothing = {"formats": [], "stages": ["conv"]}
    assert saved_in(nothing, "conv") == "not saved on disk (tables.formats is empty)"
    assert saved_where(nothing, "conv", weights=True) == ([], "formats")


def test_a_run_without_a_tables_record_is_described_with_the_defaults():
    """Folders written before tables.formats existed: Parquet and CSV, every stage."""
    assert saved_in(None, "conv") == (
        "every value is in matrices.parquet and matrices/conv_<channel>.csv"
    )
