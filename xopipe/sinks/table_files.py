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
from xopipe.sinks.files import save_npy
from xopipe.sinks.tables import write_csv_grids, write_parquet
from xopipe.sinks.weights import (
    FOLDER,
    PARQUET,
    StageWeights,
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
    return [
        *(_write_matrices(choice.formats, out_dir, kept) if kept else []),
        *(_write_weights(choice.formats, out_dir / FOLDER, weights) if weights else []),
    ]


def _write_matrices(
    formats: Sequence[str], out_dir: Path, arrays: Mapping[str, np.ndarray]
) -> list[Path]:
    written: list[Path] = []
    if "parquet" in formats:
        write_parquet(out_dir / MATRICES_PARQUET, arrays)
        written.append(out_dir / MATRICES_PARQUET)
    if "csv" in formats:
        written.extend(write_csv_grids(out_dir / MATRICES, arrays))
    if "npy" in formats:
        (out_dir / MATRICES).mkdir(exist_ok=True)
        for name, array in arrays.items():
            path = out_dir / MATRICES / f"{name}.npy"
            save_npy(path, array.astype(np.float64))
            written.append(path)
    return written


def _write_weights(
    formats: Sequence[str], folder: Path, weights: Mapping[str, StageWeights]
) -> list[Path]:
    written: list[Path] = []
    if "parquet" in formats:
        write_weights_parquet(folder.parent / PARQUET, weights)
        written.append(folder.parent / PARQUET)
    if "csv" in formats:
        written.extend(write_weights_csv(folder, weights))
    if "npy" in formats:
        written.extend(write_weights_npy(folder, weights))
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
