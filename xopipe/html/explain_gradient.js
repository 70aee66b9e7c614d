// The chain rule for one cell's gradient, as `explain=grad:stage:c:r:c` prints it
// (xopipe/explain/gradient.py): L's own term, then every cell that reads it, stage by
// stage in reverse run order, dL/d that cell × its local derivative; then the sum.
"use strict";

Object.assign(XoExplain, (function () {
  const { show, fmtG, shapeText, ROUTES, times, factorText } = XoExplain;
  const MAX_SUM_TERMS = 12; // a longer sum is written as its count
  const at = (t, c, r, q) => t.data[(c * t.shape[1] + r) * t.shape[2] + q];

  // L's term when L reads the stage itself: 1 (sum) or 2 (y − target) / n, target 0 (mse).
  function lossTerm(view, loss, name, c, r, q) {
    const R = view.round, f32 = view.f32, cell = `${name}[${c}, ${r}, ${q}]`;
    if (loss.kind === "sum") return { product: R(1), text: `sum, so dL/d${cell} gets 1` };
    const out = view.arrays[name], y = at(out, c, r, q), n = out.data.length;
    const product = R(R(y - 0) * R(2 / n));
    return { product, text: `mse, 2 × (y − target) / n = 2 × (${show(y, f32)} − ${show(0, f32)}) / ${n} = ${show(product, f32)}` };
  }

  // view: {stages, arrays, grads, loss: {kind, stages}, f32, round}; order: the run order.
  function explainGradient(view, order, name, c, r, q) {
    const R = view.round, f32 = view.f32, loss = view.loss;
    const grad = `dL/d${name}[${c}, ${r}, ${q}]`;
    const values = view.arrays[name];
    const steps = [`explain ${grad}: ${name} [${shapeText(values.shape)}] holds ${show(at(values, c, r, q), f32)} there; L = ${loss.kind} of ${loss.stages.join(", ")}`];
    const products = [];
    let value = R(0);
    if (loss.stages.includes(name)) {
      const term = lossTerm(view, loss, name, c, r, q);
      products.push(term.product);
      value = term.product;
      steps.push(`  L reads it directly: ${term.text}`);
    }
    const partials = [];
    for (const reader of order.slice().reverse()) {
      const stage = view.stages[reader];
      if (stage.input !== name) continue;
      const routes = ROUTES[stage.op](view, stage, values, c, r, q);
      steps.push(`  ${reader} [${shapeText(stage.shape)}] reads it in ${routes.length === 1 ? "1 cell" : `${routes.length} cells`}:`);
      let partial = R(0);
      for (const route of routes) {
        const upstream = at(view.grads[reader], ...route.out);
        const product = times(route, upstream, R);
        partial = R(partial + product);
        products.push(product);
        const out = `${reader}[${route.out.join(", ")}]`;
        steps.push(`    ${out}: ${route.why};  dL/d${out} = ${show(upstream, f32)}, ${factorText(route, f32)} = ${show(product, f32)}`);
      }
      partials.push(partial);
    }
    for (const partial of partials) value = R(value + partial);
    if (!products.length) steps.push("  no stage reads it and L does not: its gradient is 0");
    else {
      // One term is the gradient itself: "= 1.0 = 1.0" would say it twice.
      const sum = products.length > MAX_SUM_TERMS ? `the sum of its ${products.length} terms` : products.map((v) => show(v, f32)).join(" + ");
      steps.push(products.length === 1 ? `  ${grad} = ${show(value, f32)}` : `  ${grad} = ${sum} = ${show(value, f32)}`);
    }
    const stored = at(view.grads[name], c, r, q);
    const verdict = value === stored ? "identical, bit for bit"
      : `differs by ${fmtG(Math.abs(value - stored), 3)}: this backend adds in another order`;
    steps.push(`stored ${grad} = ${show(stored, f32)}  (${verdict})`);
    return steps.join("\n");
  }

  return { explainGradient };
})());
