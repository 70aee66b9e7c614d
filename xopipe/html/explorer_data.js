// The explorer: every stage's grids, a click explains a cell, controls recompute in the page.
// Contract (README): grid cells carry data-stage/-channel/-row/-col; a click sets
// data-role="source" / "feeds" and writes the arithmetic into #explain;
// window.xopipe.run(overrides) recomputes and returns {stage: {shape, data}}.
// explorer_*.js, inlined in this order: data, cells, grids, large, select,
// kernels, controls; each adds its part to XoPage, and controls starts the page.
//
// This file: the run's arrays from the page's JSON, and the values shown now.
"use strict";

const XoPage = {};

Object.assign(XoPage, (function () {
  const payload = JSON.parse(document.getElementById("xopipe-data").textContent);
  const T = payload.words;
  const SMALL = 64; // a stage up to this size shows all its channels at once
  const LARGE = 256; // above this, a downsampled map and a window
  const WINDOW = 64;
  const TEXT_MAX = 32; // cells carry their number up to this many columns

  function decode(b64, f32) {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return f32 ? Float64Array.from(new Float32Array(bytes.buffer)) : new Float64Array(bytes.buffer);
  }
  const f32 = payload.dtype === "float32";
  const model = {
    config: payload.config,
    vocabulary: payload.vocabulary,
    input: { shape: payload.input.shape, data: decode(payload.input.data, f32) },
    stages: payload.stages.map((s) => ({
      name: s.name, op: s.op, input: s.input, params: s.params,
      kernel: s.kernel && { shape: s.kernel.shape, names: s.kernel.names, data: decode(s.kernel.data, f32) },
    })),
  };
  const order = model.stages.map((s) => s.name);
  const state = { view: null, recomputed: false }; // the values shown; recomputed or stored

  function setView(stages, arrays, exact) {
    state.view = { stages: {}, arrays, f32: exact && f32, round: exact && f32 ? Math.fround : (v) => v };
    for (const s of stages) state.view.stages[s.name] = s;
  }
  function stored() {
    const arrays = { input: model.input };
    for (const s of payload.stages) arrays[s.name] = { shape: s.shape, data: decode(s.data, f32) };
    setView(XoEngine.prepare(model, {}), arrays, true);
  }

  function toPlain(result) {
    const out = {};
    for (const [name, t] of Object.entries(result.arrays)) out[name] = { shape: t.shape.slice(), data: Array.from(t.data) };
    return out;
  }

  return { T, SMALL, LARGE, WINDOW, TEXT_MAX, model, order, state, setView, stored, toPlain };
})());
