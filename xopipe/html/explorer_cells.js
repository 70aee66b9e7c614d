// Small pieces every part draws with: elements, a cell's number, its colour.
"use strict";

Object.assign(XoPage, (function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const make = (tag, cls, text) => {
    const el = document.createElement(tag);
    if (cls) el.className = cls;
    if (text !== undefined) el.textContent = text;
    return el;
  };
  function cellText(v) {
    if (v === -Infinity) return "−∞";
    if (v === Infinity) return "∞";
    if (Number.isNaN(v)) return "";
    if (Math.abs(v) >= 1000) return XoExplain.fmtG(v, 3);
    return (Math.round(v * 100) / 100 + 0).toFixed(2).replace("-", "−");
  }
  function tint(v, reach) {
    if (!isFinite(v) || reach === 0) return "#eeeeee";
    const t = Math.max(-1, Math.min(1, v / reach)) * 0.6;
    const fade = Math.round(255 * (1 - Math.abs(t)));
    return t > 0 ? `rgb(255,${fade},${fade})` : `rgb(${fade},${fade},255)`;
  }

  // 41 shades from blue (negative) through white to red (positive), as classes: a
  // class per cell lays out far faster than an inline style on 65,536 cells.
  const SHADES = 20;
  (function palette() {
    const rules = [".vn { background: #eeeeee; }"];
    for (let k = -SHADES; k <= SHADES; k++) rules.push(`.v${k} { background: ${tint(k / SHADES, 1)}; }`);
    const style = document.createElement("style");
    style.textContent = rules.join("\n");
    document.head.append(style);
  })();
  const shade = (v, reach) => (isFinite(v) && reach > 0 ? "v" + Math.round((Math.max(-1, Math.min(1, v / reach))) * SHADES) : "vn");

  return { $, make, cellText, tint, shade };
})());
