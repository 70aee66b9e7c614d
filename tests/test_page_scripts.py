"""The explorer page's scripts: every file in xopipe/html is inlined once, and each stays small
(a training run's page adds its own after the explorer's)."""

from __future__ import annotations

import re
from pathlib import Path

from xopipe.html.explorer import page_scripts
from xopipe.html.training_page import TRAINING_SCRIPTS

HTML = Path(__file__).parent.parent / "xopipe" / "html"
TEMPLATE = (HTML / "templates" / "report.html.j2").read_text(encoding="utf-8")


def _inlined() -> list[str]:
    """Every script the pages inline, in page order: the zh page's font check, named in the
    template, then the explorer's, listed by html/explorer.py (each op's engine included),
    then a training run's page's own (training.html.j2 extends report.html.j2)."""
    calls = re.findall(r"script\((.*?)\)\s*}}", TEMPLATE, re.S)
    assert calls == ['"page_fonts.js"', "*scripts"], calls
    training = (HTML / "templates" / "training.html.j2").read_text(encoding="utf-8")
    assert '{% extends "report.html.j2" %}' in training and "script(" not in training
    return ["page_fonts.js", *page_scripts(), *TRAINING_SCRIPTS]


def test_every_script_is_inlined_once():
    names = _inlined()
    assert sorted(names) == sorted(p.name for p in HTML.glob("*.js"))
    assert len(names) == len(set(names))


def test_each_script_is_under_300_lines():
    lengths = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in HTML.glob("*.js")}
    assert lengths and max(lengths.values()) < 300, lengths


def test_scripts_follow_their_dependencies():
    # A part reads its namespace (XoEngine, XoExplain, XoPage) once the file that creates it ran.
    names = _inlined()
    text = {name: (HTML / name).read_text(encoding="utf-8") for name in names}
    created = {m: n for n in names for m in re.findall(r"^const (Xo\w+) = \{\};", text[n], re.M)}
    assert set(created) == {"XoEngine", "XoExplain", "XoPage"}
    for position, name in enumerate(names):
        for used in set(re.findall(r"\b(Xo(?:Engine|Explain|Page))\b", text[name])):
            assert names.index(created[used]) <= position, (name, used)
