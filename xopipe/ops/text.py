"""How explanations and descriptions write numbers, grids, shapes and activation formulas.

The explorer page (xopipe/html/explain_numbers.js) writes the same text with the
same rules, so a number here is the shortest text that reads back as the
same value and a grid is a plain right-aligned block of such numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np


def show(value: Any) -> str:
    """A number at full precision: the shortest text that reads back as the same value."""
    if isinstance(value, np.generic):
        return str(value)  # numpy's shortest round-trip text in the value's own dtype
    return repr(value)


def show_grid(grid: np.ndarray, indent: str = "    ") -> str:
    """A 2-D grid, every number in full, right-aligned, in numpy-style brackets."""
    texts = [[show(v) for v in row] for row in grid]
    width = max((len(t) for row in texts for t in row), default=0)
    lines = []
    for i, row in enumerate(texts):
        body = "  ".join(t.rjust(width) for t in row)
        opening = "[[" if i == 0 else " ["
        closing = "]]" if i == len(texts) - 1 else "]"
        lines.append(f"{indent}{opening}{body}{closing}")
    return "\n".join(lines)


def shape_text(shape: Iterable[int]) -> str:
    return "×".join(str(n) for n in shape)


def span_text(first: int, count: int, step: int) -> str:
    """Indices first, first+step, ... as `a..b every s`."""
    last = first + (count - 1) * step
    every = f" every {step}" if step > 1 else ""
    return f"{first}..{last}{every}" if count > 1 else str(first)


def number_text(value: float) -> str:
    return f"{value:.4g}"


def formula_of(name: str, p: Any) -> str:
    """The activation `name` as a formula in x, with its parameters filled in."""
    formulas = {
        "relu": "max(x, 0)",
        "leaky_relu": f"x if x > 0 else {number_text(float(p.get('negative_slope', 0)))}·x",
        "elu": f"x if x > 0 else {number_text(float(p.get('alpha', 1)))}·(exp(x) − 1)",
        "gelu": (
            "x·Φ(x) = 0.5·x·(1 + erf(x/√2))"
            if p.get("approximate") != "tanh"
            else "0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))"
        ),
        "sigmoid": "1 / (1 + exp(−x))",
        "tanh": "tanh(x)",
        "softplus": (
            f"log(1 + exp({number_text(float(p.get('beta', 1)))}·x)) / "
            f"{number_text(float(p.get('beta', 1)))}"
        ),
        "identity": "x",
    }
    return formulas.get(name, name)
