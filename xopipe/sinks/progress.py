"""A progress line on a terminal, for work that takes more than a moment."""

from __future__ import annotations

import time
from typing import TextIO


class TerminalProgress:
    """Rewrites one stderr line: `conv  42%`; at most ten updates a second."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.shown = 0.0

    def __call__(self, stage: str, fraction: float) -> None:
        now = time.monotonic()
        if fraction < 1.0 and now - self.shown < 0.1:
            return
        self.shown = now
        end = "\n" if fraction >= 1.0 else ""
        self.stream.write(f"\r{stage:<12} {fraction:4.0%}{end}")
        self.stream.flush()
