"""Every option of every config group composes, and the schemas reject typos."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError, ValidationError

from tests.property_cases import ACTIVATION_ORACLES
from xopipe.backends import get_backend
from xopipe.experiment import build_experiment, execute
from xopipe.runner import run_experiment

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


X = np.loadtxt(DATA / "x.csv", delimiter=",")  # the seed's X, +1/-1
# Checked against the seed's conv channel 0 (tests/data/xo_expected.json, in ninths):
# conv[0, 0, :2] = 7/9, -1/9 and conv[0, 1, :2] = -1/9, 9/9; conv[0, 6, 6] = 7/9.
TOP_LEFT = X[:3, :3]  # the window of conv[0, 0, 0]
XO_KERNEL_0 = np.array([[1, -1, -1], [-1, 1, -1], [-1, -1, 1]])


def _two_layer_conv2() -> float:
    """conv2[0, 0, 0] of pipeline=two_layer: depthwise, padding same, the seed's kernel 0
    over relu -> 2x2 max pool of the seed's conv channel 0, zero-padded by one."""
    conv = np.array(json.loads((DATA / "xo_expected.json").read_text())["conv"][0]) / 9
    pooled = np.pad(np.maximum(conv, 0), ((0, 1), (0, 1))).reshape(4, 2, 4, 2).max(axis=(1, 3))
    return float((np.pad(pooled, 1)[:3, :3] * XO_KERNEL_0).sum() / 9)


def _activation(name: str, **params: float | str) -> tuple[str, tuple[int, int, int], float]:
    """activation[0, 0, 1] = f(conv[0, 0, 1]) = f(-1/9), with torch's f and the documented
    default parameters."""
    value = ACTIVATION_ORACLES[name](torch.tensor(-1 / 9, dtype=torch.float64), params)
    return "activation", (0, 0, 1), float(value)


# For each option, one cell it decides, and its value computed here, not by xopipe:
# (extra overrides, stage, index, value).
SEED = ("conv", (0, 0, 0), 7 / 9)
PROBES: dict[tuple[str, str], tuple[list[str], str, tuple[int, int, int], float]] = {
    ("backend", "loop"): ([], *SEED),
    ("backend", "numpy"): ([], *SEED),
    ("backend", "torch"): ([], *SEED),
    ("backend", "dask"): ([], *SEED),
    ("input", "file"): ([], "input", (0, 1, 1), 1.0),  # x.csv: the X
    ("input", "o"): ([], "input", (0, 1, 4), 1.0),  # the ring's top; X has -1 there
    ("input", "random"): (
        [],
        "input",
        (0, 5, 2),
        float(np.random.default_rng(0).uniform(-1, 1, (9, 9))[5, 2]),  # seed 0, [9, 9]
    ),
    ("input", "x"): ([], "input", (0, 4, 3), -1.0),
    # kernel 0 of each set on the X's top-left window; sums unless the set says mean
    ("kernels", "box"): ([], "conv", (0, 0, 0), -5 / 9),
    ("kernels", "edges"): ([], "conv", (2, 0, 0), -8.0),  # laplacian_4, the third kernel
    # kernel.csv, [[1, 2, 0], [0, -1, 3]], on X[:2, :3]; normalize=mean: / 6
    ("kernels", "file"): ([], "conv", (0, 0, 0), (-1 - 2 + 0 + 0 - 1 - 3) / 6),
    ("kernels", "gaussian"): ([], "conv", (0, 0, 0), -0.375),
    ("kernels", "identity"): ([], "conv", (0, 0, 0), 1.0),
    # laplacian_8: the 8 neighbours (-6) less 8 times the centre (+1)
    ("kernels", "laplacian"): ([], "conv", (1, 0, 0), -14.0),
    ("kernels", "prewitt"): ([], "conv", (0, 0, 0), 2.0),
    ("kernels", "random"): (
        [],
        "conv",
        (2, 0, 0),
        float((np.random.default_rng(0).uniform(-1, 1, (3, 3, 3))[2] * TOP_LEFT).sum() / 9),
    ),
    ("kernels", "roberts"): ([], "conv", (0, 0, 0), -2.0),
    ("kernels", "scharr"): ([], "conv", (0, 0, 0), 6.0),
    ("kernels", "sharpen"): ([], "conv", (0, 0, 0), 9.0),
    ("kernels", "sobel"): ([], "conv", (1, 0, 0), 2.0),  # sobel_y
    ("kernels", "xo"): ([], *SEED),
    # avg pool of conv[0, :2, :2]: relu first (classic) or not (seed)
    ("pipeline", "classic"): (["pool=avg"], "pool", (0, 0, 0), (7 + 9) / 36),
    ("pipeline", "seed"): (["pool=avg"], "pool", (0, 0, 0), (7 - 1 - 1 + 9) / 36),
    ("pipeline", "two_layer"): ([], "conv2", (0, 0, 0), _two_layer_conv2()),
    # conv[0, 6, 6] = 7/9 with the three zeros pool.pad=auto adds
    ("pool", "avg"): ([], "pool", (0, 3, 3), 7 / 36),
    ("pool", "max"): ([], "pool", (0, 3, 3), 7 / 9),
    ("activation", "elu"): ([], *_activation("elu", alpha=1.0)),
    ("activation", "gelu"): ([], *_activation("gelu", approximate="none")),
    ("activation", "identity"): ([], *_activation("identity")),
    ("activation", "leaky_relu"): ([], *_activation("leaky_relu", negative_slope=0.01)),
    ("activation", "relu"): ([], *_activation("relu")),
    ("activation", "sigmoid"): ([], *_activation("sigmoid")),
    ("activation", "softplus"): ([], *_activation("softplus", beta=1.0, threshold=20.0)),
    ("activation", "tanh"): ([], *_activation("tanh")),
}
FIGURE_MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-", "svg": b"<?xml"}


