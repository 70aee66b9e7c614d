// pad's backward step: each cell's gradient goes back to the cell it copies (pad2dBackward).
"use strict";

(function () {
  const { OPS, pad2dBackward } = XoEngine;
  OPS.pad.backward = (x, y, grad, p) => pad2dBackward(grad, p.pads, p.mode, x.shape);
})();
