"""A run's folder and a sweep's, as files: every name, reading a manifest, finding the jobs.

Everything that reads finished runs goes through here (previous, diff, multirun,
callbacks, api), so a file's name and the rule for what counts as a job live in
one place. Everything is read from folders, never from a launcher's in-memory
results, so a sweep run by joblib, submitit or Ray (or by a launcher yet to be
written) is read the same way. A run folder holds manifest.json (written last)
and Hydra's .hydra/overrides.yaml; a sweep folder holds one run folder per job
(0/, 1/, ... by default; any hydra.sweep.subdir works, nested ones too).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# A run's files (sinks/layout.py names the tables' grids and arrays).
MANIFEST = "manifest.json"  # written last: complete or failed, and every file's sha256
REPORT = "report.html"
MATRICES_PARQUET = "matrices.parquet"
# With a loss: dL/d the matrices, and dL/d the weights (the schema of weights.parquet).
GRADIENTS_PARQUET = "gradients.parquet"
WEIGHT_GRADIENTS_PARQUET = "weight_gradients.parquet"
# The tables a comparison reads, by the name diff.csv's `table` column and the summary give them.
TABLE_FILES = {
    "matrices": MATRICES_PARQUET,
    "gradients": GRADIENTS_PARQUET,
    "weight_gradients": WEIGHT_GRADIENTS_PARQUET,
}
# A training run's (manifest kind `training`, xopipe/training/files.py): what a comparison
# reads of it, the final weights and the loss and accuracy by epoch.
TRAINING_TABLE_FILES = {"weights": "weights.parquet", "history": "history.parquet"}
HYDRA_SUBDIR = ".hydra"
# A sweep's own files, beside its jobs.
MULTIRUN_YAML = "multirun.yaml"
SUMMARY = "summary.parquet"
DIFF_CSV = "diff.csv"
DIFF_REPORT_MD = "diff_report.md"
DIFF_REPORT_HTML = "diff_report.html"

# Keys that say how to run, not what to compute: left out of a config's fingerprint
# and of the overrides that name a job.
NOT_FINGERPRINTED = ("resume", "overwrite")

# How deep under a sweep folder job folders are looked for (hydra.sweep.subdir may nest).
MAX_DEPTH = 4


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The run's manifest, or None if there is none (yet); a broken one raises."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as stream:
        return json.load(stream)


def manifest_or_none(folder: Path) -> dict[str, Any] | None:
    """The manifest, or None when there is none or it cannot be read (half-written, not
    JSON): the tolerant reading of a folder another process may still be writing."""
    try:
        return read_manifest(folder)
    except (OSError, ValueError):
        return None


def is_complete(folder: Path) -> bool:
    manifest = manifest_or_none(folder)
    return manifest is not None and manifest.get("status") == "complete"


def complete_jobs(sweep_dir: Path) -> list[Path]:
    """The job folders under `sweep_dir` (nested subdirs too) holding a complete run."""
    return [path for path in job_dirs(sweep_dir) if is_complete(path)]


@dataclass(frozen=True)
class Override:
    """One `key=value` of a job's overrides; the key without +, ++ or ~."""

    key: str
    value: str | None  # None: a deletion (~key)
    text: str

    @classmethod
    def parse(cls, text: str) -> Override:
        key, equals, value = text.partition("=")
        return cls(key.lstrip("+~"), value if equals else None, text)


@dataclass
class Job:
    """One run: a job of a sweep, or a run folder on its own."""

    num: int
    name: str  # how reports name it: the folder relative to its sweep, or as given
    path: Path
    overrides: list[Override] = field(default_factory=list)
    manifest: dict[str, Any] | None = None
    problem: str | None = None  # why the job has no usable matrices, if it has none

    @property
    def complete(self) -> bool:
        return self.problem is None

    @property
    def status(self) -> str:
        return "complete" if self.complete else "failed"

    @property
    def error(self) -> str | None:
        return self.problem

    @property
    def parquet(self) -> Path:
        return self.path / MATRICES_PARQUET

    @property
    def kind(self) -> str:
        """run | training, as the manifest says (a run's says nothing)."""
        return "training" if (self.manifest or {}).get("kind") == "training" else "run"

    @property
    def tables(self) -> dict[str, Path]:
        """{table: its Parquet file}: matrices, and the gradient tables the run wrote (its
        manifest lists every file written, so a stale file from an earlier run never counts);
        a training run's weights and history."""
        if self.kind == "training":
            return {table: self.path / name for table, name in TRAINING_TABLE_FILES.items()}
        files = (self.manifest or {}).get("files") or {}
        found = {"matrices": self.parquet}
        for table, name in TABLE_FILES.items():
            if name in files and table != "matrices":
                found[table] = self.path / name
        return found

    @property
    def loss_value(self) -> float | None:
        """L, as the manifest records it; None for a run without a loss."""
        loss = (self.manifest or {}).get("loss")
        value = loss.get("value") if isinstance(loss, dict) else None
        return float(value) if isinstance(value, (int, float)) else None

    @property
    def scores(self) -> dict[str, dict[str, float]]:
        """A training run's final {split: {loss, accuracy}}; empty for a run."""
        final = (self.manifest or {}).get("final")
        return final if isinstance(final, dict) else {}

    @property
    def backend(self) -> str | None:
        return None if self.manifest is None else self.manifest.get("backend")

    @property
    def dtype(self) -> str | None:
        return None if self.manifest is None else self.manifest.get("dtype")

    @property
    def seconds(self) -> float | None:
        return None if self.manifest is None else self.manifest.get("seconds")

    def values(self) -> dict[str, str | None]:
        """{key: value} of the overrides, keys without their +/~ prefix."""
        return {override.key: override.value for override in self.overrides}

    def label(self, keys: Iterable[str] | None = None) -> str:
        """The overrides as typed (only `keys` if given), or 'defaults' when there are none."""
        chosen = set(keys) if keys is not None else None
        texts = [o.text for o in self.overrides if chosen is None or o.key in chosen]
        return " ".join(texts) or "defaults"


