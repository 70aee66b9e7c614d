// A training run's page: the epoch slider and the test image over the explorer.
// The page carries every epoch's weights and the test images (#xopipe-training); a change
// puts that epoch's kernels and biases and that image into the explorer's model and
// recomputes with the engine, so every cell keeps the explorer's contract at every epoch.
// "Back" returns to the epoch and image whose values the run computed (the stored view).
// Runs after explorer_controls.js, which started the page.
"use strict";

(function () {
  const { T, model, state, hooks, decode, recompute, overridesFromControls, $ } = XoPage;
  const run = JSON.parse(document.getElementById("xopipe-training").textContent);
  const f32 = run.dtype === "float32";
  const [, C, H, W] = run.images.shape;
  const size = C * H * W;
  const pixels = decode(run.images.data, f32);
  const weights = {};
  for (const [name, w] of Object.entries(run.weights)) {
    weights[name] = { data: w.data.map((b) => decode(b, f32)), bias: w.bias };
  }
  const head = { shape: run.head.shape, weight: run.head.weight.map((b) => decode(b, f32)), bias: run.head.bias };
  // The model as the page opened: the run's own values are of it ("Back" puts it back).
  const opened = { input: model.input, stages: model.stages.map((s) => ({ kernel: s.kernel, params: s.params })) };
  const chosen = { ...run.shown }; // positions: in run.epochs, in the carried images
  const slider = $("#epoch"), picker = $("#image"), play = $("#play");
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (m, key) => (key in values ? values[key] : m));
  let timer = null;

  function put(epoch, image) {
    for (const s of model.stages) {
      const w = weights[s.name];
      if (!w) continue;
      s.kernel = { ...s.kernel, data: w.data[epoch] };
      s.params = { ...s.params, bias: w.bias[epoch] }; // the stage's own, over conv.bias
    }
    model.input = { shape: [C, H, W], data: pixels.subarray(image * size, (image + 1) * size) };
  }

  function show() {
    const status = $("#status");
    put(chosen.epoch, chosen.image);
    try {
      const ms = recompute(overridesFromControls());
      const at = { epoch: run.epochs[chosen.epoch], index: run.images.index[chosen.image], ms: ms.toFixed(0) };
      status.textContent = fill(T.shown, at);
      status.className = "ok";
    } catch (error) {
      status.textContent = (error instanceof XoEngine.UserError ? "" : "error: ") + error.message;
      status.className = "bad";
    }
  }

  // The head's class probabilities for the maps shown; null when a setting changed their
  // size (the head reads exactly the features it was trained on).
  function votes() {
    const arrays = state.view.arrays;
    const [K, F] = head.shape;
    const features = [];
    for (const name of run.terminal) {
      if (!arrays[name]) return null;
      for (const v of arrays[name].data) features.push(v);
    }
    if (features.length !== F) return null;
    const w = head.weight[chosen.epoch], b = head.bias[chosen.epoch];
    const logits = [];
    for (let k = 0; k < K; k++) {
      let z = 0;
      for (let f = 0; f < F; f++) z += features[f] * w[k * F + f];
      logits.push(z + b[k]);
    }
    const top = Math.max(...logits);
    const exp = logits.map((z) => Math.exp(z - top));
    const total = exp.reduce((sum, v) => sum + v, 0);
    return exp.map((v) => v / total);
  }

  function describe() {
    slider.value = String(chosen.epoch);
    picker.value = String(chosen.image);
    const e = chosen.epoch, epoch = run.epochs[e], s = run.scores;
    $("#epoch-number").textContent = epoch;
    $("#scores").textContent = fill(T.scores, {
      epoch, train_loss: s.train.loss[e].toFixed(4), train_accuracy: s.train.accuracy[e].toFixed(3),
      test_loss: s.test.loss[e].toFixed(4), test_accuracy: s.test.accuracy[e].toFixed(3),
    });
    const p = votes();
    const box = $("#votes");
    if (!p) { box.textContent = ""; return; }
    const best = p.indexOf(Math.max(...p));
    box.textContent = fill(T.votes, {
      epoch, votes: run.classes.map((c, k) => `${c} ${p[k].toFixed(4)}`).join(", "),
      predicted: run.classes[best], label: run.classes[run.images.label[chosen.image]],
    });
  }

  function stop() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    play.textContent = T.play;
  }
  function step() {
    if (chosen.epoch >= run.epochs.length - 1) return stop();
    chosen.epoch += 1;
    show();
  }

  slider.addEventListener("input", () => { chosen.epoch = Number(slider.value); show(); });
  picker.addEventListener("change", () => { chosen.image = Number(picker.value); show(); });
  play.addEventListener("click", () => {
    if (timer !== null) return stop();
    if (chosen.epoch >= run.epochs.length - 1) { chosen.epoch = 0; show(); }
    play.textContent = T.pause;
    timer = setInterval(step, 700);
  });
  hooks.reset.push(() => {
    stop();
    Object.assign(chosen, run.shown);
    model.input = opened.input;
    model.stages.forEach((s, i) => { s.kernel = opened.stages[i].kernel; s.params = opened.stages[i].params; });
  });
  hooks.drawn.push(describe);

  window.xopipe.training = {
    // Show epoch position `epoch` (0: before training) and carried test image `image`.
    show(epoch, image) {
      chosen.epoch = epoch;
      if (image !== undefined) chosen.image = image;
      show();
    },
    // The epoch number and the test image's index in data.parquet shown now.
    shown: () => ({ epoch: run.epochs[chosen.epoch], index: run.images.index[chosen.image] }),
    // The head's class probabilities for the shown image at the shown epoch (null: none).
    votes,
  };
  describe();
})();
