// pool's backward step (xopipe/backends/loop_backward.py): back through the pool on the
// filled map, then through its zero fill.
"use strict";

Object.assign(XoEngine, (function () {
  const { OPS, tensor, pad2d, pad2dBackward, fillFor, avgWindow } = XoEngine;

  // The cell that wins max window (i, j) of channel c: the first of the window's cells
  // inside the map, in row-major order, then any strictly greater (a tie keeps the
  // earlier cell, as PyTorch). Padding (-inf) never wins; a window wholly in the
  // padding has no winner: -1. Else the winner's flat index in x.
  function maxWinner(x, p, c, i, j) {
    const [, H, W] = x.shape;
    const [kh, kw] = p.size, [sh, sw] = p.stride, [ph, pw] = p.padding, [dh, dw] = p.dilation;
    let best = -Infinity, winner = -1;
    for (let a = 0; a < kh; a++) {
      const r = i * sh - ph + a * dh;
      if (r < 0 || r >= H) continue;
      for (let b = 0; b < kw; b++) {
        const q = j * sw - pw + b * dw;
        if (q < 0 || q >= W) continue;
        const index = (c * H + r) * W + q;
        if (winner < 0 || x.data[index] > best) { best = x.data[index]; winner = index; }
      }
    }
    return winner;
  }

  // Only the winner counted in the max: it takes all of the window's gradient.
  function maxPoolBackward(x, grad, p) {
    const [C, H, W] = x.shape;
    const [, rows, cols] = grad.shape;
    const out = tensor([C, H, W]);
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) {
          const winner = maxWinner(x, p, c, i, j);
          if (winner >= 0) out.data[winner] += grad.data[(c * rows + i) * cols + j];
        }
      }
    }
    return out;
  }

  // Each cell of an average window counted 1/count in its mean (the forward's count).
  function avgPoolBackward(shape, grad, p) {
    const [C, H, W] = shape;
    const [, rows, cols] = grad.shape;
    const out = tensor(shape);
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) {
          const w = avgWindow(i, j, H, W, p);
          const share = grad.data[(c * rows + i) * cols + j] / w.count;
          for (let r = w.r0; r < w.r1; r++) {
            for (let q = w.q0; q < w.q1; q++) out.data[(c * H + r) * W + q] += share;
          }
        }
      }
    }
    return out;
  }

  // The pool's gradient is taken on the filled map, so a fill cell that wins a window
  // takes that window's gradient (the cell it shadows gets none), and is then dropped.
  function poolBackward(x, grad, p) {
    const fill = fillFor(p, x.shape[1], x.shape[2]);
    const filled = fill.some((v) => v) ? pad2d(x, fill, "constant", 0) : x;
    const back = p.kind === "max" ? maxPoolBackward(filled, grad, p) : avgPoolBackward(filled.shape, grad, p);
    return fill.some((v) => v) ? pad2dBackward(back, fill, "constant", x.shape) : back;
  }

  OPS.pool.backward = (x, y, grad, p) => poolBackward(x, grad, p);
  return { maxWinner };
})());
