"""report.html: the explorer page of one run, with its figures, config and files.

One self-contained file (xopipe/html: a Jinja2 template, one stylesheet, the
scripts inlined, the arrays as data), no request to the network. Written
without matplotlib, so `figures=none` runs get one too.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from xopipe.experiment import Experiment
from xopipe.explain import Explanation
from xopipe.gradients import Gradients
from xopipe.html import render
from xopipe.html.explorer import (
    MAX_CELLS,
    explorer_data,
    op_settings,
    page_scripts,
    stage_settings,
    total_cells,
)
from xopipe.html.words import (
    FIGURE_KINDS,
    GRADIENT_WORDS,
    NO_CJK_FONT,
    WORDS,
    gradient_lead,
    saved_sentence,
)
from xopipe.ops import OPS
from xopipe.ops.text import shape_text
from xopipe.ops.words import describe
from xopipe.pipeline import SOURCE
from xopipe.run_folder import MANIFEST
from xopipe.sinks.files import file_hashes, write_text
from xopipe.sinks.layout import saved_where
from xopipe.sinks.manifest import versions

# (figure kind, caption); stage figures follow each stage in pipeline order.
FIGURE_ORDER = ("overview", "input", "kernels", "stage", "animation", "explain")


def _data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _figures(files: Sequence[Any], order: Sequence[str], lang: str) -> list[dict[str, str]]:
    """Every figure as a data: URL, overview first, then input, then stage by stage."""
    rank = {kind: i for i, kind in enumerate(FIGURE_ORDER)}
    stage_rank = {name: i for i, name in enumerate(order)}

    def key(item: Any) -> tuple[int, int, int]:
        first = 0 if item.kind in ("overview", "input") else 1
        return first, stage_rank.get(item.stage, -1), rank.get(item.kind, len(rank))

    return figure_entries(sorted(files, key=key), lang)


def figure_entries(files: Sequence[Any], lang: str) -> list[dict[str, str]]:
    """The figures as the page shows them, in the order given: data: URL, caption, name."""
    kinds = FIGURE_KINDS.get(lang, {})
    separator = "：" if lang == "zh" else ": "
    return [
        {
            "src": _data_url(item.mime, item.data),
            "caption": kinds.get(item.kind, item.kind)
            + (f"{separator}{item.stage}" if item.stage else ""),
            "name": item.path.name,
        }
        for item in files
    ]


def _controls(settings: Mapping[str, Mapping[str, Any]], ops: set[str]) -> list[dict[str, Any]]:
    """The settings the page can change (each op's own controls), with the run's values."""

    def value(op: str, key: str) -> str:
        v = settings[op].get(key)
        if v is None:
            return ""
        return ",".join(str(n) for n in v) if isinstance(v, list) else str(v)

    controls: list[dict[str, Any]] = []
    for op in OPS.values():
        if op.name not in ops:
            continue
        for control in op.controls:
            key = op.name if control.field == "name" else f"{op.name}.{control.field}"
            entry: dict[str, Any] = {
                "key": key,
                "label": key,
                "value": value(op.name, control.field),
            }
            if control.choices:
                entry["choices"] = list(control.choices)
            controls.append(entry)
    return controls


def build_report(**parts: Any) -> str:
    """The whole page as text; with `gradients` (a run with a loss), its gradient view too."""
    return render("report.html.j2", **report_context(**parts))


def report_context(
    experiment: Experiment,
    arrays: Mapping[str, np.ndarray],
    figures: Sequence[Any],
    explanation: Explanation | None,
    config_yaml: str,
    overrides: Sequence[str],
    facts: Mapping[str, Any],
    files: Mapping[str, str],
    figures_note: str,
    lang: str = "en",
    gradients: Gradients | None = None,
) -> dict[str, Any]:
    """What report.html.j2 shows of a run (html/training_page.py starts from it too)."""
    known = lang if lang in WORDS else "en"
    words = WORDS[known]
    shapes = experiment.shapes
    title = words["title"].format(
        source=experiment.source_name,
        pipeline=facts.get("pipeline", ""),
        backend=facts.get("backend", ""),
        dtype=facts.get("dtype", ""),
    )
    tables = facts.get("tables")
    steps = [
        {
            "name": "input",
            "text": f"{experiment.source_name} [{shape_text(experiment.source.shape)}]",
            "saved": _saved(words, tables, "input"),
        }
    ]
    for name in experiment.pipeline.order:
        stage = experiment.stages[name]
        source = stage.spec.input
        saved = _saved(words, tables, name)
        if stage.op.weights(stage.params) is not None:
            saved += " " + _saved(words, tables, name, kernels=True)
        steps.append(
            {
                "name": name,
                "text": f"({stage.spec.op}, {words['reads']} {source} "
                f"[{shape_text(shapes[source])}]) → [{shape_text(stage.shape)}]: "
                f"{describe(stage.op, stage.params, shapes[source], lang)}",
                "saved": saved,
            }
        )
    cells = total_cells(arrays)
    settings = op_settings(experiment.config)
    data = None
    grad_lead = ""
    if cells <= MAX_CELLS:
        page_words = words if gradients is None else {**words, **GRADIENT_WORDS[known]}
        data = explorer_data(
            experiment, arrays, settings, stage_settings(experiment.config), page_words, gradients
        )
        if gradients is not None:
            grad_lead = gradient_lead(page_words, data["loss"])
    ops = {stage.spec.op for stage in experiment.stages.values()}
    return dict(
        lang=lang,
        w=words,
        no_cjk_font=NO_CJK_FONT,
        title=title,
        steps=steps,
        figures_note=(words["figures_off"] if lang == "zh" else figures_note)
        if figures_note
        else "",
        data=data,
        grad_lead=grad_lead,
        controls=_controls(settings, ops) if data else [],
        scripts=page_scripts(),
        too_large=_too_large(words, tables, [SOURCE, *experiment.pipeline.order], cells),
        figures=_figures(figures, experiment.pipeline.order, lang),
        explanation=(
            {"cell": str(explanation.cell), "text": "\n".join(explanation.steps)}
            if explanation is not None
            else None
        ),
        overrides=" ".join(overrides),
        config_yaml=config_yaml,
        manifest=MANIFEST,
        files=dict(files),
        facts=json.dumps(
            {**_known_facts(facts), "versions": versions()}, indent=2, ensure_ascii=False
        ),
    )


def _saved(
    words: Mapping[str, str], tables: Mapping[str, Any] | None, stage: str, kernels: bool = False
) -> str:
    places, why = saved_where(tables, stage, weights=kernels)
    return saved_sentence(dict(words), places, why, stage, kernels=kernels)


def _too_large(
    words: Mapping[str, str], tables: Mapping[str, Any] | None, stages: list[str], cells: int
) -> str:
    """The note of a page without the explorer: where the values are instead."""
    where = words["too_large_listed"]
    if all(saved_where(tables, stage)[0] for stage in stages):  # one place for every stage
        formats = (tables or {}).get("formats", ["parquet", "csv"])
        every = {"formats": formats, "stages": ["<stage>"]}
        places = saved_where(every, "<stage>")[0]
        where = words["too_large_saved"].format(places=words["places_and"].join(places))
    return words["too_large"].format(cells=f"{cells:,}", limit=f"{MAX_CELLS:,}", where=where)


def _known_facts(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest's facts the page can state: not the status, which the page, written
    before the run ends, cannot know (manifest.json, written last, has it)."""
    return {key: value for key, value in facts.items() if key not in ("status", "error")}


def write_report(
    path: Path,
    out_dir: Path,
    written: Sequence[Path],
    hashes: dict[str, str] | None = None,
    **parts: Any,
) -> Path:
    """Hash the files written so far and write the page atomically. `hashes`: those the
    run has already (the tables'), by name; the ones hashed here are added to it."""
    files = file_hashes(out_dir, written, hashes)
    write_text(path, build_report(files=files, **parts))
    return path
