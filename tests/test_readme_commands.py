"""README.md's commands, pasted as written into a fresh folder of a shell where the
set-up's `. .venv/bin/activate` ran: each exits as the README says and leaves the files
it promises. A few run in the fast suite; every one that can run here runs in the slow one.
"""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.readme_commands import (
    ROOT,
    Command,
    activated_env,
    readme_blocks,
    run_in_shell,
    shown_matches,
)
from tests.run_folders import check_complete_run, manifest_of, run_files

# Commands this test does not run, by a part of their text, and why.
NOT_RUN = {
    "-m venv": "the set-up itself: test_the_setup_command_works_from_a_fresh_copy runs it",
    "pytest": "the test command itself (.ci/run runs it)",
    "apt-get": "installs system packages, as root",
    "submitit_slurm": "needs a SLURM cluster (tests/test_slurm_*.py start one)",
    "/path/to/": "names a font file of the reader's",
    "xopipe-diff outputs/2026-": "names two runs of the reader's",
    "OLD_SWEEP": "names two sweeps of the reader's",
    "xopipe-diff A B": "names two runs of the reader's",
    "input.shape=[16384,16384]": "writes ~15 GB (python -m xopipe.bench --dask-16384 times it)",
}
# The fast suite's share: two runs, and two transcripts of mistakes (by their first command).
FAST = (
    "xopipe tables.formats=[]",
    "xopipe input=random input.shape=[16,16] input.seed=3",
    "xopipe conv.stride=0",
    "xopipe input=file input.path=~/cat.png",
)
# What particular commands promise beyond a complete run, as the files they leave.
PROMISED = {
    "xopipe tables.formats=[]": lambda files: all(
        name == "report.html" or name.startswith("figures/") for name in files
    ),
    "xopipe tables.formats=[npy] tables.stages=[input,pool]": lambda files: (
        files >= {"matrices/input.npy", "matrices/pool.npy", "weights/conv_weight.npy"}
        and not any(name.endswith((".csv", ".parquet")) for name in files)
    ),
    "xopipe figures=svg": lambda files: "figures/overview.svg" in files,
    "xopipe explain=pool:2:3:3 figures.animate=true": lambda files: (
        files >= {"figures/explain_pool_2_3_3.png", "figures/slide_pool.gif"}
    ),
}


def _not_run(text: str) -> str | None:
    return next((why for part, why in NOT_RUN.items() if part in text), None)


def _cases() -> list:
    cases = []
    for block in readme_blocks():
        runnable = [command for command in block if _not_run(command.text) is None]
        is_transcript = bool(block) and block[0].shown is not None
        groups = [runnable] if is_transcript and runnable else [[c] for c in runnable]
        for group in groups:
            name = group[0].text.split("  #")[0].strip()
            marks = [] if name in FAST else [pytest.mark.slow]
            cases.append(pytest.param(group, id=name, marks=marks))
    return cases


def _prepare(folder: Path, commands: list[Command]) -> dict[str, str]:
    """The reader's own files the README's commands name, and the activated shell."""
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (80, 96, 3), dtype=np.uint8)).save(folder / "cat.jpg")
    Image.fromarray(rng.integers(0, 256, (40, 40), dtype=np.uint8)).save(folder / "cat.png")
    # The README's large image, here 64x64: the command is what is tested, not the size.
    Image.fromarray(rng.integers(0, 256, (64, 64), dtype=np.uint8)).save(folder / "big.png")
    env = activated_env(home=folder)
    if any("sweep/0" in command.text for command in commands):  # two runs, conv.bias 0.25 apart
        setup = "xopipe -m conv.bias=0,0.25 figures=none hydra.sweep.dir=sweep"
        assert run_in_shell([setup], folder, env)[0][0] == 0
    return env


def _single(paths: list[Path]) -> Path:
    assert len(paths) == 1, paths
    return paths[0]


