"""Overrides Hydra's grammar cannot read, answered with one line that says how to quote them.

Hydra stops on `input.path=~/x.png` with a lexer exception, a caret
diagram and a link: three lines that do not say what to type instead. The
command line's overrides are parsed here first, with Hydra's own public
parser, so the user gets the fix (quote the value for Hydra, inside shell
quotes) and xopipe then expands `~` itself.
"""

from __future__ import annotations

from collections.abc import Sequence

# Hydra's flags that take a value: that value is not an override.
VALUE_FLAGS = frozenset(
    {
        "--config-path",
        "-cp",
        "--config-name",
        "-cn",
        "--config-dir",
        "-cd",
        "--package",
        "-p",
        "--experimental-rerun",
        "--info",
        "-i",
        "--cfg",
        "-c",
    }
)
MULTIRUN_FLAGS = frozenset({"-m", "--multirun"})


def overrides_of(argv: Sequence[str]) -> list[str]:
    """The override arguments of a command line (not flags, nor the values flags take)."""
    found = []
    previous = ""
    for arg in argv:
        if not arg.startswith("-") and previous not in VALUE_FLAGS:
            found.append(arg)
        previous = arg
    return found


def grammar_error(argv: Sequence[str]) -> str | None:
    """One line for the first override Hydra's grammar rejects, or None when all parse."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create()
    for text in overrides_of(argv):
        try:
            parser.parse_override(text)
        except HydraException as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            return _hint(text, reason, multirun=bool(MULTIRUN_FLAGS & set(argv)))
    return None


def _hint(text: str, reason: str, multirun: bool) -> str:
    key, equals, value = text.partition("=")
    said = f"Hydra cannot read the override '{text}' ({reason})"
    if not equals or value[:1] in "[{" or '"' in value:
        return (
            f"{said}; check its brackets and quotes "
            "(https://hydra.cc/docs/advanced/override_grammar/basic/)"
        )
    # A sweep's comma-separated values are quoted one by one.
    items = value.split(",") if multirun else [value]
    quoted = ",".join(f'"{item}"' for item in items)
    return f"{said}; quote the value for Hydra, inside shell quotes: '{key}={quoted}'"
