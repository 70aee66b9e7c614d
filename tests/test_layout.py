"""sinks/layout.py: the names of a run's table files, and where a stage's values are, in words."""

from __future__ import annotations

from xopipe.sinks.layout import saved_in


def test_saved_in_names_every_chosen_format():
    tables = {"formats": ["parquet", "csv", "npy"], "stages": ["conv", "pool"]}
    assert saved_in(tables, "pool") == (
        "in matrices.parquet and matrices/pool_<channel>.csv and matrices/pool.npy"
    )
    assert saved_in(tables, "conv", weights=True) == (
        "in weights.parquet and weights/conv_<kernel>_<channel>.csv and weights/conv_weight.npy"
    )


def test_saved_in_says_why_nothing_is_there():
    only_pool = {"formats": ["csv"], "stages": ["pool"]}
    assert saved_in(only_pool, "conv") == "not saved (tables.stages leaves conv out)"
    # a stage's weights are written whatever tables.stages says of its matrices
    assert saved_in(only_pool, "conv", weights=True) == "in weights/conv_<kernel>_<channel>.csv"
    assert saved_in({"formats": [], "stages": ["conv"]}, "conv") == (
        "not saved (tables.formats is empty)"
    )


def test_a_run_without_a_tables_record_is_described_with_the_defaults():
    """Folders written before tables.formats existed: Parquet and CSV, every stage."""
    assert saved_in(None, "conv") == "in matrices.parquet and matrices/conv_<channel>.csv"
