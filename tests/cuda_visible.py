"""A pytest plugin: torch reports a CUDA device, as it does on a GPU machine.

`pytest -p tests.cuda_visible ...` loads it before any test module is
imported, so skip conditions read the machine this way; nothing can run on
the device, since torch still has none to give.
"""

from __future__ import annotations

import torch

torch.cuda.is_available = lambda: True  # type: ignore[assignment]
