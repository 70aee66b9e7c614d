"""One-line errors that lead somewhere: the fix each one suggests is run and works."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.cli import run_cli

QUIET = ("print_matrices=false", "figures=none")


def suggested(stderr: str) -> str:
    """The override the error line tells the user to type."""
    found = re.search(r"inside shell quotes: '(.*)'$", stderr.strip())
    assert found is not None, stderr
    return found.group(1)


def test_a_tilde_path_gets_a_quoting_hint_that_works(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    Image.fromarray(np.full((5, 6), 200, dtype=np.uint8)).save(tmp_path / "x.png")
    run_dir = tmp_path / "run"
    refused = run_cli(*QUIET, "input=file", "input.path=~/x.png", f"hydra.run.dir={run_dir}")
    assert refused.code == 2
    assert refused.stderr == (
        "error: Hydra cannot read the override 'input.path=~/x.png' (token recognition error "
        "at: '~'); quote the value for Hydra, inside shell quotes: 'input.path=\"~/x.png\"'\n"
    )
    assert not run_dir.exists()  # stopped before Hydra made the folder
    fixed = run_cli(*QUIET, "input=file", suggested(refused.stderr), f"hydra.run.dir={run_dir}")
    assert fixed.code == 0, fixed.stderr
    record = json.loads((run_dir / "manifest.json").read_text())
    assert record["status"] == "complete" and record["input"]["shape"] == [1, 5, 6]


def test_a_tilde_in_kernels_path_is_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "k.csv").write_text("1,2,0\n0,-1,3.5\n")
    run_dir = tmp_path / "run"
    refused = run_cli(*QUIET, "kernels=file", "kernels.path=~/k.csv", f"hydra.run.dir={run_dir}")
    assert refused.code == 2 and suggested(refused.stderr) == 'kernels.path="~/k.csv"'
    fixed = run_cli(*QUIET, "kernels=file", suggested(refused.stderr), f"hydra.run.dir={run_dir}")
    assert fixed.code == 0, fixed.stderr
    weight = np.loadtxt(run_dir / "weights" / "conv_0_0.csv", delimiter=",")
    np.testing.assert_array_equal(weight, [[1, 2, 0], [0, -1, 3.5]])


def test_a_sweep_over_tilde_paths_gets_a_hint_that_works(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("a", "b"):
        np.savetxt(tmp_path / f"{name}.csv", np.eye(4) * (name == "a"), delimiter=",")
    sweep = ["-m", *QUIET, "input=file", f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    refused = run_cli(*sweep, "input.path=~/a.csv,~/b.csv")
    assert refused.code == 2 and refused.stderr.count("\n") == 1
    assert suggested(refused.stderr) == 'input.path="~/a.csv","~/b.csv"'
    fixed = run_cli(*sweep, suggested(refused.stderr))
    assert fixed.code == 0, fixed.stderr
    assert len(list((tmp_path / "sweep").glob("*/matrices.parquet"))) == 2


def test_broken_brackets_get_one_line(tmp_path):
    result = run_cli(*QUIET, "kernels.values=[[1,2]", f"hydra.run.dir={tmp_path / 'run'}")
    assert result.code == 2
    assert result.stderr == (
        "error: Hydra cannot read the override 'kernels.values=[[1,2]' (no viable alternative "
        "at input '[[1,2]'); check its brackets and quotes "
        "(https://hydra.cc/docs/advanced/override_grammar/basic/)\n"
    )


def test_flag_values_are_not_taken_for_overrides(tmp_path):
    result = run_cli("--cfg", "job", "-p", "conv", "conv.stride=2")
    assert result.code == 0, result.stderr
    assert "stride: 2" in result.stdout


@pytest.mark.slow
def test_a_huge_png_gets_one_line_and_no_pillow_warning(tmp_path):
    """10000x10000 would make Pillow warn (a 'decompression bomb'); 14000x14000 refuse."""
    for side in (10000, 14000):
        Image.new("1", (side, side)).save(tmp_path / f"{side}.png")  # a few kB on disk
        env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
        result = subprocess.run(
            [sys.executable, "-m", "xopipe", "input=file", f"input.path={side}.png", *QUIET],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert result.returncode == 2
        assert result.stderr == (
            f"error: input.path: '{side}.png' holds {side * side:,} cells (shape [1, {side}, "
            f"{side}]), more than limits.max_input_cells (67,108,864); raise the limit to read it\n"
        )
    from PIL import Image as Pillow

    assert Pillow.MAX_IMAGE_PIXELS is not None  # Pillow's own guard is back for other code


def test_raising_the_limit_as_the_error_says_reads_the_image(tmp_path):
    Image.new("L", (300, 200), color=255).save(tmp_path / "wide.png")
    common = [*QUIET, "input=file", f"input.path={tmp_path / 'wide.png'}"]
    refused = run_cli(*common, "limits.max_input_cells=50000", f"hydra.run.dir={tmp_path / 'a'}")
    assert refused.code == 2 and "raise the limit to read it" in refused.stderr
    fixed = run_cli(*common, "limits.max_input_cells=60000", f"hydra.run.dir={tmp_path / 'b'}")
    assert fixed.code == 0, fixed.stderr


HYDRA_LAST = "Set the environment variable HYDRA_FULL_ERROR=1 for a complete stack trace.\n"


@pytest.mark.parametrize(
    ("overrides", "hint"),
    [
        (["conv.strid=2"], "did you mean conv.stride?"),
        (["input=file", "input.pth=x.csv"], "did you mean input.path?"),
        (["figures.lnag=zh"], "did you mean figures.lang?"),
        (["pooll=avg"], "did you mean pool?"),
        (["pool=maxx"], "did you mean pool=max?"),
        (["pipeline=tw_layer"], "did you mean pipeline=two_layer?"),
        (["-m", "pool=avg,maxx"], "did you mean pool=max?"),  # a sweep's second value
        # after a long sweep: each sweep's values are tried in turns
        (["-m", "conv.bias=range(0,40)", "pool=avg,maxx"], "did you mean pool=max?"),
    ],
)
def test_a_misspelt_key_or_option_gets_hydras_lines_then_the_close_names(tmp_path, overrides, hint):
    folders = [f"hydra.run.dir={tmp_path / 'run'}", f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    result = run_cli(*overrides, *QUIET, *folders)
    assert result.code == 1
    assert result.stderr.endswith(HYDRA_LAST + hint + "\n"), result.stderr
    assert list(tmp_path.rglob("manifest.json")) == []  # refused before any job


def test_the_suggested_key_works(tmp_path):
    refused = run_cli(*QUIET, "conv.strid=2", f"hydra.run.dir={tmp_path}")
    key = re.fullmatch(r"did you mean (\S+)\?", refused.stderr.splitlines()[-1]).group(1)
    fixed = run_cli(*QUIET, f"{key}=2", f"hydra.run.dir={tmp_path}")
    assert fixed.code == 0, fixed.stderr
    assert json.loads((tmp_path / "manifest.json").read_text())["stages"]["conv"]["shape"] == [
        3,
        4,
        4,
    ]


def test_nothing_close_gets_no_suggestion(tmp_path):
    for overrides in (["zzz.q=1"], ["conv.qqqqq=2"], ["pool=median"]):
        result = run_cli(*QUIET, *overrides, f"hydra.run.dir={tmp_path / 'run'}")
        assert result.code == 1
        assert result.stderr.endswith(HYDRA_LAST), (overrides, result.stderr)
        assert "did you mean" not in result.stderr
