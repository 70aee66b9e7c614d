// The explorer: every stage's grids, a click explains a cell, controls recompute in the page.
// Contract (README): grid cells carry data-stage/-channel/-row/-col; a click sets
// data-role="source" / "feeds" and writes the arithmetic into #explain;
// window.xopipe.run(overrides) recomputes and returns {stage: {shape, data}}.
"use strict";

(function () {
  const payload = JSON.parse(document.getElementById("xopipe-data").textContent);
  const T = payload.words;
  const SMALL = 64; // a stage up to this size shows all its channels at once
  const LARGE = 256; // above this, a downsampled map and a window
  const WINDOW = 64;
  const TEXT_MAX = 32; // cells carry their number up to this many columns

  function decode(b64, f32) {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return f32 ? Float64Array.from(new Float32Array(bytes.buffer)) : new Float64Array(bytes.buffer);
  }
  const f32 = payload.dtype === "float32";
  const model = {
    config: payload.config,
    input: { shape: payload.input.shape, data: decode(payload.input.data, f32) },
    stages: payload.stages.map((s) => ({
      name: s.name, op: s.op, input: s.input, params: s.params,
      kernel: s.kernel && { shape: s.kernel.shape, names: s.kernel.names, data: decode(s.kernel.data, f32) },
    })),
  };
  const order = model.stages.map((s) => s.name);
  let view, recomputed = false;

  function setView(stages, arrays, exact) {
    view = { stages: {}, arrays, f32: exact && f32, round: exact && f32 ? Math.fround : (v) => v };
    for (const s of stages) view.stages[s.name] = s;
  }
  function stored() {
    const arrays = { input: model.input };
    for (const s of payload.stages) arrays[s.name] = { shape: s.shape, data: decode(s.data, f32) };
    setView(XoEngine.prepare(model, {}), arrays, true);
  }

  const $ = (sel, root) => (root || document).querySelector(sel);
  const make = (tag, cls, text) => {
    const el = document.createElement(tag);
    if (cls) el.className = cls;
    if (text !== undefined) el.textContent = text;
    return el;
  };
  function cellText(v) {
    if (v === -Infinity) return "−∞";
    if (v === Infinity) return "∞";
    if (Number.isNaN(v)) return "";
    if (Math.abs(v) >= 1000) return XoExplain.fmtG(v, 3);
    return (Math.round(v * 100) / 100 + 0).toFixed(2).replace("-", "−");
  }
  function tint(v, reach) {
    if (!isFinite(v) || reach === 0) return "#eeeeee";
    const t = Math.max(-1, Math.min(1, v / reach)) * 0.6;
    const fade = Math.round(255 * (1 - Math.abs(t)));
    return t > 0 ? `rgb(255,${fade},${fade})` : `rgb(${fade},${fade},255)`;
  }

  // ---- grids ----
  const grids = {};

  function border(name) {
    // The padding a reader adds around this stage: the reach of its corner windows.
    const [, H, W] = view.arrays[name].shape;
    const out = [0, 0, 0, 0];
    for (const s of Object.values(view.stages)) {
      if (s.input !== name) continue;
      for (const [i, j] of [[0, 0], [s.shape[1] - 1, s.shape[2] - 1]]) {
        for (const [, r, q] of XoExplain.sources(view, s.name, 0, i, j).cells) {
          out[0] = Math.max(out[0], -q); out[1] = Math.max(out[1], q - (W - 1));
          out[2] = Math.max(out[2], -r); out[3] = Math.max(out[3], r - (H - 1));
        }
      }
    }
    return out.map((v) => Math.min(v, 16));
  }

  function section(name) {
    const t = view.arrays[name];
    const [C, H, W] = t.shape;
    const g = grids[name] || { name };
    grids[name] = g;
    g.mode = H > LARGE || W > LARGE ? "large" : H <= SMALL && W <= SMALL && C <= 8 ? "all" : "one";
    g.channel = Math.min(g.channel || 0, C - 1);
    g.window = g.window || [0, 0];
    g.border = g.mode === "large" ? [0, 0, 0, 0] : border(name);
    if (!g.el) {
      g.el = make("section", "stage");
      g.el.id = "stage-" + ["input", ...order].indexOf(name);
      $("#stages").appendChild(g.el);
      g.cell = g.mode === "large" ? 8 : Math.max(6, Math.min(40, Math.floor(560 / (W + 4))));
    }
    render(g);
  }

  function render(g) {
    const name = g.name, t = view.arrays[name];
    const [C, H, W] = t.shape;
    const stage = view.stages[name];
    g.el.replaceChildren();
    const head = make("h3", null, name);
    const what = stage ? `${stage.op} · ${T.reads} ${stage.input}` : T.input;
    head.append(make("span", "what", ` ${what} · ${t.shape.join("×")}`));
    g.el.append(head);
    const tools = make("div", "tools");
    if (g.mode !== "all" && C > 1) {
      const pick = make("select");
      pick.setAttribute("aria-label", T.channel);
      for (let c = 0; c < C; c++) {
        const o = make("option", null, `${T.channel} ${c}`);
        o.value = c;
        pick.append(o);
      }
      pick.value = g.channel;
      pick.onchange = () => { g.channel = Number(pick.value); render(g); };
      tools.append(pick);
    }
    for (const [label, factor] of [["−", 0.8], ["+", 1.25]]) {
      const b = make("button", "zoom", label);
      b.type = "button";
      b.title = T.zoom;
      b.onclick = () => zoom(g, factor);
      tools.append(b);
    }
    g.el.append(tools);
    g.parts = new Map();
    if (g.mode === "large") {
      g.el.append(make("p", "note", T.large), mapCanvas(g));
    }
    const port = make("div", "port");
    g.port = port;
    sizeCells(g);
    const channels = g.mode === "all" ? [...Array(C).keys()] : [g.channel];
    for (const c of channels) port.append(grid(g, c));
    g.el.append(port);
    panAndZoom(g, port);
  }

  // 41 shades from blue (negative) through white to red (positive), as classes: a
  // class per cell lays out far faster than an inline style on 65,536 cells.
  const SHADES = 20;
  (function palette() {
    const rules = [".vn { background: #eeeeee; }"];
    for (let k = -SHADES; k <= SHADES; k++) rules.push(`.v${k} { background: ${tint(k / SHADES, 1)}; }`);
    const style = document.createElement("style");
    style.textContent = rules.join("\n");
    document.head.append(style);
  })();
  const shade = (v, reach) => (isFinite(v) && reach > 0 ? "v" + Math.round((Math.max(-1, Math.min(1, v / reach))) * SHADES) : "vn");

  function grid(g, c) {
    const t = view.arrays[g.name];
    const [, H, W] = t.shape;
    const [left, right, top, bottom] = g.border;
    let r0 = -top, r1 = H + bottom, q0 = -left, q1 = W + right;
    if (g.mode === "large") {
      r0 = g.window[0]; q0 = g.window[1];
      r1 = Math.min(H, r0 + WINDOW); q1 = Math.min(W, q0 + WINDOW);
    }
    let reach = 0;
    const plane = t.data.subarray(c * H * W, (c + 1) * H * W);
    for (const v of plane) if (isFinite(v)) reach = Math.max(reach, Math.abs(v));
    const box = make("figure", "grid");
    box.append(make("figcaption", null, `${T.channel} ${c}` + (g.mode === "large" ? ` · ${T.rows} ${r0}..${r1 - 1}, ${T.cols} ${q0}..${q1 - 1}` : "")));
    const body = make("div", "cells");
    const withText = q1 - q0 <= TEXT_MAX + 2;
    const stageAttr = g.name.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
    const html = [];
    for (let r = r0; r < r1; r++) {
      html.push('<div class="r">');
      for (let q = q0; q < q1; q++) {
        const inside = r >= 0 && r < H && q >= 0 && q < W;
        const v = inside ? plane[r * W + q] : 0;
        const cls = inside ? "c " + shade(v, reach) : "c pad";
        const label = inside && withText ? cellText(v) : "";
        html.push(`<div class="${cls}" data-stage="${stageAttr}" data-channel="${c}" data-row="${r}" data-col="${q}">${label}</div>`);
      }
      html.push("</div>");
    }
    body.style.setProperty("--cols", q1 - q0);
    if ((r1 - r0) * (q1 - q0) > 4096) body.classList.add("big");
    body.innerHTML = html.join("");
    g.parts.set(c, { body, r0, r1, q0, q1 });
    body.addEventListener("click", (event) => {
      if (g.dragged) return;
      const el = event.target.closest("[data-stage]");
      if (!el || el.classList.contains("pad")) return;
      select(g.name, Number(el.dataset.channel), Number(el.dataset.row), Number(el.dataset.col));
    });
    box.append(body);
    return box;
  }

  // The element of cell (c, r, q) where it is displayed, or null.
  function cellAt(g, c, r, q) {
    const part = g.parts.get(c);
    if (!part || r < part.r0 || r >= part.r1 || q < part.q0 || q >= part.q1) return null;
    return part.body.children[r - part.r0].children[q - part.q0];
  }

  function mapCanvas(g) {
    const t = view.arrays[g.name];
    const [, H, W] = t.shape;
    const step = Math.max(1, Math.ceil(Math.max(H, W) / LARGE));
    const h = Math.ceil(H / step), w = Math.ceil(W / step);
    const canvas = make("canvas", "map");
    canvas.width = w; canvas.height = h;
    canvas.title = T.open;
    const plane = t.data.subarray(g.channel * H * W, (g.channel + 1) * H * W);
    let reach = 0;
    for (let i = 0; i < plane.length; i += step) if (isFinite(plane[i])) reach = Math.max(reach, Math.abs(plane[i]));
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(w, h);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const rgb = tint(plane[i * step * W + j * step], reach).match(/\d+/g) || [238, 238, 238];
        const k = (i * w + j) * 4;
        image.data[k] = rgb[0]; image.data[k + 1] = rgb[1]; image.data[k + 2] = rgb[2]; image.data[k + 3] = 255;
      }
    }
    ctx.putImageData(image, 0, 0);
    canvas.addEventListener("click", (event) => {
      const box = canvas.getBoundingClientRect();
      const r = Math.floor(((event.clientY - box.top) / box.height) * H);
      const q = Math.floor(((event.clientX - box.left) / box.width) * W);
      openWindow(g, r, q);
      render(g);
    });
    return canvas;
  }

  function openWindow(g, r, q) {
    const [, H, W] = view.arrays[g.name].shape;
    const clamp = (v, n) => Math.max(0, Math.min(v - WINDOW / 2, n - WINDOW));
    g.window = [clamp(r, H), clamp(q, W)];
  }

  function sizeCells(g) {
    g.port.style.setProperty("--cell", g.cell + "px");
    g.port.classList.toggle("tiny", g.cell < 26); // numbers only where they can be read
  }

  function zoom(g, factor) {
    g.cell = Math.max(3, Math.min(60, Math.round(g.cell * factor)));
    sizeCells(g);
  }

  function panAndZoom(g, port) {
    let start = null;
    port.addEventListener("pointerdown", (e) => {
      start = [e.clientX, e.clientY, port.scrollLeft, port.scrollTop];
      g.dragged = false;
    });
    port.addEventListener("pointermove", (e) => {
      if (!start || !(e.buttons & 1)) return;
      const dx = e.clientX - start[0], dy = e.clientY - start[1];
      if (Math.abs(dx) + Math.abs(dy) > 4) g.dragged = true;
      if (g.dragged) { port.scrollLeft = start[2] - dx; port.scrollTop = start[3] - dy; }
    });
    port.addEventListener("pointerup", () => { start = null; setTimeout(() => { g.dragged = false; }, 0); });
    port.addEventListener("wheel", (e) => {
      if (!e.ctrlKey) return;
      e.preventDefault();
      zoom(g, e.deltaY < 0 ? 1.25 : 0.8);
    }, { passive: false });
  }

  // ---- a click ----

  function bringIntoView(name, cell) {
    const g = grids[name];
    if (!g || !cell) return;
    const [, H, W] = view.arrays[name].shape;
    let changed = false;
    if (g.mode !== "all" && g.channel !== cell[0]) { g.channel = cell[0]; changed = true; }
    if (g.mode === "large") {
      const [r0, q0] = g.window;
      const r = Math.max(0, Math.min(cell[1], H - 1)), q = Math.max(0, Math.min(cell[2], W - 1));
      if (r < r0 || r >= r0 + WINDOW || q < q0 || q >= q0 + WINDOW) { openWindow(g, r, q); changed = true; }
    }
    if (changed) render(g);
  }

  function mark(name, cells, role) {
    const g = grids[name];
    for (const cell of cells) {
      const el = g && cellAt(g, cell[0], cell[1], cell[2]);
      if (el) el.dataset.role = role;
    }
  }

  function select(name, c, r, q) {
    for (const el of document.querySelectorAll("[data-role]")) el.removeAttribute("data-role");
    for (const el of document.querySelectorAll(".picked, .used")) el.classList.remove("picked", "used");
    const stage = view.stages[name];
    const src = stage ? XoExplain.sources(view, name, c, r, q) : null;
    const downstream = XoExplain.feeds(view, order, name, c, r, q);
    if (src) bringIntoView(src.stage, src.cells.find(([, a, b]) => a >= 0 && b >= 0) || src.cells[0]);
    for (const [s, cells] of Object.entries(downstream)) bringIntoView(s, cells[0]);
    bringIntoView(name, [c, r, q]);
    if (src) { mark(src.stage, src.cells, "source"); mark(src.stage, src.copies, "source"); }
    for (const [s, cells] of Object.entries(downstream)) mark(s, cells, "feeds");
    const picked = cellAt(grids[name], c, r, q);
    if (picked) picked.classList.add("picked");
    let text;
    if (stage) text = XoExplain.explain(view, name, c, r, q);
    else {
      const t = view.arrays.input;
      text = `input[${c}, ${r}, ${q}] = ${XoExplain.show(t.data[(c * t.shape[1] + r) * t.shape[2] + q], view.f32)}`;
    }
    $("#explain").textContent = text;
    if (stage && stage.op === "conv") {
      for (const el of document.querySelectorAll(`.kernels[data-for="${CSS.escape(name)}"] [data-kernel="${c}"]`)) el.classList.add("used");
    }
    const count = (src ? src.cells.length : 0);
    $("#picked").textContent = `${name}[${c}, ${r}, ${q}] · ${T.reads}: ${count} · ${T.feeds}: ${Object.values(downstream).reduce((n, l) => n + l.length, 0)}`;
  }

  // ---- kernels ----
  function kernels() {
    const box = $("#kernels");
    box.replaceChildren();
    for (const s of Object.values(view.stages)) {
      if (s.op !== "conv") continue;
      const p = s.params;
      const [K, gc, kh, kw] = p.weightShape;
      const part = make("div", "kernels");
      part.dataset.for = s.name;
      part.append(make("h3", null, `${T.kernels}: ${s.name}`));
      for (let k = 0; k < K; k++) {
        for (let g = 0; g < gc; g++) {
          const fig = make("figure", "grid");
          fig.append(make("figcaption", null, `${k < p.names.length ? p.names[k] : "kernel " + k}${gc > 1 ? " · " + T.channel + " " + g : ""} · bias ${XoExplain.show(p.bias[k], false)}`));
          const body = make("div", "kcells");
          body.style.gridTemplateColumns = `repeat(${kw}, 34px)`;
          for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) {
            const v = p.weight[((k * gc + g) * kh + a) * kw + b];
            const el = make("div", "c k", cellText(v));
            el.dataset.kernel = k;
            el.title = XoExplain.show(v, view.f32);
            el.style.background = tint(v, 1);
            body.append(el);
          }
          fig.append(body);
          part.append(fig);
        }
      }
      box.append(part);
    }
  }

  function drawAll() {
    for (const g of Object.values(grids)) g.el.remove();
    for (const key of Object.keys(grids)) delete grids[key];
    section("input");
    for (const name of order) section(name);
    kernels();
    $("#explain").textContent = T.hint;
    $("#picked").textContent = "";
  }

  // ---- controls: recompute in the page ----
  function overridesFromControls() {
    const out = {};
    for (const el of document.querySelectorAll("#controls [data-key]")) {
      if (el.value === "" && el.dataset.key !== "pool.stride") continue;
      let v = el.value.trim();
      if (el.dataset.key === "pool.stride" && v === "") v = null;
      else if (/^-?\d+$/.test(v)) v = Number(v);
      else if (/^\d+\s*,\s*\d+$/.test(v)) v = v.split(",").map(Number);
      out[el.dataset.key] = v;
    }
    return out;
  }

  function recompute(overrides) {
    const t0 = performance.now();
    const result = XoEngine.compute(model, overrides);
    setView(result.stages, result.arrays, false);
    recomputed = true;
    drawAll();
    return performance.now() - t0;
  }

  function controls() {
    const form = $("#controls");
    form.addEventListener("submit", (e) => e.preventDefault());
    form.addEventListener("change", () => {
      const status = $("#status");
      try {
        const ms = recompute(overridesFromControls());
        status.textContent = T.recomputed.replace("{ms}", ms.toFixed(0));
        status.className = "ok";
      } catch (error) {
        status.textContent = (error instanceof XoEngine.UserError ? "" : "error: ") + error.message;
        status.className = "bad";
      }
    });
    $("#reset").addEventListener("click", () => {
      form.reset();
      stored();
      recomputed = false;
      drawAll();
      $("#status").textContent = T.stored;
      $("#status").className = "ok";
    });
  }

  function toPlain(result) {
    const out = {};
    for (const [name, t] of Object.entries(result.arrays)) out[name] = { shape: t.shape.slice(), data: Array.from(t.data) };
    return out;
  }

  window.xopipe = {
    // Recompute in the page and show it; returns every stage's values, row-major.
    run(overrides) {
      recompute(overrides || {});
      return toPlain({ arrays: view.arrays });
    },
    // The same, without touching the page.
    compute: (overrides) => toPlain(XoEngine.compute(model, overrides || {})),
    select,
    get recomputed() { return recomputed; },
  };

  stored();
  controls();
  drawAll();
  $("#status").textContent = T.stored;
})();
