"""pool.pad=auto's fill is the documented rule, but fill that outweighs the map gets one warning."""

from __future__ import annotations

import json

from tests.cli import run_cli

QUIET = ("print_matrices=false", "figures=none")
WARNING = (
    "warning: pool.pad=auto adds 43 rows and 43 columns of zeros to the 7x7 map, more than "
    "the map itself, so that the 50x50 window of pool.size fits; pool.pad=0 refuses a window "
    "larger than the map\n"
)


def test_a_window_much_larger_than_the_map_warns_once_on_stderr_and_in_the_log(tmp_path):
    result = run_cli(*QUIET, "pool.size=50", f"hydra.run.dir={tmp_path}")
    assert result.code == 0, result.stderr
    assert result.stderr == WARNING
    log = (tmp_path / "xopipe.log").read_text()
    assert log.count("warning: pool.pad=auto adds 43 rows") == 1
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["warnings"] == [WARNING.removeprefix("warning: ").rstrip("\n")]
    assert manifest["stages"]["pool"]["shape"] == [3, 1, 1]  # still the auto rule's answer


def test_the_seed_fill_and_a_tiling_window_do_not_warn(tmp_path):
    for case, overrides in {
        "seed": (),  # 7 -> 8: one row and one column of zeros
        "three": ("pool.size=3",),  # 7 -> 9: two rows and columns, fewer than the map's 7
        "seven": ("pool.size=7",),  # the window is the map: nothing added
    }.items():
        result = run_cli(*QUIET, *overrides, f"hydra.run.dir={tmp_path / case}")
        assert result.code == 0 and result.stderr == "", (case, result.stderr)
        assert "warning" not in (tmp_path / case / "xopipe.log").read_text()
        assert "warnings" not in json.loads((tmp_path / case / "manifest.json").read_text())


def test_one_more_row_than_the_map_warns_with_that_count(tmp_path):
    """Rows and columns are counted apart: only the rows outweigh the map here."""
    result = run_cli(*QUIET, "pool.size=[15,2]", f"hydra.run.dir={tmp_path}")
    assert result.code == 0, result.stderr
    # conv is 3x7x7; 15 rows need 8 more (more than 7), the columns tile with 1 (7 -> 8).
    assert result.stderr == (
        "warning: pool.pad=auto adds 8 rows and 1 column of zeros to the 7x7 map, more than "
        "the map itself, so that the 15x2 window of pool.size fits; pool.pad=0 refuses a "
        "window larger than the map\n"
    )


def test_pool_pad_0_stays_strict_and_explicit_fill_is_not_questioned(tmp_path):
    strict = run_cli(*QUIET, "pool.size=50", "pool.pad=0", f"hydra.run.dir={tmp_path / 'a'}")
    assert strict.code == 2
    assert strict.stderr == (
        "error: pool.size: the 50x50 pooling window does not fit the 7x7 map it reads (after "
        "pad and padding); use a smaller window or more pool.pad\n"
    )
    asked = run_cli(
        *QUIET, "pool.size=50", "pool.pad=[0,43,0,43]", f"hydra.run.dir={tmp_path / 'b'}"
    )
    assert asked.code == 0 and asked.stderr == "", asked.stderr
