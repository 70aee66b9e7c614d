"""What a run's start costs: only the modules it uses, versions without importlib.metadata."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from xopipe.sinks.manifest import versions

ROOT = Path(__file__).parent.parent
# Each of these costs 25 ms (pyarrow.compute's generated wrappers) to 2 s (torch) at start-up.
HEAVY = ("pandas", "torch", "matplotlib", "pyarrow.compute", "importlib.metadata")


def test_a_seed_run_without_figures_loads_none_of_the_heavy_modules(tmp_path):
    script = (
        "import sys, json\n"
        f"sys.argv = ['xopipe', 'figures=none', 'print_matrices=false', "
        f"'hydra.run.dir={tmp_path / 'run'}']\n"
        "from xopipe.app import main\n"
        "main()\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
    assert (tmp_path / "run" / "manifest.json").exists()


def test_recorded_versions_are_the_installed_ones():
    found = versions()
    for name in ("xopipe", "numpy", "pyarrow", "hydra-core", "omegaconf"):
        assert found[name] == metadata.version(name)
    assert found["python"] == ".".join(map(str, sys.version_info[:3]))


def test_a_sweep_and_its_summary_load_no_pandas_or_compute_wrappers(tmp_path):
    """pa.array()/pa.scalar() import pandas: the summary builds its columns from buffers."""
    script = (
        "import sys, json\n"
        f"sys.argv = ['xopipe', '-m', 'conv.stride=1,2', 'pool=max,avg', 'figures=none', "
        f"'print_matrices=false', 'hydra.sweep.dir={tmp_path / 'sweep'}']\n"
        "from xopipe.app import main\n"
        "main()\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
    assert (tmp_path / "sweep" / "summary.parquet").exists()
