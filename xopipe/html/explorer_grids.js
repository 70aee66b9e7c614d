// A stage's section: its grids of cells (with the border its readers reach into), zoom and pan.
"use strict";

Object.assign(XoPage, (function () {
  const { T, SMALL, LARGE, WINDOW, TEXT_MAX, order, state, $, make, cellText, shade } = XoPage;

  const grids = {};

  function border(name) {
    // The padding a reader adds around this stage: the reach of its corner windows,
    // and the readers that reach beyond the edge (named under the grids).
    const [, H, W] = state.view.arrays[name].shape;
    const out = [0, 0, 0, 0];
    const readers = [];
    for (const s of Object.values(state.view.stages)) {
      if (s.input !== name) continue;
      for (const [i, j] of [[0, 0], [s.shape[1] - 1, s.shape[2] - 1]]) {
        for (const [, r, q] of XoExplain.sources(state.view, s.name, 0, i, j).cells) {
          out[0] = Math.max(out[0], -q); out[1] = Math.max(out[1], q - (W - 1));
          out[2] = Math.max(out[2], -r); out[3] = Math.max(out[3], r - (H - 1));
          const outside = r < 0 || r >= H || q < 0 || q >= W;
          if (outside && !readers.includes(s.name)) readers.push(s.name);
        }
      }
    }
    return { pads: out.map((v) => Math.min(v, 16)), readers };
  }

  // The cell size that fits a grid of `cols` columns (and its border) in the stages' column.
  function fitCell(cols) {
    const room = Math.min(560, ($("#stages").clientWidth || 560) - 24);
    return Math.max(6, Math.min(40, Math.floor(room / (cols + 4))));
  }

  function section(name) {
    const t = state.view.arrays[name];
    const [C, H, W] = t.shape;
    const g = grids[name] || { name };
    grids[name] = g;
    g.mode = H > LARGE || W > LARGE ? "large" : H <= SMALL && W <= SMALL && C <= 8 ? "all" : "one";
    g.channel = Math.min(g.channel || 0, C - 1);
    g.window = g.window || [0, 0];
    const reach = g.mode === "large" ? { pads: [0, 0, 0, 0], readers: [] } : border(name);
    g.border = reach.pads;
    g.padReaders = reach.readers;
    if (!g.el) {
      g.el = make("section", "stage");
      g.el.id = "stage-" + ["input", ...order].indexOf(name);
      $("#stages").appendChild(g.el);
      g.cell = g.mode === "large" ? 8 : fitCell(W);
    }
    render(g);
  }

  function render(g) {
    const name = g.name, t = state.view.arrays[name];
    const [C, H, W] = t.shape;
    const stage = state.view.stages[name];
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
      g.el.append(make("p", "note", T.large), XoPage.mapCanvas(g)); // explorer_large.js
    }
    if (g.padReaders.length) {
      // The hatched cells around the grid are not the stage's: say what they are.
      const note = make("p", "note padnote");
      note.append(make("span", "swatch"), T.pad_border.replace("{readers}", g.padReaders.join(", ")).replace("{shape}", `${H}×${W}`));
      g.el.append(note);
    }
    // Small grids grow the page (it scrolls); a large one scrolls in its own port.
    const port = make("div", g.mode === "all" ? "port" : "port scroll");
    g.port = port;
    sizeCells(g);
    const channels = g.mode === "all" ? [...Array(C).keys()] : [g.channel];
    for (const c of channels) port.append(grid(g, c));
    g.el.append(port);
    panAndZoom(g, port);
  }

  function grid(g, c) {
    const t = state.view.arrays[g.name];
    const [, H, W] = t.shape;
    const [left, right, top, bottom] = g.border;
    let r0 = -top, r1 = H + bottom, q0 = -left, q1 = W + right;
    if (g.mode === "large") {
      r0 = g.window[0]; q0 = g.window[1];
      r1 = Math.min(H, r0 + WINDOW); q1 = Math.min(W, q0 + WINDOW);
    }
    // With gradients, each cell carries its own (data-grad); the gradient view shows and
    // colours them (the same diverging shades, centred on 0) instead of the values.
    const grads = state.view.grads && state.view.grads[g.name];
    const gradPlane = grads && grads.data.subarray(c * H * W, (c + 1) * H * W);
    const values = t.data.subarray(c * H * W, (c + 1) * H * W);
    const plane = state.gradView && gradPlane ? gradPlane : values;
    let reach = 0;
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
        const grad = inside && gradPlane ? ` data-grad="${XoExplain.show(gradPlane[r * W + q], state.view.f32)}"` : "";
        html.push(`<div class="${cls}" data-stage="${stageAttr}" data-channel="${c}" data-row="${r}" data-col="${q}"${grad}>${label}</div>`);
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
      XoPage.select(g.name, Number(el.dataset.channel), Number(el.dataset.row), Number(el.dataset.col));
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

  return { grids, section, render, cellAt };
})());
