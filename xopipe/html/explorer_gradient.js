// The gradient view (a run with a loss): cells show dL/d themselves, and a click marks
// where a cell's gradient comes from (data-role="source": the cells one stage down that
// read it) and where it goes on to (data-role="feeds": the cells it reads), and writes
// the chain rule into #explain, as `explain=grad:stage:c:r:c` prints it.
"use strict";

Object.assign(XoPage, (function () {
  const { T, order, state, $, grids, render, cellAt, clearMarks, bringIntoView, mark, showExplain } = XoPage;

  // The explain panel's first words: how to use the view shown now.
  function gradientHint() {
    if (!state.gradView) return T.hint;
    return state.view.grads ? T.grad_hint : T.grad_none;
  }

  function legend() {
    const source = $(".legend .source"), feeds = $(".legend .feeds");
    if (!source || !feeds) return;
    source.textContent = state.gradView ? T.legend_grad_source : T.legend_source;
    feeds.textContent = state.gradView ? T.legend_grad_feeds : T.legend_feeds;
  }

  function setGradientView(on) {
    state.gradView = Boolean(on);
    const box = $("#gradview");
    if (box) box.checked = state.gradView;
    for (const g of Object.values(grids)) render(g);
    clearMarks();
    legend();
    $("#explain").textContent = gradientHint();
    $("#picked").textContent = "";
  }

  function selectGradient(name, c, r, q) {
    clearMarks();
    const view = state.view;
    const from = XoExplain.readersNext(view, order, name, c, r, q);
    const to = view.stages[name] ? XoExplain.readsReal(view, name, c, r, q) : null;
    for (const [s, cells] of Object.entries(from)) bringIntoView(s, cells[0]);
    if (to && to.cells.length) bringIntoView(to.stage, to.cells[0]);
    bringIntoView(name, [c, r, q]);
    for (const [s, cells] of Object.entries(from)) mark(s, cells, "source");
    if (to) mark(to.stage, to.cells, "feeds");
    const picked = cellAt(grids[name], c, r, q);
    if (picked) picked.classList.add("picked");
    showExplain(XoExplain.explainGradient(view, order, name, c, r, q));
    const count = Object.values(from).reduce((n, cells) => n + cells.length, 0);
    $("#picked").textContent = `dL/d${name}[${c}, ${r}, ${q}] · ${T.grad_from}: ${count} · ${T.grad_to}: ${to ? to.cells.length : 0}`;
  }

  const box = $("#gradview");
  if (box) box.addEventListener("change", () => setGradientView(box.checked));

  return { gradientHint, setGradientView, selectGradient };
})());
