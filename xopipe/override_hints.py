"""Overrides Hydra refuses, answered with a line that says what to type instead.

Hydra stops on `input.path=~/x.png` with a lexer exception, a caret
diagram and a link: three lines that do not say what to type instead. The
command line's overrides are parsed here first, with Hydra's own public
parser, so the user gets the fix (quote the value for Hydra, inside shell
quotes) and xopipe then expands `~` itself.

A misspelt key or option (`conv.strid=2`, `pool=maxx`) gets Hydra's own
lines, whose "To append to your config use +conv.strid=2" leads to a second
error; `did_you_mean` names the close matches the config really has.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

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


def did_you_mean(error: BaseException) -> str | None:
    """'did you mean conv.stride?' for a key or group option Hydra could not find.

    The names come from the config Hydra was composing (the refused key's
    own node, which Hydra's error carries) or from the group's options;
    None when none is close.
    """
    from hydra.errors import MissingConfigException
    from omegaconf import DictConfig
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError

    if isinstance(error, MissingConfigException):  # pool=maxx: "Could not find 'pool/maxx'"
        group, _, option = (error.missing_cfg_file or "").rpartition("/")
        names = [f"{group}={name}" for name in _close(option, error.options or [])]
    else:
        cause = error.__cause__
        if not isinstance(cause, (ConfigAttributeError, ConfigKeyError)):
            return None
        node, key, full_key = cause.parent_node, str(cause.key), str(cause.full_key)
        if not isinstance(node, DictConfig) or not full_key.endswith(key):
            return None
        prefix = full_key[: len(full_key) - len(key)]
        names = [prefix + name for name in _close(key, [str(k) for k in node])]
    if not names:
        return None
    return f"did you mean {' or '.join(names)}?"


def _close(word: str, names: Sequence[str]) -> list[str]:
    import difflib

    return difflib.get_close_matches(word, names, n=3, cutoff=0.6)


def composition_line(error: BaseException) -> str:
    """Hydra's error for a config it could not compose, as one line (and the names it meant)."""
    said = _first_line(error).rstrip(".")
    if error.__cause__ is not None and _first_line(error.__cause__):
        said += f": {_first_line(error.__cause__)}"
    options = getattr(error, "options", None)
    if options:
        said += f" (available: {', '.join(options)})"
    hint = did_you_mean(error)
    return f"{said}; {hint}" if hint else said


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def single_runs(overrides: Sequence[str], most: int = 30) -> Iterator[list[str]]:
    """A sweep's overrides as single runs' overrides: every sweep at its first value, then
    each other value of one sweep at a time (at most `most` in all).

    Hydra's Compose API composes one run, so this is how a sweep's refused
    value (`pool=avg,maxx`) is found again; a sweep that cannot be expanded
    without the config (glob) is left out.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create()
    choices: list[list[str]] = []
    for text in overrides:
        override = parser.parse_override(text)
        if not override.is_sweep_override():
            choices.append([text])
            continue
        try:
            values = list(itertools.islice(override.sweep_string_iterator(), most))
        except HydraException:
            values = []
        choices.append([f"{override.get_key_element()}={value}" for value in values])
    first = [options[0] for options in choices if options]
    yield first
    # The other values in turns, one of each sweep per round: a long range(...) does not
    # use up the budget before a short list's misspelt option (pool=avg,maxx) is tried.
    at = [i for i, options in enumerate(choices) if options]  # index into `first`
    made = 1
    for value in range(1, most):
        for place, options in enumerate(choices[i] for i in at):
            if value >= len(options):
                continue
            if made >= most:
                return
            made += 1
            yield [options[value] if j == place else line for j, line in enumerate(first)]
