// conv's backward step (xopipe/backends/loop_backward.py): each output cell sends its
// gradient back to the window it read, each window cell times the weight it met.
"use strict";

Object.assign(XoEngine, (function () {
  const { OPS, tensor, pad2dBackward } = XoEngine;

  // dL/d the conv's input from dL/d its output `grad`: the loops of conv2d, run backwards.
  // cell = sum(window * kernel) / divisor + bias, so a window cell's share of the cell's
  // gradient is its weight / divisor; padding copies hand theirs back to their source.
  function conv2dBackward(x, grad, p) {
    const [left, right, top, bottom] = p.pads;
    const [C, H0, W0] = x.shape;
    const H = H0 + top + bottom, W = W0 + left + right;
    const [K, gc, kh, kw] = p.weightShape;
    const [sh, sw] = p.stride, [dh, dw] = p.dilation;
    const [, rows, cols] = grad.shape;
    const perGroup = K / p.groupCount;
    const padded = tensor([C, H, W]);
    for (let k = 0; k < K; k++) {
      const first = Math.floor(k / perGroup) * gc;
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) {
          let g = grad.data[(k * rows + i) * cols + j];
          if (p.divisor !== null) g = g / p.divisor;
          for (let c = 0; c < gc; c++) {
            for (let a = 0; a < kh; a++) {
              const base = ((first + c) * H + i * sh + a * dh) * W + j * sw;
              const wbase = ((k * gc + c) * kh + a) * kw;
              for (let b = 0; b < kw; b++) padded.data[base + b * dw] += g * p.weight[wbase + b];
            }
          }
        }
      }
    }
    return p.pads.some((v) => v) ? pad2dBackward(padded, p.pads, p.mode, x.shape) : padded;
  }

  OPS.conv.backward = (x, y, grad, p) => conv2dBackward(x, grad, p);
  return { conv2dBackward };
})());
