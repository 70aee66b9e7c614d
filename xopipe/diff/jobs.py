"""What diffs ask of runs found on disk: which keys change numbers, which name a backend,
and how two runs are named by what sets them apart. Finding and reading the runs
themselves is xopipe/run_folder.py's."""

from __future__ import annotations

from xopipe.run_folder import Job

# Keys that say what to show or write, or what to refuse, never what to compute:
# two runs that differ only in them hold the same numbers.
NO_NUMBER_KEYS = ("figures", "print_matrices", "tables", "explain", "diff", "limits")


def changes_numbers(key: str) -> bool:
    """Whether an override of `key` can change a run's numbers (figures=svg cannot)."""
    return key.split(".")[0] not in NO_NUMBER_KEYS


def is_backend_key(key: str) -> bool:
    """backend and backend.* keys: what runs compared across backends may differ in."""
    return key == "backend" or key.startswith("backend.")


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
