"""backend=dask where the dask extra is not installed: one line naming the extra, exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Makes dask and distributed impossible to find or import, as on a plain install.
HIDDEN = """
import sys

class Hidden:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {HIDE}:
            raise ModuleNotFoundError(f"No module named '{{name}}'", name=name)
        return None

sys.meta_path.insert(0, Hidden())
"""

MESSAGE = (
    "backend: dask needs {module}, which is not installed here; install the extra: "
    'pip install -c constraints.txt -e ".[dask]"'
)


@pytest.mark.parametrize(
    ("hide", "overrides", "module"),
    [
        ({"dask", "distributed"}, ["input=random", "input.shape=[64,64]"], "dask"),
        ({"dask", "distributed"}, [], "dask"),  # the seed's X: not read by chunk
        ({"distributed"}, ["backend.address=tcp://127.0.0.1:1"], "distributed"),
    ],
)
def test_a_missing_extra_is_one_line(tmp_path, hide, overrides, module):
    (tmp_path / "sitecustomize.py").write_text(HIDDEN.format(HIDE=sorted(hide)))
    done = subprocess.run(
        [sys.executable, "-m", "xopipe", "backend=dask", *overrides, "figures=none"]
        + [f"hydra.run.dir={tmp_path / 'run'}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].endswith(MESSAGE.format(module=module))
    assert not (tmp_path / "run" / "matrices.parquet").exists()
