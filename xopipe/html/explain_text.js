// The arithmetic of one cell, op by op, as the lines `explain=` prints.
"use strict";

Object.assign(XoExplain, (function () {
  const E = XoEngine;
  const { show, fmtG, showGrid, shapeText, listText, span, formula, at } = XoExplain;

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

  return { explain };
})());
