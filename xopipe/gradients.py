"""What the backward pass returns: dL/d every array and weight of a run, and L itself."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from xopipe.loss import Loss


@dataclass(frozen=True)
class WeightGradient:
    """dL/d one stage's stored weights (before conv's /9), as NumPy: shaped as its Weights."""

    weight: np.ndarray  # [K, C, kh, kw]
    bias: np.ndarray  # [K]


@dataclass
class Gradients:
    loss: Loss
    value: float  # L, float64
    arrays: dict[str, np.ndarray]  # dL/d `input`, then dL/d every stage's output, in run order
    weights: dict[str, WeightGradient]  # for every stage that holds weights
    seconds: dict[str, float] = field(default_factory=dict)  # each stage's backward step

    def facts(self) -> dict:
        """For the manifest: the loss's kind, stages and value."""
        return self.loss.facts(self.value)
