"""OmegaConf.to_yaml's exact text, written with libyaml wherever that gives the same bytes.

A sweep writes three YAML files per job (.hydra/) and a fourth copy in
report.html, through PyYAML's pure-Python emitter. Two things make the same
text faster:

- libyaml's emitter (PyYAML's C one) writes byte-for-byte what the Python one
  writes for block mappings and lists of plain keys and printable ASCII
  text; it differs on other text (how it folds long double-quoted strings,
  as in Hydra's help templates; empty or very long keys). So a config is
  written a subtree at a time: runs of such subtrees by libyaml, the rest by
  the Python emitter, each at its own indentation (its lines shifted right,
  and its line width narrowed by as much, so long lines break where the
  whole document's would).
- The Python emitter analyses every scalar (which quoting it allows) again
  on every call; the analysis depends on the text alone, so it is
  remembered.

Both use OmegaConf's own representers and options; tests compare the text
with OmegaConf.to_yaml on real configs and on random trees of any unicode.
Text holding line breaks other than \\n (which the emitters may write inside
a scalar) is written whole by the Python emitter.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from omegaconf import Container, OmegaConf

from xopipe.private_api import private_api_usable

WIDTH = 80  # PyYAML's default best width, which OmegaConf keeps
_MAX_KEY = 100  # longer keys are written "? key" by both emitters, with differences
_OTHER_BREAKS = ("\r", "\x85", "\u2028", "\u2029")
_MAX_REMEMBERED = 1 << 16


@functools.cache
def _dumpers() -> tuple[Any, Any]:
    """(Python dumper, libyaml dumper or None): OmegaConf's own dumper, subclassed.

    OmegaConfDumper is private to OmegaConf (omegaconf._utils); it is imported
    only once the version guard has let the fast path through.
    """
    from omegaconf._utils import OmegaConfDumper, get_omega_conf_dumper

    get_omega_conf_dumper()  # registers OmegaConf's str representer, which these inherit

    class PythonDumper(OmegaConfDumper):  # type: ignore[misc]
        _analyses: dict[str, Any] = {}

        def analyze_scalar(self, scalar: str) -> Any:
            # PyYAML's analysis depends on the text alone: remembered across calls.
            found = self._analyses.get(scalar)
            if found is None:
                if len(self._analyses) >= _MAX_REMEMBERED:
                    self._analyses.clear()
                found = self._analyses[scalar] = super().analyze_scalar(scalar)
            return found

    if not getattr(yaml, "__with_libyaml__", False):  # a PyYAML built without libyaml
        return PythonDumper, None

    class LibyamlDumper(yaml.CDumper):  # type: ignore[misc,name-defined]
        pass

    LibyamlDumper.add_representer(str, OmegaConfDumper.str_representer)
    return PythonDumper, LibyamlDumper


def to_yaml(cfg: Container) -> str:
    """OmegaConf.to_yaml(cfg): interpolations kept, keys in their order."""
    if not private_api_usable():
        return OmegaConf.to_yaml(cfg)
    return container_to_yaml(OmegaConf.to_container(cfg, resolve=False, enum_to_str=True))


def container_to_yaml(data: Any) -> str:
    """yaml.dump(data) as OmegaConf.to_yaml writes it, for dicts, lists and scalars."""
    python, libyaml = _dumpers()
    if libyaml is None or not _plain_breaks(data):
        return _dump(data, python, WIDTH)
    try:
        return _block(data, 0, python, libyaml)
    except _TooDeep:
        return _dump(data, python, WIDTH)


class _TooDeep(Exception):
    """Nested so deep that the narrowed width would be one the emitters reset to 80."""


def save_config(cfg: Container, filename: str, output_dir: Path) -> None:
    """hydra.core.utils._save_config, with this module's to_yaml."""
    output_dir.mkdir(parents=True, exist_ok=True)
    with open(str(output_dir / filename), "w", encoding="utf-8") as file:
        file.write(to_yaml(cfg))


def _dump(data: Any, dumper: type, width: int) -> str:
    text: str = yaml.dump(
        data,
        default_flow_style=False,
        allow_unicode=True,
        sort_keys=False,
        Dumper=dumper,
        width=width,
    )
    return text


def _block(data: Any, indent: int, python: Any, libyaml: Any) -> str:
    """`data` written as the value of a block mapping nested `indent` spaces deep."""
    width = WIDTH - indent
    if width <= 2 * 2:  # both emitters take a width of at most twice the indent (2) as 80
        raise _TooDeep
    if _libyaml_safe(data):
        return _shift(_dump(data, libyaml, width), indent)
    if not isinstance(data, dict) or not data:
        return _shift(_dump(data, python, width), indent)
    parts: list[str] = []
    run: dict[Any, Any] = {}
    for key, value in data.items():
        if _libyaml_safe({key: value}):
            run[key] = value
            continue
        if run:
            parts.append(_shift(_dump(run, libyaml, width), indent))
            run = {}
        if isinstance(value, dict) and value and _safe_key(key):
            head = _dump({key: {}}, libyaml, width)  # "key: {}\n"
            parts.append(_shift(head[: -len(" {}\n")] + "\n", indent))
            parts.append(_block(value, indent + 2, python, libyaml))
        else:
            parts.append(_shift(_dump({key: value}, python, width), indent))
    if run:
        parts.append(_shift(_dump(run, libyaml, width), indent))
    return "".join(parts)


def _shift(text: str, indent: int) -> str:
    if not indent:
        return text
    pad = " " * indent
    return "\n".join(pad + line if line else line for line in text.split("\n"))


def _safe_text(text: str) -> bool:
    return text.isascii() and text.isprintable()


def _safe_key(key: Any) -> bool:
    return isinstance(key, str) and 0 < len(key) <= _MAX_KEY and _safe_text(key)


def _libyaml_safe(data: Any) -> bool:
    """Whether libyaml writes `data` exactly as PyYAML's Python emitter does."""
    if isinstance(data, str):
        return _safe_text(data)
    if isinstance(data, dict):
        return all(_safe_key(key) and _libyaml_safe(value) for key, value in data.items())
    if isinstance(data, list):
        return all(_libyaml_safe(item) for item in data)
    return data is None or isinstance(data, bool | int | float)


def _plain_breaks(data: Any) -> bool:
    if isinstance(data, str):
        return not any(mark in data for mark in _OTHER_BREAKS)
    if isinstance(data, dict):
        return all(_plain_breaks(key) and _plain_breaks(value) for key, value in data.items())
    if isinstance(data, list):
        return all(_plain_breaks(item) for item in data)
    return True
