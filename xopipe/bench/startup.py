"""Start-up: whole processes of xopipe against a trivial Hydra app and bare imports."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from xopipe.bench.rounds import STEADY, format_seconds, ratio
from xopipe.bench.system import QUIET, median_walls

# Hydra's own floor: the smallest @hydra.main app that imports what a run
# imports, started the same way (installed plugins scanned, .hydra/ written).
TRIVIAL_HYDRA_APP = """
from dataclasses import dataclass

import hydra
import numpy
import pyarrow.parquet
from hydra.core.config_store import ConfigStore


@dataclass
class Config:
    name: str = "trivial"


ConfigStore.instance().store(name="config", node=Config)


@hydra.main(version_base="1.3", config_name="config")
def main(cfg):
    print(cfg.name)


main()
"""


def startup(repeats: int) -> dict[str, float]:
    """Seconds for a bare import of what a run needs, a trivial Hydra app, and seed runs."""
    python = sys.executable
    commands = {
        "trivial @hydra.main app (hydra, numpy, pyarrow.parquet)": [
            python,
            "-c",
            TRIVIAL_HYDRA_APP,
        ],
        "bare import (hydra, numpy, pyarrow.parquet)": [
            python,
            "-c",
            "import hydra, numpy, pyarrow.parquet",
        ],
        "bare python": [python, "-c", "pass"],
        "matplotlib.pyplot import (Agg)": [
            python,
            "-c",
            "import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot",
        ],
        "seed run, figures=none": [python, "-m", "xopipe", "figures=none", *QUIET],
        "seed run, figures on": [python, "-m", "xopipe", *QUIET],
        "xopipe --help": [python, "-m", "xopipe", "--help"],
    }
    with tempfile.TemporaryDirectory() as folder:
        walls = median_walls(commands, repeats, Path(folder))
    matplotlib = walls.pop("matplotlib.pyplot import (Agg)") - walls.pop("bare python")
    return {
        "bare import (hydra, numpy, pyarrow.parquet)": walls[
            "bare import (hydra, numpy, pyarrow.parquet)"
        ],
        "trivial @hydra.main app (hydra, numpy, pyarrow.parquet)": walls[
            "trivial @hydra.main app (hydra, numpy, pyarrow.parquet)"
        ],
        "matplotlib.pyplot import (Agg), over bare python": matplotlib,
        "seed run, figures=none": walls["seed run, figures=none"],
        "seed run, figures on": walls["seed run, figures on"],
        "xopipe --help": walls["xopipe --help"],
    }


def section(repeats: int, rounds: int) -> list[str]:
    """Whole processes, `repeats` turns per round; each ratio is the median of the rounds'."""
    per_round = [startup(repeats) for _ in range(rounds)]
    lines = ["", f"## Start-up (wall time of whole processes, {rounds} rounds)", ""]
    for name in per_round[0]:
        lines.append(f"- {name}: {format_seconds(np.median([one[name] for one in per_round]))}")

    def over(name: str, reference: str, scale: float = 1.0, extra: str = "") -> str:
        found = ratio(
            [one[name] for one in per_round],
            [scale * one[reference] + (one[extra] if extra else 0) for one in per_round],
        )
        assert found is not None
        steady = "" if found.moved <= STEADY else f"; **not steady**: moved {found.moved:.0%}"
        return f"{found.text('.2f')}{steady}"  # 1.26 and 1.34 are both "1.3" at .2g

    app = "trivial @hydra.main app (hydra, numpy, pyarrow.parquet)"
    bare = "bare import (hydra, numpy, pyarrow.parquet)"
    mpl = "matplotlib.pyplot import (Agg), over bare python"
    lines += [
        f"- seed run, figures=none / trivial Hydra app: {over('seed run, figures=none', app)} "
        "(median, lowest-highest of the rounds; goal <= 1.3)",
        f"- trivial Hydra app / bare import: {over(app, bare)} (Hydra's own floor)",
        f"- seed run with figures / (1.5 x bare + matplotlib): "
        f"{over('seed run, figures on', bare, 1.5, mpl)} (goal <= 1.0)",
        f"- xopipe --help / seed run, figures=none: "
        f"{over('xopipe --help', 'seed run, figures=none')} (goal <= 1.5)",
    ]
    return lines
