"""diff_report.md and diff_report.html: the verdict first, then only what differs.

Both are rendered from one list of blocks (heading, paragraph, table,
heatmaps), so they always say the same thing: the Markdown here, the HTML
by the shared Jinja2 template and stylesheet (xopipe/html). The HTML adds a heatmap of
|a - b| beyond tolerance for each mismatching grid, grouped by stage, as
inline PNGs: the page is self-contained. Long lists are cut with a note;
every pair, stage and channel is in diff.csv. Runs with a loss are compared
table by table (matrices, gradients, weight_gradients), training runs by
their final weights and history: each pair then says per table where it
differs, and every grid listed names its table. Training runs' final scores
close the report (xopipe.diff.scores).
"""

from __future__ import annotations

from pathlib import Path

from xopipe.diff.comparison import Comparison, GridRow, Pair
from xopipe.diff.render import Block, render_html, render_markdown
from xopipe.diff.scores import scores_blocks
from xopipe.diff.table import shape_text, write_diff_csv
from xopipe.run_folder import DIFF_CSV, DIFF_REPORT_HTML, DIFF_REPORT_MD, Job
from xopipe.sinks.files import write_text

MAX_PAIRS = 30  # differing pairs shown in full
MAX_GRIDS = 24  # differing grids listed per pair
# Values that agree with gradients that do not: a backward bug, or a rounding tie.
GRADIENTS_ALONE = (
    "The values agree; only gradients differ. Either a backward pass differs, or a max "
    "pool window holds cells equal up to rounding: each run gives the gradient to the first "
    "maximum of the values it computed itself, and sums added in another order (the loop "
    "backend's against BLAS's) can round those cells apart by one unit in the last place. "
    "explain=grad:STAGE:CHANNEL:ROW:COL in each run shows where its gradient went."
)
MAX_WORST = 20  # worst cells listed per pair
MAX_LISTED = 50  # failed or unmatched runs listed


def write_reports(folder: Path, comparison: Comparison, detail: str = "") -> list[Path]:
    """Write diff.csv, diff_report.md and diff_report.html into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    blocks = report_blocks(comparison, detail)
    paths = [folder / DIFF_CSV, folder / DIFF_REPORT_MD, folder / DIFF_REPORT_HTML]
    write_diff_csv(paths[0], comparison)
    write_text(paths[1], render_markdown(blocks))
    write_text(paths[2], render_html(blocks, title=f"xopipe diff: {comparison.verdict()}"))
    return paths


def report_blocks(comparison: Comparison, detail: str = "") -> list[Block]:
    blocks = [
        Block("h1", "xopipe diff report"),
        Block("verdict", comparison.verdict(), good=comparison.agrees),
        Block("p", _scope(comparison)),
        Block("p", f"Every pair, stage and channel: {DIFF_CSV}. {detail}".strip()),
    ]
    if any(row.heatmap is not None for row in comparison.rows):
        blocks.append(Block("md", f"Heatmaps of the grids that differ: {DIFF_REPORT_HTML}."))
    if comparison.skipped:
        blocks.append(Block("h2", "Failed jobs (skipped)"))
        blocks.append(_jobs_table(comparison.skipped))
    if comparison.unmatched:
        blocks.append(Block("h2", "Runs without a match"))
        rows = [[source, job.name, job.label()] for source, job in comparison.unmatched]
        blocks.append(Block("table", header=["in", "run", "overrides"], rows=_cut(rows)))
    differing = [pair for pair in comparison.pairs if not pair.ok]
    if differing:
        blocks.append(Block("h2", "Differences"))
        for pair in differing[:MAX_PAIRS]:
            blocks.extend(_pair_blocks(pair))
        if len(differing) > MAX_PAIRS:
            blocks.append(Block("p", f"... and {len(differing) - MAX_PAIRS} more pairs."))
    agreeing = [pair for pair in comparison.pairs if pair.ok]
    if agreeing and differing:
        names = ", ".join(pair.name for pair in agreeing[:MAX_LISTED])
        more = f" and {len(agreeing) - MAX_LISTED} more" if len(agreeing) > MAX_LISTED else ""
        blocks.append(Block("p", f"Within tolerance: {names}{more}."))
    return blocks + scores_blocks(comparison.trained)


def _scope(comparison: Comparison) -> str:
    where = " and ".join(comparison.sources)
    tolerances = sorted({(p.tolerance.atol, p.tolerance.rtol) for p in comparison.pairs})
    rule = "; ".join(f"atol {atol!r}, rtol {rtol!r}" for atol, rtol in tolerances)
    pairs = len(comparison.pairs)
    text = (
        f"Compared: {where} ({comparison.jobs} runs, {pairs} {'pair' if pairs == 1 else 'pairs'})."
    )
    if rule:
        text += f" A cell agrees when |a - b| <= atol + rtol * |b|, with {rule}."
    return text


def _runs(pair: Pair) -> str:
    """Where the two runs are, for the reader who wants their folders."""

    def side(job: Job) -> str:
        return f"{job.name} ({job.backend})" if job.backend else job.name

    return f"a = {side(pair.a)}, b = {side(pair.b)}"


def _pair_blocks(pair: Pair) -> list[Block]:
    blocks = [Block("h3", pair.name)]
    if not pair.compared:
        blocks.append(Block("p", f"{_runs(pair)}. Not compared: {pair.failure}."))
        return blocks
    bad = pair.bad_rows
    # Runs with a loss hold gradient tables too: every grid then says which table it is from.
    tables = any(row.table != "matrices" for row in pair.rows)
    blocks.append(
        Block(
            "p",
            f"{_runs(pair)}. {len(bad)} of {len(pair.rows)} grids beyond tolerance "
            f"(atol {pair.tolerance.atol!r}, rtol {pair.tolerance.rtol!r}).",
        )
    )
    if tables:
        blocks.append(Block("p", _by_table(pair.rows)))
        if bad and all(row.table != "matrices" for row in bad):
            blocks.append(Block("p", GRADIENTS_ALONE))
    header = ["stage", "channel", "shape a", "shape b", "max abs diff", "max rel diff"]
    header.append("cells beyond tolerance")
    rows = [
        [
            row.stage,
            str(row.channel),
            shape_text(row.diff.shape_a) or "missing",
            shape_text(row.diff.shape_b) or "missing",
            _number(row.diff.max_abs_diff),
            _number(row.diff.max_rel_diff),
            _count(row),
        ]
        for row in bad[:MAX_GRIDS]
    ]
    blocks.append(_with_table(Block("table", header=header, rows=rows), bad, tables))
    if len(bad) > MAX_GRIDS:
        blocks.append(Block("p", f"... and {len(bad) - MAX_GRIDS} more grids."))
    blocks.extend(Block("p", text) for text in _shifts(bad, tables))
    cells = [(row, cell) for row in bad for cell in row.diff.worst]
    cells.sort(key=lambda item: -item[1].abs_diff)  # stable: grid order among equals
    worst = [
        [
            row.stage,
            str(row.channel),
            str(c.row),
            str(c.col),
            repr(c.a),
            repr(c.b),
            repr(c.abs_diff),
        ]
        for row, c in cells[:MAX_WORST]
    ]
    if worst:
        blocks.append(Block("p", "Worst cells (largest |a - b| first, up to 5 per grid):"))
        a_name, b_name = (f"{side} ({name})" for side, name in zip("ab", pair.names, strict=True))
        header = ["stage", "channel", "row", "col", a_name, b_name, "|a - b|"]
        listed = Block("table", header=header, rows=worst)
        blocks.append(_with_table(listed, [row for row, _ in cells[:MAX_WORST]], tables))
    for table, stage in dict.fromkeys((row.table, row.stage) for row in bad):
        images = [
            (f"{stage} channel {row.channel}, {_how_much(row)}", png)
            for row in bad
            if (row.table, row.stage) == (table, stage) and (png := row.heatmap) is not None
        ]
        if images:
            title = f"{_grid_name(table, stage, tables)}: |a - b| beyond tolerance"
            blocks.append(Block("heatmaps", title, images=images))
    return blocks


def _by_table(rows: list[GridRow]) -> str:
    """Per table, whether the pair agrees and where not: 'gradients: 2 of 10 grids beyond
    tolerance (conv 0, input 0)'."""
    parts = []
    for table in dict.fromkeys(row.table for row in rows):
        mine = [row for row in rows if row.table == table]
        bad = [f"{row.stage} {row.channel}" for row in mine if not row.diff.ok]
        if bad:
            where = _listed(bad)
            parts.append(f"{table}: {len(bad)} of {len(mine)} grids beyond tolerance ({where})")
        else:
            parts.append(f"{table}: all {len(mine)} grids within tolerance")
    return "By table: " + "; ".join(parts) + "."


