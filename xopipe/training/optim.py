"""SGD as torch.optim.SGD does it: weight decay, then momentum, then the step."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from xopipe.config.train_schema import OptimConfig
from xopipe.errors import invalid

Parameters = dict[str, np.ndarray]


def check_optim(node: OptimConfig) -> None:
    if node.name != "sgd":
        raise invalid("optim.name", node.name, "sgd")
    if not node.lr > 0:
        raise invalid("optim.lr", node.lr, "a number > 0")
    if not 0 <= node.momentum < 1:
        raise invalid("optim.momentum", node.momentum, "a number in 0..1 (1 excluded)")
    if not node.weight_decay >= 0:
        raise invalid("optim.weight_decay", node.weight_decay, "a number >= 0")


class SGD:
    def __init__(self, node: OptimConfig, frozen: Collection[str] = ()) -> None:
        check_optim(node)
        self.lr, self.momentum, self.decay = node.lr, node.momentum, node.weight_decay
        self.frozen = frozenset(frozen)  # parameter names that never change
        self.buffers: Parameters = {}  # momentum, per parameter (torch's momentum_buffer)

    def step(self, params: Parameters, grads: Parameters) -> None:
        """Update `params` in place from `grads`, in each parameter's own dtype."""
        for name, value in params.items():
            if name in self.frozen:
                continue
            kind = value.dtype.type
            grad = grads[name]
            if self.decay:
                grad = grad + kind(self.decay) * value
            if self.momentum:
                previous = self.buffers.get(name)
                grad = grad.copy() if previous is None else kind(self.momentum) * previous + grad
                self.buffers[name] = grad
            params[name] = value - kind(self.lr) * grad
