"""Runs and sweeps as found on disk: what ran, with which overrides, and how it ended.

Everything here is read from folders, never from a launcher's in-memory
results, so a sweep run by joblib, submitit or Ray (or by a launcher yet to
be written) is read the same way. A run folder holds manifest.json (written
last) and Hydra's .hydra/overrides.yaml; a sweep folder holds one run
folder per job (0/, 1/, ... by default, any hydra.sweep.subdir works).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

from xopipe.previous import NOT_FINGERPRINTED
from xopipe.sinks.layout import MATRICES_PARQUET
from xopipe.sinks.manifest import MANIFEST, read_manifest

HYDRA_SUBDIR = ".hydra"

# How deep under a sweep folder job folders are looked for (hydra.sweep.subdir may nest).
MAX_DEPTH = 4


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


# Keys that say what to show or write, or what to refuse, never what to compute:
# two runs that differ only in them hold the same numbers.
NO_NUMBER_KEYS = ("figures", "print_matrices", "tables", "explain", "diff", "limits")


def changes_numbers(key: str) -> bool:
    """Whether an override of `key` can change a run's numbers (figures=svg cannot)."""
    return key.split(".")[0] not in NO_NUMBER_KEYS


def is_backend_key(key: str) -> bool:
    """backend and backend.* keys: what runs compared across backends may differ in."""
    return key == "backend" or key.startswith("backend.")


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


def differing_keys(a: Job, b: Job) -> list[str]:
    """The override keys whose values differ between two runs (or that one run lacks)."""
    values_a, values_b = a.values(), b.values()
    keys = dict.fromkeys([*values_a, *values_b])
    return [key for key in keys if values_a.get(key, ()) != values_b.get(key, ())]


def names_apart(a: Job, b: Job) -> tuple[str, str]:
    """Each run named by what sets it apart from the other: the overrides that differ
    (`conv.bias=0` against `conv.bias=1`; `conv.bias (default)` where only the other run
    sets it); runs with the same overrides by their folders (and backends, if those differ)."""
    keys = differing_keys(a, b)
    if keys:
        return _overrides_named(a, keys), _overrides_named(b, keys)
    if a.backend != b.backend:
        return f"{a.name} ({a.backend})", f"{b.name} ({b.backend})"
    return a.name, b.name


def _overrides_named(job: Job, keys: list[str]) -> str:
    texts = {override.key: override.text for override in job.overrides}
    return " ".join(texts.get(key, f"{key} (default)") for key in keys)


def is_run(path: Path) -> bool:
    return (path / MANIFEST).is_file() or (path / HYDRA_SUBDIR / "overrides.yaml").is_file()


def is_sweep(path: Path) -> bool:
    """A sweep folder: Hydra's multirun.yaml, or run folders right inside it."""
    if (path / "multirun.yaml").is_file():
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
    manifest = _read_manifest(path)
    overrides = _read_overrides(path, manifest)
    job = Job(num=num, name=name, path=path, overrides=overrides, manifest=manifest)
    job.problem = _problem(job)
    return job


def find_jobs(sweep_dir: Path) -> list[Job]:
    """Every job folder under `sweep_dir`, ordered by job number."""
    jobs = []
    for position, path in enumerate(job_dirs(sweep_dir)):
        name = path.relative_to(sweep_dir).as_posix()
        jobs.append(load_job(path, name, _job_num(path, name, default=position)))
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


def _job_num(path: Path, name: str, default: int) -> int:
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


def _read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        return read_manifest(path)
    except (OSError, ValueError):  # unreadable, or not JSON
        return None


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
    try:
        pq.read_metadata(job.parquet)
    except (OSError, ValueError) as error:  # pyarrow raises ArrowInvalid, a ValueError
        return f"{MATRICES_PARQUET} unreadable: {error}"
    return None
