// Tracing: the cells a cell reads in its source, and the cells downstream that read it
// (all of them, or those one stage down, which send a cell its gradient).
"use strict";

Object.assign(XoExplain, (function () {
  const E = XoEngine;

  // The positions a cell reads in its source: [channel, row, col], rows and cols
  // outside the source are padding; `copies` are real cells a padded position repeats.
  function sources(view, name, c, i, j) {
    const stage = view.stages[name], p = stage.params;
    const [, H, W] = view.arrays[stage.input].shape;
    const cells = [], copies = [];
    const add = (ch, r, q, mode) => {
      cells.push([ch, r, q]);
      if (r < 0 || r >= H || q < 0 || q >= W) {
        const sr = E.sourceIndex(r, H, mode), sq = E.sourceIndex(q, W, mode);
        if (sr >= 0 && sq >= 0) copies.push([ch, sr, sq]);
      }
    };
    if (stage.op === "conv") {
      const [K, gc, kh, kw] = p.weightShape;
      const first = Math.floor(c / (K / p.groupCount)) * gc;
      for (let g = 0; g < gc; g++) for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) {
        add(first + g, i * p.stride[0] - p.pads[2] + a * p.dilation[0], j * p.stride[1] - p.pads[0] + b * p.dilation[1], p.mode);
      }
    } else if (stage.op === "pool") {
      const fill = E.fillFor(p, H, W);
      for (let a = 0; a < p.size[0]; a++) for (let b = 0; b < p.size[1]; b++) {
        add(c, i * p.stride[0] - p.padding[0] + a * p.dilation[0] - fill[2], j * p.stride[1] - p.padding[1] + b * p.dilation[1] - fill[0], "constant");
      }
    } else if (stage.op === "pad") {
      add(c, i - p.pads[2], j - p.pads[0], p.mode);
    } else {
      add(c, i, j, "constant");
    }
    return { stage: stage.input, cells, copies };
  }

  // Indices o in [0, n) whose window (o*stride + a*dilation - before, a < size) reads index r.
  function readers(r, n, out, size, stride, dilation, before, mode) {
    const found = [];
    for (let o = 0; o < out; o++) {
      for (let a = 0; a < size; a++) {
        if (E.sourceIndex(o * stride + a * dilation - before, n, mode) === r) { found.push(o); break; }
      }
    }
    return found;
  }

  // The cells of `reader` that read any of `cells` (real cells of its input).
  function readersOf(view, reader, cells) {
    const p = reader.params, x = view.arrays[reader.input];
    const [, H, W] = x.shape, [, oh, ow] = reader.shape;
    const found = [];
    for (const [c, r, q] of cells) {
      let channels, rows, cols;
      if (reader.op === "conv") {
        const [K, gc, kh, kw] = p.weightShape;
        const perGroup = K / p.groupCount, g = Math.floor(c / gc);
        channels = Array.from({ length: perGroup }, (_, k) => g * perGroup + k);
        rows = readers(r, H, oh, kh, p.stride[0], p.dilation[0], p.pads[2], p.mode);
        cols = readers(q, W, ow, kw, p.stride[1], p.dilation[1], p.pads[0], p.mode);
      } else if (reader.op === "pool") {
        const fill = E.fillFor(p, H, W);
        channels = [c];
        rows = readers(r, H, oh, p.size[0], p.stride[0], p.dilation[0], p.padding[0] + fill[2], "constant");
        cols = readers(q, W, ow, p.size[1], p.stride[1], p.dilation[1], p.padding[1] + fill[0], "constant");
      } else if (reader.op === "pad") {
        channels = [c];
        rows = readers(r, H, oh, 1, 1, 1, p.pads[2], p.mode);
        cols = readers(q, W, ow, 1, 1, 1, p.pads[0], p.mode);
      } else {
        channels = [c]; rows = [r]; cols = [q];
      }
      for (const k of channels) for (const i of rows) for (const j of cols) found.push([k, i, j]);
    }
    return found;
  }

  // Every cell downstream that reads (c, r, q) of stage `name`, through the DAG: stage -> cells.
  function feeds(view, order, name, c, r, q) {
    const reached = { [name]: [[c, r, q]] };
    const result = {};
    for (const stageName of order) {
      const stage = view.stages[stageName];
      const from = reached[stage.input];
      if (!from || !from.length) continue;
      const seen = new Set(), cells = [];
      for (const cell of readersOf(view, stage, from)) {
        const key = cell.join(",");
        if (!seen.has(key)) { seen.add(key); cells.push(cell); }
      }
      reached[stageName] = cells;
      result[stageName] = cells;
    }
    return result;
  }

  // The cells that read (c, r, q) of stage `name` directly, in each stage whose input it
  // is, in run order: stage -> cells. The backward pass sums its gradient from them.
  function readersNext(view, order, name, c, r, q) {
    const result = {};
    for (const stageName of order) {
      const stage = view.stages[stageName];
      if (stage.input !== name) continue;
      const seen = new Set(), cells = [];
      for (const cell of readersOf(view, stage, [[c, r, q]])) {
        const key = cell.join(",");
        if (!seen.has(key)) { seen.add(key); cells.push(cell); }
      }
      if (cells.length) result[stageName] = cells;
    }
    return result;
  }

  // The real cells of its input that (c, r, q) of `name` reads, each once (a padding
  // position counts as the cell it copies): where the backward pass sends its gradient.
  function readsReal(view, name, c, r, q) {
    const src = sources(view, name, c, r, q);
    const [, H, W] = view.arrays[src.stage].shape;
    const seen = new Set(), cells = [];
    for (const cell of [...src.cells, ...src.copies]) {
      const key = cell.join(",");
      if (cell[1] < 0 || cell[1] >= H || cell[2] < 0 || cell[2] >= W || seen.has(key)) continue;
      seen.add(key);
      cells.push(cell);
    }
    return { stage: src.stage, cells };
  }

  return { sources, feeds, readersNext, readsReal };
})());
