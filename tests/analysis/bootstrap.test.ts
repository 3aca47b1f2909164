import { test } from "node:test";
import assert from "node:assert/strict";
import {
  bootstrapDiffCI,
  bootstrapMeanCI,
  median,
  percentileInterval,
  quantile,
} from "../../src/analysis/bootstrap.js";
import { Rng } from "../../src/util/rng.js";

test("quantile interpolates linearly between order statistics", () => {
  assert.equal(quantile([4, 1, 3, 2], 0.5), 2.5);
  assert.equal(quantile([1, 2, 3, 4, 5], 0.25), 2);
  assert.equal(median([7]), 7);
  const [lo, hi] = percentileInterval([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, NaN], 0.8);
  assert.ok(Math.abs(lo - 1) < 1e-9 && Math.abs(hi - 9) < 1e-9, `${lo} ${hi}`);
});

test("bootstrapMeanCI: contains the mean, reproducible, narrows with more data, degenerate for constants", () => {
  const r = new Rng(4);
  const small = Array.from({ length: 10 }, () => 5 + r.normal());
  const big = Array.from({ length: 400 }, () => 5 + r.normal());
  const a = bootstrapMeanCI(small, { seed: 1, resamples: 500 });
  assert.ok(a.ci[0] < a.mean && a.mean < a.ci[1]);
  assert.deepEqual(bootstrapMeanCI(small, { seed: 1, resamples: 500 }), a);
  const b = bootstrapMeanCI(big, { seed: 1, resamples: 500 });
  assert.ok(b.ci[1] - b.ci[0] < (a.ci[1] - a.ci[0]) / 3);
  assert.ok(b.ci[0] < 5 && 5 < b.ci[1]);
  assert.deepEqual(bootstrapMeanCI([2, 2, 2]).ci, [2, 2]);
  assert.deepEqual(bootstrapMeanCI([3]), { mean: 3, ci: [3, 3] });
  assert.throws(() => bootstrapMeanCI([]), /no values/);
  assert.throws(() => bootstrapMeanCI([1, Infinity]), /value 1 is not a finite number/);
  assert.throws(() => bootstrapMeanCI([1, 2], { level: 1.5 }), /level/);
});

test("bootstrapMeanCI has roughly nominal coverage", () => {
  const r = new Rng(8);
  let covered = 0;
  const trials = 200;
  for (let t = 0; t < trials; t++) {
    const xs = Array.from({ length: 30 }, () => r.normal());
    const { ci } = bootstrapMeanCI(xs, { seed: t, resamples: 300, level: 0.9 });
    if (ci[0] <= 0 && 0 <= ci[1]) covered++;
  }
  assert.ok(covered / trials > 0.8 && covered / trials < 0.97, `coverage ${covered / trials}`);
});

test("bootstrapDiffCI: paired shift is exact; unpaired detects a shift and not its absence", () => {
  const r = new Rng(2);
  const b = Array.from({ length: 20 }, () => r.normal());
  const a = b.map((x) => x + 1);
  const p = bootstrapDiffCI(a, b, { paired: true });
  assert.ok(Math.abs(p.diff - 1) < 1e-12);
  assert.ok(Math.abs(p.ci[0] - 1) < 1e-9 && Math.abs(p.ci[1] - 1) < 1e-9);
  assert.equal(p.pValue, 0);
  assert.equal(p.paired, true);
  const u = bootstrapDiffCI(a, b, { paired: false, seed: 3 });
  assert.ok(u.ci[0] > 0.3 && u.ci[1] > 1, `ci ${u.ci}`);
  assert.ok(u.pValue < 0.05);
  const same = bootstrapDiffCI(
    b,
    b.map((x) => x + 0.01 * r.normal()),
    { paired: false },
  );
  assert.ok(same.ci[0] < 0 && same.ci[1] > 0);
  assert.ok(same.pValue > 0.5);
  assert.throws(() => bootstrapDiffCI([1, 2], [1], { paired: true }), /equal lengths/);
});
