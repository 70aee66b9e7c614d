"""Arrow's compute functions called by name, without importing pyarrow.compute.

Importing pyarrow.compute generates a Python wrapper and docstring for each
of Arrow's several hundred functions, a visible share of a short run that
uses three (cast, binary_join, dictionary_encode) by name (measured in
docs/benchmarks.md, "Speed tricks"). Those calls need only
`call_function` and `CastOptions`, which pyarrow.compute re-exports from the
compiled pyarrow._compute. Public path (another pyarrow release, or
XOPIPE_PUBLIC_API=1): the same two names from pyarrow.compute.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pyarrow as pa

from xopipe.private_api import public_api_forced

# pyarrow major releases the compiled module was used with and tested against.
TESTED_PYARROW = ("26.",)


def compute_module() -> ModuleType:
    """pyarrow._compute where it was tested, pyarrow.compute elsewhere."""
    if not public_api_forced() and pa.__version__.startswith(TESTED_PYARROW):
        import pyarrow._compute as compiled

        return compiled
    import pyarrow.compute as public

    return public


def call_function(name: str, args: list[Any], options: Any = None) -> Any:
    """Arrow's compute function `name` on `args` (pyarrow.compute.call_function)."""
    return compute_module().call_function(name, args, options)


def cast_options(target: pa.DataType) -> Any:
    """Options for a safe cast to `target` (pyarrow.compute.CastOptions)."""
    return compute_module().CastOptions(target)
