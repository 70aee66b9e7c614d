"""`python -m xopipe.train [overrides]`: train the pipeline's kernels (xopipe/training/).

`xopipe.train(*overrides)` trains from Python; this module is callable as that
function too, so importing it (`import xopipe.train`) does not shadow it.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallableModule(types.ModuleType):
    def __call__(self, *overrides: str, **options: Any) -> Any:
        from xopipe.api_training import train

        return train(*overrides, **options)


sys.modules[__name__].__class__ = _CallableModule

if __name__ == "__main__":
    from xopipe.training.app import main

    main()
