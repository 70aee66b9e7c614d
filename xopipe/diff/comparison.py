"""What a comparison found: each pair of runs, grid by grid and table by table, and the verdict.

A pair's rows cover every table both runs hold: `matrices` (the values),
and with a loss `gradients` (dL/d each of them) and `weight_gradients` (dL/d
each stored weight); for training runs `weights` (the final ones) and
`history` (loss and accuracy by epoch). xopipe.diff.pairs fills them; table
and report write them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from xopipe.diff.compare import GridDiff, Tolerance
from xopipe.diff.jobs import differing_keys, names_apart
from xopipe.run_folder import Job


@dataclass
class GridRow:
    """One grid of one pair: a stage and channel of a table (xopipe.diff.grids names the
    weight gradients' grids)."""

    stage: str
    channel: int
    diff: GridDiff
    heatmap: bytes | None = None  # PNG of |a - b| beyond tolerance, for mismatches
    table: str = "matrices"  # matrices | gradients | weight_gradients; weights | history


@dataclass
class Pair:
    a: Job
    b: Job
    group: str  # the overrides the two runs share (or what matched them)
    tolerance: Tolerance
    rows: list[GridRow] = field(default_factory=list)
    # Set when the pair could not be compared cell by cell (a run failed).
    failure: str | None = None

    @property
    def compared(self) -> bool:
        return self.failure is None

    @property
    def ok(self) -> bool:
        if self.failure is not None:
            return self.a.error is not None and self.a.error == self.b.error
        return all(row.diff.ok for row in self.rows)

    @property
    def bad_rows(self) -> list[GridRow]:
        return [row for row in self.rows if not row.diff.ok]

    @property
    def names(self) -> tuple[str, str]:
        """a's and b's names: what sets each apart from the other (xopipe.diff.jobs)."""
        return names_apart(self.a, self.b)

    @property
    def name(self) -> str:
        """`conv.bias=0 vs conv.bias=1`, after what the two share if anything."""
        name_a, name_b = self.names
        return f"{self.group}: {name_a} vs {name_b}" if self.group else f"{name_a} vs {name_b}"

    @property
    def short_name(self) -> str:
        """For the verdict: the shared overrides alone when only folders tell the runs apart
        (two sweeps' jobs, matched by their overrides)."""
        if self.group and not differing_keys(self.a, self.b):
            return self.group
        return self.name


@dataclass
class Comparison:
    """Everything a diff report says: the pairs, and the runs that were not compared."""

    subject: str  # backends | runs | sweeps
    sources: list[str]  # the folders compared, for the report's header
    jobs: int  # runs looked at
    pairs: list[Pair] = field(default_factory=list)
    skipped: list[Job] = field(default_factory=list)  # failed jobs, left out of a sweep's groups
    unmatched: list[tuple[str, Job]] = field(default_factory=list)  # (source, job) with no partner
    trained: list[Job] = field(default_factory=list)  # training runs, for their final scores

    @property
    def rows(self) -> list[GridRow]:
        return [row for pair in self.pairs for row in pair.rows]

    @property
    def agrees(self) -> bool:
        """Nothing differs, nothing failed, nothing is unmatched."""
        return not self.skipped and not self.unmatched and all(pair.ok for pair in self.pairs)

    def verdict(self) -> str:
        """One line: agree or differ, and how much."""
        rows = self.rows
        bad_rows = [row for row in rows if not row.diff.ok]
        bad_pairs = [pair for pair in self.pairs if not pair.ok]
        pairs = f"{len(self.pairs)} {_plural(self.pairs, 'pair')}"
        problems = []
        if bad_rows:
            where = where_text(bad_rows, tables=any(row.table != "matrices" for row in rows))
            in_pairs = [pair for pair in bad_pairs if pair.compared]
            problems.append(
                f"{len(bad_rows)} of {len(rows)} grids beyond tolerance ({where}), "
                f"in {len(in_pairs)} of {pairs}{_named(in_pairs, len(self.pairs))}"
            )
        not_compared = sum(not pair.compared for pair in bad_pairs)
        if not_compared:
            problems.append(f"{not_compared} {_plural(not_compared, 'pair')} with a failed run")
        if self.unmatched:
            problems.append(
                f"{len(self.unmatched)} {_plural(self.unmatched, 'run')} without a match"
            )
        if problems:
            head = f"{self.subject} differ: " + "; ".join(problems)
            if self.pairs and not bad_pairs:
                head += f"; the {pairs} matched agree ({len(rows)} grids)"
        elif not self.pairs:
            head = "nothing to compare: " + _NOTHING.get(self.subject, "no pairs")
        else:
            counted = _per_table(rows)
            head = f"{self.subject} agree: {len(rows)} grids{counted} within tolerance in {pairs}"
            alike = sum(not pair.compared for pair in self.pairs)
            if alike:
                head += f" ({alike} of them failed alike in both)"
        if self.skipped:
            head += f"; {len(self.skipped)} of {self.jobs} jobs failed (skipped)"
        return head


_NOTHING = {
    "backends": "no two complete runs differ only in backend",
    "sweeps": "no job has the same overrides in both sweeps",
}


# Pairs the verdict names at most; the report names every one.
MAX_NAMED = 3


def _named(pairs: Sequence[Pair], among: int) -> str:
    """': conv.bias=0 vs conv.bias=1' for the one pair compared, else the differing ones."""
    names = list(dict.fromkeys(pair.short_name for pair in pairs))
    if not names:
        return ""
    if among == 1:
        return f": {names[0]}"
    more = ", ..." if len(names) > MAX_NAMED else ""
    return f" ({', '.join(names[:MAX_NAMED])}{more})"


def where_text(rows: Sequence[GridRow], tables: bool) -> str:
    """The stages of `rows`: 'conv, pool'; with `tables`, per table: 'gradients: conv, input'."""
    if not tables:
        return ", ".join(dict.fromkeys(row.stage for row in rows))
    stages: dict[str, dict[str, None]] = {}
    for row in rows:
        stages.setdefault(row.table, {})[row.stage] = None
    return "; ".join(f"{table}: {', '.join(names)}" for table, names in stages.items())


def _per_table(rows: Sequence[GridRow]) -> str:
    """' (matrices 30, gradients 30, weight_gradients 12)' when gradients were compared too."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.table] = counts.get(row.table, 0) + 1
    if set(counts) <= {"matrices"}:
        return ""
    return " (" + ", ".join(f"{table} {n}" for table, n in counts.items()) + ")"


def _plural(count: Sequence | int, word: str) -> str:
    n = count if isinstance(count, int) else len(count)
    return word if n == 1 else f"{word}s"
