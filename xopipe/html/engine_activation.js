// The activation op: the functions, in float64, as the loop backend computes them.
"use strict";

Object.assign(XoEngine, (function () {
  const { invalid, tensor, registerOp } = XoEngine;

  function erf(x) {
    // 2/sqrt(pi) exp(-x^2) sum 2^n x^(2n+1) / (1*3*...*(2n+1)): every term positive.
    const ax = Math.abs(x);
    if (ax > 6) return Math.sign(x);
    let term = ax, sum = ax;
    for (let n = 1; n < 500 && term > sum * 1e-17; n++) {
      term *= (2 * ax * ax) / (2 * n + 1);
      sum += term;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum;
  }

  function scalarActivation(name, params) {
    switch (name) {
      case "relu": return (v) => (v > 0 ? v : 0);
      case "leaky_relu": { const s = Number(params.negative_slope); return (v) => (v > 0 ? v : v * s); }
      case "elu": { const al = Number(params.alpha); return (v) => (v > 0 ? v : al * Math.expm1(v)); }
      case "gelu":
        if (params.approximate === "tanh") {
          const c = Math.sqrt(2 / Math.PI);
          return (v) => 0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v ** 3)));
        }
        return (v) => 0.5 * v * (1 + erf(v / Math.sqrt(2)));
      case "sigmoid": return (v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));
      case "tanh": return Math.tanh;
      case "softplus": {
        const beta = Number(params.beta), threshold = Number(params.threshold);
        return (v) => {
          const z = beta * v;
          return z > threshold ? v : (Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)))) / beta;
        };
      }
      default: return (v) => v;
    }
  }

  // vocabulary.activations: name -> {parameter: default}, from xopipe/config/vocabulary.py.
  function prepareActivation(node, key, stage, vocabulary) {
    const activations = vocabulary.activations;
    if (!(node.name in activations)) throw invalid(key("name"), node.name, "one of " + Object.keys(activations).join(", "));
    const params = {};
    for (const field of Object.keys(activations[node.name])) {
      params[field] = node[field] === undefined ? activations[node.name][field] : node[field];
    }
    return { name: node.name, params, fn: scalarActivation(node.name, params) };
  }

  const activationOp = {
    prepare: prepareActivation,
    shape: (shape) => shape.slice(),
    run(x, p) {
      const out = tensor(x.shape);
      for (let i = 0; i < x.data.length; i++) out.data[i] = p.fn(x.data[i]);
      return out;
    },
  };

  registerOp("activation", activationOp);
  return { activationOp, scalarActivation, erf };
})());
