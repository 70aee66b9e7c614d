// The loss the page differentiates (xopipe/loss.py): the run's, or one an override sets
// (loss=sum, loss.stages=[pool]); its value and the gradients that start the backward pass.
"use strict";

Object.assign(XoEngine, (function () {
  const { UserError, invalid, tensor, npSum, OPS } = XoEngine;
  const KINDS = ["none", "sum", "mse"];

  // The override keys of the loss node, apart from the ops' own.
  const isLossKey = (key) => key === "loss" || key.startsWith("loss.");

  // The loss node after the overrides: `loss=NAME` chooses another node, as Hydra's group
  // does (stages null, no targets); `loss.kind`, `loss.stages` set one field.
  function lossNode(given, overrides) {
    const node = { kind: "none", stages: null, targets: {}, ...(given || {}) };
    for (const [key, value] of Object.entries(overrides || {})) {
      if (!isLossKey(key)) continue;
      if (key === "loss") Object.assign(node, { kind: value, stages: null, targets: {} });
      else if (key === "loss.kind") node.kind = value;
      else if (key === "loss.stages") node.stages = value;
      else if (key === "loss.targets" || key.startsWith("loss.targets.")) {
        throw new UserError(`${key}: the page reads no files, so it cannot take a target file; give loss.targets to xopipe on the command line`);
      } else {
        throw new UserError(`${key} is not a setting of loss (allowed: kind, stages, targets)`);
      }
    }
    return node;
  }

  // The stages no other stage reads, in run order: the seed's pool and activation.
  function terminal(stages) {
    const read = new Set(stages.map((s) => s.input));
    return stages.filter((s) => !read.has(s.name)).map((s) => s.name);
  }

  // The loss as read_loss checks it: null for none; else {kind, stages, files}, where
  // files names the target files of the run's own mse loss (the page cannot read them).
  function readLoss(given, stages, overrides) {
    const node = lossNode(given, overrides);
    if (!KINDS.includes(node.kind)) throw invalid("loss.kind", node.kind, "one of " + KINDS.join(", "));
    const files = Object.keys(node.targets || {}).length > 0;
    if (node.kind === "none") {
      if (files) throw new UserError("loss.targets needs loss=mse (loss is none: nothing is differentiated)");
      return null;
    }
    const names = stages.map((s) => s.name);
    let chosen = terminal(stages);
    if (node.stages !== null && node.stages !== undefined) {
      const list = node.stages;
      if (!Array.isArray(list) || !list.length || list.some((s) => !names.includes(s))) {
        let allowed = "null (the terminal stages) or a list of " + names.join(", ");
        if (Array.isArray(list) && list.includes("input")) allowed += " ('input' is the source image: nothing computes it)";
        throw invalid("loss.stages", list, allowed);
      }
      chosen = names.filter((name) => list.includes(name));
    }
    const byName = Object.fromEntries(stages.map((s) => [s.name, s]));
    for (const name of chosen) {
      for (let step = name; step !== "input"; step = byName[step].input) {
        if (!OPS[byName[step].op].backward) {
          throw new UserError(`loss.stages: the gradient of ${name} crosses stage '${step}' (op ${byName[step].op}), which has no backward pass; choose loss.stages before it, or loss=none`);
        }
      }
    }
    if (node.kind === "sum" && files) throw new UserError("loss.targets is for loss=mse; loss=sum has no targets");
    return { kind: node.kind, stages: chosen, files: files ? { ...node.targets } : null };
  }

  // L in float64 from the stages' arrays, as Loss.value (numpy's sums; targets zeros).
  function lossValue(loss, arrays) {
    let total = 0;
    for (const name of loss.stages) {
      const data = arrays[name].data;
      total += loss.kind === "sum" ? npSum(data) : npSum(data.map((v) => v * v)) / data.length;
    }
    return total;
  }

  // dL/d each loss stage's output: 1 (sum), 2 (y - t) / n with t = 0 (mse).
  function startGradients(loss, arrays) {
    const out = {};
    for (const name of loss.stages) {
      const y = arrays[name], g = tensor(y.shape);
      const scale = 2 / y.data.length;
      for (let i = 0; i < g.data.length; i++) g.data[i] = loss.kind === "sum" ? 1 : (y.data[i] - 0) * scale;
      out[name] = g;
    }
    return out;
  }

  return { isLossKey, readLoss, lossValue, startGradients };
})());
