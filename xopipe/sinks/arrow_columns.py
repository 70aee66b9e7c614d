"""Arrow columns made from NumPy buffers, so that writing tables never imports pandas.

pa.array() and pa.scalar() look for pandas objects in what they are given,
which imports pandas (what that costs a run is in docs/benchmarks.md,
"Speed tricks"). Everything that builds an Arrow column for xopipe's
tables (matrices.parquet, the CSV text, summary.parquet) builds it here,
from buffers, with the same result.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_ARROW_TYPES = {
    np.dtype(np.int32): pa.int32(),
    np.dtype(np.int64): pa.int64(),
    np.dtype(np.float64): pa.float64(),
}


def numeric_column(values: np.ndarray) -> pa.Array:
    """A zero-copy Arrow view of a contiguous 1-D array (what pa.array(values) makes)."""
    values = np.ascontiguousarray(values)
    return pa.Array.from_buffers(
        _ARROW_TYPES[values.dtype], len(values), [None, pa.py_buffer(values)]
    )


def repeated_string(text: str, n: int) -> pa.Array:
    """A string column of n copies of `text`, built from buffers (no Python loop)."""
    data = text.encode()
    offsets = np.arange(n + 1, dtype=np.int32) * len(data)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data * n)]
    )


def constant_column(value: object, arrow_type: pa.DataType, n: int) -> pa.Array:
    """n copies of one value (None: nulls) as an Arrow column."""
    if value is None:
        return pa.nulls(n, arrow_type)
    if pa.types.is_string(arrow_type):
        return repeated_string(str(value), n)
    if pa.types.is_boolean(arrow_type):
        bits = np.packbits(np.full(n, bool(value)), bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), n, [None, pa.py_buffer(bits)])
    dtype = {pa.int32(): np.int32, pa.int64(): np.int64, pa.float64(): np.float64}[arrow_type]
    return numeric_column(np.full(n, value, dtype=dtype))
