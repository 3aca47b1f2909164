import { test } from "node:test";
import assert from "node:assert/strict";
import { nestedJointResamples } from "../../src/analysis/nested.js";
import { frontierTest, interpolateFrontier, type SampledArm } from "../../src/study/frontier.js";
import { Rng } from "../../src/util/rng.js";

const near = (a: number, b: number) => Math.abs(a - b) < 1e-12;

test("interpolation, hand-worked: (20, 0.60) and (30, 0.80), bcr at (25, 0.75)", () => {
  const penalties = [
    { name: "linear-1", tokens: 30, accuracy: 0.8 },
    { name: "linear-3", tokens: 20, accuracy: 0.6 },
    { name: "linear-5", tokens: 12, accuracy: 0.3 },
  ];
  const b = interpolateFrontier({ name: "bcr", tokens: 25, accuracy: 0.75 }, penalties);
  assert.ok(b.ok);
  if (!b.ok) return;
  assert.equal(b.interpolation.lower.name, "linear-3");
  assert.equal(b.interpolation.upper.name, "linear-1");
  assert.ok(near(b.interpolation.weight, 0.5));
  assert.ok(near(b.interpolation.penaltyAccuracy, 0.7));
  assert.ok(near(b.interpolation.diff, 0.05));
  // on a penalty point exactly: that point's accuracy
  const on = interpolateFrontier({ name: "bcr", tokens: 20, accuracy: 0.6 }, penalties);
  assert.ok(on.ok && near(on.interpolation.diff, 0));
});

test("no bracketing strengths: bcr shorter than every penalty, or longer", () => {
  const penalties = [
    { name: "a", tokens: 20, accuracy: 0.6 },
    { name: "b", tokens: 30, accuracy: 0.8 },
  ];
  const short = interpolateFrontier({ name: "bcr", tokens: 15, accuracy: 0.7 }, penalties);
  assert.ok(!short.ok);
  if (!short.ok)
    assert.match(short.reason, /^no bracketing strengths \(penalties span 20-30 tokens\/problem, bcr 15\)/);
  assert.equal(interpolateFrontier({ name: "bcr", tokens: 31, accuracy: 0.7 }, penalties).ok, false);
  const arm = (name: string, t: number, a: number): SampledArm => ({
    name,
    tokens: { point: t, resamples: [t] },
    accuracy: { point: a, resamples: [a] },
  });
  const r = frontierTest(arm("bcr", 15, 0.7), [arm("a", 20, 0.6), arm("b", 30, 0.8)]);
  assert.equal(r.verdict, "not testable");
  assert.match(r.figure, /no bracketing strengths/);
});

/** An arm whose resamples spread around its point by the given offsets. */
function arm(name: string, tokens: number, accuracy: number, tokenNoise: number[], accNoise: number[]): SampledArm {
  return {
    name,
    tokens: { point: tokens, resamples: tokenNoise.map((e) => tokens + e) },
    accuracy: { point: accuracy, resamples: accNoise.map((e) => accuracy + e) },
  };
}

test("frontier interval: held above 0, not held below, not decided across 0", () => {
  const r = new Rng(3);
  const B = 400;
  const noise = (sd: number) => Array.from({ length: B }, () => sd * r.normal());
  const penalties = [
    arm("linear-3", 20, 0.6, noise(0.5), noise(0.01)),
    arm("linear-1", 30, 0.8, noise(0.5), noise(0.01)),
  ];
  // bcr 0.05 above the line with small noise: held
  const held = frontierTest(arm("bcr", 25, 0.75, noise(0.5), noise(0.01)), penalties);
  assert.equal(held.verdict, "held");
  assert.ok(near(held.diff!.mean, 0.05));
  assert.ok(held.diff!.ci[0] > 0 && held.diff!.ci[0] < 0.05 && held.diff!.ci[1] > 0.05, `${held.diff!.ci}`);
  assert.match(held.figure, /^bcr accuracy minus the penalty's at bcr's tokens\/problem 0.05 \[/);
  assert.match(held.figure, /interpolated between linear-3 \(20 \[/);
  assert.ok(held.extrapolatedShare! < 0.01);
  // 0.05 below: not held
  assert.equal(frontierTest(arm("bcr", 25, 0.65, noise(0.5), noise(0.01)), penalties).verdict, "not held");
  // on the line with noise: not decided
  const straddle = frontierTest(arm("bcr", 25, 0.7, noise(0.5), noise(0.03)), penalties);
  assert.equal(straddle.verdict, "not decided");
  assert.ok(straddle.diff!.ci[0] < 0 && straddle.diff!.ci[1] > 0);
});

test("frontier interval from one joint draw of nested arms; the pair is fixed, the line extended when needed", () => {
  // Three arms from the same 3 SFT seeds x 2 RL seeds x 40 problems; the resamples are aligned.
  const r = new Rng(9);
  const runs = (t: number, a: number) => ({
    tokens: [0, 1, 2].map(() => [0, 1].map(() => Array.from({ length: 40 }, () => t + 2 * r.normal()))),
    accuracy: [0, 1, 2].map(() => [0, 1].map(() => Array.from({ length: 40 }, () => (r.next() < a ? 1 : 0)))),
  });
  const arms = { bcr: runs(25, 0.75), "linear-3": runs(20, 0.6), "linear-1": runs(30, 0.8) };
  const j = nestedJointResamples(arms, { seed: 1, resamples: 300 });
  const mean = (v: number[][][]) => v.flat(2).reduce((x, y) => x + y, 0) / v.flat(2).length;
  const sampled = (name: keyof typeof arms): SampledArm => ({
    name,
    tokens: { point: mean(arms[name].tokens), resamples: j[name]!.tokens! },
    accuracy: { point: mean(arms[name].accuracy), resamples: j[name]!.accuracy! },
  });
  const res = frontierTest(sampled("bcr"), [sampled("linear-3"), sampled("linear-1")]);
  assert.ok(res.interpolation !== null && res.diff !== null);
  assert.ok(res.diff!.ci[0] <= res.diff!.mean && res.diff!.mean <= res.diff!.ci[1]);
  assert.ok(["held", "not held", "not decided"].includes(res.verdict));
  assert.ok(res.extrapolatedShare! >= 0 && res.extrapolatedShare! <= 1);
  // a resample series of the wrong length is refused
  const bad = sampled("linear-1");
  assert.throws(
    () => frontierTest(sampled("bcr"), [{ ...bad, accuracy: { point: 0.8, resamples: [0.8] } }]),
    /linear-1 accuracy has 1 resamples, bcr tokens 300/,
  );
  assert.throws(() => frontierTest(sampled("bcr"), [sampled("bcr")]), /used twice/);
});
