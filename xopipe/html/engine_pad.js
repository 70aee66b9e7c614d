// The pad op: settings checked as xopipe/ops/pad.py; the padding itself is pad2d.
"use strict";

Object.assign(XoEngine, (function () {
  const { invalid, pads4, modeFits, pad2d, registerOp } = XoEngine;

  function preparePad(node, key, stage, vocabulary) {
    const modes = vocabulary.pad_modes;
    if (!modes.includes(node.mode)) throw invalid(key("mode"), node.mode, "one of " + modes.join(", "));
    return { pads: pads4(key("pads"), node.pads), value: Number(node.value), mode: node.mode };
  }

  function padShape(shape, p, key) {
    modeFits(key("pads"), p.mode, p.pads, shape[1], shape[2]);
    return [shape[0], shape[1] + p.pads[2] + p.pads[3], shape[2] + p.pads[0] + p.pads[1]];
  }

  const padOp = { prepare: preparePad, shape: padShape, run: (x, p) => pad2d(x, p.pads, p.mode, p.value) };

  registerOp("pad", padOp);
  return { padOp };
})());
