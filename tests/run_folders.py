"""What a finished run folder holds, as its manifest and the README say."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

RECORD = ("manifest.json", "xopipe.log")  # with .hydra/: the run's record, not its results


def run_files(run_dir: Path) -> set[str]:
    """Every file on disk that the run wrote, by relative path, leaving out its record
    (.hydra/, the log, the manifest)."""
    return {
        path.relative_to(run_dir).as_posix()
        for path in run_dir.rglob("*")
        if path.is_file()
        and path.name not in RECORD
        and path.relative_to(run_dir).parts[0] != ".hydra"
    }


def manifest_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())


def check_complete_run(run_dir: Path) -> dict:
    """A complete manifest listing exactly the files on disk, each whole; its record beside it."""
    manifest = manifest_of(run_dir)
    assert manifest["status"] == "complete", manifest.get("error")
    assert run_files(run_dir) == set(manifest["files"])
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((run_dir / name).read_bytes()).hexdigest() == digest, name
    assert "report.html" in manifest["files"]
    assert (run_dir / ".hydra" / "config.yaml").is_file() and (run_dir / "xopipe.log").is_file()
    return manifest