def _check_outputs(text: str, folder: Path) -> None:
    words = shlex.split(text, comments=True)
    if words[0] == "xopipe-diff":
        out = folder / words[words.index("--out") + 1] if "--out" in words else None
        out = out or _single(list(folder.glob("outputs/diffs/*/*")))
        assert {"diff.csv", "diff_report.md", "diff_report.html"} <= {p.name for p in out.iterdir()}
        return
    if words[0] == "xopipe-train" and "-m" in words[1:]:
        sweep = _single(list(folder.glob("outputs/train/multirun/*/*")))
        names = {p.name for p in sweep.iterdir()}
        assert {"summary.parquet", "diff.csv", "diff_report.md", "diff_report.html"} <= names
        jobs = [p for p in sweep.iterdir() if p.name.isdigit()]
        assert jobs and all(manifest_of(job)["kind"] == "training" for job in jobs)
        assert all(manifest_of(job)["status"] == "complete" for job in jobs)
        return
    if words[0] == "xopipe-train":
        run = _single(list(folder.glob("outputs/train/*/*")))
        manifest = manifest_of(run)
        assert manifest["status"] == "complete" and manifest["kind"] == "training"
        assert set(manifest["files"]) == run_files(run) - {"xopipe-train.log"}
        assert {"history.parquet", "weights_history.parquet", "report.html"} <= run_files(run)
        return
    if "-m" in words[1:]:
        sweep = _single(list(folder.glob("outputs/multirun/*/*")))
        names = {p.name for p in sweep.iterdir()}
        assert {"summary.parquet", "diff.csv", "diff_report.md", "diff_report.html"} <= names
        jobs = [p for p in sweep.iterdir() if p.name.isdigit()]
        assert jobs
        for job in jobs:
            check_complete_run(job)
        return
    runs = [p for p in folder.glob("outputs/*/*") if p.parent.name not in ("multirun", "diffs")]
    run = _single(runs)
    check_complete_run(run)
    promise = PROMISED.get(text.split("  #")[0].strip())
    assert promise is None or promise(run_files(run)), sorted(run_files(run))


def _expected_status(commands: list[Command], index: int) -> int | None:
    """0 unless the README shows an error (then not 0) or `echo $?` after it (that number)."""
    shown = commands[index].shown or ()
    following = commands[index + 1] if index + 1 < len(commands) else None
    if following is not None and following.text == "echo $?":
        return int(following.shown[0]) if following.shown else None
    return None if any(line.startswith("error: ") for line in shown) else 0


@pytest.mark.parametrize("commands", _cases())
def test_readme_commands_run_as_written(tmp_path, commands: list[Command]):
    env = _prepare(tmp_path, commands)
    results = run_in_shell([command.text for command in commands], tmp_path, env)
    for index, (command, (status, output)) in enumerate(zip(commands, results, strict=True)):
        expected = _expected_status(commands, index)
        if expected is None:
            assert status != 0, (command.text, output)
        else:
            assert status == expected, (command.text, output[-3000:])
        if command.shown:  # a transcript: the output the README shows, line for line
            assert shown_matches(command.shown, output.splitlines()), (command.text, output)
        if command.shown is None:
            _check_outputs(command.text, tmp_path)


def test_the_fast_commands_are_the_readmes():
    commands = {case.id for case in _cases()}
    assert set(FAST) <= commands
    assert set(PROMISED) <= commands


def test_the_setup_is_two_commands_that_activate_the_environment():
    """The first two blocks: set up and run, set up and test; after them bare names work.
    CI (.ci/run) installs exactly as the second says, and runs it."""
    run, test = (block for block in readme_blocks()[:2])
    assert [len(run), len(test)] == [1, 1]
    activate = "python3 -m venv .venv && . .venv/bin/activate && pip install -c constraints.txt"
    assert run[0].text == f"{activate} -e . && xopipe"
    assert test[0].text.startswith(f'{activate} -e ".[test]" && python -m pytest ')
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test[0].text in ci


@pytest.mark.slow
def test_the_setup_command_works_from_a_fresh_copy(tmp_path):
    """The README's first command in a copy of the project with no environment, then, in
    the same shell, `xopipe` from another folder."""
    clone, elsewhere = tmp_path / "xopipe", tmp_path / "elsewhere"
    ignored = (".venv", ".git", "outputs", "__pycache__", "*.egg-info", ".*_cache")
    shutil.copytree(ROOT, clone, ignore=shutil.ignore_patterns(*ignored))
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
    # No environment active, as in a new terminal: no venv's bin on PATH.
    path = env.get("PATH", "").split(os.pathsep)
    env["PATH"] = os.pathsep.join(p for p in path if not (Path(p).parent / "pyvenv.cfg").exists())
    setup = readme_blocks()[0][0].text
    commands = [setup, "command -v xopipe", f"cd {elsewhere} && xopipe input=o"]
    results = run_in_shell(commands, clone, env)
    assert results[0][0] == 0, results[0][1][-3000:]
    check_complete_run(_single(list(clone.glob("outputs/*/*"))))
    assert results[1] == (0, str(clone / ".venv" / "bin" / "xopipe"))
    assert results[2][0] == 0, results[2][1][-3000:]
    check_complete_run(_single(list(elsewhere.glob("outputs/*/*"))))