def is_run(path: Path) -> bool:
    return (path / MANIFEST).is_file() or (path / HYDRA_SUBDIR / "overrides.yaml").is_file()


def is_sweep(path: Path) -> bool:
    """A sweep folder: Hydra's multirun.yaml, or run folders right inside it."""
    if (path / MULTIRUN_YAML).is_file():
        return True
    try:
        children = list(os.scandir(path))
    except OSError:
        return False
    return any(
        child.is_dir() and not child.name.startswith(".") and is_run(Path(child.path))
        for child in children
    )


def load_job(path: Path, name: str, num: int = 0) -> Job:
    """Read one run folder: its manifest, its overrides, whether its matrices are usable."""
    manifest = manifest_or_none(path)
    overrides = _read_overrides(path, manifest)
    job = Job(num=num, name=name, path=path, overrides=overrides, manifest=manifest)
    job.problem = _problem(job)
    return job


def find_jobs(sweep_dir: Path) -> list[Job]:
    """Every job folder under `sweep_dir`, ordered by job number."""
    jobs = []
    for position, path in enumerate(job_dirs(sweep_dir)):
        name = path.relative_to(sweep_dir).as_posix()
        jobs.append(load_job(path, name, job_num(path, name, default=position)))
    return sorted(jobs, key=lambda job: (job.num, job.name))


def job_dirs(sweep_dir: Path) -> list[Path]:
    """Folders under `sweep_dir` that are runs; hidden folders (.submitit, ...) are skipped."""
    found: list[Path] = []
    _walk(sweep_dir, 1, found)
    return found


def _walk(folder: Path, depth: int, found: list[Path]) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        path = Path(entry.path)
        if is_run(path):
            found.append(path)
        elif depth < MAX_DEPTH:
            _walk(path, depth + 1, found)


def job_num(path: Path, name: str, default: int) -> int:
    """Hydra's job number: the folder name by default (subdir ${hydra.job.num}), else hydra.yaml."""
    if name.isdigit():
        return int(name)
    try:
        with open(path / HYDRA_SUBDIR / "hydra.yaml", encoding="utf-8") as stream:
            document = yaml.load(stream, Loader=_LOADER)
        return int(document["hydra"]["job"]["num"])
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError):
        return default


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_overrides(path: Path, manifest: dict[str, Any] | None) -> list[Override]:
    """The overrides the job's results were computed with, less those that say how to run.

    The manifest's come first: a resumed sweep rewrites .hydra/overrides.yaml
    of a job it skips (adding resume=true), not the results or their manifest.
    """
    texts: list[str] = []
    if manifest is not None and isinstance(manifest.get("overrides"), list):
        texts = [str(text) for text in manifest["overrides"]]
    else:
        try:
            with open(path / HYDRA_SUBDIR / "overrides.yaml", encoding="utf-8") as stream:
                texts = [str(text) for text in yaml.load(stream, Loader=_LOADER) or []]
        except (OSError, yaml.YAMLError, TypeError):
            pass
    parsed = [Override.parse(text) for text in texts]
    return [override for override in parsed if override.key not in NOT_FINGERPRINTED]


def _problem(job: Job) -> str | None:
    if job.manifest is None:
        return f"no readable {MANIFEST}: the job did not finish (killed, or still running)"
    if job.manifest.get("status") != "complete":
        return str(job.manifest.get("error") or f"status {job.manifest.get('status')!r}")
    formats = (job.manifest.get("tables") or {}).get("formats", ["parquet"])
    if "parquet" not in formats:
        return (
            f"no {MATRICES_PARQUET}: the run was made with tables.formats={formats}; "
            "comparing reads it, so keep parquet in tables.formats"
        )
    import pyarrow.parquet as pq  # only where a job's matrices are checked

    for path in job.tables.values():
        try:
            pq.read_metadata(path)
        except (OSError, ValueError) as error:  # pyarrow raises ArrowInvalid, a ValueError
            return f"{path.name} unreadable: {error}"
    return None
