import { test } from "node:test";
import assert from "node:assert/strict";
import { bootstrapMeanCI, percentileInterval } from "../../src/analysis/bootstrap.js";
import {
  type LongRow,
  nestedDiffCI,
  nestedFromRows,
  nestedJointResamples,
  nestedMean,
  nestedMeanCI,
  nestedReductionCI,
  nestedResamples,
  samplesFromRows,
} from "../../src/analysis/nested.js";
import { Rng } from "../../src/util/rng.js";

const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const variance = (xs: number[]) => {
  const m = avg(xs);
  return avg(xs.map((x) => (x - m) ** 2));
};

/** All index tuples of length k over 0..n-1 (every equally likely bootstrap draw). */
function tuples(n: number, k: number): number[][] {
  let out: number[][] = [[]];
  for (let i = 0; i < k; i++) out = out.flatMap((t) => Array.from({ length: n }, (_, j) => [...t, j]));
  return out;
}

test("one SFT seed with one RL seed is the plain problem bootstrap, to the last bit", () => {
  const r = new Rng(3);
  const xs = Array.from({ length: 50 }, () => r.normal());
  const nested = nestedMeanCI([[xs]], { seed: 4, resamples: 700 });
  const plain = bootstrapMeanCI(xs, { seed: 4, resamples: 700 });
  assert.deepEqual(nested, plain);
});

test("seed levels count even when problems do not vary (hand-worked)", () => {
  // Two SFT seeds, every problem the same within one: the resampled mean is 1, 2 or 3 with
  // chances 1/4, 1/2, 1/4, so the 95% interval is [1, 3].
  assert.deepEqual(nestedMeanCI([[[1, 1, 1]], [[3, 3, 3]]], { seed: 1 }), { mean: 2, ci: [1, 3] });
  // The same at the RL level under one SFT seed.
  assert.deepEqual(
    nestedMeanCI(
      [
        [
          [0, 0],
          [2, 2],
        ],
      ],
      { seed: 1 },
    ),
    { mean: 1, ci: [0, 2] },
  );
  // The point estimate is a mean of means: SFT seed 0 has RL means 0 and 2 (mean 1), seed 1 one RL at 4.
  assert.equal(
    nestedMean([
      [
        [0, 0],
        [2, 2],
      ],
      [[4, 4]],
    ]),
    2.5,
  );
});

test("resamples match the exactly enumerated three-level bootstrap distribution", () => {
  // 2 SFT x 2 RL x 2 problems: problem draws (4) x SFT draws (4) x RL draws per drawn SFT slot
  // (4 x 4) = 256 equally likely outcomes, enumerated with plain loops (no Rng, no library code).
  const v = [
    [
      [0, 1],
      [2, 4],
    ],
    [
      [5, 5],
      [6, 9],
    ],
  ];
  const stats: number[] = [];
  for (const ps of tuples(2, 2))
    for (const ss of tuples(2, 2))
      for (const r0 of tuples(2, 2))
        for (const r1 of tuples(2, 2)) {
          const rl = [r0, r1];
          stats.push(avg(ss.map((s, k) => avg(rl[k]!.map((j) => avg(ps.map((p) => v[s]![j]![p]!)))))));
        }
  const mc = nestedResamples(v, { seed: 9, resamples: 40000 });
  assert.ok(Math.abs(avg(mc) - avg(stats)) < 0.02, `mean ${avg(mc)} vs exact ${avg(stats)}`);
  assert.ok(Math.abs(variance(mc) / variance(stats) - 1) < 0.04, `variance ${variance(mc)} vs ${variance(stats)}`);
});

test("rows: samples averaged inside a problem, ids sorted, a missing cell named", () => {
  const rows: LongRow[] = [];
  for (const sft of [2, 1])
    for (const rl of [1, 0])
      for (const problem of ["p2", "p1"])
        for (const sample of [0, 1]) rows.push({ sft_seed: sft, rl_seed: rl, problem, sample, value: sft + sample });
  const n = nestedFromRows(rows);
  assert.deepEqual(n.sftSeeds, [1, 2]);
  assert.deepEqual(n.rlSeeds, [
    [0, 1],
    [0, 1],
  ]);
  assert.deepEqual(n.problems, ["p1", "p2"]);
  assert.deepEqual(n.values[0]![1], [1.5, 1.5]);
  assert.deepEqual(n.values[1]![0], [2.5, 2.5]);
  assert.equal(samplesFromRows(rows).samples[0]![0]![0]!.length, 2);
  // the same rows in another order give the same array
  assert.deepEqual(nestedFromRows([...rows].reverse()), n);

  const holed = rows.filter((r) => !(r.sft_seed === 2 && r.rl_seed === 0 && r.problem === "p1"));
  assert.throws(() => nestedFromRows(holed), /cell \(sft 2, rl 0\) has 1 of the 2 problems; missing p1/);
  assert.throws(() => nestedFromRows([...rows, rows[0]!]), /repeats sft 2, rl 1, problem p2, sample 0/);
  assert.throws(
    () => nestedFromRows([{ sft_seed: 0, rl_seed: 0, problem: 0, sample: 0, value: Number.NaN }]),
    /not a finite number/,
  );
  assert.throws(() => nestedFromRows([]), /no rows/);
});

