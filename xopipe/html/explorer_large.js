// A large stage: a downsampled map to click, and the window of cells it opens.
"use strict";

Object.assign(XoPage, (function () {
  const { T, LARGE, WINDOW, state, make, tint } = XoPage;

  function mapCanvas(g) {
    const t = state.view.arrays[g.name];
    const [, H, W] = t.shape;
    const step = Math.max(1, Math.ceil(Math.max(H, W) / LARGE));
    const h = Math.ceil(H / step), w = Math.ceil(W / step);
    const canvas = make("canvas", "map");
    canvas.width = w; canvas.height = h;
    canvas.title = T.open;
    const grads = state.gradView && state.view.grads && state.view.grads[g.name];
    const plane = (grads || t).data.subarray(g.channel * H * W, (g.channel + 1) * H * W);
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
      XoPage.render(g);
    });
    return canvas;
  }

  function openWindow(g, r, q) {
    const [, H, W] = state.view.arrays[g.name].shape;
    const clamp = (v, n) => Math.max(0, Math.min(v - WINDOW / 2, n - WINDOW));
    g.window = [clamp(r, H), clamp(q, W)];
  }

  return { mapCanvas, openWindow };
})());
