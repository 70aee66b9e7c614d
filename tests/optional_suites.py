"""Which optional suites ran in a pytest session, and why the others were skipped.

SLURM (the `slurm` fixture), the browser (the `browser` fixture), and the
tests marked `needs("zh font")`, `needs("GPU")` or `needs("Ray")` depend on
what the machine has. Each pytest session records what became of them in
pytest's cache (.pytest_cache); `python -m tests.optional_suites` prints
that record, as .ci/run does at its end, so a skip is seen, never taken
for a pass.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

SUITES = ("SLURM", "browser", "zh font", "GPU", "Ray")
BY_FIXTURE = {"slurm": "SLURM", "browser": "browser"}
PROPERTY = "optional suite"
CACHE_KEY = "xopipe/optional_suites"
# pytest's cache_dir as the project uses it; cache.set(key) writes v/<key> as JSON
CACHE_DIR = Path(__file__).parent.parent / ".pytest_cache"

_seen: dict[str, dict[str, Any]] = {}


def suite_of(item: pytest.Item) -> str | None:
    for fixture, suite in BY_FIXTURE.items():
        if fixture in getattr(item, "fixturenames", ()):
            return suite
    mark = item.get_closest_marker("needs")
    if mark is not None:
        assert mark.args[0] in SUITES, f"needs({mark.args[0]!r}): not one of {SUITES}"
        return str(mark.args[0])
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        suite = suite_of(item)
        if suite is not None:  # travels with the test's reports, also from xdist's workers
            item.user_properties.append((PROPERTY, suite))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    suite = dict(report.user_properties).get(PROPERTY)
    if suite is None:
        return
    seen = _seen.setdefault(suite, {"ran": [], "skipped": {}})
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        seen["skipped"][report.nodeid] = reason.removeprefix("Skipped: ")
    elif report.when == "call":
        seen["ran"].append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    cache = getattr(config, "cache", None)
    if hasattr(config, "workerinput") or cache is None:
        return  # xdist's controller records for its workers
    marks = config.getoption("markexpr") or "all"
    record = {"time": time.time(), "marks": marks, "suites": _seen}
    cache.set(f"{CACHE_KEY}/{marks.replace(' ', '_')}", record)


def _tests(count: int) -> str:
    return f"{count} test" if count == 1 else f"{count} tests"


def summary(records: Sequence[dict[str, Any]]) -> list[str]:
    """One line per suite: ran (how many tests), or skipped and every reason given."""
    lines = []
    for suite in SUITES:
        ran = sum(len(r["suites"].get(suite, {}).get("ran", [])) for r in records)
        reasons: dict[str, int] = {}
        for record in records:
            for reason in record["suites"].get(suite, {}).get("skipped", {}).values():
                reasons[reason] = reasons.get(reason, 0) + 1
        skipped = sum(reasons.values())
        if ran:
            state = f"ran ({_tests(ran)}" + (f", {skipped} skipped" if skipped else "") + ")"
        elif skipped:
            state = f"skipped ({_tests(skipped)})"
        else:
            state = "not run (no test of it was selected)"
        lines.append(f"  {suite}: {state}")
        lines += [f"    skipped: {reason} ({count}x)" for reason, count in reasons.items()]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--since", type=Path, help="only sessions that finished after this file was written"
    )
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR, help="pytest's cache_dir")
    args = parser.parse_args(argv)
    since = args.since.stat().st_mtime if args.since else 0.0
    folder = args.cache_dir / "v" / CACHE_KEY
    records = []
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        record = json.loads(path.read_text())
        if record["time"] >= since:
            records.append(record)
    sessions = ", ".join(f"-m {r['marks']!r}" for r in records) or "none recorded"
    print(f"optional suites (pytest sessions: {sessions}):")
    print("\n".join(summary(records)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
