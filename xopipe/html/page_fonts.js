// A Chinese page (figures.lang=zh) in a browser with no Chinese font: say so, in English.
// Without one, every Chinese character is drawn as the same empty box; two different
// characters drawn alike on a canvas, in the page's own font, give that away.
"use strict";

(function () {
  const note = document.getElementById("no-cjk-font");
  if (!note) return;
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 48;
  const g = canvas.getContext("2d", { willReadFrequently: true });
  if (!g) return;
  g.font = "40px " + getComputedStyle(document.body).fontFamily;
  const drawn = (text) => {
    g.clearRect(0, 0, 48, 48);
    g.fillText(text, 2, 40);
    return g.getImageData(0, 0, 48, 48).data.join(",");
  };
  if (drawn("卷") === drawn("积")) note.hidden = false;
})();
