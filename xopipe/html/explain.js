// explain in the page: the same lines `explain=stage:c:r:col` prints (xopipe/explain/),
// the cells a cell reads (padding, dilation and stride included) and the cells
// downstream that read it.
"use strict";

const XoExplain = (function () {
  const E = XoEngine;

  // Python's repr of a float (numpy's str for float32): shortest round-trip digits.
  function show(x, f32) {
    if (Number.isNaN(x)) return "nan";
    if (x === Infinity) return "inf";
    if (x === -Infinity) return "-inf";
    if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
    let s = x.toExponential();
    if (f32) {
      for (let p = 1; p <= 9; p++) {
        s = x.toExponential(p - 1);
        if (Math.fround(parseFloat(s)) === x) break;
      }
    }
    const sign = x < 0 ? "-" : "";
    const [mantissa, exp] = (s[0] === "-" ? s.slice(1) : s).split("e");
    const digits = mantissa.replace(".", "").replace(/0+$/, "") || "0";
    const e = parseInt(exp, 10);
    const ax = Math.abs(x);
    if (ax >= 1e-4 && ax < (f32 ? 1e6 : 1e16)) {
      if (e < 0) return sign + "0." + "0".repeat(-e - 1) + digits;
      const whole = digits.length > e + 1 ? digits.slice(0, e + 1) : digits + "0".repeat(e + 1 - digits.length);
      const frac = digits.slice(e + 1) || "0";
      return `${sign}${whole}.${frac}`;
    }
    const tail = digits.length > 1 ? "." + digits.slice(1) : "";
    const ee = Math.abs(e) < 10 ? "0" + Math.abs(e) : String(Math.abs(e));
    return `${sign}${digits[0]}${tail}e${e < 0 ? "-" : "+"}${ee}`;
  }

  // Python's format(x, ".{p}g").
  function fmtG(x, p) {
    if (Number.isNaN(x)) return "nan";
    if (!isFinite(x)) return x > 0 ? "inf" : "-inf";
    if (x === 0) return Object.is(x, -0) ? "-0" : "0";
    const [mant, exp] = x.toExponential(p - 1).split("e");
    const e = parseInt(exp, 10);
    const strip = (s) => (s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s);
    if (e >= -4 && e < p) return strip(x.toFixed(Math.max(p - 1 - e, 0)));
    const ee = Math.abs(e) < 10 ? "0" + Math.abs(e) : String(Math.abs(e));
    return `${strip(mant)}e${e < 0 ? "-" : "+"}${ee}`;
  }

  function showGrid(rows, f32) {
    const texts = rows.map((row) => row.map((v) => show(v, f32)));
    const width = Math.max(0, ...texts.flat().map((t) => t.length));
    return texts.map((row, i) => {
      const body = row.map((t) => t.padStart(width)).join("  ");
      return `    ${i === 0 ? "[[" : " ["}${body}${i === texts.length - 1 ? "]]" : "]"}`;
    }).join("\n");
  }

  const shapeText = (shape) => shape.join("×");
  const listText = (pair) => `[${pair.join(", ")}]`;
  function span(first, count, step) {
    const last = first + (count - 1) * step;
    return count > 1 ? `${first}..${last}${step > 1 ? ` every ${step}` : ""}` : String(first);
  }

  function formula(name, p) {
    const n = (v, d) => fmtG(Number(v === undefined ? d : v), 4);
    return {
      relu: "max(x, 0)",
      leaky_relu: `x if x > 0 else ${n(p.negative_slope, 0)}·x`,
      elu: `x if x > 0 else ${n(p.alpha, 1)}·(exp(x) − 1)`,
      gelu: p.approximate !== "tanh" ? "x·Φ(x) = 0.5·x·(1 + erf(x/√2))"
        : "0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))",
      sigmoid: "1 / (1 + exp(−x))",
      tanh: "tanh(x)",
      softplus: `log(1 + exp(${n(p.beta, 1)}·x)) / ${n(p.beta, 1)}`,
      identity: "x",
    }[name] || name;
  }

  const at = (t, c, r, q) => t.data[(c * t.shape[1] + r) * t.shape[2] + q];

  function conv(view, stage, x, c, i, j) {
    const p = stage.params, R = view.round, f32 = view.f32;
    const [K, gc, kh, kw] = p.weightShape;
    const first = Math.floor(c / (K / p.groupCount)) * gc;
    const [left, , top] = p.pads;
    const [sh, sw] = p.stride, [dh, dw] = p.dilation;
    const part = { shape: [gc, x.shape[1], x.shape[2]], data: x.data.subarray(first * x.shape[1] * x.shape[2], (first + gc) * x.shape[1] * x.shape[2]) };
    const padded = p.pads.some((v) => v) ? E.pad2d(part, p.pads, p.mode, 0) : part;
    const rows = [], cols = [];
    for (let a = 0; a < kh; a++) rows.push(i * sh - top + a * dh);
    for (let b = 0; b < kw; b++) cols.push(j * sw - left + b * dw);
    const [, H, W] = x.shape;
    let outside = 0;
    for (const r of rows) for (const q of cols) if (r < 0 || r >= H || q < 0 || q >= W) outside++;
    const lines = [`  the window: rows ${span(rows[0], kh, dh)}, cols ${span(cols[0], kw, dw)} of ${gc > 1 ? "channels" : "channel"} ${span(first, gc, 1)} (stride ${listText(p.stride)}, dilation ${listText(p.dilation)})`];
    if (outside) lines.push(`  ${outside} of its ${kh * kw} cells lie in the padding (${p.padding_mode}), shown as the values the conv used`);
    const name = c < p.names.length ? p.names[c] : `kernel ${c}`;
    const products = [];
    for (let g = 0; g < gc; g++) {
      const win = [], ker = [], prod = [];
      for (let a = 0; a < kh; a++) {
        const wr = [], kr = [], pr = [];
        for (let b = 0; b < kw; b++) {
          const v = at(padded, g, i * sh + a * dh, j * sw + b * dw);
          const w = p.weight[((c * gc + g) * kh + a) * kw + b];
          wr.push(v); kr.push(w); pr.push(R(v * w)); products.push(R(v * w));
        }
        win.push(wr); ker.push(kr); prod.push(pr);
      }
      const label = `channel ${first + g}`;
      lines.push(`  input window, ${label}:`, showGrid(win, f32));
      lines.push(`  ${name}, weights for ${label}:`, showGrid(ker, f32));
      lines.push(`  window × kernel, element by element (${label}):`, showGrid(prod, f32));
    }
    const total = E.npSum(products, R);
    lines.push(`  sum of the ${products.length} products = ${show(total, f32)}`);
    let divided = total;
    if (p.divisor !== null) {
      divided = R(total / p.divisor);
      lines.push(`  / ${fmtG(p.divisor, 6)} (normalize=mean: ${gc} channel(s) × ${kh} × ${kw} weights) = ${show(divided, f32)}`);
    }
    const bias = R(p.bias[c]);
    const value = R(divided + bias);
    lines.push(`  + bias ${show(bias, f32)} = ${show(value, f32)}`);
    return { value, lines };
  }

  function pool(view, stage, x, c, i, j) {
    const p = stage.params, R = view.round, f32 = view.f32;
    const fill = E.fillFor(p, x.shape[1], x.shape[2]);
    const plane = { shape: [1, x.shape[1], x.shape[2]], data: x.data.subarray(c * x.shape[1] * x.shape[2], (c + 1) * x.shape[1] * x.shape[2]) };
    const filled = fill.some((v) => v) ? E.pad2d(plane, fill, "constant", 0) : plane;
    const [, height, width] = filled.shape;
    const [kh, kw] = p.size, [sh, sw] = p.stride, [ph, pw] = p.padding, [dh, dw] = p.dilation;
    const top = i * sh - ph, left = j * sw - pw;
    const rows = [], cols = [];
    for (let a = 0; a < kh; a++) rows.push(top + a * dh);
    for (let b = 0; b < kw; b++) cols.push(left + b * dw);
    const padValue = p.kind === "max" ? -Infinity : 0;
    const inRow = (r) => r >= 0 && r < height, inCol = (q) => q >= 0 && q < width;
    const values = rows.map((r) => cols.map((q) => (inRow(r) && inCol(q) ? at(filled, 0, r, q) : padValue)));
    const srcRows = rows.map((r) => r - fill[2]), srcCols = cols.map((q) => q - fill[0]);
    let outside = 0;
    for (const r of srcRows) for (const q of srcCols) if (r < 0 || r >= x.shape[1] || q < 0 || q >= x.shape[2]) outside++;
    const lines = [];
    if (fill.some((v) => v)) {
      lines.push(`  zeros added to ${stage.name}'s input first (pool.pad): left ${fill[0]}, right ${fill[1]}, top ${fill[2]}, bottom ${fill[3]} -> ${height}×${width}`);
    }
    lines.push(`  the ${kh}×${kw} window: rows ${span(srcRows[0], kh, dh)}, cols ${span(srcCols[0], kw, dw)} of channel ${c} (stride ${listText(p.stride)})`);
    if (ph || pw) lines.push(`  pool.padding ${listText(p.padding)}: cells beyond the map count as ${p.kind === "max" ? "-inf (they never win)" : "0"}`);
    if (outside) lines.push(`  ${outside} of its ${kh * kw} cells lie outside ${stage.name}'s input (added zeros or padding)`);
    lines.push("  the window's values:", showGrid(values, f32));
    if (p.kind === "max") {
      let best = -Infinity, count = 0;
      for (const r of rows) for (const q of cols) {
        if (inRow(r) && inCol(q)) {
          const v = at(filled, 0, r, q);
          if (count === 0 || v > best) best = v;
          count++;
        }
      }
      lines.push(`  max of the ${count} values = ${show(best, f32)}`);
      return { value: best, lines };
    }
    const w = E.avgWindow(i, j, height, width, p);
    const cells = [];
    for (let r = w.r0; r < w.r1; r++) for (let q = w.q0; q < w.q1; q++) cells.push(at(filled, 0, r, q));
    const total = E.npSum(cells, R);
    const value = R(total / w.count);
    lines.push(`  sum of the values = ${show(total, f32)}`);
    const why = w.count === w.inside ? "" : " (padding counted: count_include_pad)";
    lines.push(`  / ${w.count} cells${why} = ${show(value, f32)}`);
    return { value, lines };
  }

  function activation(view, stage, x, c, i, j) {
    const p = stage.params;
    const input = at(x, c, i, j);
    const value = view.round(p.fn(input));
    const f = formula(p.name, p.params);
    return { value, lines: [`  x = the same cell of the input = ${show(input, view.f32)}`, `  ${p.name}(x) = ${f} = ${show(value, view.f32)}`] };
  }

  function pad(view, stage, x, c, i, j) {
    const p = stage.params;
    const [left, , top] = p.pads;
    const r = E.sourceIndex(i - top, x.shape[1], p.mode), q = E.sourceIndex(j - left, x.shape[2], p.mode);
    if (r < 0 || q < 0) {
      const value = view.round(p.value);
      return { value, lines: [`  this cell is padding: the fill value = ${show(value, view.f32)}`] };
    }
    const value = at(x, c, r, q);
    const copied = r === i - top && q === j - left ? "the same cell" : "a copy";
    return { value, lines: [`  ${copied} of input [${c}, ${r}, ${q}] (${p.mode}) = ${show(value, view.f32)}`] };
  }

  const EXPLAIN = { conv, pool, activation, pad };

  // view: {stages: {name: prepared stage}, arrays: {name: tensor}, f32, round}.
  function explain(view, name, c, r, q) {
    const stage = view.stages[name];
    const x = view.arrays[stage.input], out = view.arrays[name];
    const result = EXPLAIN[stage.op](view, stage, x, c, r, q);
    const stored = at(out, c, r, q);
    const cell = `${name}[${c}, ${r}, ${q}]`;
    const same = result.value === stored || (Number.isNaN(result.value) && Number.isNaN(stored));
    const verdict = same ? "identical, bit for bit"
      : `differs by ${fmtG(Math.abs(result.value - stored), 3)}: this backend adds in another order`;
    return [
      `explain ${cell}: channel ${c}, row ${r}, col ${q} of ${name} [${shapeText(out.shape)}], which reads ${stage.input} [${shapeText(x.shape)}]`,
      ...result.lines,
      `stored ${cell} = ${show(stored, view.f32)}  (${verdict})`,
    ].join("\n");
  }

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

  return { show, fmtG, explain, sources, feeds };
})();
