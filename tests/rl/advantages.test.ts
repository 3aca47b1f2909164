import { test } from "node:test";
import assert from "node:assert/strict";
import { advantageStats, groupAdvantages } from "../../src/rl/advantages.js";

const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

test("std-normalised advantages match a hand-worked group", () => {
  // rewards 1, 0, 0, 1: mean 0.5, population std 0.5 -> advantages +1, -1, -1, +1
  const g = groupAdvantages(
    [1, 0, 0, 1].map((r) => ({ total: r, accuracy: r, length: 0 })),
    "std",
    0,
  );
  assert.deepEqual(g.total, [1, -1, -1, 1]);
  assert.equal(g.zeroVariance, false);
});

test("Dr. GRPO advantages are centred but not scaled", () => {
  const g = groupAdvantages(
    [0.2, 0.4, 0.9].map((r) => ({ total: r, accuracy: r, length: 0 })),
    "none",
  );
  close(g.total[0]!, 0.2 - 0.5);
  close(g.total[2]!, 0.9 - 0.5);
});

test("accuracy and length advantages add up to the total advantage", () => {
  const rewards = [
    { accuracy: 1, length: -0.3 },
    { accuracy: 1, length: -0.8 },
    { accuracy: 0, length: -0.1 },
    { accuracy: 0.5, length: -0.5 },
  ].map((r) => ({ ...r, total: r.accuracy + r.length }));
  const g = groupAdvantages(rewards);
  g.total.forEach((t, i) => close(t, g.accuracy[i]! + g.length[i]!));
  // A correct but long response gets a negative advantage here: -0.8 pulls it under the mean.
  // total rewards 0.7, 0.2, -0.1, 0.0 -> mean 0.2 -> response 1 (correct) gets exactly 0
  close(g.total[1]!, 0, 1e-5);
});

test("a group of equal rewards has zero variance and zero advantages", () => {
  const g = groupAdvantages([1, 1, 1].map((r) => ({ total: r, accuracy: r, length: 0 })));
  assert.equal(g.zeroVariance, true);
  g.total.forEach((a) => close(a, 0));
});

test("advantageStats counts zero-variance groups and correct responses pushed down", () => {
  const rewards = [0.9, 0.6, 0.0].map((t) => ({ total: t, accuracy: t > 0 ? 1 : 0, length: 0 }));
  const g1 = groupAdvantages(rewards); // mean 0.5: the correct 0.6 is above, fine
  const g2 = groupAdvantages([1, 0.1, 0.4].map((t) => ({ total: t, accuracy: 1, length: t - 1 })));
  // g2: all correct, rewards 1, 0.1, 0.4, mean 0.5 -> two correct responses get negative advantages
  const g3 = groupAdvantages([1, 1].map((t) => ({ total: t, accuracy: 1, length: 0 })));
  const s = advantageStats(
    [g1, g2, g3],
    [
      [true, true, false],
      [true, true, true],
      [true, true],
    ],
  );
  close(s.zeroVarFrac, 1 / 3);
  close(s.negCorrectFrac, 2 / 7);
});

test("an empty group is refused", () => {
  assert.throws(() => groupAdvantages([]), /empty group/);
});
