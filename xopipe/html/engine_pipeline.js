// The pipeline: overrides on the op settings, every stage prepared in order, then run;
// with a loss, the backward pass through it (xopipe/backward.py).
"use strict";

Object.assign(XoEngine, (function () {
  const { UserError, text, OPS, tensor, isLossKey, readLoss, lossValue, startGradients } = XoEngine;

  // Dotted overrides ({"conv.stride": 2, "pool": "avg"}) on a copy of the op nodes.
  // Choosing activation=NAME replaces the node, as Hydra's group does: each activation has
  // its own parameters (vocabulary.activations); other ops keep their settings.
  function applyOverrides(config, overrides, vocabulary) {
    const nodes = JSON.parse(JSON.stringify(config));
    for (const [key, value] of Object.entries(overrides || {})) {
      if (isLossKey(key)) continue; // the loss node's: engine_loss.js
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

  // dL/d every stage's output and the input, as backpropagate: stages in reverse run
  // order; a stage read by several sums what they send back (earlier + new, in reverse
  // run order); a stage the loss does not depend on gets zeros.
  function backward(stages, arrays, loss) {
    const pending = startGradients(loss, arrays);
    const found = {};
    for (const stage of stages.slice().reverse()) {
      const grad = pending[stage.name];
      delete pending[stage.name];
      if (!grad) {
        found[stage.name] = tensor(stage.shape);
        continue;
      }
      found[stage.name] = grad;
      const back = OPS[stage.op].backward(arrays[stage.input], arrays[stage.name], grad, stage.params);
      const earlier = pending[stage.input];
      if (earlier) for (let i = 0; i < back.data.length; i++) back.data[i] = earlier.data[i] + back.data[i];
      pending[stage.input] = back;
    }
    const grads = { input: pending.input || tensor(arrays.input.shape) };
    for (const stage of stages) grads[stage.name] = found[stage.name];
    return grads;
  }

  // Every stage's values; with a loss (the run's, or an override's): the loss, its value
  // and every gradient, unless the loss has target files, which the page cannot read.
  function compute(model, overrides) {
    const stages = prepare(model, overrides);
    const arrays = { input: model.input };
    for (const stage of stages) arrays[stage.name] = OPS[stage.op].run(arrays[stage.input], stage.params);
    const loss = readLoss(model.loss, stages, overrides);
    const result = { stages, arrays, loss };
    if (loss && !loss.files) {
      loss.value = lossValue(loss, arrays);
      result.grads = backward(stages, arrays, loss);
    }
    return result;
  }

  return { compute, prepare, backward };
})());
