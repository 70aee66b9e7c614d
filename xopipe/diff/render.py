"""Rendering a diff report's blocks: Markdown here, HTML by the shared Jinja2 template.

Both come from one list of blocks (xopipe.diff.report makes it), so they
always say the same thing.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field


@dataclass
class Block:
    kind: str  # h1 | h2 | h3 | verdict | p | md (Markdown only) | table | heatmaps
    text: str = ""
    good: bool = True  # verdict only: everything agrees
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    images: list[tuple[str, bytes]] = field(default_factory=list)  # (caption, PNG)


def render_markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        if block.kind in ("h1", "h2", "h3"):
            out.append(f"{'#' * int(block.kind[1])} {block.text}")
        elif block.kind == "verdict":
            out.append(f"**{block.text}**")
        elif block.kind in ("p", "md"):
            out.append(block.text)
        elif block.kind == "table":
            lines = [_md_row(block.header), "|" + "---|" * len(block.header)]
            lines.extend(_md_row(row) for row in block.rows)
            out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def _md(text: str) -> str:
    """A table cell: a | would end it."""
    return text.replace("|", "\\|")


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(_md(cell) for cell in cells) + " |"


def render_html(blocks: list[Block], title: str) -> str:
    """The page, from the shared template (xopipe/html/templates/diff_report.html.j2)."""
    from xopipe.html import render

    return render("diff_report.html.j2", title=title, blocks=[_for_page(b) for b in blocks])


def _for_page(block: Block) -> dict[str, object]:
    """A block as the template reads it, its heatmaps as base64 text for data: URLs."""
    images = [
        {"caption": caption, "base64": base64.b64encode(png).decode()}
        for caption, png in block.images
    ]
    return {**vars(block), "images": images}
