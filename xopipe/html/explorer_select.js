// A click on a cell: its sources and the cells it feeds marked, the arithmetic in #explain
// (in gradient view, explorer_gradient.js marks and explains the cell's gradient instead).
"use strict";

Object.assign(XoPage, (function () {
  const { T, WINDOW, order, state, $, make, grids, render, cellAt, openWindow } = XoPage;

  function bringIntoView(name, cell) {
    const g = grids[name];
    if (!g || !cell) return;
    const [, H, W] = state.view.arrays[name].shape;
    let changed = false;
    if (g.mode !== "all" && g.channel !== cell[0]) { g.channel = cell[0]; changed = true; }
    if (g.mode === "large") {
      const [r0, q0] = g.window;
      const r = Math.max(0, Math.min(cell[1], H - 1)), q = Math.max(0, Math.min(cell[2], W - 1));
      if (r < r0 || r >= r0 + WINDOW || q < q0 || q >= q0 + WINDOW) { openWindow(g, r, q); changed = true; }
    }
    if (changed) render(g);
  }

  function mark(name, cells, role) {
    const g = grids[name];
    for (const cell of cells) {
      const el = g && cellAt(g, cell[0], cell[1], cell[2]);
      if (el) el.dataset.role = role;
    }
  }

  // The text wraps to the panel, but a grid row ("    [[1.0  2.0]") keeps its columns
  // in one line and the panel scrolls sideways instead; the text itself is unchanged.
  function showExplain(text) {
    const box = $("#explain");
    box.replaceChildren();
    text.split("\n").forEach((line, k) => {
      if (k) box.append("\n");
      box.append(/^ *\[/.test(line) ? make("span", "row", line) : line);
    });
  }

  function clearMarks() {
    for (const el of document.querySelectorAll("[data-role]")) el.removeAttribute("data-role");
    for (const el of document.querySelectorAll(".picked, .used")) el.classList.remove("picked", "used");
  }

  function select(name, c, r, q) {
    // In gradient view a click explains the cell's gradient (explorer_gradient.js).
    if (state.gradView && state.view.grads) return XoPage.selectGradient(name, c, r, q);
    clearMarks();
    const stage = state.view.stages[name];
    const src = stage ? XoExplain.sources(state.view, name, c, r, q) : null;
    const downstream = XoExplain.feeds(state.view, order, name, c, r, q);
    if (src) bringIntoView(src.stage, src.cells.find(([, a, b]) => a >= 0 && b >= 0) || src.cells[0]);
    for (const [s, cells] of Object.entries(downstream)) bringIntoView(s, cells[0]);
    bringIntoView(name, [c, r, q]);
    if (src) { mark(src.stage, src.cells, "source"); mark(src.stage, src.copies, "source"); }
    for (const [s, cells] of Object.entries(downstream)) mark(s, cells, "feeds");
    const picked = cellAt(grids[name], c, r, q);
    if (picked) picked.classList.add("picked");
    let text;
    if (stage) text = XoExplain.explain(state.view, name, c, r, q);
    else {
      const t = state.view.arrays.input;
      text = `input[${c}, ${r}, ${q}] = ${XoExplain.show(t.data[(c * t.shape[1] + r) * t.shape[2] + q], state.view.f32)}`;
    }
    showExplain(text);
    if (stage && stage.op === "conv") {
      for (const el of document.querySelectorAll(`.kernels[data-for="${CSS.escape(name)}"] [data-kernel="${c}"]`)) el.classList.add("used");
    }
    const count = (src ? src.cells.length : 0);
    $("#picked").textContent = `${name}[${c}, ${r}, ${q}] · ${T.reads}: ${count} · ${T.feeds}: ${Object.values(downstream).reduce((n, l) => n + l.length, 0)}`;
  }

  return { select, clearMarks, bringIntoView, mark, showExplain };
})());
