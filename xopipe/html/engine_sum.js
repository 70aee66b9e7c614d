// NumPy's summation order, so the page's sums are bit for bit the loop backend's.
"use strict";

Object.assign(XoEngine, (function () {
  // numpy's sum of a contiguous run: 8 accumulators in blocks of up to 128, halves above.
  function pairwise(a, start, n, round) {
    if (n < 8) {
      let res = 0;
      for (let i = 0; i < n; i++) res = round(res + a[start + i]);
      return res;
    }
    if (n <= 128) {
      const r = [];
      for (let j = 0; j < 8; j++) r.push(a[start + j]);
      let i = 8;
      for (; i < n - (n % 8); i += 8) {
        for (let j = 0; j < 8; j++) r[j] = round(r[j] + a[start + i + j]);
      }
      let res = round(round(round(r[0] + r[1]) + round(r[2] + r[3])) +
        round(round(r[4] + r[5]) + round(r[6] + r[7])));
      for (; i < n; i++) res = round(res + a[start + i]);
      return res;
    }
    let half = Math.floor(n / 2);
    half -= half % 8;
    return round(pairwise(a, start, half, round) + pairwise(a, start + half, n - half, round));
  }
  const same = (v) => v;
  function npSum(values, round) {
    return (round || same)(0 + pairwise(values, 0, values.length, round || same));
  }

  return { npSum };
})());
