// explain in the page: the same lines `explain=stage:c:r:col` prints (xopipe/explain/),
// the cells a cell reads (padding, dilation and stride included) and the cells
// downstream that read it. explain_*.js, inlined in this order: numbers, text, trace,
// routes, gradient (the chain rule of a cell's gradient).
//
// This file: numbers and grids written as Python writes them, and each activation's formula.
"use strict";

const XoExplain = {};

Object.assign(XoExplain, (function () {
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

  return { show, fmtG, showGrid, shapeText, listText, span, formula, at };
})());
