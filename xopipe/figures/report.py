"""report.html: one self-contained page a student can hand in as it is.

Figures are embedded as data: URLs, small matrices are HTML tables with
their numbers (full precision on hover), then the config, the overrides
and the files with their sha256; no script, no font or style from the
network. Written without matplotlib, so `figures=none` runs get one too.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from xopipe.experiment import Experiment
from xopipe.explain import Explanation
from xopipe.explain.text import shape_text
from xopipe.figures.labels import cell_text, describe
from xopipe.ops.conv import ConvParams
from xopipe.sinks.files import sha256_of, write_text
from xopipe.sinks.manifest import MANIFEST, versions
from xopipe.sinks.table_files import saved_in

TABLE_MAX = 16  # rows and cols of a matrix shown as a table
TABLE_CHANNELS = 8  # channels per stage shown as tables

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; }
table.grid { border-collapse: collapse; margin: 0.5em 1.5em 1em 0; display: inline-table;
             font: 12px/1.2 ui-monospace, monospace; }
table.grid td, table.grid th { border: 1px solid #fff; padding: 3px 5px; text-align: right; }
table.grid th { color: #888; font-weight: normal; background: #fafafa; }
table.grid caption { font: 13px system-ui, sans-serif; text-align: left; color: #444; }
table.files td { font: 12px ui-monospace, monospace; padding: 2px 12px 2px 0; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 12.5px; }
.lead { font-size: 1.05em; } .note { color: #666; font-size: 0.9em; }
ol.stages li { margin: 0.3em 0; }
"""


def _data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _tint(value: float, reach: float) -> str:
    """A light red (positive) or blue (negative) background, white at 0."""
    if not np.isfinite(value) or reach == 0:
        return "#eeeeee"
    t = max(-1.0, min(1.0, value / reach)) * 0.6
    fade = int(round(255 * (1 - abs(t))))
    return f"rgb(255,{fade},{fade})" if t > 0 else f"rgb({fade},{fade},255)"


def grid_table(grid: np.ndarray, caption: str) -> str:
    """One matrix as a table: 2 decimals shown, the exact value on hover."""
    finite = grid[np.isfinite(grid)]
    reach = float(np.abs(finite).max()) if finite.size else 0.0
    head = "".join(f"<th>{j}</th>" for j in range(grid.shape[1]))
    rows = []
    for i, row in enumerate(grid):
        cells = "".join(
            f'<td style="background:{_tint(float(v), reach)}" title="{v!r}">'
            f"{html.escape(cell_text(float(v)))}</td>"
            for v in row.tolist()
        )
        rows.append(f"<tr><th>{i}</th>{cells}</tr>")
    return (
        f'<table class="grid"><caption>{html.escape(caption)}</caption>'
        f"<tr><th></th>{head}</tr>{''.join(rows)}</table>"
    )


def _tables(array: np.ndarray, label: str, saved: str, captions: Sequence[str] = ()) -> str:
    """Small grids as tables; `saved` says where every value is on disk (see saved_in)."""
    channels, rows, cols = array.shape
    if rows > TABLE_MAX or cols > TABLE_MAX:
        # Reductions over the whole array, no masked copy: a 4096x4096 stage is 400 MB.
        low, high = float(array.min()), float(array.max())
        summary = (
            f"min {low:.4g}, max {high:.4g}, mean {float(array.mean()):.4g}"
            if np.isfinite(low) and np.isfinite(high)
            else "not all values finite"
        )
        return (
            f'<p class="note">{rows}×{cols} per channel is too large for a table ({summary}); '
            f"every value is {html.escape(saved)}.</p>"
        )
    shown = min(channels, TABLE_CHANNELS)
    captions = list(captions) or [f"{label}, channel {c}" for c in range(channels)]
    tables = "".join(grid_table(array[c], captions[c]) for c in range(shown))
    if channels > shown:
        more = f"{channels - shown} more {'grids' if captions else 'channels'}"
        tables += f'<p class="note">{more}: every value is {html.escape(saved)}.</p>'
    return f"<div>{tables}</div>"


def _figure(files: Sequence[Any], kind: str, stage: str | None, caption: str) -> str:
    for item in files:
        if item.kind == kind and item.stage == stage:
            source = _data_url(item.mime, item.data)
            return (
                f'<figure><img src="{source}" alt="{html.escape(caption)}">'
                f"<figcaption>{html.escape(caption)} (figures/{html.escape(item.path.name)})"
                "</figcaption></figure>"
            )
    return ""


