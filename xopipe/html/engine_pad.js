// The pad op: settings checked as xopipe/ops/pad.py; the padding itself is pad2d.
"use strict";

Object.assign(XoEngine, (function () {
  const { invalid, pads4, modeFits, pad2d } = XoEngine;

  const PAD_MODES = ["constant", "reflect", "replicate", "circular"];

  function preparePad(node, key) {
    if (!PAD_MODES.includes(node.mode)) throw invalid(key("mode"), node.mode, "one of " + PAD_MODES.join(", "));
    return { pads: pads4(key("pads"), node.pads), value: Number(node.value), mode: node.mode };
  }

  function padShape(shape, p, key) {
    modeFits(key("pads"), p.mode, p.pads, shape[1], shape[2]);
    return [shape[0], shape[1] + p.pads[2] + p.pads[3], shape[2] + p.pads[0] + p.pads[1]];
  }

  const padOp = { prepare: preparePad, shape: padShape, run: (x, p) => pad2d(x, p.pads, p.mode, p.value) };

  return { padOp };
})());
