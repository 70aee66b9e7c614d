"""xopipe.private_api.compose_once: a run composes its config once, and gets exactly the config
Hydra's second composition makes."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest
from hydra import initialize_config_dir, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import ConfigCompositionException
from hydra.types import RunMode
from omegaconf import OmegaConf

from tests.cli import run_cli
from xopipe import app
from xopipe.config import register_configs
from xopipe.private_api import private_api_usable
from xopipe.private_api.compose_once import composing_once

# What this module checks is the private path, which runs on the tested Hydra release only
# (tests/test_private_api.py checks the public path gives the same files on every release).
pytestmark = pytest.mark.skipif(
    not private_api_usable(), reason="compose_once runs on hydra-core 1.3 only"
)


def _as_hydra_runs_it(overrides: list[str], multirun: bool) -> str:
    """get_mode, then run's or multirun's composition, as hydra.main makes them."""
    hydra = GlobalHydra.instance().hydra
    assert hydra is not None
    mode = hydra.get_mode(config_name="config", overrides=list(overrides))
    assert mode is None  # xopipe's config leaves hydra.mode to the command line
    final = [*overrides, "hydra.mode=MULTIRUN" if multirun else "hydra.mode=RUN"]
    cfg = hydra.compose_config(
        config_name="config",
        overrides=final,
        run_mode=RunMode.MULTIRUN if multirun else RunMode.RUN,
    )
    return OmegaConf.to_yaml(cfg)


@pytest.mark.parametrize(
    ("overrides", "multirun"),
    [
        ([], False),
        (["backend=torch", "conv.stride=2", "+sweep=geometry"], False),
        (["input=random", "input.shape=[5,7]", "hydra.job.chdir=true", "figures=none"], False),
        (["conv.stride=1,2", "pool=max,avg", "hydra/launcher=basic"], True),
        (["kernels=sobel", "++dtype=float32", "hydra.verbose=true"], False),
    ],
)
def test_the_kept_composition_is_the_one_hydra_makes_again(overrides, multirun):
    register_configs()
    with initialize_config_module(config_module="xopipe.conf", version_base="1.3"):
        twice = _as_hydra_runs_it(overrides, multirun)
        with composing_once() as compositions:
            once = _as_hydra_runs_it(overrides, multirun)
    assert compositions.made == 1
    assert once == twice


def test_a_sweep_override_in_a_plain_run_is_still_refused():
    register_configs()
    with (
        initialize_config_module(config_module="xopipe.conf", version_base="1.3"),
        composing_once(),
        pytest.raises(ConfigCompositionException, match="Ambiguous value"),
    ):
        _as_hydra_runs_it(["conv.stride=1,2"], multirun=False)


def test_a_missing_group_is_composed_again_and_reported(tmp_path: Path):
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "one.yaml").write_text("a: 1\n")
    (tmp_path / "config.yaml").write_text("defaults:\n  - db: ???\n  - _self_\nx: 1\n")
    with (
        initialize_config_dir(config_dir=str(tmp_path), version_base="1.3"),
        composing_once(),
        pytest.raises(ConfigCompositionException, match="must specify 'db'"),
    ):
        _as_hydra_runs_it([], multirun=False)


def test_the_patch_is_gone_after_the_block():
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    original = ConfigLoaderImpl.load_configuration
    with composing_once():
        assert ConfigLoaderImpl.load_configuration is not original
    assert ConfigLoaderImpl.load_configuration is original


def test_a_real_run_composes_once(tmp_path, monkeypatch):
    made = []

    @contextmanager
    def counting():
        with composing_once() as compositions:
            yield compositions
        made.append(compositions.made)

    monkeypatch.setattr(app, "composing_once", counting)
    result = run_cli("figures=none", "print_matrices=false", f"hydra.run.dir={tmp_path}")
    assert result.code == 0, result.stderr
    assert made == [1]
    saved = OmegaConf.load(tmp_path / ".hydra" / "hydra.yaml")
    assert saved.hydra.mode == "RUN"
    assert saved.hydra.overrides.hydra[-1] == "hydra.mode=RUN"
