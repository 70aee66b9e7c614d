"""A run's files are written into a hidden staging folder, and moved into place once it is complete.

So a run that stops for any reason (a mistake, a full disk, Ctrl-C, SIGTERM)
leaves no table, figure or report under its final name: the staging folder
is removed and the failed manifest says why. Removing files after the fact
could not cover a run killed outright (SIGKILL, a node that dies), which
runs no handler; staged, such a run leaves only its hidden staging folder,
which the next run in that folder removes. Moving a file is a rename within
one filesystem, so publishing a run takes milliseconds whatever its size.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

PREFIX = ".xopipe-staging-"


class Staging:
    """`root`: where the writers write, laid out as the run folder; `publish` moves it in."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.root = out_dir / f"{PREFIX}{os.getpid()}"
        self.published: list[Path] = []  # final paths, each whole, in the order moved

    def open(self) -> Path:
        """Create the staging folder (removing any a killed run left here); its path."""
        for stale in self.out_dir.glob(f"{PREFIX}*"):
            shutil.rmtree(stale, ignore_errors=True)
        self.root.mkdir(parents=True)
        return self.root

    def publish(self, staged: Sequence[Path]) -> list[Path]:
        """Move each staged file to its final place; the final paths.

        Call it with signals held off (xopipe.interrupt.shielded): `published`
        then always names exactly the files moved so far.
        """
        for path in staged:
            final = self.out_dir / path.relative_to(self.root)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, final)
            self.published.append(final)
        self.discard()  # the folders left empty
        return list(self.published)

    def discard(self) -> None:
        """Remove the staging folder and whatever is still in it."""
        shutil.rmtree(self.root, ignore_errors=True)
