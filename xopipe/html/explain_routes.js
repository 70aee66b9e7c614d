// Where one input cell goes: the output cells that read it, each with its local derivative
// (xopipe/ops/routes.py, conv_routes.py, pool_routes.py, pad.py and activation.py routes):
// what the gradient's explanation multiplies each reader's gradient by.
"use strict";

Object.assign(XoExplain, (function () {
  const E = XoEngine;
  const { show, fmtG } = XoExplain;
  const byOut = (a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

  // One output cell that reads the input cell: out [c, r, q], d out / d cell (`local`), why;
  // conv with normalize=mean divides first (dL/d out / divisor, then × the weight).
  function route(out, local, why, divisor) {
    return { out, local, why, divisor: divisor === undefined ? null : divisor };
  }
  // dL/d out × the route's local derivative, rounded as the run's dtype (view.round).
  function times(r, upstream, R) {
    return r.divisor === null ? R(upstream * r.local) : R(R(upstream / R(r.divisor)) * r.local);
  }
  function factorText(r, f32) {
    const divided = r.divisor === null ? "" : `/ ${fmtG(r.divisor, 6)} `;
    return `${divided}× ${show(r.local, f32)}`;
  }

  // Positions of a padded axis that hold input `index` (several at a copied edge).
  function paddedPositions(index, size, before, after, mode) {
    const found = [];
    for (let at = 0; at < before + size + after; at++) if (E.sourceIndex(at - before, size, mode) === index) found.push(at);
    return found;
  }
  // [output, tap] pairs whose window (output * stride + tap * dilation) covers `position`.
  function windowsAt(position, size, stride, dilation, count) {
    const found = [];
    for (let tap = 0; tap < size; tap++) {
      const start = position - tap * dilation;
      if (start >= 0 && start % stride === 0 && start / stride < count) found.push([start / stride, tap]);
    }
    return found.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  }

  function conv(view, stage, x, c, i, j) {
    const p = stage.params, R = view.round, f32 = view.f32;
    const [K, gc, kh, kw] = p.weightShape, [, rows, cols] = stage.shape;
    const group = Math.floor(c / gc), perGroup = K / p.groupCount;
    const [left, right, top, bottom] = p.pads;
    const found = [];
    for (const rowAt of paddedPositions(i, x.shape[1], top, bottom, p.mode)) {
      for (const [r, a] of windowsAt(rowAt, kh, p.stride[0], p.dilation[0], rows)) {
        for (const colAt of paddedPositions(j, x.shape[2], left, right, p.mode)) {
          for (const [q, b] of windowsAt(colAt, kw, p.stride[1], p.dilation[1], cols)) {
            for (let k = group * perGroup; k < (group + 1) * perGroup; k++) {
              const ch = c - group * gc;
              const weight = R(p.weight[((k * gc + ch) * kh + a) * kw + b]);
              const why = `weight[${k}, ${ch}, ${a}, ${b}] = ${show(weight, f32)}`;
              found.push(p.divisor === null ? route([k, r, q], weight, why)
                : route([k, r, q], weight, `${why} (conv divides its sum by ${fmtG(p.divisor, 6)})`, p.divisor));
            }
          }
        }
      }
    }
    return found.sort((a, b) => byOut(a.out, b.out)); // stable, as Python's sorted
  }

  function pool(view, stage, x, c, i, j) {
    const p = stage.params, f32 = view.f32;
    const [, H, W] = x.shape;
    const fill = E.fillFor(p, H, W);
    const [left, , top] = fill;
    const plane = { shape: [1, H, W], data: x.data.subarray(c * H * W, (c + 1) * H * W) };
    const filled = fill.some((v) => v) ? E.pad2d(plane, fill, "constant", 0) : plane;
    const [, fh, fw] = filled.shape;
    const [kh, kw] = p.size, [sh, sw] = p.stride, [ph, pw] = p.padding, [dh, dw] = p.dilation;
    const found = [];
    for (const [r] of windowsAt(i + top + ph, kh, sh, dh, stage.shape[1])) {
      for (const [q] of windowsAt(j + left + pw, kw, sw, dw, stage.shape[2])) {
        if (p.kind !== "max") {
          const count = E.avgWindow(r, q, fh, fw, p).count;
          found.push(route([c, r, q], view.round(1 / count), `the mean of ${count} cells: 1/${count}`));
          continue;
        }
        // The window's cells inside the filled map, in row order; the first strictly greater wins.
        let winner = null, best = -Infinity, here = null;
        const values = [];
        for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) {
          const row = r * sh - ph + a * dh, col = q * sw - pw + b * dw;
          if (row < 0 || row >= fh || col < 0 || col >= fw) continue;
          const v = filled.data[row * fw + col];
          values.push(v);
          if (winner === null || v > best) { winner = [row, col]; best = v; }
          if (row === i + top && col === j + left) here = v;
        }
        const ties = values.filter((v) => v === best).length;
        if (winner[0] === i + top && winner[1] === j + left) {
          const tie = ties > 1 ? ` (the first of ${ties} equal cells in row order)` : "";
          found.push(route([c, r, q], 1, `it wins with ${show(best, f32)}${tie}: 1`));
          continue;
        }
        const [row, col] = winner;
        const inside = row >= top && row < top + H && col >= left && col < left + W;
        const who = inside ? `[${row - top}, ${col - left}]` : "a zero of pool.pad's fill";
        const why = here === best ? " (a tie: it comes first in row order)" : "";
        found.push(route([c, r, q], 0, `${who} wins with ${show(best, f32)}${why}: 0`));
      }
    }
    return found;
  }

  function activation(view, stage, x, c, i, j) {
    const p = stage.params, f32 = view.f32;
    const v = x.data[(c * x.shape[1] + i) * x.shape[2] + j];
    const slope = view.round(E.scalarGradient(p.name, p.params)(v, 1));
    return [route([c, i, j], slope, `${p.name}'(${show(v, f32)}) = ${show(slope, f32)}`)];
  }

  function pad(view, stage, x, c, i, j) {
    const p = stage.params;
    const [left, right, top, bottom] = p.pads;
    const found = [];
    for (const r of paddedPositions(i, x.shape[1], top, bottom, p.mode)) {
      for (const q of paddedPositions(j, x.shape[2], left, right, p.mode)) {
        const same = r - top === i && q - left === j;
        found.push(route([c, r, q], 1, same ? "a copy of it: 1" : `a ${p.mode} copy of it: 1`));
      }
    }
    return found;
  }

  const ROUTES = { conv, pool, activation, pad };
  return { ROUTES, times, factorText };
})());
