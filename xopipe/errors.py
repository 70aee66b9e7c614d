"""User errors: mistakes in a config or an input file, reported as one line."""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """A mistake the user can fix; shown as one line, never as a traceback."""


def show(value: Any) -> str:
    """Render a config value the way the user typed it (strings quoted)."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, tuple):
        value = list(value)
    return str(value)


def invalid(key: str, value: Any, allowed: str) -> UserError:
    """The standard message: `<key> must be <allowed>, got <value>`."""
    return UserError(f"{key} must be {allowed}, got {show(value)}")
