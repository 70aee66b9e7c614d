"""xopipe.private_api: the version guard, and the public path giving the same files.

XOPIPE_PUBLIC_API=1 forces what any hydra-core other than the tested release
gets: Hydra composes a run twice, a sweep's jobs are composed by Hydra's own
loader and run by Hydra's own run_job, and YAML is written by
OmegaConf.to_yaml. Every file a run or a sweep writes must be the same.
"""

from __future__ import annotations

import html
from pathlib import Path

import hydra
import omegaconf
import pytest
from omegaconf import OmegaConf

from tests.cli import run_cli
from xopipe.previous import recorded_config
from xopipe.private_api import FORCE_PUBLIC, private_api_usable


def test_the_guard_lets_only_the_tested_releases_through(monkeypatch):
    monkeypatch.delenv(FORCE_PUBLIC, raising=False)
    tested = hydra.__version__.startswith("1.3.") and omegaconf.__version__.startswith("2.3.")
    assert private_api_usable() == tested
    monkeypatch.setattr(hydra, "__version__", "1.4.0rc3")
    assert not private_api_usable()
    monkeypatch.setattr(hydra, "__version__", "1.3.2")
    monkeypatch.setattr(omegaconf, "__version__", "2.4.1rc1")
    assert not private_api_usable()
    monkeypatch.setattr(omegaconf, "__version__", "2.3.0")
    assert private_api_usable()
    monkeypatch.setenv(FORCE_PUBLIC, "1")
    assert not private_api_usable()


def _files(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` but the log, with the folder's own path taken out."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name != "xopipe.log":
            text = path.read_bytes().replace(str(folder).encode(), b"FOLDER")
            found[str(path.relative_to(folder))] = text
    return found


def _without_times(files: dict[str, bytes]) -> dict[str, bytes]:
    """manifest.json and report.html carry seconds and dates; the rest must match byte for byte."""
    return {
        name: data
        for name, data in files.items()
        if not name.endswith(("manifest.json", "report.html"))
    }


def _run(folder: Path, monkeypatch, public: bool, *overrides: str) -> dict[str, bytes]:
    if public:
        monkeypatch.setenv(FORCE_PUBLIC, "1")
    else:
        monkeypatch.delenv(FORCE_PUBLIC, raising=False)
    result = run_cli(*overrides, "print_matrices=false")
    assert result.code == 0, result.stderr
    return _files(folder)


def test_a_run_writes_the_same_files_on_the_public_path(tmp_path, monkeypatch):
    fast, public = tmp_path / "fast", tmp_path / "public"
    mine = _run(fast, monkeypatch, False, "figures=none", "conv.stride=2", f"hydra.run.dir={fast}")
    theirs = _run(
        public, monkeypatch, True, "figures=none", "conv.stride=2", f"hydra.run.dir={public}"
    )
    assert mine.keys() == theirs.keys()
    assert {".hydra/config.yaml", ".hydra/hydra.yaml", ".hydra/overrides.yaml"} <= mine.keys()
    assert _without_times(mine) == _without_times(theirs)
    # report.html shows the config as YAML: yaml_text's text on one path, OmegaConf's on the
    # other, both the text Hydra saved in .hydra/config.yaml (without loss=none, which a
    # run records as a run before losses existed).
    saved = mine[".hydra/config.yaml"].decode()
    assert "stride: 2" in saved and "loss:\n  kind: none\n" in saved
    shown = OmegaConf.to_yaml(recorded_config(OmegaConf.create(saved)))
    assert "loss" not in shown
    for files in (mine, theirs):
        assert shown in html.unescape(files["report.html"].decode())


@pytest.mark.slow
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_sweep_writes_the_same_files_on_the_public_path(tmp_path, monkeypatch, n_jobs):
    grid = [
        "-m",
        "pool=max,avg",
        "conv.stride=1,2",
        "figures=none",
        f"hydra.launcher.n_jobs={n_jobs}",
    ]
    from xopipe.private_api import job_runner

    ran_by_hydra = []

    def hydras_run_job(**kwargs):
        ran_by_hydra.append(kwargs["config"].hydra.job.num)
        return run_job(**kwargs)

    run_job = job_runner.run_job
    monkeypatch.setattr(job_runner, "run_job", hydras_run_job)
    fast, public = tmp_path / "fast", tmp_path / "public"
    mine = _run(fast, monkeypatch, False, *grid, f"hydra.sweep.dir={fast}")
    if private_api_usable():  # on another Hydra release both sweeps take the public path
        assert ran_by_hydra == []
    ran_by_hydra.clear()
    theirs = _run(public, monkeypatch, True, *grid, f"hydra.sweep.dir={public}")
    if n_jobs == 1:  # in workers the list is the worker's own
        assert ran_by_hydra == [0, 1, 2, 3]
    assert mine.keys() == theirs.keys()
    assert {f"{job}/.hydra/hydra.yaml" for job in range(4)} <= mine.keys()
    assert _without_times(mine) == _without_times(theirs)


def test_arrow_kernels_take_the_compiled_module_only_where_tested(monkeypatch):
    import pyarrow as pa

    from xopipe.private_api import arrow_kernels

    monkeypatch.delenv(FORCE_PUBLIC, raising=False)
    monkeypatch.setattr(pa, "__version__", "26.0.1")
    assert arrow_kernels.compute_module().__name__ == "pyarrow._compute"
    monkeypatch.setattr(hydra, "__version__", "1.4.0")  # Hydra's release is not pyarrow's
    assert arrow_kernels.compute_module().__name__ == "pyarrow._compute"
    monkeypatch.setattr(pa, "__version__", "27.0.0")
    assert arrow_kernels.compute_module().__name__ == "pyarrow.compute"
    monkeypatch.setattr(pa, "__version__", "26.0.1")
    monkeypatch.setenv(FORCE_PUBLIC, "1")
    assert arrow_kernels.compute_module().__name__ == "pyarrow.compute"


def test_csv_text_is_the_same_through_either_compute_module(monkeypatch):
    import numpy as np
    import pyarrow as pa

    from xopipe.private_api import arrow_kernels
    from xopipe.sinks.csv_grid import _csv_text

    rng = np.random.default_rng(5)
    grid = rng.standard_normal((40, 13)) * 10.0 ** rng.integers(-300, 300, (40, 13))
    grid[0, :6] = [np.nan, np.inf, -np.inf, -0.0, 1.0, 1 / 3]
    monkeypatch.delenv(FORCE_PUBLIC, raising=False)
    monkeypatch.setattr(pa, "__version__", "26.0.1")  # the compiled module, whatever is installed
    assert arrow_kernels.compute_module().__name__ == "pyarrow._compute"
    fast = bytes(_csv_text(grid))
    monkeypatch.setenv(FORCE_PUBLIC, "1")
    public = bytes(_csv_text(grid))
    assert fast == public
    assert fast.count(b"\n") == 40 and fast.startswith(b"nan,inf,-inf,-0,1,0.3333333333333333,")