def _with_table(block: Block, rows: list[GridRow], tables: bool) -> Block:
    """The block with a first column naming each row's table, when the runs hold several."""
    if tables:
        block.header = ["table", *block.header]
        block.rows = [[row.table, *cells] for row, cells in zip(rows, block.rows, strict=True)]
    return block


def _grid_name(table: str, stage: str, tables: bool) -> str:
    return f"{table} {stage}" if tables else stage


def _how_much(row: GridRow) -> str:
    if row.diff.shift is not None:
        return f"every cell differs by {_amount(row.diff.shift)}"
    return f"max |a - b| {_number(row.diff.max_abs_diff)}"


def _shifts(rows: list[GridRow], tables: bool = False) -> list[str]:
    """In words what a solid-colour heatmap shows: grids whose every cell moved alike."""
    moved: dict[str, list[str]] = {}
    for row in rows:
        if row.diff.shift is not None:
            sign = "+" if row.diff.shift > 0 else "-"
            how = f"{_amount(row.diff.shift)} (b = a {sign} {_amount(row.diff.shift)})"
            grid = f"{_grid_name(row.table, row.stage, tables)} {row.channel}"
            moved.setdefault(how, []).append(grid)
    return [
        f"Every cell of {_listed(grids)} differs by {how}: "
        f"{'that grid' if len(grids) == 1 else 'each grid'} moved as a whole."
        for how, grids in moved.items()
    ]


def _listed(grids: list[str]) -> str:
    shown = ", ".join(grids[:MAX_GRIDS])
    return shown + (f" and {len(grids) - MAX_GRIDS} more" if len(grids) > MAX_GRIDS else "")


def _amount(shift: float) -> str:
    """|shift| without the last bits of rounding noise (0.9999999999999999 is 1.0)."""
    return repr(float(f"{abs(shift):.12g}"))


def _count(row: GridRow) -> str:
    if row.diff.mismatched_cells is None:
        return "shapes differ"
    return f"{row.diff.mismatched_cells} of {row.diff.cells}"


def _number(value: float | None) -> str:
    return "" if value is None else repr(value)


def _jobs_table(jobs: list[Job]) -> Block:
    rows = [[str(job.num), job.name, job.label(), job.error or ""] for job in jobs]
    return Block("table", header=["job", "run", "overrides", "error"], rows=_cut(rows))


def _cut(rows: list[list[str]]) -> list[list[str]]:
    if len(rows) <= MAX_LISTED:
        return rows
    return [*rows[:MAX_LISTED], ["...", f"{len(rows) - MAX_LISTED} more", "", ""][: len(rows[0])]]
