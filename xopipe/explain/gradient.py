"""`explain=grad:stage:channel:row:col`: the chain rule for one cell's gradient, term by term.

dL/d a cell is the sum, over every cell that reads it, of dL/d that reader
times the reader's local derivative (a weight, 1 for a copy, 1 or 0 for a
pool's max, f'(x)), plus L's own term when L reads the stage directly. The
readers' gradients are the stored ones (as the forward explanation starts
from the stored input); the sum runs in the backward pass's order: L's term,
then the reading stages in reverse run order. The explorer page writes the
same text. On the loop backend the sum ends on the stored gradient bit for bit
(with zero padding: reflected copies are added there in another order).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from xopipe.errors import UserError
from xopipe.experiment import Experiment
from xopipe.ops import OPS
from xopipe.ops.explanation import CellRef
from xopipe.ops.routes import Route
from xopipe.ops.text import shape_text, show

PREFIX = "grad:"
FORMAT = "grad:stage:channel:row:col, e.g. grad:conv:0:1:2"
MAX_SUM_TERMS = 12  # a longer sum is written as its count


@dataclass
class Term:
    reader: str  # the stage that reads the cell, or "L"
    route: Route | None  # None for L's own term
    upstream: np.generic  # dL/d the reading cell (1 for L's term of a sum)
    product: np.generic


@dataclass
class GradientExplanation:
    cell: CellRef
    value: np.generic  # the sum, computed here in the run's dtype
    stored: np.generic  # what the backward pass wrote
    steps: list[str]
    terms: list[Term] = field(default_factory=list)


def is_gradient_cell(text: str | None) -> bool:
    return isinstance(text, str) and text.startswith(PREFIX)


def parse_gradient_cell(text: str, experiment: Experiment) -> CellRef:
    """`grad:stage:channel:row:col` (the stage may be `input`), checked against its shape."""
    if experiment.loss is None:
        raise UserError(f"explain={text} needs a loss to differentiate: add loss=sum or loss=mse")
    parts = text[len(PREFIX) :].rsplit(":", 3)
    if len(parts) != 4:
        raise UserError(f"explain must be {FORMAT}, got {text!r}")
    stage, *numbers = parts
    shapes = experiment.shapes
    if stage not in shapes:
        names = ", ".join(shapes)
        raise UserError(f"explain: the stage must be one of {names}, got {stage!r} in {text!r}")
    try:
        channel, row, col = (int(n) for n in numbers)
    except ValueError:
        raise UserError(f"explain must be {FORMAT} with whole numbers, got {text!r}") from None
    shape = shapes[stage]
    if not all(0 <= n < size for n, size in zip((channel, row, col), shape, strict=True)):
        raise UserError(
            f"explain: {stage} is {shape_text(shape)}, so channel must be 0..{shape[0] - 1}, "
            f"row 0..{shape[1] - 1} and col 0..{shape[2] - 1}; got {text!r}"
        )
    return CellRef(stage, channel, row, col)


def explain_gradient(
    cell: CellRef,
    experiment: Experiment,
    arrays: dict[str, np.ndarray],
    gradients: dict[str, np.ndarray],
) -> GradientExplanation:
    """dL/d `cell` again, from the stored gradients of the cells that read it."""
    loss = experiment.loss
    assert loss is not None, "a gradient's explanation needs the run's loss"
    dtype = experiment.dtype
    name, index = cell.stage, (cell.channel, cell.row, cell.col)
    grad = f"dL/d{cell}"
    steps = [
        f"explain {grad}: {name} [{shape_text(arrays[name].shape)}] holds "
        f"{show(arrays[name][index])} there; L = {loss.kind} of {', '.join(loss.stages)}"
    ]
    terms: list[Term] = []
    if name in loss.stages:
        terms.append(_loss_term(experiment, arrays, cell))
        steps.append(f"  L reads it directly: {_loss_text(experiment, arrays, cell, terms[-1])}")
    readers = [
        s for s in reversed(experiment.pipeline.order) if experiment.stages[s].spec.input == name
    ]
    partials = []
    for reader in readers:
        stage = experiment.stages[reader]
        op = OPS[stage.spec.op]
        assert op.routes is not None, f"op {op.name} explains no gradient"
        routes = op.routes(cell, stage.params, arrays[name], stage.shape, dtype)
        count = "1 cell" if len(routes) == 1 else f"{len(routes)} cells"
        steps.append(f"  {reader} [{shape_text(stage.shape)}] reads it in {count}:")
        partial = dtype.type(0)
        for route in routes:
            upstream = gradients[reader][route.out]
            product = route.times(upstream)
            partial = dtype.type(partial + product)
            terms.append(Term(reader, route, upstream, product))
            out = CellRef(reader, *route.out)
            steps.append(
                f"    {out}: {route.why};  dL/d{out} = {show(upstream)}, "
                f"{route.factor_text()} = {show(product)}"
            )
        partials.append(partial)
    value = terms[0].product if terms and terms[0].route is None else dtype.type(0)
    for partial in partials:
        value = dtype.type(value + partial)
    if not terms:
        steps.append("  no stage reads it and L does not: its gradient is 0")
    else:
        # One term is the gradient itself: "= 1.0 = 1.0" would say it twice.
        summed = "" if len(terms) == 1 else f"{_sum_text(terms)} = "
        steps.append(f"  {grad} = {summed}{show(value)}")
    stored = gradients[name][index]
    identical = bool(value == stored)
    difference = abs(float(value) - float(stored))
    verdict = (
        "identical, bit for bit"
        if identical
        else f"differs by {difference:.3g}: this backend adds in another order"
    )
    steps.append(f"stored {grad} = {show(stored)}  ({verdict})")
    return GradientExplanation(cell, value, stored, steps, terms)


def _loss_term(experiment: Experiment, arrays: dict[str, np.ndarray], cell: CellRef) -> Term:
    loss = experiment.loss
    assert loss is not None
    dtype = experiment.dtype
    one = dtype.type(1)
    if loss.kind == "sum":
        return Term("L", None, one, one)
    out = arrays[cell.stage]
    index = (cell.channel, cell.row, cell.col)
    target = loss.targets[cell.stage][index]
    scale = dtype.type(2.0 / out.size)
    return Term("L", None, one, dtype.type((out[index] - target) * scale))


def _loss_text(
    experiment: Experiment, arrays: dict[str, np.ndarray], cell: CellRef, term: Term
) -> str:
    loss = experiment.loss
    assert loss is not None
    if loss.kind == "sum":
        return f"sum, so dL/d{cell} gets 1"
    out = arrays[cell.stage]
    index = (cell.channel, cell.row, cell.col)
    target = loss.targets[cell.stage][index]
    return (
        f"mse, 2 × (y − target) / n = 2 × ({show(out[index])} − {show(target)}) / {out.size} "
        f"= {show(term.product)}"
    )


def _sum_text(terms: list[Term]) -> str:
    if len(terms) > MAX_SUM_TERMS:
        return f"the sum of its {len(terms)} terms"
    return " + ".join(show(term.product) for term in terms)


__all__ = [
    "FORMAT",
    "GradientExplanation",
    "explain_gradient",
    "is_gradient_cell",
    "parse_gradient_cell",
]
