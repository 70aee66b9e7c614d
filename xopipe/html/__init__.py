"""HTML pages: Jinja2 templates, one stylesheet, scripts inlined, data as escaped JSON.

Every page xopipe writes is one self-contained file: `render` inlines the
stylesheet and any scripts a template asks for, and `script_json` is the only
way data reaches a <script> element (it cannot close the element or open a
comment, whatever the strings in it say).
"""

from __future__ import annotations

import functools
import json
from importlib.resources import files
from typing import Any

import jinja2
from markupsafe import Markup


@functools.cache
def asset(name: str) -> str:
    """A file shipped next to this module (style.css, engine_conv.js, ...)."""
    return files("xopipe.html").joinpath(name).read_text(encoding="utf-8")


def script(*names: str) -> Markup:
    """Our own scripts, concatenated for one inline <script> element."""
    text = "\n".join(asset(name) for name in names)
    assert "</script" not in text.lower(), names  # would end the element early
    return Markup(text)


def script_json(value: Any) -> Markup:
    """JSON for a <script type="application/json"> element, safe from any string in it."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(raw, escaped)
    return Markup(text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("xopipe.html", "templates"),
        autoescape=True,  # every config or file string is text, never markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["script_json"] = script_json
    env.globals["stylesheet"] = lambda: Markup(asset("style.css"))
    env.globals["script"] = script
    return env


def render(template: str, **context: Any) -> str:
    """A page from templates/<template>."""
    return environment().get_template(template).render(**context)
