// The conv op: settings checked as xopipe/ops/conv.py, output shape, and the loop.
"use strict";

Object.assign(XoEngine, (function () {
  const { UserError, text, isInt, invalid, pair, effective, convOut, samePads, modeFits, tensor, pad2d, npSum, registerOp } = XoEngine;


  function conv2d(x, p) {
    const padded = p.pads.some((v) => v) ? pad2d(x, p.pads, p.mode, 0) : x;
    const [K, gc, kh, kw] = p.weightShape;
    const [, H, W] = padded.shape;
    const [sh, sw] = p.stride, [dh, dw] = p.dilation;
    const rows = convOut(H, kh, sh, dh, 0, 0), cols = convOut(W, kw, sw, dw, 0, 0);
    const perGroup = K / p.groupCount;
    const out = tensor([K, rows, cols]);
    const products = new Float64Array(gc * kh * kw);
    for (let k = 0; k < K; k++) {
      const first = Math.floor(k / perGroup) * gc;
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) {
          let n = 0;
          for (let c = 0; c < gc; c++) {
            for (let a = 0; a < kh; a++) {
              const base = ((first + c) * H + i * sh + a * dh) * W + j * sw;
              const wbase = ((k * gc + c) * kh + a) * kw;
              for (let b = 0; b < kw; b++) products[n++] = padded.data[base + b * dw] * p.weight[wbase + b];
            }
          }
          let total = npSum(products);
          if (p.divisor !== null) total = total / p.divisor;
          out.data[(k * rows + i) * cols + j] = total + p.bias[k];
        }
      }
    }
    return out;
  }

  function prepareConv(node, key, kernel, vocabulary) {
    const [K, gc, kh, kw] = kernel.shape;
    const stride = pair(key("stride"), node.stride, 1);
    const dilation = pair(key("dilation"), node.dilation, 1);
    let pads;
    if (node.padding === "valid") pads = [0, 0, 0, 0];
    else if (node.padding === "same") {
      if (stride[0] !== 1 || stride[1] !== 1) {
        throw new UserError(`${key("padding")}='same' needs stride 1 (as in PyTorch), got ${key("stride")}=${text(node.stride)}; use an integer padding with strides`);
      }
      const [top, bottom] = samePads(kh, dilation[0]), [left, right] = samePads(kw, dilation[1]);
      pads = [left, right, top, bottom];
    } else {
      if (typeof node.padding === "string") {
        throw invalid(key("padding"), node.padding, "an integer >= 0, a pair [h, w], 'same' or 'valid'");
      }
      const [ph, pw] = pair(key("padding"), node.padding, 0);
      pads = [pw, pw, ph, ph];
    }
    if (!vocabulary.padding_modes.includes(node.padding_mode)) {
      throw invalid(key("padding_mode"), node.padding_mode, "one of " + vocabulary.padding_modes.join(", "));
    }
    const groups = node.groups;
    if (groups !== "depthwise" && !(isInt(groups) && groups >= 1 && K % groups === 0)) {
      throw invalid(key("groups"), groups, "a positive integer dividing the kernel count, or depthwise");
    }
    const bias = typeof node.bias === "number" ? new Array(K).fill(node.bias) : node.bias;
    if (!Array.isArray(bias) || bias.length !== K || !bias.every((b) => typeof b === "number" && isFinite(b))) {
      throw invalid(key("bias"), node.bias, `a number or a list of ${K} numbers (one per kernel)`);
    }
    if (!vocabulary.normalize.includes(node.normalize)) throw invalid(key("normalize"), node.normalize, vocabulary.normalize.join(" or "));
    return {
      weight: kernel.data, weightShape: [K, gc, kh, kw], names: kernel.names || [],
      bias, stride, dilation, pads, groups, mode: node.padding_mode === "zeros" ? "constant" : node.padding_mode,
      padding_mode: node.padding_mode, divisor: node.normalize === "mean" ? gc * kh * kw : null,
    };
  }

  function convShape(shape, p, key) {
    const [C, H, W] = shape;
    const [K, gc, kh, kw] = p.weightShape;
    p.groupCount = p.groups === "depthwise" ? C : p.groups;
    if (C % p.groupCount || K % p.groupCount) throw invalid(key("groups"), p.groups, `a divisor of the input's ${C} channels and of the ${K} kernels`);
    if (gc !== C / p.groupCount) {
      throw new UserError(`kernels have ${gc} channel(s) each but this conv input has ${C} channel(s) in ${p.groupCount} group(s)`);
    }
    modeFits(key("padding"), p.padding_mode, p.pads, H, W);
    const [left, right, top, bottom] = p.pads;
    const rows = convOut(H, kh, p.stride[0], p.dilation[0], top, bottom);
    const cols = convOut(W, kw, p.stride[1], p.dilation[1], left, right);
    if (rows < 1 || cols < 1) {
      throw new UserError(`kernels: the ${effective(kh, p.dilation[0])}x${effective(kw, p.dilation[1])} kernel window does not fit the padded input ${H + top + bottom}x${W + left + right}; use smaller kernels or dilation, or raise ${key("padding")}`);
    }
    return [K, rows, cols];
  }

  const convOp = {
    prepare: (node, key, stage, vocabulary) => prepareConv(node, key, stage.kernel, vocabulary),
    shape: convShape,
    run: conv2d,
  };

  registerOp("conv", convOp);
  return { convOp };
})());
