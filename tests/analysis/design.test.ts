/**
 * designHalfWidth (src/analysis/design.ts) on synthetic runs with known variance components: two
 * methods trained from the same SFT models and scored on the same problems, each level's effect
 * split into a part both methods share (SFT, problem, SFT x problem) and a part of their own.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type Design,
  designHalfWidth,
  differenceComponents,
  normalQuantile,
  predictedHalfWidth,
  predictedVariance,
  type VarianceComponents,
  varianceComponents,
} from "../../src/analysis/design.js";
import type { LongRow } from "../../src/analysis/nested.js";
import { Rng } from "../../src/util/rng.js";

/** Standard deviations of each effect: `shared` parts are common to both methods, the rest per method. */
interface Truth {
  sharedSft: number;
  ownSft: number;
  sharedProblem: number;
  ownProblem: number;
  sharedSftProblem: number;
  ownSftProblem: number;
  rl: number;
  rlProblem: number;
  sample: number;
}

const TRUTH: Truth = {
  sharedSft: 0.5,
  ownSft: 0.15,
  sharedProblem: 1,
  ownProblem: 0.4,
  sharedSftProblem: 0.4,
  ownSftProblem: 0.3,
  rl: 0.2,
  rlProblem: 0.6,
  sample: 1,
};

/** Components of the difference a - b implied by TRUTH: shared parts cancel, own parts count twice. */
const TRUE_DIFF: VarianceComponents = {
  sft: 2 * TRUTH.ownSft ** 2,
  rl: 2 * TRUTH.rl ** 2,
  problem: 2 * TRUTH.ownProblem ** 2,
  sftProblem: 2 * TRUTH.ownSftProblem ** 2,
  rlProblem: 2 * TRUTH.rlProblem ** 2,
  sample: 2 * TRUTH.sample ** 2,
};

/** Rows of methods a and b (a shifted by +0.3) for a design, and the true difference of grand means. */
function simulate(t: Truth, d: Design, r: Rng): { a: LongRow[]; b: LongRow[] } {
  const n = (sd: number) => sd * r.normal();
  const sft = Array.from({ length: d.sftSeeds }, () => n(t.sharedSft));
  const prob = Array.from({ length: d.problems }, () => n(t.sharedProblem));
  const sp = sft.map(() => prob.map(() => n(t.sharedSftProblem)));
  const method = (shift: number) => {
    const rows: LongRow[] = [];
    const ownP = prob.map(() => n(t.ownProblem));
    for (let i = 0; i < d.sftSeeds; i++) {
      const ownS = n(t.ownSft);
      const ownSP = prob.map(() => n(t.ownSftProblem));
      for (let j = 0; j < d.rlSeeds; j++) {
        const rl = n(t.rl);
        for (let p = 0; p < d.problems; p++) {
          const base = shift + sft[i]! + ownS + rl + prob[p]! + ownP[p]! + sp[i]![p]! + ownSP[p]! + n(t.rlProblem);
          for (let k = 0; k < d.samples; k++)
            rows.push({ sft_seed: i, rl_seed: j, problem: p, sample: k, value: base + n(t.sample) });
        }
      }
    }
    return rows;
  };
  return { a: method(0.3), b: method(0) };
}

const grand = (rows: LongRow[]) => rows.reduce((s, x) => s + x.value, 0) / rows.length;

/** 1.96 x the standard deviation of the difference estimate over replicate runs of a design. */
function empiricalHalfWidth(d: Design, replicates: number, seed: number): number {
  const r = new Rng(seed);
  const diffs: number[] = [];
  for (let t = 0; t < replicates; t++) {
    const { a, b } = simulate(TRUTH, d, r);
    diffs.push(grand(a) - grand(b));
  }
  const m = diffs.reduce((x, y) => x + y, 0) / diffs.length;
  const sd = Math.sqrt(diffs.reduce((x, y) => x + (y - m) ** 2, 0) / (diffs.length - 1));
  return normalQuantile(0.975) * sd;
}

const TARGET: Design = { sftSeeds: 3, rlSeeds: 2, problems: 128, samples: 4 };

test("normal quantile", () => {
  assert.ok(Math.abs(normalQuantile(0.975) - 1.959963985) < 1e-8);
  assert.ok(Math.abs(normalQuantile(0.5)) < 1e-12);
  assert.ok(Math.abs(normalQuantile(0.001) + 3.090232306) < 1e-8);
});

