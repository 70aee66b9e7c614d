"""Which table files a run writes (`tables.formats`, `tables.stages`), and writing them.

A 4096x4096 run's CSV text is gigabytes that a user may not want; the
choice is checked before any work and recorded in the manifest, so a
reader of the folder knows what was left out on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from xopipe.errors import invalid
from xopipe.sinks.tables import write_csv_grids, write_parquet
from xopipe.sinks.weights import (
    FOLDER,
    PARQUET,
    StageWeights,
    save_npy,
    write_weights_csv,
    write_weights_npy,
    write_weights_parquet,
)

if TYPE_CHECKING:
    from xopipe.config.schema import TablesConfig

FORMATS = ("parquet", "csv", "npy")
MATRICES = "matrices"
MATRICES_PARQUET = "matrices.parquet"


@dataclass(frozen=True)
class TableChoice:
    formats: tuple[str, ...]  # in FORMATS order
    stages: tuple[str, ...]  # the stages whose matrices are written (weights: every stage's)

    def facts(self) -> dict[str, list[str]]:
        """For the manifest: what was written, so a missing CSV is known to be on purpose."""
        return {"formats": list(self.formats), "stages": list(self.stages)}


def read_table_choice(node: TablesConfig, stage_names: Sequence[str]) -> TableChoice:
    """tables.formats and tables.stages, checked against the pipeline's stage names."""
    formats = node.formats
    if formats is None:
        formats = []
    if not isinstance(formats, list) or any(f not in FORMATS for f in formats):
        raise invalid("tables.formats", formats, "a list of parquet, csv, npy (or [] for none)")
    stages = node.stages
    if stages is None:
        chosen = tuple(stage_names)
    else:
        if not isinstance(stages, list) or any(s not in stage_names for s in stages):
            raise invalid(
                "tables.stages", stages, f"null (all) or a list of {', '.join(stage_names)}"
            )
        chosen = tuple(name for name in stage_names if name in stages)
    return TableChoice(tuple(f for f in FORMATS if f in formats), chosen)


def write_tables(
    choice: TableChoice,
    out_dir: Path,
    arrays: Mapping[str, np.ndarray],
    weights: Mapping[str, StageWeights],
) -> list[Path]:
    """Write the chosen formats of the chosen stages' matrices and of every weight."""
    kept = {name: array for name, array in arrays.items() if name in choice.stages}
    written: list[Path] = []
    if "parquet" in choice.formats:
        if kept:
            write_parquet(out_dir / MATRICES_PARQUET, kept)
            written.append(out_dir / MATRICES_PARQUET)
        if weights:
            write_weights_parquet(out_dir / PARQUET, weights)
            written.append(out_dir / PARQUET)
    if "csv" in choice.formats:
        if kept:
            written.extend(write_csv_grids(out_dir / MATRICES, kept))
        if weights:
            written.extend(write_weights_csv(out_dir / FOLDER, weights))
    if "npy" in choice.formats:
        if kept:
            (out_dir / MATRICES).mkdir(exist_ok=True)
        for name, array in kept.items():
            path = out_dir / MATRICES / f"{name}.npy"
            save_npy(path, array.astype(np.float64))
            written.append(path)
        if weights:
            written.extend(write_weights_npy(out_dir / FOLDER, weights))
    return written


def saved_in(tables: Mapping[str, Any] | None, stage: str, weights: bool = False) -> str:
    """Where a stage's matrices (or weights) are on disk, in words, from the manifest's `tables`."""
    if tables is None:
        tables = {"formats": ["parquet", "csv"], "stages": [stage]}
    formats = tables.get("formats", [])
    if not weights and stage not in tables.get("stages", []):
        return f"not saved (tables.stages leaves {stage} out)"
    places = []
    for kind in formats:
        if weights:
            places.append(
                {
                    "parquet": PARQUET,
                    "csv": f"{FOLDER}/{stage}_<kernel>_<channel>.csv",
                    "npy": f"{FOLDER}/{stage}_weight.npy",
                }[kind]
            )
        else:
            places.append(
                {
                    "parquet": MATRICES_PARQUET,
                    "csv": f"{MATRICES}/{stage}_<channel>.csv",
                    "npy": f"{MATRICES}/{stage}.npy",
                }[kind]
            )
    if not places:
        return "not saved (tables.formats is empty)"
    return "in " + " and ".join(places)
