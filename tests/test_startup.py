"""What a run's start costs: only the modules it uses; the versions it records."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pyarrow as pa

from xopipe.private_api.arrow_kernels import TESTED_PYARROW
from xopipe.sinks.manifest import versions

ROOT = Path(__file__).parent.parent
# Modules a run without figures has no use for, each costly to import (torch: 2 s;
# pyarrow.compute: its generated wrappers, see xopipe/private_api/arrow_kernels.py,
# which imports it only on the public path).
HEAVY = ("pandas", "torch", "matplotlib", "pyarrow.compute")


def _assert_light(loaded: list[str]) -> None:
    assert [name for name in loaded if name != "pyarrow.compute"] == []
    # On the pyarrow release the fence was tested with (constraints.txt pins it) a run
    # never imports pyarrow.compute; on another one it takes the public path, which does.
    if pa.__version__.startswith(TESTED_PYARROW):
        assert "pyarrow.compute" not in loaded


def _heavy_modules_after(*argv: str) -> list[str]:
    """Run `xopipe *argv` in a fresh interpreter; the HEAVY modules it loaded."""
    script = (
        "import sys, json\n"
        f"sys.argv = ['xopipe', *{list(argv)!r}]\n"
        "from xopipe.app import main\n"
        "main()\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_a_seed_run_without_figures_loads_none_of_the_heavy_modules(tmp_path):
    run_dir = f"hydra.run.dir={tmp_path / 'run'}"
    loaded = _heavy_modules_after("figures=none", "print_matrices=false", run_dir)
    _assert_light(loaded)
    assert (tmp_path / "run" / "manifest.json").exists()


def test_recorded_versions_are_the_installed_ones():
    found = versions()
    for name in ("xopipe", "numpy", "pyarrow", "hydra-core", "omegaconf"):
        assert found[name] == metadata.version(name)
    assert found["python"] == ".".join(map(str, sys.version_info[:3]))


def test_a_sweep_and_its_summary_load_no_pandas(tmp_path):
    """pa.array()/pa.scalar() import pandas: the summary builds its columns from buffers."""
    sweep_dir = f"hydra.sweep.dir={tmp_path / 'sweep'}"
    overrides = ("-m", "conv.stride=1,2", "pool=max,avg", "figures=none", "print_matrices=false")
    _assert_light(_heavy_modules_after(*overrides, sweep_dir))
    assert (tmp_path / "sweep" / "summary.parquet").exists()
