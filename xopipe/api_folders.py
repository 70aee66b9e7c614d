"""`xopipe.load(path)`: any finished run, sweep or training folder, its tables as DataFrames.

pandas is imported here, on first use, so a plain run never pays for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xopipe.errors import UserError
from xopipe.run_folder import SUMMARY, is_run, is_sweep, manifest_or_none


@dataclass(frozen=True)
class Folder:
    """A run, a sweep or a training run on disk."""

    path: Path
    kind: str  # run | sweep | training
    manifest: dict[str, Any] | None  # a sweep has none of its own

    def tables(self) -> list[str]:
        """The names `frame` accepts: every Parquet table in the folder."""
        return sorted(p.stem for p in self.path.glob("*.parquet"))

    def frame(self, name: str) -> Any:
        """`<name>.parquet` as a pandas DataFrame: matrices, gradients, weights, summary,
        history, weights_history, predictions, data, ... (whatever the folder holds)."""
        path = self.path / f"{name}.parquet"
        if not path.is_file():
            have = ", ".join(self.tables()) or "none"
            raise UserError(f"{self.path} has no {name}.parquet (its tables: {have})")
        import pandas as pd

        return pd.read_parquet(path)


def load(path: str | Path) -> Folder:
    """Open a finished folder; one line if it is not one xopipe wrote."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise UserError(f"xopipe.load: '{path}' is not a folder")
    manifest = manifest_or_none(folder)
    if manifest is not None and is_run(folder):
        kind = "training" if manifest.get("kind") == "training" else "run"
        return Folder(folder, kind, manifest)
    if is_sweep(folder) or (folder / SUMMARY).is_file():
        return Folder(folder, "sweep", None)
    raise UserError(
        f"xopipe.load: '{path}' holds no run, sweep or training run (no manifest.json, "
        "no summary.parquet)"
    )
