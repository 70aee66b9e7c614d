// The explorer: every stage's grids, a click explains a cell, controls recompute in the page.
// Contract (README): grid cells carry data-stage/-channel/-row/-col; a click sets
// data-role="source" / "feeds" and writes the arithmetic into #explain;
// window.xopipe.run(overrides) recomputes and returns {stage: {shape, data}}.
// explorer_*.js, inlined in this order: data, cells, grids, large, select, gradient,
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
    // The run's loss (null: forward only); the engine recomputes gradients with it.
    loss: payload.loss ? { kind: payload.loss.kind, stages: payload.loss.stages, targets: payload.loss.targets } : null,
  };
  const order = model.stages.map((s) => s.name);
  // The values shown (recomputed or stored), and whether the cells show their gradients.
  const state = { view: null, recomputed: false, gradView: false };

  // grads: dL/d each array ({name: tensor}) when a loss gave them, else undefined; loss:
  // {kind, stages, value} (null without one).
  function setView(stages, arrays, exact, grads, loss) {
    state.view = { stages: {}, arrays, grads, loss, f32: exact && f32, round: exact && f32 ? Math.fround : (v) => v };
    for (const s of stages) state.view.stages[s.name] = s;
  }
  function stored() {
    const arrays = { input: model.input };
    for (const s of payload.stages) arrays[s.name] = { shape: s.shape, data: decode(s.data, f32) };
    let grads;
    if (payload.loss) {
      grads = { input: { shape: payload.input.shape, data: decode(payload.input.grad, f32) } };
      for (const s of payload.stages) grads[s.name] = { shape: s.shape, data: decode(s.grad, f32) };
    }
    setView(XoEngine.prepare(model, {}), arrays, true, grads, payload.loss || null);
  }

  const plain = (tensors) => {
    const out = {};
    for (const [name, t] of Object.entries(tensors)) out[name] = { shape: t.shape.slice(), data: Array.from(t.data) };
    return out;
  };
  // {stage: {shape, data}}, and `grad` (the same for dL/d each) when there are gradients.
  function toPlain(result) {
    const out = plain(result.arrays);
    if (result.grads) out.grad = plain(result.grads);
    return out;
  }

  // A page over the explorer (training_epochs.js) hears it: `reset` before the page goes
  // back to its stored values (to put its own back first), `drawn` after every redraw.
  const hooks = { reset: [], drawn: [] };

  return { T, SMALL, LARGE, WINDOW, TEXT_MAX, decode, model, order, state, setView, stored, toPlain, hooks };
})());
