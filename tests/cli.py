"""Run the real command line in this process (much faster than a subprocess per case)."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from dataclasses import dataclass


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: str) -> CliResult:
    """`xopipe *args` via xopipe.app.main, with its exit status and captured output."""
    from xopipe.app import main

    saved_argv = sys.argv
    sys.argv = ["xopipe", *args]
    out, err = io.StringIO(), io.StringIO()
    code = 0
    env = os.environ.pop("HYDRA_FULL_ERROR", None)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        sys.argv = saved_argv
        if env is not None:
            os.environ["HYDRA_FULL_ERROR"] = env
    return CliResult(code, out.getvalue(), err.getvalue())
