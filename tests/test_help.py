"""`xopipe --help`: Hydra's text for xopipe's template, without composing the config."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.cli import run_cli
from xopipe.help_text import quick_help


def test_quick_help_is_the_text_hydra_prints():
    through_hydra = run_cli("--help")
    assert through_hydra.code == 0
    assert quick_help(["--help"]) == through_hydra.stdout
    assert quick_help(["-h"]) == through_hydra.stdout
    assert "tables.formats" in through_hydra.stdout


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["backend=torch"],
        ["--hydra-help"],
        ["--help", "hydra.help.template=mine"],
        ["--help", "--config-dir", "elsewhere"],
        ["--help", "--cfg", "job"],
    ],
)
def test_hydra_answers_whatever_could_change_the_text(argv):
    assert quick_help(argv) is None


# Runs `xopipe --help` as the command does, then lists the heavy packages it imported.
HELP_PROCESS = """
import json, runpy, sys
sys.argv = ["xopipe", "--help"]
runpy.run_module("xopipe", run_name="__main__")
heavy = ("hydra", "omegaconf", "numpy", "torch", "pyarrow", "matplotlib")
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(heavy))))
"""


@pytest.mark.slow
def test_help_in_a_fresh_process_prints_the_text_without_composing_a_config(tmp_path):
    """How fast it is against a run is the bench's (python -m xopipe.bench --startup); here:
    it finishes, says what Hydra would, and never loads what composing a config needs."""
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    command = [sys.executable, "-c", HELP_PROCESS]
    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    text, _, imported = result.stdout.rstrip("\n").rpartition("\n")
    assert text + "\n" == quick_help(["--help"])
    assert json.loads(imported) == []


def test_xopipe_train_help_is_its_own_text(tmp_path):
    """xopipe-train --help names the training's groups and keys, not only Hydra's list."""
    result = subprocess.run(
        [sys.executable, "-m", "xopipe.train", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    text = result.stdout
    assert text.startswith("xopipe-train: learn the kernels")
    for words in ("data=folder data.path=DIR", "optim.lr=0.1", "train.epochs=20", "resume=true"):
        assert words in text
    assert "== Configuration groups ==" not in text  # Hydra's generic page is gone
    assert list(tmp_path.iterdir()) == []  # --help writes nothing
