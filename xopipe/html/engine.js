// xopipe's fourth backend: the pipeline's ops in JavaScript, float64, in the page.
// A port of the loop backend (xopipe/backends/loop.py) and of each op's prepare and
// shape check (xopipe/ops/*.py): the same windows, and sums in NumPy's pairwise
// order, so a conv cell is bit for bit the loop backend's.
"use strict";

const XoEngine = (function () {
  const ACTIVATIONS = {
    relu: {}, leaky_relu: { negative_slope: 0.01 }, elu: { alpha: 1.0 },
    gelu: { approximate: "none" }, sigmoid: {}, tanh: {},
    softplus: { beta: 1.0, threshold: 20.0 }, identity: {},
  };
  const PADDING_MODES = ["zeros", "reflect", "replicate", "circular"];
  const PAD_MODES = ["constant", "reflect", "replicate", "circular"];

  class UserError extends Error {}
  const text = (v) => JSON.stringify(v);
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

  // numpy's sum of a contiguous run: 8 accumulators in blocks of up to 128, halves above.
  function pairwise(a, start, n, round) {
    if (n < 8) {
      let res = 0;
      for (let i = 0; i < n; i++) res = round(res + a[start + i]);
      return res;
    }
    if (n <= 128) {
      const r = [];
      for (let j = 0; j < 8; j++) r.push(a[start + j]);
      let i = 8;
      for (; i < n - (n % 8); i += 8) {
        for (let j = 0; j < 8; j++) r[j] = round(r[j] + a[start + i + j]);
      }
      let res = round(round(round(r[0] + r[1]) + round(r[2] + r[3])) +
        round(round(r[4] + r[5]) + round(r[6] + r[7])));
      for (; i < n; i++) res = round(res + a[start + i]);
      return res;
    }
    let half = Math.floor(n / 2);
    half -= half % 8;
    return round(pairwise(a, start, half, round) + pairwise(a, start + half, n - half, round));
  }
  const same = (v) => v;
  function npSum(values, round) {
    return (round || same)(0 + pairwise(values, 0, values.length, round || same));
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

  function erf(x) {
    // 2/sqrt(pi) exp(-x^2) sum 2^n x^(2n+1) / (1*3*...*(2n+1)): every term positive.
    const ax = Math.abs(x);
    if (ax > 6) return Math.sign(x);
    let term = ax, sum = ax;
    for (let n = 1; n < 500 && term > sum * 1e-17; n++) {
      term *= (2 * ax * ax) / (2 * n + 1);
      sum += term;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum;
  }

  function scalarActivation(name, params) {
    switch (name) {
      case "relu": return (v) => (v > 0 ? v : 0);
      case "leaky_relu": { const s = Number(params.negative_slope); return (v) => (v > 0 ? v : v * s); }
      case "elu": { const al = Number(params.alpha); return (v) => (v > 0 ? v : al * Math.expm1(v)); }
      case "gelu":
        if (params.approximate === "tanh") {
          const c = Math.sqrt(2 / Math.PI);
          return (v) => 0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v ** 3)));
        }
        return (v) => 0.5 * v * (1 + erf(v / Math.sqrt(2)));
      case "sigmoid": return (v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));
      case "tanh": return Math.tanh;
      case "softplus": {
        const beta = Number(params.beta), threshold = Number(params.threshold);
        return (v) => {
          const z = beta * v;
          return z > threshold ? v : (Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)))) / beta;
        };
      }
      default: return (v) => v;
    }
  }

  // ---- prepare: a stage's config node -> checked parameters, as xopipe/ops/*.py ----

  function prepareConv(node, key, kernel) {
    const [K, gc, kh, kw] = kernel.shape;
    const stride = pair(key("stride"), node.stride, 1);
    const dilation = pair(key("dilation"), node.dilation, 1);
    let pads;
    if (node.padding === "valid") pads = [0, 0, 0, 0];
    else if (node.padding === "same") {
      if (stride[0] !== 1 || stride[1] !== 1) {
        throw new UserError(`${key("padding")}='same' needs stride 1 (as in PyTorch), got stride ${text(stride)}`);
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
    if (!PADDING_MODES.includes(node.padding_mode)) {
      throw invalid(key("padding_mode"), node.padding_mode, "one of " + PADDING_MODES.join(", "));
    }
    const groups = node.groups;
    if (groups !== "depthwise" && !(isInt(groups) && groups >= 1 && K % groups === 0)) {
      throw invalid(key("groups"), groups, "a positive integer dividing the kernel count, or depthwise");
    }
    const bias = typeof node.bias === "number" ? new Array(K).fill(node.bias) : node.bias;
    if (!Array.isArray(bias) || bias.length !== K || !bias.every((b) => typeof b === "number" && isFinite(b))) {
      throw invalid(key("bias"), node.bias, `a number or a list of ${K} numbers (one per kernel)`);
    }
    if (!["mean", "none"].includes(node.normalize)) throw invalid(key("normalize"), node.normalize, "mean or none");
    return {
      weight: kernel.data, weightShape: [K, gc, kh, kw], names: kernel.names || [],
      bias, stride, dilation, pads, groups, mode: node.padding_mode === "zeros" ? "constant" : node.padding_mode,
      padding_mode: node.padding_mode, divisor: node.normalize === "mean" ? gc * kh * kw : null,
    };
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

  function preparePool(node, key) {
    const kind = node.name;
    if (kind !== "max" && kind !== "avg") throw invalid(key("name"), kind, "one of max, avg");
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

  function prepareActivation(node, key) {
    if (!(node.name in ACTIVATIONS)) throw invalid(key("name"), node.name, "one of " + Object.keys(ACTIVATIONS).join(", "));
    const params = {};
    for (const field of Object.keys(ACTIVATIONS[node.name])) {
      params[field] = node[field] === undefined ? ACTIVATIONS[node.name][field] : node[field];
    }
    return { name: node.name, params, fn: scalarActivation(node.name, params) };
  }

  function preparePad(node, key) {
    if (!PAD_MODES.includes(node.mode)) throw invalid(key("mode"), node.mode, "one of " + PAD_MODES.join(", "));
    return { pads: pads4(key("pads"), node.pads), value: Number(node.value), mode: node.mode };
  }

  function padShape(shape, p, key) {
    modeFits(key("pads"), p.mode, p.pads, shape[1], shape[2]);
    return [shape[0], shape[1] + p.pads[2] + p.pads[3], shape[2] + p.pads[0] + p.pads[1]];
  }

  const OPS = {
    conv: {
      prepare: (node, key, stage) => prepareConv(node, key, stage.kernel),
      shape: convShape,
      run: conv2d,
    },
    pool: {
      prepare: preparePool,
      shape: poolShape,
      run(x, p) {
        const fill = fillFor(p, x.shape[1], x.shape[2]);
        const filled = fill.some((v) => v) ? pad2d(x, fill, "constant", 0) : x;
        return p.kind === "max" ? maxPool(filled, p) : avgPool(filled, p);
      },
    },
    activation: {
      prepare: prepareActivation,
      shape: (shape) => shape.slice(),
      run(x, p) {
        const out = tensor(x.shape);
        for (let i = 0; i < x.data.length; i++) out.data[i] = p.fn(x.data[i]);
        return out;
      },
    },
    pad: { prepare: preparePad, shape: padShape, run: (x, p) => pad2d(x, p.pads, p.mode, p.value) },
  };

  // Dotted overrides ({"conv.stride": 2, "pool": "avg"}) on a copy of the op nodes.
  function applyOverrides(config, overrides) {
    const nodes = JSON.parse(JSON.stringify(config));
    for (const [key, value] of Object.entries(overrides || {})) {
      const [op, field, ...rest] = key.split(".");
      if (!(op in nodes) || rest.length) {
        throw new UserError(`unknown key ${text(key)}: give op.setting, e.g. conv.stride (ops: ${Object.keys(nodes).join(", ")})`);
      }
      if (field === undefined || field === "name") {
        nodes[op] = op === "activation" ? { name: value } : { ...nodes[op], name: value };
      } else if (!(field in nodes[op]) && !(op === "activation" && field in (ACTIVATIONS[nodes[op].name] || {}))) {
        throw new UserError(`${key} is not a setting of ${op} (allowed: ${Object.keys(nodes[op]).join(", ")})`);
      } else {
        nodes[op][field] = value;
      }
    }
    return nodes;
  }

  // Every stage's parameters and shape, checked in pipeline order.
  function prepare(model, overrides) {
    const nodes = applyOverrides(model.config, overrides);
    const shapes = { input: model.input.shape };
    const stages = [];
    for (const stage of model.stages) {
      const own = stage.params || {};
      const node = { ...nodes[stage.op], ...own };
      const key = (field) => (field in own ? `pipeline.stages.${stage.name}.params.${field}` : `${stage.op}.${field}`);
      const params = OPS[stage.op].prepare(node, key, stage);
      const shape = OPS[stage.op].shape(shapes[stage.input], params, key);
      shapes[stage.name] = shape;
      stages.push({ ...stage, params, shape });
    }
    return stages;
  }

  function compute(model, overrides) {
    const stages = prepare(model, overrides);
    const arrays = { input: model.input };
    for (const stage of stages) arrays[stage.name] = OPS[stage.op].run(arrays[stage.input], stage.params);
    return { stages, arrays };
  }

  return {
    UserError, ACTIVATIONS, compute, prepare, pad2d, sourceIndex, fillFor, avgWindow,
    npSum, effective, scalarActivation,
  };
})();
