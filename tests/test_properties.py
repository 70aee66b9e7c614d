"""Property-based conformance: any combination runs as PyTorch does, or stops as PyTorch does.

Each example draws a configuration (shapes, kernel size, stride, padding in
every mode, dilation, groups, channels, pool settings, activations), runs it
through xopipe's ops on every backend, and through torch.nn modules as the
oracle. Either both succeed with the same numbers and the shape the
conv-arithmetic formula gives, or both refuse (xopipe with a UserError).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xopipe.backends import Backend, get_backend
from xopipe.errors import UserError
from xopipe.kernels import KernelSet
from xopipe.ops import OPS, StageConfig

BACKENDS = ["loop", "numpy", "torch"]
TOL = {"float64": 1e-10, "float32": 2e-4}

# How many examples: the profile decides (tests/conftest.py); `--hypothesis-profile=explore`
# searches much wider than the fixed set CI replays.
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _keyof(op: str):
    return lambda key: f"{op}.{key}"


def _run_ours(op: str, node: dict, x: np.ndarray, backend: str | Backend):
    """xopipe's answer: (array, shape) or the UserError it raised.

    The array crosses to the backend and back once, as in a pipeline.

    The node's keys become attributes, as the op's typed config node has them;
    a conv's `kernels` goes where a pipeline puts a stage's weights.
    """
    settings = {k: v for k, v in node.items() if k != "kernels"}
    stage = StageConfig(SimpleNamespace(**settings), _keyof(op), x.dtype, node.get("kernels"))
    try:
        params = OPS[op].prepare(stage)
        shape = OPS[op].output_shape(x.shape, params)
    except UserError as error:
        return error
    chosen = get_backend(backend) if isinstance(backend, str) else backend
    return chosen.to_host(OPS[op].run(chosen, chosen.to_backend(x), params)), shape


def _run_oracle(compute):
    """torch's answer, or the exception it raised for an impossible combination."""
    try:
        with torch.no_grad():
            return compute()
    except (RuntimeError, ValueError) as error:
        return error


def _agree(ours, theirs, dtype: str) -> None:
    if isinstance(theirs, Exception) or isinstance(ours, UserError):
        assert isinstance(ours, UserError), f"torch refused ({theirs}) but xopipe ran"
        assert isinstance(theirs, Exception), f"xopipe refused ({ours}) but torch ran"
        return
    got, shape = ours
    assert got.shape == shape == theirs.shape
    np.testing.assert_allclose(got, theirs, rtol=TOL[dtype], atol=TOL[dtype])


@st.composite
def conv_cases(draw):
    groups = draw(st.integers(1, 3))
    channels = groups * draw(st.integers(1, 2))
    kernels = groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    height, width = draw(st.integers(1, 11)), draw(st.integers(1, 11))
    stride = draw(st.one_of(st.integers(1, 3), st.lists(st.integers(1, 3), min_size=2, max_size=2)))
    dilation = draw(
        st.one_of(st.integers(1, 3), st.lists(st.integers(1, 3), min_size=2, max_size=2))
    )
    padding = draw(
        st.one_of(
            st.integers(0, 3),
            st.lists(st.integers(0, 3), min_size=2, max_size=2),
            st.sampled_from(["same", "valid"]),
        )
    )
    return {
        "groups": groups,
        "channels": channels,
        "kernels": kernels,
        "size": (kh, kw),
        "input": (height, width),
        "stride": stride,
        "dilation": dilation,
        "padding": padding,
        "padding_mode": draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"])),
        "normalize": draw(st.sampled_from(["mean", "none"])),
        "flip": draw(st.booleans()),
        "negative": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**16)),
        "dtype": draw(st.sampled_from(["float64", "float32"])),
    }


