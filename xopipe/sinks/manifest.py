"""manifest.json: what ran, how long it took, and a hash of every file written.

Written last and atomically: a manifest with status `complete` means every
file it lists is there and whole. A failed run gets status `failed` and the
error, so a sweep summary can list it.
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from xopipe.run_folder import MANIFEST
from xopipe.sinks.files import file_hashes, write_text

__all__ = ["Manifest", "file_hashes"]

# Packages every run imports, and those recorded only when the run loaded them
# (distribution name as recorded -> module).
_PACKAGES = {
    "xopipe": "xopipe",
    "numpy": "numpy",
    "pyarrow": "pyarrow",
    "hydra-core": "hydra",
    "omegaconf": "omegaconf",
}
_IF_LOADED = {"torch": "torch", "matplotlib": "matplotlib"}


def versions() -> dict[str, str]:
    """Versions of Python and of the packages the run used (torch only if it was loaded).

    Read from the modules themselves: the run has imported them all, and
    each names its own release in __version__.
    """
    found = {"python": platform.python_version()}
    loaded = {name: module for name, module in _IF_LOADED.items() if module in sys.modules}
    for name, module in {**_PACKAGES, **loaded}.items():
        found[name] = getattr(importlib.import_module(module), "__version__", "unknown")
    return found


class Manifest:
    """Collects a run's facts as they become known; `write` puts them on disk."""

    def __init__(self, out_dir: Path, facts: Mapping[str, Any]) -> None:
        self.out_dir = out_dir
        self.started = time.time()
        self.facts: dict[str, Any] = {"status": "running", "error": None, **facts}

    def update(self, **facts: Any) -> None:
        self.facts.update(facts)

    def write(
        self,
        status: str,
        files: Iterable[Path] | Mapping[str, str] = (),
        error: str | None = None,
    ) -> Path:
        """`files`: the paths written, or their sha256 by name (file_hashes, already computed)."""
        finished = time.time()
        if not isinstance(files, Mapping):
            files = file_hashes(self.out_dir, files)
        document = {
            **self.facts,
            "status": status,
            "error": error,
            "versions": versions(),
            "started": _iso(self.started),
            "finished": _iso(finished),
            "seconds": round(finished - self.started, 6),
            "files": dict(files),  # in path order (file_hashes)
        }
        path = self.out_dir / MANIFEST
        write_text(path, json.dumps(document, indent=2) + "\n")
        return path


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")
