"""The `xopipe` command (and `python -m xopipe`): xopipe.app.main, with the collector tuned.

A run is a short-lived process that builds tens of thousands of objects
(Hydra's and OmegaConf's config trees) and frees little, so Python's cyclic
collector, at its default thresholds, keeps walking every imported module's
objects. For the command only (not for code that imports xopipe): a larger
first threshold, everything imported so far moved out of the collector's
sight once the imports are done (gc.freeze, which also spares a sweep's
forked workers from copying those pages), and no full collection at exit,
just before the operating system frees the whole process anyway. This is
the one place xopipe tunes the collector; what it saves is in
docs/benchmarks.md ("Speed tricks").
"""

from __future__ import annotations

import gc
import sys

FIRST_GENERATION_THRESHOLD = 5000  # Python's default is 700


def entry() -> None:
    from xopipe.help_text import quick_help

    text = quick_help(sys.argv[1:])
    if text is not None:  # plain --help: no config to compose (xopipe.help_text says why)
        sys.stdout.write(text)
        return
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(FIRST_GENERATION_THRESHOLD, older, oldest)
    from xopipe.app import main

    gc.freeze()
    try:
        main()
    finally:
        gc.freeze()
