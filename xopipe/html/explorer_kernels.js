// Every conv stage's kernels, weight by weight.
"use strict";

Object.assign(XoPage, (function () {
  const { T, state, $, make, cellText, tint } = XoPage;

  function kernels() {
    const box = $("#kernels");
    box.replaceChildren();
    for (const s of Object.values(state.view.stages)) {
      if (s.op !== "conv") continue;
      const p = s.params;
      const [K, gc, kh, kw] = p.weightShape;
      const part = make("div", "kernels");
      part.dataset.for = s.name;
      part.append(make("h3", null, `${T.kernels}: ${s.name}`));
      for (let k = 0; k < K; k++) {
        for (let g = 0; g < gc; g++) {
          const fig = make("figure", "grid");
          // A set without names of its own gets "kernel k" (xopipe/kernels.py, kept for the
          // explain text); the caption says it in the page's language.
          const own = k < p.names.length && p.names[k] !== `kernel ${k}`;
          const label = own ? p.names[k] : `${T.kernel} ${k}`;
          fig.append(make("figcaption", null, `${label}${gc > 1 ? " · " + T.channel + " " + g : ""} · ${T.bias} ${XoExplain.show(p.bias[k], false)}`));
          const body = make("div", "kcells");
          body.style.gridTemplateColumns = `repeat(${kw}, 34px)`;
          for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) {
            const v = p.weight[((k * gc + g) * kh + a) * kw + b];
            const el = make("div", "c k", cellText(v));
            el.dataset.kernel = k;
            el.title = XoExplain.show(v, state.view.f32);
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

  return { kernels };
})());
