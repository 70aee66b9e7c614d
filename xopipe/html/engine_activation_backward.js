// The activations' backward step: dL/dx = dL/dy * f'(x), cell by cell, each f' as
// PyTorch's autograd takes it (xopipe/backends/loop_backward.py SCALAR_GRADIENT).
"use strict";

Object.assign(XoEngine, (function () {
  const { OPS, tensor, erf } = XoEngine;

  // sigmoid(v) * (1 - sigmoid(v)) = e / (1 + e)^2 with e = exp(-|v|): no overflow.
  function sigmoidSlope(v) {
    const e = Math.exp(-Math.abs(v));
    return e / (1 + e) ** 2;
  }
  function sigmoid(z) {
    if (z >= 0) return 1 / (1 + Math.exp(-z));
    const e = Math.exp(z);
    return e / (1 + e);
  }

  // dL/dx from x and dL/dy for each activation, written as loop_backward.py's
  // SCALAR_GRADIENT, with PyTorch's choice at a kink: relu'(0) = 0, leaky_relu and elu
  // take their negative side's slope at 0.
  function scalarGradient(name, params) {
    switch (name) {
      case "relu": return (v, g) => (v > 0 ? g : 0);
      case "leaky_relu": { const s = Number(params.negative_slope); return (v, g) => (v > 0 ? g : g * s); }
      case "elu": { const al = Number(params.alpha); return (v, g) => (v > 0 ? g : g * al * Math.exp(v)); }
      case "gelu":
        if (params.approximate === "tanh") {
          const c = Math.sqrt(2 / Math.PI), kappa = 0.044715;
          return (v, g) => {
            const t = Math.tanh(c * (v + kappa * v ** 3));
            return g * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * c * (1 + 3 * kappa * v * v));
          };
        }
        // d/dv v * Phi(v) = Phi(v) + v * phi(v), Phi and phi the normal cdf and density.
        return (v, g) => g * (0.5 * (1 + erf(v / Math.sqrt(2))) + (v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI));
      case "sigmoid": return (v, g) => g * sigmoidSlope(v);
      case "tanh": return (v, g) => g * (1 - Math.tanh(v) ** 2);
      case "softplus": {
        // Above the threshold the forward returns v itself: slope 1; below, sigmoid(beta v).
        const beta = Number(params.beta), threshold = Number(params.threshold);
        return (v, g) => (beta * v > threshold ? g : g * sigmoid(beta * v));
      }
      default: return (v, g) => g;
    }
  }

  OPS.activation.backward = (x, y, grad, p) => {
    const passes = scalarGradient(p.name, p.params);
    const out = tensor(x.shape);
    for (let i = 0; i < x.data.length; i++) out.data[i] = passes(x.data[i], grad.data[i]);
    return out;
  };
  return { scalarGradient };
})());
