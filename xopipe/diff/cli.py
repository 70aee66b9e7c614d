"""`xopipe-diff A B [--out DIR]`: compare two runs, or two sweeps job by job.

Writes diff.csv, diff_report.md and diff_report.html into DIR (default: a
new outputs/diffs/DATE/TIME folder) and prints the verdict. Exit status: 0
when everything agrees within tolerance, 1 when anything differs (a grid,
a failed run, a job without a partner), 2 on a usage error (one line on
stderr). Also `python -m xopipe.diff`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import NoReturn

from xopipe.diff.comparison import Comparison
from xopipe.diff.pairs import compare_runs, compare_sweeps
from xopipe.diff.report import write_reports
from xopipe.run_folder import DIFF_CSV, DIFF_REPORT_MD, find_jobs, is_run, is_sweep, load_job
from xopipe.sinks.files import unwritable_reason

USAGE_ERROR = 2


class UsageError(Exception):
    """A mistake on the command line: one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see xopipe-diff --help)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="xopipe-diff",
        description=(
            "Compare two xopipe runs, or two sweeps job by job (jobs matched by their "
            "overrides), stage by stage and channel by channel. A cell agrees when "
            "|a - b| <= atol + rtol * |b|. Exit status: 0 all agree, 1 something differs, "
            "2 usage error."
        ),
    )
    parser.add_argument("a", metavar="A", help="a run folder, or a sweep folder")
    parser.add_argument("b", metavar="B", help="a run folder if A is one, else a sweep folder")
    parser.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        help="where to write diff.csv and diff_report.md/.html "
        "(default: outputs/diffs/DATE/TIME under the current folder)",
    )
    parser.add_argument(
        "--atol", type=float, help="absolute tolerance (default 1e-9 float64, 1e-5 float32)"
    )
    parser.add_argument("--rtol", type=float, help="relative tolerance (same defaults)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        a, b = Path(args.a), Path(args.b)
        kind_a, kind_b = _kind(a), _kind(b)
        if kind_a != kind_b:
            raise UsageError(
                f"{a} is a {kind_a} and {b} is a {kind_b}: give two runs or two sweeps"
            )
        for name in ("atol", "rtol"):
            value = getattr(args, name)
            if value is not None and not value >= 0:
                raise UsageError(f"--{name} must be a number >= 0, got {value}")
        out = args.out or Path("outputs", "diffs", datetime.now().strftime("%Y-%m-%d/%H-%M-%S-%f"))
        _check_writable(out)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR
    comparison = _compare(a, b, kind_a, args.atol, args.rtol)
    write_reports(out, comparison)
    print(comparison.verdict())
    print(f"report: {out / DIFF_REPORT_MD} (and .html), {out / DIFF_CSV}")
    return 0 if comparison.agrees else 1


def _compare(a: Path, b: Path, kind: str, atol: float | None, rtol: float | None) -> Comparison:
    if kind == "run":
        return compare_runs(load_job(a, str(a)), load_job(b, str(b)), atol, rtol)
    jobs_a, jobs_b = find_jobs(a), find_jobs(b)
    for folder, jobs in ((a, jobs_a), (b, jobs_b)):
        for job in jobs:
            job.name = (folder / job.name).as_posix()
    return compare_sweeps(jobs_a, jobs_b, (str(a), str(b)), atol, rtol)


def _kind(path: Path) -> str:
    if not path.exists():
        raise UsageError(f"no such folder: {path}")
    if not path.is_dir():
        raise UsageError(f"not a folder: {path}")
    if is_run(path):
        return "run"
    if is_sweep(path):
        return "sweep"
    raise UsageError(
        f"{path} is neither an xopipe run (no manifest.json) nor a sweep (no run folders in it)"
    )


def _check_writable(folder: Path) -> None:
    reason = unwritable_reason(folder)
    if reason is not None:
        raise UsageError(f"--out must be a folder xopipe can write, got '{folder}' ({reason})")
