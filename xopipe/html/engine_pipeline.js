// The pipeline: overrides on the op settings, every stage prepared in order, then run.
"use strict";

Object.assign(XoEngine, (function () {
  const { UserError, text, OPS } = XoEngine;

  // Dotted overrides ({"conv.stride": 2, "pool": "avg"}) on a copy of the op nodes.
  // Choosing activation=NAME replaces the node, as Hydra's group does: each activation has
  // its own parameters (vocabulary.activations); other ops keep their settings.
  function applyOverrides(config, overrides, vocabulary) {
    const nodes = JSON.parse(JSON.stringify(config));
    for (const [key, value] of Object.entries(overrides || {})) {
      const [op, field, ...rest] = key.split(".");
      if (!(op in nodes) || rest.length) {
        throw new UserError(`unknown key ${text(key)}: give op.setting, e.g. conv.stride (ops: ${Object.keys(nodes).join(", ")})`);
      }
      if (field === undefined || field === "name") {
        nodes[op] = op === "activation" ? { name: value } : { ...nodes[op], name: value };
      } else if (!(field in nodes[op]) && !(op === "activation" && field in (vocabulary.activations[nodes[op].name] || {}))) {
        throw new UserError(`${key} is not a setting of ${op} (allowed: ${Object.keys(nodes[op]).join(", ")})`);
      } else {
        nodes[op][field] = value;
      }
    }
    return nodes;
  }

  // A value as one command-line word: 2, [2,1], same (experiment.py typed).
  const typed = (v) => (Array.isArray(v) ? "[" + v.map(typed).join(",") + "]" : v == null ? "null" : String(v));

  // As experiment.py _one_stage_only: a top-level key that one of the several stages it
  // sets refused; the message names its reach and the override that sets one stage only.
  function oneStageOnly(error, stage, node, stages) {
    const op = stage.op;
    for (const key of Object.keys(node)) {
      if (!new RegExp(`(?<![\\w.])${op}\\.${key}(?!\\w)`).test(error.message)) continue;
      const reached = stages.filter((s) => s.op === op && !(key in (s.params || {}))).map((s) => s.name);
      const other = reached.find((name) => name !== stage.name);
      if (other === undefined) continue;
      return new UserError(`${error.message}; ${op}.${key} sets every ${op} stage without its own ${key} ` +
        `(${reached.join(", ")}), and ${stage.name} refused it: to set it on ${other} only, ` +
        `give ++pipeline.stages.${other}.params.${key}=${typed(node[key])}`);
    }
    return error;
  }

  // Every stage's parameters and shape, checked in pipeline order.
  function prepare(model, overrides) {
    const nodes = applyOverrides(model.config, overrides, model.vocabulary);
    const shapes = { input: model.input.shape };
    const stages = [];
    for (const stage of model.stages) {
      const own = stage.params || {};
      const node = { ...nodes[stage.op], ...own };
      const key = (field) => (field in own ? `pipeline.stages.${stage.name}.params.${field}` : `${stage.op}.${field}`);
      if (!(stage.op in OPS)) {
        throw new UserError(`stage ${stage.name}: this page has no engine for op ${text(stage.op)}, so it cannot recompute`);
      }
      let params, shape;
      try {
        params = OPS[stage.op].prepare(node, key, stage, model.vocabulary);
        shape = OPS[stage.op].shape(shapes[stage.input], params, key);
      } catch (error) {
        throw error instanceof UserError ? oneStageOnly(error, stage, node, model.stages) : error;
      }
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
