"""Every option of every config group composes, and the schemas reject typos."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError, ValidationError

from xopipe.backends import get_backend
from xopipe.experiment import build_experiment, execute

GROUPS = ("backend", "input", "kernels", "pipeline", "pool", "activation", "figures")


def group_options() -> list[tuple[str, str]]:
    conf = resources.files("xopipe.conf")
    return [
        (group, entry.name.removesuffix(".yaml"))
        for group in GROUPS
        for entry in sorted(conf.joinpath(group).iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".yaml")
    ]


def test_every_group_has_options():
    found = {group for group, _ in group_options()}
    assert found == set(GROUPS)
    assert ("backend", "torch") in group_options() and ("input", "o") in group_options()


DATA = Path(__file__).parent / "data"
# Options that need a value of the user's to run at all.
REQUIRED = {
    ("input", "file"): [f"input.path={DATA / 'x.csv'}"],
    ("kernels", "file"): [f"kernels.path={DATA / 'kernel.csv'}"],
}


@pytest.mark.parametrize(("group", "option"), group_options())
def test_option_composes_and_runs(make_config, group, option):
    cfg = make_config(f"{group}={option}", *REQUIRED.get((group, option), []))
    experiment = build_experiment(cfg)
    options = OmegaConf.to_container(cfg.backend)
    assert isinstance(options, dict)
    results = execute(experiment, get_backend(options.pop("name"), **options))
    assert results.arrays["input"].shape == experiment.source.shape
    if group == "backend":  # the option's own backend ran, and gave numpy's numbers
        assert cfg.backend.name == option
        reference = execute(experiment, get_backend("numpy"))
        for stage, array in reference.arrays.items():
            np.testing.assert_allclose(results.arrays[stage], array, rtol=0, atol=1e-12)
    if group == "activation":
        assert cfg.activation.name == option


def test_defaults_are_the_seed(make_config):
    cfg = make_config()
    assert cfg.backend.name == "numpy"
    assert cfg.dtype.value == "float64"
    assert cfg.input.name == "x" and cfg.kernels.name == "xo" and cfg.pipeline.name == "seed"
    assert (cfg.conv.stride, cfg.conv.padding, cfg.conv.bias, cfg.conv.normalize) == (
        1,
        0,
        0.0,
        "mean",
    )
    assert (cfg.pool.name, cfg.pool.size, cfg.pool.stride, cfg.pool.pad) == ("max", 2, None, "auto")
    assert cfg.activation.name == "relu"


def test_o_is_a_ring_in_the_x_style(make_config):
    o = build_experiment(make_config("input=o")).source[0]
    assert o.shape == (9, 9)
    assert set(o.ravel()) == {-1.0, 1.0}
    assert (
        (o[0] == -1).all()
        and (o[-1] == -1).all()
        and (o[:, 0] == -1).all()
        and (o[:, -1] == -1).all()
    )
    assert (o == o[::-1]).all() and (o == o[:, ::-1]).all()  # symmetric like a ring
    assert o[4, 4] == -1 and o[4, 1] == 1 and o[1, 4] == 1  # hollow centre, +1 on the ring


@pytest.mark.parametrize(
    "override",
    [
        "conv.strid=2",  # unknown key
        ["pool.dilation=2", "pool.count_include_pad=false"][1],  # max pool has no such key
        "backend.device=cuda",  # only the torch backend has a device
        "activation.negative_slope=0.1",  # relu takes no slope
        "dtype=float16",  # not an allowed dtype
        "conv.flip=maybe",  # wrong type
        "input.seed=1",  # the X has no seed
    ],
)
def test_schema_rejects_at_composition(make_config, override):
    with pytest.raises((ConfigCompositionException, ConfigKeyError, ValidationError)):
        make_config(override)


def test_unknown_option_fails(make_config):
    from hydra.errors import MissingConfigException

    with pytest.raises(MissingConfigException):
        make_config("backend=cuda")


def test_every_config_folder_ships_in_the_package():
    """A group folder missing from pyproject's packages would vanish from a wheel install."""
    import tomllib

    root = Path(__file__).parent.parent
    packages = set(
        tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    folders = {
        f"xopipe.conf.{p.name}"
        for p in (root / "conf").iterdir()
        if p.is_dir() and p.name != "__pycache__"
    }
    assert folders <= packages, folders - packages
