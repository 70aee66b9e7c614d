"""The property tests' cases and oracle: drawn configurations, run by xopipe and by torch.

Each case (shapes, kernel size, stride, padding in every mode, dilation,
groups, channels, pool settings, activations) becomes an input and an op's
node; xopipe runs it on a backend, torch.nn as the oracle. Either both succeed
with the same numbers, or both refuse (xopipe with a UserError). Used by
test_properties_*.py, test_gpu.py and test_explorer_engine.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from xopipe.backends import BACKENDS as REGISTERED
from xopipe.backends import FORWARD_ONLY, Backend, get_backend
from xopipe.errors import UserError
from xopipe.kernels import KernelSet
from xopipe.ops import OPS, StageConfig

BACKENDS = list(REGISTERED)  # every registered backend, a new one included
GRADIENT_BACKENDS = [name for name in BACKENDS if name not in FORWARD_ONLY]  # with a backward
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
    return chosen.to_host(OPS[op].forward(chosen, chosen.to_backend(x), params)), shape


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


# Most draws are built to run, so that each property test compares numbers in most of
# its examples; the others are drawn freely, and often both sides refuse them.
FITS = st.sampled_from([True, True, True, False])
# Each conv and pool property test compares numbers in at least 75% of the examples
# the profile draws (75 of the replay profile's 100; 90 and 88 are), and sees both
# sides refuse a few.
COMPARED_SHARE, REFUSED_MIN = 0.75, 5


class Tally:
    """The distinct examples a property test compared numerically, and those refused."""

    def __init__(self) -> None:
        self.compared: set[str] = set()
        self.refused: set[str] = set()

    def note(self, case: dict, ours) -> None:
        (self.refused if isinstance(ours, UserError) else self.compared).add(repr(case))

    def check(self) -> None:
        least = int(COMPARED_SHARE * settings.default.max_examples)
        counts = f"{len(self.compared)} compared, {len(self.refused)} refused"
        assert len(self.compared) >= least, f"{counts}; at least {least} must be compared"
        assert len(self.refused) >= REFUSED_MIN, f"{counts}; refusals are not exercised"


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


@st.composite
def conv_cases(draw):
    groups = draw(st.integers(1, 3))
    channels = groups * draw(st.integers(1, 2))
    kernels = groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
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
    if draw(FITS):  # an input the dilated kernel fits once padded, and larger than the padding
        (dh, dw), pads = _pair(dilation), _pair(0 if isinstance(padding, str) else padding)
        low_h = max(pads[0] + 1, dh * (kh - 1) + 1 - 2 * pads[0])
        low_w = max(pads[1] + 1, dw * (kw - 1) + 1 - 2 * pads[1])
        stride = 1 if padding == "same" else stride  # torch's rule for 'same'
        height, width = draw(st.integers(low_h, low_h + 8)), draw(st.integers(low_w, low_w + 8))
    else:
        height, width = draw(st.integers(1, 11)), draw(st.integers(1, 11))
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


@st.composite
def pool_cases(draw):
    kind = draw(st.sampled_from(["max", "avg"]))
    size = draw(st.one_of(st.integers(1, 4), st.lists(st.integers(1, 4), min_size=2, max_size=2)))
    dilation = draw(st.integers(1, 2)) if kind == "max" else 1
    if draw(FITS):  # padding at most half the window (torch's rule), a map the window fits
        padding = draw(st.integers(0, min(_pair(size)) // 2))
        low_h, low_w = (dilation * (n - 1) + 1 for n in _pair(size))
        rows, cols = draw(st.integers(low_h, low_h + 7)), draw(st.integers(low_w, low_w + 7))
    else:
        padding = draw(st.integers(0, 2))
        rows, cols = draw(st.integers(1, 10)), draw(st.integers(1, 10))
    return {
        "name": kind,
        "size": size,
        "stride": draw(st.one_of(st.none(), st.integers(1, 4))),
        "padding": padding,
        "dilation": dilation,
        "ceil_mode": draw(st.booleans()),
        "count_include_pad": draw(st.booleans()),
        # Explicit zero fill [left, right, top, bottom], or none (pool.pad=0).
        "pad": draw(st.one_of(st.just(0), st.lists(st.integers(0, 2), min_size=4, max_size=4))),
        "input": (draw(st.integers(1, 3)), rows, cols),
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

# torch's own functions for each activation: the oracle, never xopipe's code.
ACTIVATION_ORACLES = {
    "relu": lambda t, p: F.relu(t),
    "sigmoid": lambda t, p: torch.sigmoid(t),
    "tanh": lambda t, p: torch.tanh(t),
    "identity": lambda t, p: t,
    "leaky_relu": lambda t, p: F.leaky_relu(t, p["negative_slope"]),
    "elu": lambda t, p: F.elu(t, p["alpha"]),
    "gelu": lambda t, p: F.gelu(t, approximate=p["approximate"]),
    "softplus": lambda t, p: F.softplus(t, p["beta"], p["threshold"]),
}


def activation_example(case, scale, seed, dtype):
    """The input and activation node a drawn case describes."""
    name, params = case
    x = (np.random.default_rng(seed).uniform(-1, 1, (2, 4, 5)) * scale).astype(dtype)
    return x, {"name": name, **params}