def test_every_option_has_a_probe():
    assert set(PROBES) == {o for o in group_options() if o[0] != "figures"}
    assert {o for g, o in group_options() if g == "figures"} == {*FIGURE_MAGIC, "none"}


@pytest.mark.parametrize(("group", "option"), [o for o in group_options() if o in PROBES])
def test_option_composes_runs_and_computes_its_value(make_config, group, option):
    extra, stage, index, value = PROBES[(group, option)]
    cfg = make_config(f"{group}={option}", *REQUIRED.get((group, option), []), *extra)
    assert cfg[group].name == option
    experiment = build_experiment(cfg)
    options = OmegaConf.to_container(cfg.backend)
    assert isinstance(options, dict)
    results = execute(experiment, get_backend(options.pop("name"), **options))
    found = np.asarray(results.arrays[stage][index])  # a lazy backend's (dask): computed
    assert found == pytest.approx(value, rel=1e-12, abs=1e-15)
    if group == "backend":  # the option's own backend ran, and gave numpy's numbers
        reference = execute(experiment, get_backend("numpy"))
        for name, array in reference.arrays.items():
            np.testing.assert_allclose(results.arrays[name], array, rtol=0, atol=1e-12)


@pytest.mark.parametrize("option", [*FIGURE_MAGIC, "none"])
def test_figures_option_writes_its_format(make_config, tmp_path, option):
    run_experiment(make_config(f"figures={option}", "print_matrices=false"), tmp_path)
    drawn = sorted((tmp_path / "figures").glob("*")) if (tmp_path / "figures").exists() else []
    if option == "none":
        assert drawn == []
        return
    assert {p.suffix for p in drawn} == {f".{option}"} and len(drawn) == 6
    assert (
        (tmp_path / "figures" / f"00_input.{option}").read_bytes().startswith(FIGURE_MAGIC[option])
    )


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
