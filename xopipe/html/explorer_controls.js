// The controls recompute in the page; window.xopipe for scripts; the page starts here.
"use strict";

(function () {
  const { T, model, order, state, setView, stored, toPlain, hooks, $, grids, section, select, kernels, gradientHint } = XoPage;

  function drawAll() {
    for (const g of Object.values(grids)) g.el.remove();
    for (const key of Object.keys(grids)) delete grids[key];
    section("input");
    for (const name of order) section(name);
    kernels();
    $("#explain").textContent = gradientHint();
    $("#picked").textContent = "";
    for (const hook of hooks.drawn) hook();
  }

  // ---- controls: recompute in the page ----
  // A field's text as the command line reads the same word: 2, 1.5, [2,1] (or 2,1), null, same.
  function typed(text) {
    const v = text.trim();
    const list = /^\[(.*)\]$/.exec(v);
    if (list || v.includes(",")) {
      const inner = list ? list[1] : v;
      return inner.trim() === "" ? [] : inner.split(",").map(typed);
    }
    if (v === "null") return null;
    if (v === "true" || v === "false") return v === "true";
    if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) return Number(v);
    return v;
  }

  function overridesFromControls() {
    const out = {};
    for (const el of document.querySelectorAll("#controls [data-key]")) {
      const key = el.dataset.key;
      if (el.value.trim() !== "") out[key] = typed(el.value);
      else if (key === "pool.stride") out[key] = null; // empty: the pool's size
    }
    return out;
  }

  function recompute(overrides) {
    const t0 = performance.now();
    const result = XoEngine.compute(model, overrides);
    setView(result.stages, result.arrays, false, result.grads, result.loss);
    state.recomputed = true;
    drawAll();
    return performance.now() - t0;
  }

  function controls() {
    const form = $("#controls");
    form.addEventListener("submit", (e) => e.preventDefault());
    form.addEventListener("change", () => {
      const status = $("#status");
      try {
        const ms = recompute(overridesFromControls());
        status.textContent = T.recomputed.replace("{ms}", ms.toFixed(0));
        status.className = "ok";
      } catch (error) {
        status.textContent = (error instanceof XoEngine.UserError ? "" : "error: ") + error.message;
        status.className = "bad";
      }
    });
    $("#back").addEventListener("click", () => {
      // The prototype's reset: on the form element itself, a control whose id or name
      // is "reset" would stand in for the method.
      HTMLFormElement.prototype.reset.call(form);
      for (const hook of hooks.reset) hook();
      stored();
      state.recomputed = false;
      drawAll();
      $("#status").textContent = T.stored;
      $("#status").className = "ok";
    });
  }

  Object.assign(XoPage, { recompute, overridesFromControls });

  window.xopipe = {
    // Recompute in the page and show it; returns every stage's values, row-major.
    run(overrides) {
      recompute(overrides || {});
      return toPlain(state.view);
    },
    // The same, without touching the page.
    compute: (overrides) => toPlain(XoEngine.compute(model, overrides || {})),
    // The values the page shows now (and their gradients): the run's own, or the last recompute.
    shown: () => toPlain(state.view),
    select,
    // Gradient view on or off (a run with a loss has its checkbox, #gradview).
    gradientView: (on) => XoPage.setGradientView(on),
    get recomputed() { return state.recomputed; },
  };

  stored();
  controls();
  drawAll();
  $("#status").textContent = T.stored;
})();