test("shape errors are named", () => {
  assert.throws(() => nestedMeanCI([]), /no SFT seeds/);
  assert.throws(() => nestedMeanCI([[]]), /SFT seed 0 has no RL seeds/);
  assert.throws(() => nestedMeanCI([[[1, 2]], [[1]]]), /cell \(sft 1, rl 0\) has 1 problems/);
  assert.throws(() => nestedMeanCI([[[1, Number.NaN]]]), /problem 1 is not a finite number/);
  assert.throws(() => nestedDiffCI([[[1]]], [[[1]], [[2]]]), /same SFT seeds/);
  assert.throws(
    () => nestedJointResamples({ bcr: { tokens: [[[1], [2]]], acc: [[[1]]] } }),
    /metrics of one arm come from the same runs/,
  );
});

test("paired difference: the shared SFT model cancels, separate RL runs do not", () => {
  const r = new Rng(5);
  // Large SFT effects, one RL seed per SFT seed, a = b + 1 exactly: every resample draws the
  // same SFT seed and problems for both methods, so the difference is 1 in every resample.
  const b = [0, 1, 2].map((i) => [Array.from({ length: 30 }, () => 10 * i + r.normal())]);
  const a = b.map((sft) => sft.map((row) => row.map((v) => v + 1)));
  const d = nestedDiffCI(a, b, { seed: 3, resamples: 500 });
  assert.ok(Math.abs(d.diff - 1) < 1e-12);
  assert.ok(Math.abs(d.ci[0] - 1) < 1e-9 && Math.abs(d.ci[1] - 1) < 1e-9, `${d.ci}`);
  // Two RL seeds per SFT seed that differ: the RL draws are independent per method, so the
  // interval opens, and still holds the shift.
  const b2 = b.map(([row]) => [row!, row!.map((v) => v + 0.5 * r.normal())]);
  const a2 = b2.map((sft) => sft.map((row) => row.map((v) => v + 1)));
  const d2 = nestedDiffCI(a2, b2, { seed: 3, resamples: 500 });
  assert.ok(d2.ci[0] < 1 && d2.ci[1] > 1 && d2.ci[1] - d2.ci[0] > 0.05, `${d2.ci}`);
  // An SFT model without RL is an arm of one "RL seed" per SFT seed.
  assert.doesNotThrow(() => nestedDiffCI(a2, b));
});

test("reduction 1 - mean(a)/mean(b) is bootstrapped as a ratio per resample", () => {
  const r = new Rng(8);
  const b = [0, 1, 2].map(() => [0, 1].map(() => Array.from({ length: 40 }, () => 50 + 10 * r.normal())));
  const a = b.map((sft) => sft.map((row) => row.map((v) => 0.6 * v)));
  // a is exactly 0.6 of b run by run, but the RL draws differ per method, so only the point is exact.
  const red = nestedReductionCI(a, b, { seed: 2, resamples: 400 });
  assert.ok(Math.abs(red.mean - 0.4) < 1e-12);
  const joint = nestedJointResamples({ a: { x: a }, b: { x: b } }, { seed: 2, resamples: 400 });
  assert.deepEqual(
    red.ci,
    percentileInterval(
      joint.a!.x!.map((x, k) => 1 - x / joint.b!.x![k]!),
      0.95,
    ),
  );
  assert.ok(red.ci[0] < 0.4 && red.ci[1] > 0.4, `${red.ci}`);
  // One RL seed per SFT seed: every resample sees the same runs for both methods, ratio exact.
  const one = nestedReductionCI(
    a.map((s) => [s[0]!]),
    b.map((s) => [s[0]!]),
    { seed: 2, resamples: 200 },
  );
  assert.ok(Math.abs(one.ci[0] - 0.4) < 1e-12 && Math.abs(one.ci[1] - 0.4) < 1e-12);
});

test("joint resamples: arms share problem and SFT draws, metrics of an arm share RL draws", () => {
  const r = new Rng(1);
  const make = () => [0, 1, 2].map(() => [0, 1].map(() => Array.from({ length: 10 }, () => r.normal())));
  const tokens = make();
  // accuracy = 2 * tokens run by run: same RL draws inside the arm keep the relation in every resample
  const acc = tokens.map((s) => s.map((row) => row.map((v) => 2 * v)));
  const arms = { bcr: { tokens, acc }, single: { tokens: make() } };
  const j = nestedJointResamples(arms, { seed: 6, resamples: 300 });
  j.bcr!.acc!.forEach((x, k) => assert.ok(Math.abs(x - 2 * j.bcr!.tokens![k]!) < 1e-12));
  assert.deepEqual(nestedJointResamples(arms, { seed: 6, resamples: 300 }), j, "reproducible");
});
