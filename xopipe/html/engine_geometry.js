// xopipe's fourth backend: the pipeline's ops in JavaScript, float64, in the page.
// A port of the loop backend (xopipe/backends/loop.py) and of each op's prepare and
// shape check (xopipe/ops/*.py): the same windows, and sums in NumPy's pairwise
// order, so a conv cell is bit for bit the loop backend's.
// The engine is engine_*.js, inlined in this order: geometry, sum, each op's engine
// followed by its backward step (conv, conv_backward, pool, pool_backward, ...), then
// pipeline; each adds its part to XoEngine. The backward steps port loop_backward.py.
//
// This file: the checks a setting goes through, window arithmetic and padding.
"use strict";

const XoEngine = {};

Object.assign(XoEngine, (function () {
  class UserError extends Error {}
  // A value as xopipe's messages show it (xopipe/errors.py show): 'same', [2, 1], 0.5.
  function text(v) {
    if (typeof v === "string") return `'${v}'`;
    if (Array.isArray(v)) return "[" + v.map(text).join(", ") + "]";
    if (v === null || v === undefined) return "None";
    if (typeof v === "boolean") return v ? "True" : "False";
    return String(v);
  }
  const isInt = (v) => Number.isInteger(v);
  function invalid(key, value, allowed) {
    return new UserError(`${key} must be ${allowed}, got ${text(value)}`);
  }

  function pair(key, value, minimum) {
    const what = minimum === 1 ? "a positive integer" : `an integer >= ${minimum}`;
    const items = isInt(value) ? [value, value] : value;
    if (!Array.isArray(items) || items.length !== 2 || !items.every((v) => isInt(v) && v >= minimum)) {
      throw invalid(key, value, `${what} or a pair [h, w] of them`);
    }
    return [items[0], items[1]];
  }

  function pads4(key, value) {
    const items = isInt(value) ? [value, value, value, value] : value;
    if (!Array.isArray(items) || items.length !== 4 || !items.every((v) => isInt(v) && v >= 0)) {
      throw invalid(key, value, "an integer >= 0 or a list [left, right, top, bottom] of them");
    }
    return items.slice();
  }

  const effective = (size, dilation) => dilation * (size - 1) + 1;
  const convOut = (n, k, s, d, a, b) => Math.floor((n + a + b - effective(k, d)) / s) + 1;
  function poolOut(n, size, stride, padding, dilation, ceil) {
    const span = n + 2 * padding - effective(size, dilation) + (ceil ? stride - 1 : 0);
    let out = Math.floor(span / stride) + 1;
    if (ceil && (out - 1) * stride >= n + padding) out -= 1;
    return out;
  }
  function autoFill(n, size, stride) {
    if (n <= size) return size - n;
    return (((-(n - size)) % stride) + stride) % stride;
  }
  function samePads(size, dilation) {
    const total = dilation * (size - 1);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  }

  // Which input index a padded position i copies; -1 for a constant cell.
  function sourceIndex(i, n, mode) {
    if (i >= 0 && i < n) return i;
    if (mode === "constant" || mode === "zeros") return -1;
    if (mode === "replicate") return Math.min(Math.max(i, 0), n - 1);
    if (mode === "circular") return ((i % n) + n) % n;
    return i < 0 ? -i : 2 * (n - 1) - i; // reflect, without repeating the edge
  }

  function tensor(shape, data) {
    return { shape: shape.slice(), data: data || new Float64Array(shape[0] * shape[1] * shape[2]) };
  }

  function pad2d(x, pads, mode, value) {
    const [left, right, top, bottom] = pads;
    const [C, H, W] = x.shape;
    const oh = H + top + bottom, ow = W + left + right;
    const out = tensor([C, oh, ow]);
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < oh; i++) {
        const r = sourceIndex(i - top, H, mode);
        for (let j = 0; j < ow; j++) {
          const q = sourceIndex(j - left, W, mode);
          out.data[(c * oh + i) * ow + j] = r < 0 || q < 0 ? value : x.data[(c * H + r) * W + q];
        }
      }
    }
    return out;
  }

  // pad2d's backward: each padded cell's gradient goes back to the cell it copies; a
  // constant cell copies nothing, so its gradient is dropped.
  function pad2dBackward(grad, pads, mode, shape) {
    const [left, , top] = pads;
    const [C, H, W] = shape;
    const [, oh, ow] = grad.shape;
    const out = tensor(shape);
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < oh; i++) {
        const r = sourceIndex(i - top, H, mode);
        if (r < 0) continue;
        for (let j = 0; j < ow; j++) {
          const q = sourceIndex(j - left, W, mode);
          if (q >= 0) out.data[(c * H + r) * W + q] += grad.data[(c * oh + i) * ow + j];
        }
      }
    }
    return out;
  }

  function modeFits(key, mode, pads, H, W) {
    const [left, right, top, bottom] = pads;
    if (mode === "reflect" && (Math.max(top, bottom) >= H || Math.max(left, right) >= W)) {
      throw new UserError(`${key} must be smaller than the input (${H}x${W}) with mode reflect, got [left, right, top, bottom] = ${text(pads)}`);
    }
    if (mode === "circular" && (Math.max(top, bottom) > H || Math.max(left, right) > W)) {
      throw new UserError(`${key} must be at most the input size (${H}x${W}) with mode circular, got [left, right, top, bottom] = ${text(pads)}`);
    }
  }

  // The ops by name: each engine_<op>.js registers its own (xopipe/ops/<op>.py's twin).
  // An op's prepare(node, key, stage, vocabulary) gets the choices and defaults Python
  // sent with the page (xopipe/config/vocabulary.py), never a copy of its own.
  const OPS = {};
  function registerOp(name, op) {
    OPS[name] = op;
  }

  return {
    UserError, text, isInt, invalid, pair, pads4, effective, convOut, poolOut, autoFill, samePads,
    sourceIndex, tensor, pad2d, pad2dBackward, modeFits, OPS, registerOp,
  };
})());
