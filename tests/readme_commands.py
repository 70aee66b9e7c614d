"""The shell commands README.md shows, as a reader would paste them, and a shell to paste them in.

A fenced block with no language is a block of commands when its first line starts
with a program (`xopipe`, `python3`, `.venv/bin/...`), and a transcript when its
lines start with `$ `: then each command comes with the output the README shows
after it (`...` standing for any number of lines). Other blocks are output.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
PROGRAMS = ("xopipe", "xopipe-diff", "xopipe-train", "python", "python3", "sudo")


@dataclass(frozen=True)
class Command:
    text: str  # one command, its continuation lines joined
    shown: tuple[str, ...] | None = None  # a transcript's output lines; None: not a transcript


def fenced_blocks(text: str) -> list[tuple[str, list[str]]]:
    """(language, lines) of every fenced block."""
    return [
        (language, body.splitlines())
        for language, body in re.findall(r"^```(\w*)\n(.*?)^```", text, flags=re.S | re.M)
    ]


def _starts_with_a_program(line: str) -> bool:
    words = line.split()
    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):  # VAR=value before the program
        words = words[1:]
    return bool(words) and (words[0] in PROGRAMS or words[0].startswith(".venv/bin/"))


def _joined(lines: list[str]) -> list[str]:
    """The lines with their `\\` continuations joined, blank lines left out."""
    commands, current = [], ""
    for line in lines:
        if line.endswith("\\"):
            current += (line[:-1].strip() if current else line[:-1].rstrip()) + " "
            continue
        current += line.strip() if current else line
        if current.strip():
            commands.append(current)
        current = ""
    return commands


def readme_blocks(text: str | None = None) -> list[list[Command]]:
    """The README's command blocks and transcripts, in order, each a list of commands."""
    text = README.read_text(encoding="utf-8") if text is None else text
    blocks: list[list[Command]] = []
    for language, lines in fenced_blocks(text):
        if language:
            continue
        if any(line.startswith("$ ") for line in lines):
            transcript: list[Command] = []
            for line in lines:
                if line.startswith("$ "):
                    transcript.append(Command(line[2:], ()))
                elif transcript:
                    last = transcript[-1]
                    transcript[-1] = Command(last.text, (*(last.shown or ()), line))
            blocks.append(transcript)
        elif lines and _starts_with_a_program(lines[0]):
            blocks.append([Command(line) for line in _joined(lines)])
    return blocks


def shown_matches(shown: tuple[str, ...], lines: list[str]) -> bool:
    """Whether `lines` are the output shown, `...` matching any number of lines."""
    pattern = "".join(r"(?:.*\n)*?" if line == "..." else re.escape(line) + r"\n" for line in shown)
    return re.fullmatch(pattern, "".join(line + "\n" for line in lines)) is not None


def activated_env(home: Path) -> dict[str, str]:
    """The environment of a shell where `. .venv/bin/activate` ran (this test's own venv).

    HOME is `home` (the README's `~/cat.png` is the reader's own file); matplotlib keeps
    its font cache where it already is, so no run rebuilds it.
    """
    import matplotlib

    venv = Path(sys.executable).parent.parent
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "HYDRA_FULL_ERROR")}
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        HOME=str(home),
        MPLCONFIGDIR=matplotlib.get_cachedir(),
    )
    return env


def run_in_shell(commands: list[str], folder: Path, env: dict[str, str]) -> list[tuple[int, str]]:
    """Paste `commands` into one bash session in `folder`: each one's exit status and its
    output (stdout and stderr together), as a terminal shows them."""
    marker = "@@@ xopipe-readme-test"
    script = "".join(
        f'{command}\n__rc=$?; printf "\\n{marker} %d\\n" "$__rc"; (exit "$__rc")\n'
        for command in commands
    )
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
    )
    results, lines = [], []
    for line in done.stdout.splitlines():
        if line.startswith(marker):
            while lines and lines[-1] == "":
                lines.pop()
            results.append((int(line.split()[-1]), "\n".join(lines)))
            lines = []
        else:
            lines.append(line)
    assert len(results) == len(commands), done.stdout[-3000:]
    return results
