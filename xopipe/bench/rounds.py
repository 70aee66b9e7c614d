"""Timings in rounds: each implementation takes its turn on a case, round after round.

On a shared machine a slow spell lands on whichever implementation runs
then; taking turns spreads it over all of them, so a ratio's median holds,
and how far a ratio moves between rounds says whether to trust it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

import numpy as np

# A case whose ratio moves more than this between rounds is flagged.
STEADY = 0.20


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s" if seconds < 100 else f"{seconds:.0f} s"


@dataclass(frozen=True)
class Ratio:
    """An implementation's time over the reference's, round by round."""

    median: float
    low: float
    high: float

    @property
    def moved(self) -> float:
        """How far the ratio moved between rounds: highest over lowest, less one."""
        return self.high / self.low - 1

    def text(self, spec: str = ".2g") -> str:
        """Median, lowest-highest, each formatted with `spec`."""
        return f"{self.median:{spec}}, {self.low:{spec}}-{self.high:{spec}}"


def ratio(times: list[float], reference: list[float]) -> Ratio | None:
    """The per-round ratios' median and range (rounds where both were timed)."""
    per_round = [t / r for t, r in zip(times, reference, strict=False) if r > 0]
    if not per_round:
        return None
    return Ratio(float(np.median(per_round)), min(per_round), max(per_round))


def _time_case(
    suite: str, implementation: str, index: int, sizes: list[int], repeats: int, threads: int
) -> float | None:
    """One case's median time, in a fresh process: a case run after a 4096^2 one was
    seen to slow down by half (the allocator's state), whichever library ran it."""
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)  # every library gets the same number of threads
    command = [
        sys.executable,
        "-m",
        "xopipe.bench.timing",
        suite,
        implementation,
        str(repeats),
        str(index),
        *map(str, sizes),
    ]
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    seconds = json.loads(out.stdout)
    return next(iter(seconds.values()), None)  # None: not timed (the loop backend, large)


def time_in_rounds(
    suite: str,
    implementations: tuple[str, ...],
    case_names: list[str],
    sizes: list[int],
    repeats: int,
    threads: int,
    rounds: int,
) -> dict[str, dict[str, list[float]]]:
    """implementation -> case -> its median time in each round.

    Within a round every implementation times the case before the next case
    starts, in an order that rotates from round to round, so none always
    runs first.
    """
    times: dict[str, dict[str, list[float]]] = {
        impl: {name: [] for name in case_names} for impl in implementations
    }
    for round_ in range(rounds):
        shift = round_ % len(implementations)
        order = implementations[shift:] + implementations[:shift]
        for index, name in enumerate(case_names):
            for impl in order:
                seconds = _time_case(suite, impl, index, sizes, repeats, threads)
                if seconds is not None:
                    times[impl][name].append(seconds)
    return times