test("the prediction formula with the true components matches the empirical spread of a design", () => {
  const predicted = predictedHalfWidth(TRUE_DIFF, TARGET);
  const empirical = empiricalHalfWidth(TARGET, 300, 21);
  // 300 replicates: the empirical sd itself is uncertain by about 1/sqrt(2 * 299) = 4%.
  assert.ok(Math.abs(predicted / empirical - 1) < 0.12, `predicted ${predicted}, empirical ${empirical}`);
  // the variance is the sum of each component over its divisor (hand-worked, one level at a time)
  const only = (k: keyof VarianceComponents, v: number): VarianceComponents => ({
    sft: 0,
    rl: 0,
    problem: 0,
    sftProblem: 0,
    rlProblem: 0,
    sample: 0,
    [k]: v,
  });
  assert.equal(predictedVariance(only("sft", 6), TARGET), 2);
  assert.equal(predictedVariance(only("rl", 6), TARGET), 1);
  assert.equal(predictedVariance(only("sample", 3 * 2 * 128 * 4), TARGET), 1);
});

test("designHalfWidth from an earlier run predicts the half-width of another design within 25%", () => {
  // Earlier runs of 40 SFT seeds x 3 RL x 40 problems x 2 samples (the SFT component rests on 39
  // degrees of freedom, the RL one on 80; over 20 such runs the prediction ranged over 0.84-1.18
  // of the truth, from 16 x 2 over 0.72-1.54: few seeds predict loosely). The target: the
  // study's 3 x 2 x 128 x 4. SFT and RL seeds carry most of its variance.
  const empirical = empiricalHalfWidth(TARGET, 300, 21);
  for (const seed of [1000, 8919, 16838]) {
    const earlier = simulate(TRUTH, { sftSeeds: 40, rlSeeds: 3, problems: 40, samples: 2 }, new Rng(seed));
    const pred = designHalfWidth(earlier.a, earlier.b, TARGET);
    assert.ok(
      Math.abs(pred.halfWidth / empirical - 1) < 0.25,
      `predicted ${pred.halfWidth}, empirical ${empirical}; ${pred.figure}`,
    );
    assert.ok(pred.shares.sft + pred.shares.rl > 0.6, pred.figure);
    const shareSum = Object.values(pred.shares).reduce((x, y) => x + y, 0);
    assert.ok(Math.abs(shareSum - 1) < 1e-12);
    assert.match(
      pred.figure,
      /^predicted 95% half-width of the difference [\d.]+ for 3 SFT x 2 RL seeds x 128 problems x 4 samples/,
    );
    if (seed !== 1000) continue;
    // the shared levels cancel: the difference's problem component is near 2 * 0.4^2 = 0.32, far
    // below a method's own problem variance 1 + 0.16 = 1.16
    const own = varianceComponents(earlier.a);
    assert.ok(own.components.problem > 0.7, `one method's problem component ${own.components.problem}`);
    assert.ok(pred.components.problem < 0.6, `the difference's problem component ${pred.components.problem}`);
    assert.ok(Math.abs(own.components.sample - 1) < 0.1, `sample component ${own.components.sample}`);
    assert.equal(own.degreesOfFreedom.sft, 39);
    assert.equal(own.degreesOfFreedom.rl, 80);
  }
});

test("one SFT seed needs an assumed SFT component; one sample folds noise into RL x problem", () => {
  const one = simulate(TRUTH, { sftSeeds: 1, rlSeeds: 3, problems: 30, samples: 1 }, new Rng(2));
  assert.throws(() => differenceComponents(one.a, one.b), /one SFT seed.*give assumedSftVariance/);
  const pred = designHalfWidth(one.a, one.b, TARGET, { assumedSftVariance: 0.18 });
  assert.equal(pred.components.sft, 0.18);
  assert.equal(pred.components.sample, 0);
  assert.match(pred.figure, /sample noise is folded/);
  assert.match(pred.figure, /assumed \(0.18\)/);
});

test("unbalanced or mismatched rows are refused, naming what is off", () => {
  const { a, b } = simulate(TRUTH, { sftSeeds: 2, rlSeeds: 2, problems: 3, samples: 2 }, new Rng(1));
  assert.throws(
    () => varianceComponents(a.filter((x) => !(x.sft_seed === 1 && x.rl_seed === 1))),
    /SFT seed 1 has 1 RL seeds, SFT seed 0 has 2/,
  );
  assert.throws(
    () => varianceComponents(a.filter((x) => !(x.sft_seed === 1 && x.problem === 2 && x.sample === 1))),
    /\(sft 1, rl 0, problem 2\) has 1 samples, others 2/,
  );
  assert.throws(
    () =>
      differenceComponents(
        a,
        b.map((x) => ({ ...x, sft_seed: x.sft_seed === 1 ? 7 : 0 })),
      ),
    /a has SFT seeds 0, 1, b has 0, 7/,
  );
  assert.throws(() => varianceComponents(a.filter((x) => x.rl_seed === 0)), /at least 2 RL seeds per SFT seed, got 1/);
});