def build_report(
    experiment: Experiment,
    arrays: Mapping[str, np.ndarray],
    figures: Sequence[Any],
    explanation: Explanation | None,
    config_yaml: str,
    overrides: Sequence[str],
    facts: Mapping[str, Any],
    files: Mapping[str, str],
    figures_note: str,
) -> str:
    """The whole page as text."""
    shapes = experiment.shapes
    title = (
        f"xopipe: {experiment.source_name} through the {facts.get('pipeline', '')} pipeline "
        f"({facts.get('backend', '')}, {facts.get('dtype', '')})"
    )
    steps = [
        f"<li><b>input</b> {html.escape(experiment.source_name)} "
        f"[{shape_text(experiment.source.shape)}]: the image the pipeline starts from</li>"
    ]
    for name in experiment.pipeline.order:
        stage = experiment.stages[name]
        steps.append(
            f"<li><b>{html.escape(name)}</b> ({stage.spec.op}, reads "
            f"{html.escape(stage.spec.input)} [{shape_text(shapes[stage.spec.input])}]) → "
            f"[{shape_text(stage.shape)}]: {html.escape(describe(stage, shapes[stage.spec.input]))}"
            "</li>"
        )
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        '<p class="lead">What each stage did, in order (a stage reads the stage named after '
        "<i>reads</i>; shapes are channels×rows×cols):</p>",
        f'<ol class="stages">{"".join(steps)}</ol>',
    ]
    if figures_note:
        parts.append(f'<p class="note">{html.escape(figures_note)}</p>')
    overview = _figure(figures, "overview", None, "The whole pipeline, one row per step")
    if overview:
        parts += ["<h2>Overview</h2>", overview]

    parts += ["<h2>input</h2>", _figure(figures, "input", None, "The input")]
    tables = facts.get("tables")
    parts.append(_tables(experiment.source, "input", saved_in(tables, "input")))
    for name in experiment.pipeline.order:
        stage = experiment.stages[name]
        if isinstance(stage.params, ConvParams):
            parts += [
                f"<h2>kernels of {html.escape(name)}</h2>",
                _figure(figures, "kernels", name, f"The kernels {name} slides over its input"),
            ]
            weight = stage.params.weight
            names = stage.params.names
            captions = [
                (names[k] if k < len(names) else f"kernel {k}")
                + (f", channel {c}" if weight.shape[1] > 1 else "")
                for k in range(weight.shape[0])
                for c in range(weight.shape[1])
            ]
            saved = saved_in(tables, name, weights=True)
            parts.append(_tables(weight.reshape(-1, *weight.shape[2:]), "", saved, captions))
        parts += [
            f"<h2>{html.escape(name)} ({stage.spec.op})</h2>",
            f"<p>{html.escape(describe(stage, shapes[stage.spec.input]))}</p>",
            _figure(figures, "stage", name, f"{name}: every channel"),
            _tables(arrays[name], name, saved_in(tables, name)),
            _figure(figures, "animation", name, f"{name}: the window slides, the output fills"),
        ]
    if explanation is not None:
        parts += [
            f"<h2>How {html.escape(str(explanation.cell))} was computed</h2>",
            f"<pre>{html.escape(chr(10).join(explanation.steps))}</pre>",
            _figure(figures, "explain", explanation.cell.stage, "The window, and the arithmetic"),
        ]
    parts += [
        "<h2>Configuration</h2>",
        "<p>Overrides given on the command line:</p>",
        f"<pre>{html.escape(' '.join(overrides) or '(none: the defaults)')}</pre>",
        "<p>The whole configuration of this run (<code>.hydra/config.yaml</code>):</p>",
        f"<pre>{html.escape(config_yaml)}</pre>",
        "<h2>Files and manifest</h2>",
        f"<p>Files written before this page, with their sha256 ({MANIFEST} is written last "
        "and lists this page too):</p>",
        '<table class="files">'
        + "".join(
            f"<tr><td>{html.escape(path)}</td><td>{digest}</td></tr>"
            for path, digest in files.items()
        )
        + "</table>",
        f"<pre>{html.escape(json.dumps({**facts, 'versions': versions()}, indent=2))}</pre>",
    ]
    body = "\n".join(part for part in parts if part)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )


def write_report(path: Path, out_dir: Path, written: Sequence[Path], **parts: Any) -> Path:
    """Hash the files written so far and write the page atomically."""
    files = {p.relative_to(out_dir).as_posix(): sha256_of(p) for p in sorted(written)}
    write_text(path, build_report(files=files, **parts))
    return path
