"""What an earlier run left in a folder: refuse to overwrite it, resume it, or clear it.

A complete result is never replaced by accident: `overwrite=true` asks for
it, and a sweep with failed or missing jobs is finished with `resume=true`,
which re-runs only the jobs whose folder holds no complete run of the same
config (the config's fingerprint is in each manifest).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from omegaconf import DictConfig, OmegaConf, open_dict

from xopipe.run_folder import (
    MANIFEST,
    NOT_FINGERPRINTED,
    manifest_or_none,
    read_manifest,
)


def config_fingerprint(cfg: DictConfig) -> str:
    """sha256 of the composed config (without resume/overwrite), as canonical JSON.

    JSON rather than YAML: the same content, written ten times faster, which
    matters once per job of a sweep.
    """
    values = OmegaConf.to_container(recorded_config(cfg), resolve=True, enum_to_str=True)
    assert isinstance(values, dict)
    for key in NOT_FINGERPRINTED:
        values.pop(key, None)
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def recorded_config(cfg: DictConfig) -> DictConfig:
    """The config as a run records it: without the keys added since, where they hold
    their default (`loss` when it is none, `tables.npy_dtype` when float64).

    A run that uses none of them then has the fingerprint and report of a run made
    before they existed, so those sweeps still resume and compare.
    """
    loss = cfg.get("loss")
    drop_loss = loss is not None and loss.get("kind") == "none"
    tables = cfg.get("tables")
    drop_npy_dtype = tables is not None and tables.get("npy_dtype") == "float64"
    if not (drop_loss or drop_npy_dtype):
        return cfg
    kept = cfg.copy()
    with open_dict(kept):
        if drop_loss:
            del kept["loss"]
        if drop_npy_dtype:
            kept.tables = kept.tables.copy()  # cfg's own tables node stays whole
            with open_dict(kept.tables):
                del kept.tables["npy_dtype"]
    return kept


def already_done(folder: Path, fingerprint: str) -> bool:
    """Whether `folder` holds a complete run of exactly this config."""
    manifest = manifest_or_none(folder)
    return (
        manifest is not None
        and manifest.get("status") == "complete"
        and manifest.get("config_sha256") == fingerprint
    )


def clear_previous_outputs(folder: Path) -> None:
    """Remove the files an earlier run's manifest lists (and the manifest itself).

    Only files xopipe itself wrote and recorded are removed, never anything
    else in the folder; a new run then cannot leave stale figures or tables
    beside its own.
    """
    manifest = manifest_or_none(folder)
    if manifest is None:
        return
    for name in manifest.get("files", {}):
        (folder / name).unlink(missing_ok=True)
    (folder / MANIFEST).unlink()


def mark_failed(folder: Path, overrides: list[str], reason: str) -> None:
    """Record in `folder` that its run died without saying so itself (a launcher's finding).

    What the run's own manifest recorded is kept (its files, so a resumed run
    clears them), with its error after the launcher's reason; a job that
    never started gets a manifest with its overrides, so the summary names it.
    """
    from xopipe.sinks.files import write_text

    folder.mkdir(parents=True, exist_ok=True)
    try:
        document = read_manifest(folder) or {}
    except (OSError, ValueError):  # half-written or not JSON: replaced
        document = {}
    if document.get("error"):
        reason = f"{reason} (the run said: {document['error']})"
    document.setdefault("overrides", list(overrides))
    document.setdefault("files", {})
    document.update(status="failed", error=reason)
    write_text(folder / MANIFEST, json.dumps(document, indent=2) + "\n")
