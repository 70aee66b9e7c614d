"""pad's backward on every backend: each copied cell's gradient goes back to its source.

Drawn pads in every mode (constant, reflect, replicate, circular) against
torch.autograd through F.pad; where a reflect or circular pad is too large
for the input, xopipe refuses the stage as torch refuses the call.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from tests.backward_cases import Compared, assert_close, autograd, run_backward
from tests.property_cases import GRADIENT_BACKENDS, REFUSED_MIN, SETTINGS
from xopipe.config.vocabulary import PAD_MODES
from xopipe.errors import UserError


@st.composite
def pad_cases(draw):
    rows, cols = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    mode = draw(st.sampled_from(PAD_MODES))
    if draw(st.sampled_from([True] * 5 + [False])):  # mostly pads the mode allows
        most_h = rows - 1 if mode == "reflect" else rows if mode == "circular" else 4
        most_w = cols - 1 if mode == "reflect" else cols if mode == "circular" else 4
        pads = [draw(st.integers(0, most_w)) for _ in range(2)]
        pads += [draw(st.integers(0, most_h)) for _ in range(2)]
    else:  # reflect or circular past what they allow somewhere: both sides refuse
        mode = draw(st.sampled_from(["reflect", "circular"]))
        pads = draw(st.lists(st.integers(0, 7), min_size=4, max_size=4))
        side = draw(st.integers(0, 3))
        pads[side] = max(pads[side], (cols if side < 2 else rows) + 1)
    return {
        "input": (draw(st.integers(1, 3)), rows, cols),
        "pads": pads,
        "mode": mode,
        "value": draw(st.floats(-2, 2)),
        "seed": draw(st.integers(0, 2**16)),
        "dtype": draw(st.sampled_from(["float64", "float32"])),
    }


@pytest.mark.parametrize("backend", GRADIENT_BACKENDS)
def test_pad_backward_matches_autograd(backend):
    tally = Compared()

    @SETTINGS
    @given(case=pad_cases())
    def check(case):
        x = np.random.default_rng(case["seed"]).uniform(-1, 1, case["input"])
        x = x.astype(case["dtype"])
        node = {"pads": case["pads"], "value": case["value"], "mode": case["mode"]}
        ours = run_backward("pad", node, x, backend, case["seed"])
        kwargs = {"value": case["value"]} if case["mode"] == "constant" else {}
        theirs = autograd(
            lambda t: F.pad(t[None], tuple(case["pads"]), mode=case["mode"], **kwargs)[0],
            [x],
            ours.grad_y if not isinstance(ours, UserError) else np.zeros(1),
        )
        tally.note(case, refused=isinstance(ours, UserError))
        if isinstance(ours, UserError):
            assert isinstance(theirs, Exception), f"xopipe refused ({ours}) but torch ran"
            return
        assert not isinstance(theirs, Exception), f"torch refused ({theirs}) but xopipe ran"
        assert_close(ours.grad_x, theirs[0], case["dtype"], case["mode"])

    check()
    tally.check(refused_at_least=REFUSED_MIN)


def test_a_reflected_cell_gathers_every_copy():
    """Row [a b c] reflected by 2 on each side is [c b a b c b a]: a and c each gather two
    cells' gradient, b three (its own and two copies)."""
    x = np.array([[[1.0, 2.0, 3.0]]])
    node = {"pads": [2, 2, 0, 0], "value": 0.0, "mode": "reflect"}
    for backend in GRADIENT_BACKENDS:
        ours = run_backward("pad", node, x, backend, 0)
        g = ours.grad_y[0, 0]
        expected = [g[2] + g[6], g[1] + g[3] + g[5], g[0] + g[4]]
        np.testing.assert_allclose(ours.grad_x[0, 0], expected, rtol=1e-15, err_msg=backend)