def conv_example(case):
    """The input, weights, bias and conv node a drawn case describes."""
    rng = np.random.default_rng(case["seed"])
    dtype = np.dtype(case["dtype"])
    x = rng.uniform(-1, 1, (case["channels"], *case["input"]))
    if case["negative"]:
        x = -np.abs(x) - 0.1
    x = x.astype(dtype)
    weight = rng.uniform(
        -1, 1, (case["kernels"], case["channels"] // case["groups"], *case["size"])
    )
    bias = rng.uniform(-1, 1, case["kernels"])
    node = {
        "kernels": KernelSet(weight, tuple(f"k{i}" for i in range(len(weight)))),
        "bias": bias.tolist(),
        **{
            k: case[k]
            for k in (
                "stride",
                "padding",
                "dilation",
                "padding_mode",
                "groups",
                "normalize",
                "flip",
            )
        },
    }
    return x, weight, bias, node


def _conv_oracle(case, x, weight, bias):
    c = case
    module = nn.Conv2d(
        c["channels"],
        c["kernels"],
        c["size"],
        stride=c["stride"],
        padding=c["padding"],
        dilation=c["dilation"],
        groups=c["groups"],
        bias=True,
        padding_mode=c["padding_mode"],
        dtype=torch.float64 if x.dtype == np.float64 else torch.float32,
    )
    kernel = torch.from_numpy(weight)
    module.weight.copy_(kernel.flip(-1, -2) if c["flip"] else kernel)
    if c["normalize"] == "none":
        module.bias.copy_(torch.from_numpy(bias))
        return module(torch.from_numpy(x)[None])[0].numpy()
    module.bias.zero_()
    count = weight.shape[1] * weight.shape[2] * weight.shape[3]
    out = module(torch.from_numpy(x)[None])[0] / count + torch.from_numpy(bias)[:, None, None]
    return out.numpy()


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")  # the oracle's
@pytest.mark.parametrize("backend", BACKENDS)
@SETTINGS
@given(case=conv_cases())
def test_conv_matches_torch_or_both_refuse(backend, case):
    x, weight, bias, node = conv_example(case)
    dtype = x.dtype
    ours = _run_ours("conv", node, x, backend)
    theirs = _run_oracle(lambda: _conv_oracle(case, x, weight.astype(dtype), bias.astype(dtype)))
    _agree(ours, theirs, case["dtype"])
    if not isinstance(ours, UserError) and isinstance(case["padding"], (int, list)):
        # The conv-arithmetic formula, per dimension.
        (h, w), (sh, sw) = case["input"], _pair(case["stride"])
        (ph, pw), (dh, dw), (kh, kw) = _pair(case["padding"]), _pair(case["dilation"]), case["size"]
        assert ours[1][1] == (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        assert ours[1][2] == (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1


@st.composite
def pool_cases(draw):
    kind = draw(st.sampled_from(["max", "avg"]))
    size = draw(st.one_of(st.integers(1, 4), st.lists(st.integers(1, 4), min_size=2, max_size=2)))
    return {
        "name": kind,
        "size": size,
        "stride": draw(st.one_of(st.none(), st.integers(1, 4))),
        "padding": draw(st.integers(0, 2)),
        "dilation": draw(st.integers(1, 2)) if kind == "max" else 1,
        "ceil_mode": draw(st.booleans()),
        "count_include_pad": draw(st.booleans()),
        # Explicit zero fill [left, right, top, bottom], or none (pool.pad=0).
        "pad": draw(st.one_of(st.just(0), st.lists(st.integers(0, 2), min_size=4, max_size=4))),
        "input": (draw(st.integers(1, 3)), draw(st.integers(1, 10)), draw(st.integers(1, 10))),
        "negative": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**16)),
        "dtype": draw(st.sampled_from(["float64", "float32"])),
    }


def pool_example(case):
    """The input and pool node a drawn case describes."""
    rng = np.random.default_rng(case["seed"])
    x = rng.uniform(-1, 1, case["input"])
    if case["negative"]:  # all-negative edge windows: zero fill and -inf padding differ here
        x = -np.abs(x) - 0.1
    x = x.astype(case["dtype"])
    keys = (
        "name",
        "size",
        "stride",
        "pad",
        "padding",
        "dilation",
        "ceil_mode",
        "count_include_pad",
    )
    return x, {k: case[k] for k in keys}


def _pool_oracle(case, x):
    fill = (case["pad"],) * 4 if isinstance(case["pad"], int) else tuple(case["pad"])
    batch = nn.ZeroPad2d(fill)(torch.from_numpy(x)[None])
    stride = case["stride"] if case["stride"] is not None else case["size"]
    if case["name"] == "max":
        module = nn.MaxPool2d(
            case["size"], stride, case["padding"], case["dilation"], ceil_mode=case["ceil_mode"]
        )
    else:
        module = nn.AvgPool2d(
            case["size"],
            stride,
            case["padding"],
            ceil_mode=case["ceil_mode"],
            count_include_pad=case["count_include_pad"],
        )
    return module(batch)[0].numpy()


@pytest.mark.parametrize("backend", BACKENDS)
@SETTINGS
@given(case=pool_cases())
def test_pool_matches_torch_or_both_refuse(backend, case):
    x, node = pool_example(case)
    ours = _run_ours("pool", node, x, backend)
    _agree(ours, _run_oracle(lambda: _pool_oracle(case, x)), case["dtype"])


@given(n=st.integers(1, 40), size=st.integers(1, 6), stride=st.integers(1, 6))
def test_auto_fill_is_the_smallest_that_tiles(n, size, stride):
    from xopipe.geometry import auto_pool_fill

    fill = auto_pool_fill(n, size, stride)
    tiles = [p for p in range(size + stride) if n + p >= size and (n + p - size) % stride == 0]
    assert fill == min(tiles)


ACTIVATION_CASES = st.one_of(
    st.tuples(st.sampled_from(["relu", "sigmoid", "tanh", "identity"]), st.just({})),
    st.tuples(st.just("leaky_relu"), st.fixed_dictionaries({"negative_slope": st.floats(-2, 2)})),
    st.tuples(st.just("elu"), st.fixed_dictionaries({"alpha": st.floats(0, 3)})),
    st.tuples(
        st.just("gelu"), st.fixed_dictionaries({"approximate": st.sampled_from(["none", "tanh"])})
    ),
    st.tuples(
        st.just("softplus"),
        st.fixed_dictionaries({"beta": st.floats(0.1, 4), "threshold": st.floats(0.5, 30)}),
    ),
)


def activation_example(case, scale, seed, dtype):
    """The input and activation node a drawn case describes."""
    name, params = case
    x = (np.random.default_rng(seed).uniform(-1, 1, (2, 4, 5)) * scale).astype(dtype)
    return x, {"name": name, **params}


ORACLES = {
    "relu": lambda t, p: F.relu(t),
    "sigmoid": lambda t, p: torch.sigmoid(t),
    "tanh": lambda t, p: torch.tanh(t),
    "identity": lambda t, p: t,
    "leaky_relu": lambda t, p: F.leaky_relu(t, p["negative_slope"]),
    "elu": lambda t, p: F.elu(t, p["alpha"]),
    "gelu": lambda t, p: F.gelu(t, approximate=p["approximate"]),
    "softplus": lambda t, p: F.softplus(t, p["beta"], p["threshold"]),
}


@pytest.mark.parametrize("backend", BACKENDS)
@SETTINGS
@given(
    case=ACTIVATION_CASES,
    scale=st.floats(0.1, 50),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from(["float64", "float32"]),
)
def test_activation_matches_torch(backend, case, scale, seed, dtype):
    x, node = activation_example(case, scale, seed, dtype)
    name, params = case
    ours = _run_ours("activation", node, x, backend)
    _agree(ours, ORACLES[name](torch.from_numpy(x), params).numpy(), dtype)
