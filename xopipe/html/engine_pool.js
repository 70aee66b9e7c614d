// The pool op (max and avg): settings checked as xopipe/ops/pool.py, the fill, the loops.
"use strict";

Object.assign(XoEngine, (function () {
  const { text, invalid, pair, pads4, effective, poolOut, autoFill, tensor, pad2d, npSum, UserError, registerOp } = XoEngine;

  function maxPool(x, p) {
    const [C, H, W] = x.shape;
    const [kh, kw] = p.size, [sh, sw] = p.stride, [ph, pw] = p.padding, [dh, dw] = p.dilation;
    const rows = poolOut(H, kh, sh, ph, dh, p.ceil_mode), cols = poolOut(W, kw, sw, pw, dw, p.ceil_mode);
    const out = tensor([C, rows, cols]);
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) {
          let best = -Infinity, any = false;
          for (let a = 0; a < kh; a++) {
            const r = i * sh - ph + a * dh;
            if (r < 0 || r >= H) continue;
            for (let b = 0; b < kw; b++) {
              const q = j * sw - pw + b * dw;
              if (q < 0 || q >= W) continue;
              const v = x.data[(c * H + r) * W + q];
              if (!any || v > best) best = v; // Python's max: the first of equal values
              any = true;
            }
          }
          out.data[(c * rows + i) * cols + j] = best;
        }
      }
    }
    return out;
  }

  function avgPool(x, p) {
    const [C, H, W] = x.shape;
    const [kh, kw] = p.size, [sh, sw] = p.stride, [ph, pw] = p.padding;
    const rows = poolOut(H, kh, sh, ph, 1, p.ceil_mode), cols = poolOut(W, kw, sw, pw, 1, p.ceil_mode);
    const out = tensor([C, rows, cols]);
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) {
          const w = avgWindow(i, j, H, W, p);
          const values = [];
          for (let r = w.r0; r < w.r1; r++) {
            for (let q = w.q0; q < w.q1; q++) values.push(x.data[(c * H + r) * W + q]);
          }
          out.data[(c * rows + i) * cols + j] = npSum(values) / w.count;
        }
      }
    }
    return out;
  }

  // The cells an average window sums and the count it divides by, as the loop backend.
  function avgWindow(i, j, H, W, p) {
    const top = i * p.stride[0] - p.padding[0], left = j * p.stride[1] - p.padding[1];
    const bottom = Math.min(top + p.size[0], H + p.padding[0]);
    const right = Math.min(left + p.size[1], W + p.padding[1]);
    const r0 = Math.max(top, 0), r1 = Math.min(bottom, H), q0 = Math.max(left, 0), q1 = Math.min(right, W);
    const inside = (r1 - r0) * (q1 - q0);
    const count = p.count_include_pad ? (bottom - top) * (right - left) : inside;
    return { top, left, r0, r1, q0, q1, count, inside };
  }

  function preparePool(node, key, stage, vocabulary) {
    const kind = node.name;
    if (!vocabulary.pool_kinds.includes(kind)) throw invalid(key("name"), kind, "one of " + vocabulary.pool_kinds.join(", "));
    const size = pair(key("size"), node.size, 1);
    const stride = node.stride === null || node.stride === undefined ? size : pair(key("stride"), node.stride, 1);
    const fill = node.pad === "auto" || node.pad === undefined ? null : pads4(key("pad"), node.pad);
    const padding = pair(key("padding"), node.padding === undefined ? 0 : node.padding, 0);
    if (padding[0] > Math.floor(size[0] / 2) || padding[1] > Math.floor(size[1] / 2)) {
      throw invalid(key("padding"), padding, `at most half the window ${text(size)} (as in PyTorch)`);
    }
    const dilation = pair(key("dilation"), node.dilation === undefined ? 1 : node.dilation, 1);
    return {
      kind, size, stride, fill, padding, dilation: kind === "max" ? dilation : [1, 1],
      ceil_mode: Boolean(node.ceil_mode),
      count_include_pad: node.count_include_pad === undefined ? true : Boolean(node.count_include_pad),
    };
  }

  // The zero fill before pooling: explicit, or the seed's auto rule (xopipe/ops/pool.py fill_for).
  function fillFor(p, H, W) {
    if (p.fill) return p.fill;
    if (p.padding[0] || p.padding[1] || p.ceil_mode) return [0, 0, 0, 0];
    return [0, autoFill(W, effective(p.size[1], p.dilation[1]), p.stride[1]), 0,
      autoFill(H, effective(p.size[0], p.dilation[0]), p.stride[0])];
  }

  function poolShape(shape, p, key) {
    const [C, H, W] = shape;
    const [left, right, top, bottom] = fillFor(p, H, W);
    const fh = H + top + bottom, fw = W + left + right;
    const rows = poolOut(fh, p.size[0], p.stride[0], p.padding[0], p.dilation[0], p.ceil_mode);
    const cols = poolOut(fw, p.size[1], p.stride[1], p.padding[1], p.dilation[1], p.ceil_mode);
    if (rows < 1 || cols < 1) {
      throw new UserError(`${key("size")}: the ${effective(p.size[0], p.dilation[0])}x${effective(p.size[1], p.dilation[1])} pooling window does not fit the ${fh}x${fw} map it reads (after pad and padding); use a smaller window or more ${key("pad")}`);
    }
    return [C, rows, cols];
  }

  const poolOp = {
    prepare: preparePool,
    shape: poolShape,
    run(x, p) {
      const fill = fillFor(p, x.shape[1], x.shape[2]);
      const filled = fill.some((v) => v) ? pad2d(x, fill, "constant", 0) : x;
      return p.kind === "max" ? maxPool(filled, p) : avgPool(filled, p);
    },
  };

  registerOp("pool", poolOp);
  return { poolOp, fillFor, avgWindow };
})());
