"""The forward property strategies replayed on backend=dask, against the NumPy backend.

Every drawn case (tests/property_cases.py) runs twice: on the NumPy backend
and on a dask backend with chunks of 5 to 8 cells a side, so that windows,
halos, strides, dilations, paddings and pool windows cross chunk edges in
every way the strategies reach. Both refuse, or both give the same numbers
within 1e-12 (float64). Used by test_dask_chunks.py (the local scheduler) and
test_dask_cluster.py (a dask.distributed cluster).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tests.property_cases import (
    ACTIVATION_CASES,
    SETTINGS,
    Tally,
    _run_ours,
    activation_example,
    conv_cases,
    conv_example,
    pool_cases,
    pool_example,
)
from xopipe.backends import Backend
from xopipe.errors import UserError

TOL = 1e-12
CHUNKS = st.integers(5, 8)
MakeBackend = Callable[[int], Backend]  # chunks -> a dask backend


class Crossings(Tally):
    """A Tally that also counts the compared cases whose input spans several chunks."""

    def __init__(self) -> None:
        super().__init__()
        self.crossing: set[str] = set()

    def note_input(self, case: dict, ours, x: np.ndarray, chunks: int) -> None:
        self.note(case, ours)
        if not isinstance(ours, UserError) and max(x.shape[1:]) > chunks:
            self.crossing.add(repr(case))

    def check(self, share: float = 0.5) -> None:
        super().check()
        assert len(self.crossing) >= share * len(self.compared), (
            f"only {len(self.crossing)} of {len(self.compared)} compared cases cross a chunk edge"
        )


def agree(ours, theirs) -> None:
    """Both refused, or the same shape and numbers within TOL."""
    if isinstance(ours, UserError) or isinstance(theirs, UserError):
        assert isinstance(ours, UserError), f"numpy refused ({theirs}) but dask ran"
        assert isinstance(theirs, UserError), f"dask refused ({ours}) but numpy ran"
        return
    (got, shape), (want, want_shape) = ours, theirs
    assert shape == want_shape == got.shape == want.shape
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=TOL, atol=TOL)


def _both(op: str, node: dict, x: np.ndarray, backend: Backend):
    ours = _run_ours(op, node, x, backend)
    agree(ours, _run_ours(op, node, x, "numpy"))
    return ours


def replay_conv(make: MakeBackend) -> Crossings:
    tally = Crossings()

    @SETTINGS
    @given(case=conv_cases(), chunks=CHUNKS)
    def check(case, chunks):
        x, _, _, node = conv_example({**case, "dtype": "float64"})
        ours = _both("conv", node, x, make(chunks))
        tally.note_input({**case, "chunks": chunks}, ours, x, chunks)

    check()
    tally.check()
    return tally


def replay_pool(make: MakeBackend) -> Crossings:
    tally = Crossings()

    @SETTINGS
    @given(case=pool_cases(), chunks=CHUNKS)
    def check(case, chunks):
        x, node = pool_example({**case, "dtype": "float64"})
        ours = _both("pool", node, x, make(chunks))
        tally.note_input({**case, "chunks": chunks}, ours, x, chunks)

    check()
    tally.check(share=0.3)  # small windows fit small maps: fewer cross
    return tally


def replay_activation(make: MakeBackend) -> int:
    """Activations are cell by cell: the 2x4x5 example tiled to 2x12x15 crosses chunks."""
    compared: set[str] = set()

    @SETTINGS
    @given(
        case=ACTIVATION_CASES,
        scale=st.floats(0.1, 50),
        seed=st.integers(0, 2**16),
        chunks=CHUNKS,
    )
    def check(case, scale, seed, chunks):
        x, node = activation_example(case, scale, seed, "float64")
        x = np.tile(x, (1, 3, 3))
        ours = _both("activation", node, x, make(chunks))
        assert not isinstance(ours, UserError)
        compared.add(repr((case, scale, seed, chunks)))

    check()
    assert len(compared) >= 75, len(compared)
    return len(compared)


PAD_CASES = st.fixed_dictionaries(
    {
        "pads": st.lists(st.integers(0, 4), min_size=4, max_size=4),
        "mode": st.sampled_from(["constant", "reflect", "replicate", "circular"]),
        "value": st.floats(-2, 2),
        "input": st.tuples(st.integers(1, 3), st.integers(1, 14), st.integers(1, 14)),
        "seed": st.integers(0, 2**16),
    }
)


def replay_pad(make: MakeBackend) -> Crossings:
    """pad's own stage: global reflect, replicate and circular copies, never a chunk's."""
    tally = Crossings()

    @SETTINGS
    @given(case=PAD_CASES, chunks=CHUNKS)
    def check(case, chunks):
        x = np.random.default_rng(case["seed"]).uniform(-1, 1, case["input"])
        node = {"pads": case["pads"], "mode": case["mode"], "value": case["value"]}
        ours = _both("pad", node, x, make(chunks))
        tally.note_input({**case, "chunks": chunks}, ours, x, chunks)

    check()
    tally.check(share=0.3)
    return tally
