// The controls recompute in the page; window.xopipe for scripts; the page starts here.
"use strict";

(function () {
  const { T, model, order, state, setView, stored, toPlain, $, grids, section, select, kernels } = XoPage;

  function drawAll() {
    for (const g of Object.values(grids)) g.el.remove();
    for (const key of Object.keys(grids)) delete grids[key];
    section("input");
    for (const name of order) section(name);
    kernels();
    $("#explain").textContent = T.hint;
    $("#picked").textContent = "";
  }

  // ---- controls: recompute in the page ----
  function overridesFromControls() {
    const out = {};
    for (const el of document.querySelectorAll("#controls [data-key]")) {
      if (el.value === "" && el.dataset.key !== "pool.stride") continue;
      let v = el.value.trim();
      if (el.dataset.key === "pool.stride" && v === "") v = null;
      else if (/^-?\d+$/.test(v)) v = Number(v);
      else if (/^\d+\s*,\s*\d+$/.test(v)) v = v.split(",").map(Number);
      out[el.dataset.key] = v;
    }
    return out;
  }

  function recompute(overrides) {
    const t0 = performance.now();
    const result = XoEngine.compute(model, overrides);
    setView(result.stages, result.arrays, false);
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
    $("#reset").addEventListener("click", () => {
      form.reset();
      stored();
      state.recomputed = false;
      drawAll();
      $("#status").textContent = T.stored;
      $("#status").className = "ok";
    });
  }

  window.xopipe = {
    // Recompute in the page and show it; returns every stage's values, row-major.
    run(overrides) {
      recompute(overrides || {});
      return toPlain({ arrays: state.view.arrays });
    },
    // The same, without touching the page.
    compute: (overrides) => toPlain(XoEngine.compute(model, overrides || {})),
    select,
    get recomputed() { return state.recomputed; },
  };

  stored();
  controls();
  drawAll();
  $("#status").textContent = T.stored;
})();
