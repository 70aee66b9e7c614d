// The pipeline: overrides on the op settings, every stage prepared in order, then run.
"use strict";

Object.assign(XoEngine, (function () {
  const { UserError, text, ACTIVATIONS, convOp, poolOp, activationOp, padOp } = XoEngine;

  const OPS = { conv: convOp, pool: poolOp, activation: activationOp, pad: padOp };

  // Dotted overrides ({"conv.stride": 2, "pool": "avg"}) on a copy of the op nodes.
  function applyOverrides(config, overrides) {
    const nodes = JSON.parse(JSON.stringify(config));
    for (const [key, value] of Object.entries(overrides || {})) {
      const [op, field, ...rest] = key.split(".");
      if (!(op in nodes) || rest.length) {
        throw new UserError(`unknown key ${text(key)}: give op.setting, e.g. conv.stride (ops: ${Object.keys(nodes).join(", ")})`);
      }
      if (field === undefined || field === "name") {
        nodes[op] = op === "activation" ? { name: value } : { ...nodes[op], name: value };
      } else if (!(field in nodes[op]) && !(op === "activation" && field in (ACTIVATIONS[nodes[op].name] || {}))) {
        throw new UserError(`${key} is not a setting of ${op} (allowed: ${Object.keys(nodes[op]).join(", ")})`);
      } else {
        nodes[op][field] = value;
      }
    }
    return nodes;
  }

  // Every stage's parameters and shape, checked in pipeline order.
  function prepare(model, overrides) {
    const nodes = applyOverrides(model.config, overrides);
    const shapes = { input: model.input.shape };
    const stages = [];
    for (const stage of model.stages) {
      const own = stage.params || {};
      const node = { ...nodes[stage.op], ...own };
      const key = (field) => (field in own ? `pipeline.stages.${stage.name}.params.${field}` : `${stage.op}.${field}`);
      const params = OPS[stage.op].prepare(node, key, stage);
      const shape = OPS[stage.op].shape(shapes[stage.input], params, key);
      shapes[stage.name] = shape;
      stages.push({ ...stage, params, shape });
    }
    return stages;
  }

  function compute(model, overrides) {
    const stages = prepare(model, overrides);
    const arrays = { input: model.input };
    for (const stage of stages) arrays[stage.name] = OPS[stage.op].run(arrays[stage.input], stage.params);
    return { stages, arrays };
  }

  return { compute, prepare };
})());
