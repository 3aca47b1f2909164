import { test } from "node:test";
import assert from "node:assert/strict";
import { detectCollapse } from "../../src/analysis/stability.js";
import { methodCollapse, runCollapse } from "../../src/study/collapse.js";
import { dropDifference, freeLunchRule, loopsRule, stabilityRule, taskScalingRule } from "../../src/study/rules.js";
import { logLogSlope, slopeEstimate } from "../../src/study/slope.js";
import type { Estimate, Sampled } from "../../src/study/verdict.js";

const est = (mean: number, lo: number, hi: number): Estimate => ({ mean, ci: [lo, hi] });

test("collapse: the absolute floor fires where half of the start could not", () => {
  // rigor.md's case: start 0.406, guess rate 0.21. Half the start (0.203) is below the guess
  // rate, so a run ending at 0.24 (guessing level) never counted as collapsed.
  const curve = { steps: [0, 10, 20, 30], values: [0.406, 0.3, 0.25, 0.24] };
  assert.equal(detectCollapse(curve).collapsed, false, "the old rule cannot fire");
  const run = runCollapse(0.24, 0.21);
  assert.equal(run.collapsed, true);
  assert.ok(Math.abs(run.threshold - 0.26) < 1e-12);
  // a run at the threshold or above is not collapsed; the floor is configurable
  assert.equal(runCollapse(0.26, 0.21).collapsed, false);
  assert.equal(runCollapse(0.24, 0.21, 0.02).collapsed, false);
  assert.throws(() => runCollapse(1.2, 0.2), /finalAccuracy must be in \[0, 1\]/);
});

test("collapse: a method collapses on a strict majority; at or above lambda* it is the reward's optimum", () => {
  const base = { guessRate: 0.21 };
  const two = methodCollapse({
    ...base,
    method: "linear-2",
    finalAccuracies: [0.22, 0.23, 0.5],
    lambda: 2,
    lambdaStar: 4.35,
  });
  assert.equal(two.collapsed, true);
  assert.equal(two.collapsedSeeds, 2);
  assert.equal(two.classification, "collapsed");
  assert.match(two.figure, /^linear-2 \(lambda 2 < lambda\* 4.35\): 2\/3 seeds below guess 0.21 \+ 0.05 = 0.26/);
  // 1 of 2 is no majority
  assert.equal(methodCollapse({ ...base, method: "x", finalAccuracies: [0.22, 0.5] }).collapsed, false);
  const five = methodCollapse({
    ...base,
    method: "linear-5",
    finalAccuracies: [0.2, 0.2, 0.2],
    lambda: 5,
    lambdaStar: 4.35,
  });
  assert.equal(five.classification, "reward optimum");
  const atStar = methodCollapse({ ...base, method: "l", finalAccuracies: [0.2], lambda: 4.35, lambdaStar: 4.35 });
  assert.equal(atStar.classification, "reward optimum");
  const unknown = methodCollapse({ ...base, method: "l", finalAccuracies: [0.2], lambda: 5, lambdaStar: null });
  assert.equal(unknown.classification, "collapsed");
  assert.match(unknown.figure, /lambda\* unknown/);
  assert.equal(methodCollapse({ ...base, method: "bcr", finalAccuracies: [0.8, 0.7] }).classification, "stable");
});

test("log-log slope: a power law's exponent, exactly", () => {
  const ns = [1, 2, 4, 8];
  assert.ok(
    Math.abs(
      logLogSlope(
        ns,
        ns.map((n) => 100 * n ** -0.5),
      ) + 0.5,
    ) < 1e-12,
  );
  assert.ok(Math.abs(logLogSlope(ns, [50, 50, 50, 50])) < 1e-12, "a flat line has slope 0");
  assert.throws(() => logLogSlope([2, 2], [1, 2]), /two distinct N/);
  // resampled: each resample refitted (slopes -1, -1, -0.5; the 97.5% type-7 quantile of three
  // values lies 0.95 of the way from the second to the third: -1 + 0.95 * 0.5 = -0.525)
  const tokens: Sampled[] = ns.map((n) => ({ point: 100 / n, resamples: [100 / n, 90 / n, 80 / n ** 0.5] }));
  const s = slopeEstimate(ns, tokens);
  assert.ok(Math.abs(s.mean + 1) < 1e-12);
  assert.ok(Math.abs(s.ci[0] + 1) < 1e-12 && Math.abs(s.ci[1] + 0.525) < 1e-9, `${s.ci}`);
});

test("claim 1 task scaling: held, partially, not held, not testable", () => {
  const held = taskScalingRule({ slope: est(-0.6, -0.7, -0.5), dropDifference: est(0.1, 0.04, 0.16) });
  assert.equal(held.verdict, "held");
  assert.deepEqual(
    Object.entries(held.parts).map(([k, p]) => [k, p.held]),
    [
      ["slope", true],
      ["drop", true],
    ],
  );
  assert.match(held.figure, /slope held: .*-0.6 \[-0.7, -0.5\].*; drop held: .*0.1 \[0.04, 0.16\]/);
  // a flat line: the slope's interval holds 0 (a monotone test would have passed it)
  const flat = taskScalingRule({ slope: est(-0.02, -0.08, 0.04), dropDifference: est(0.1, 0.04, 0.16) });
  assert.equal(flat.verdict, "partially");
  assert.equal(flat.parts.slope!.held, false);
  assert.equal(
    taskScalingRule({ slope: est(0.1, 0.05, 0.2), dropDifference: est(-0.05, -0.1, 0.01) }).verdict,
    "not held",
  );
  const nt = taskScalingRule({ slope: est(-0.6, -0.7, -0.5), dropDifference: null });
  assert.equal(nt.verdict, "not testable");
  assert.match(nt.figure, /accuracy drops of bcr and single from N=1 to N=8/);
});

test("claim 1: the drop difference is bootstrapped from aligned series", () => {
  // single drops 0.3 (0.9 -> 0.6), bcr drops 0.1 (0.9 -> 0.8): d = 0.2 in every resample here
  const s = (point: number, rs: number[]): Sampled => ({ point, resamples: rs });
  const d = dropDifference(
    { atOne: s(0.9, [0.9, 0.85]), atMax: s(0.6, [0.6, 0.55]) },
    { atOne: s(0.9, [0.9, 0.8]), atMax: s(0.8, [0.8, 0.7]) },
  );
  assert.ok(Math.abs(d.mean - 0.2) < 1e-12 && Math.abs(d.ci[0] - 0.2) < 1e-12 && Math.abs(d.ci[1] - 0.2) < 1e-12);
  assert.throws(
    () => dropDifference({ atOne: s(1, [1]), atMax: s(1, [1, 2]) }, { atOne: s(1, [1]), atMax: s(1, [1]) }),
    /one joint draw/,
  );
});

test("claim 2 free lunch: both halves, one, none, not testable; the margin decides non-inferiority", () => {
  const margin = 0.03;
  const held = freeLunchRule({ tokenReduction: est(0.4, 0.3, 0.5), accuracyDiff: est(0.01, -0.02, 0.04), margin });
  assert.equal(held.verdict, "held");
  assert.match(held.figure, /needs the lower bound >= -0.03, the pre-registered margin/);
  // rigor.md: a mean of +0.3 points with an interval of [-5.5, +6.0] shows nothing about equality
  const wide = freeLunchRule({ tokenReduction: est(0.4, 0.3, 0.5), accuracyDiff: est(0.003, -0.055, 0.06), margin });
  assert.equal(wide.verdict, "partially");
  assert.equal(wide.parts.nonInferior!.held, false);
  // a real reduction whose interval does not reach 0.15
  const small = freeLunchRule({ tokenReduction: est(0.2, 0.1, 0.3), accuracyDiff: est(0.01, -0.02, 0.04), margin });
  assert.equal(small.verdict, "partially");
  assert.equal(small.parts.reduction!.held, false);
  assert.equal(
    freeLunchRule({ tokenReduction: est(0.05, -0.1, 0.2), accuracyDiff: est(-0.1, -0.15, -0.05), margin }).verdict,
    "not held",
  );
  assert.equal(
    freeLunchRule({ tokenReduction: null, accuracyDiff: est(0, -0.01, 0.01), margin }).verdict,
    "not testable",
  );
  assert.throws(() => freeLunchRule({ tokenReduction: null, accuracyDiff: null, margin: Number.NaN }), /margin/);
});

test("claim 3 loops: against single and a quarter of SFT; not testable when SFT has none", () => {
  const sft = est(2, 1.6, 2.4);
  const held = loopsRule({ diff: est(-0.3, -0.5, -0.1), bcr: est(0.2, 0.1, 0.3), sft });
  assert.equal(held.verdict, "held");
  // below single, but not below a quarter of SFT (0.5)
  const part = loopsRule({ diff: est(-0.3, -0.5, -0.1), bcr: est(0.8, 0.6, 1), sft });
  assert.equal(part.verdict, "partially");
  assert.equal(part.parts.belowQuarterOfSft!.held, false);
  assert.equal(loopsRule({ diff: est(0.1, -0.1, 0.3), bcr: est(1.5, 1.2, 1.8), sft }).verdict, "not held");
  // the gate says SFT has no loops, or SFT's mean is below epsilon
  const none = loopsRule({ diff: est(-0.3, -0.5, -0.1), bcr: est(0, 0, 0), sft, sftHasLoops: false });
  assert.equal(none.verdict, "not testable");
  const tiny = loopsRule({ diff: est(0, -0.01, 0.01), bcr: est(0, 0, 0), sft: est(0.004, 0, 0.01) });
  assert.equal(tiny.verdict, "not testable");
  assert.match(tiny.figure, /no loops to remove: 0.004 \[0, 0.01\] per response, below 0.01/);
  assert.equal(loopsRule({ diff: null, bcr: est(0.2, 0.1, 0.3), sft }).verdict, "not testable");
});

test("claim 4 stability: a penalty below lambda* collapses and bcr does not", () => {
  const guessRate = 0.21;
  const bcr = { finalAccuracies: [0.8, 0.75, 0.7] };
  const low = { method: "linear-2", lambda: 2, finalAccuracies: [0.22, 0.2, 0.6] };
  const high = { method: "linear-5", lambda: 5, finalAccuracies: [0.2, 0.2, 0.2] };
  const held = stabilityRule({ bcr, penalties: [high, low], guessRate, lambdaStar: 4.35 });
  assert.equal(held.verdict, "held");
  assert.match(held.figure, /not judged, at or above lambda\*: linear-5 .*reward optimum/);
  assert.deepEqual(
    held.methods.map((m) => [m.method, m.classification]),
    [
      ["bcr", "stable"],
      ["linear-2", "collapsed"],
      ["linear-5", "reward optimum"],
    ],
  );
  // the judged penalty stays stable: only bcr's half holds
  const stableLow = { ...low, finalAccuracies: [0.6, 0.55, 0.5] };
  assert.equal(stabilityRule({ bcr, penalties: [stableLow, high], guessRate, lambdaStar: 4.35 }).verdict, "partially");
  // bcr collapses too, the penalty stays stable: neither half
  const bcrDown = { finalAccuracies: [0.2, 0.22, 0.7] };
  assert.equal(
    stabilityRule({ bcr: bcrDown, penalties: [stableLow], guessRate, lambdaStar: 4.35 }).verdict,
    "not held",
  );
  // only penalties at or above lambda* were run: a collapse there is the reward working
  const onlyHigh = stabilityRule({ bcr, penalties: [high], guessRate, lambdaStar: 4.35 });
  assert.equal(onlyHigh.verdict, "not testable");
  assert.match(onlyHigh.figure, /no linear penalty below lambda\* 4.35 was run/);
  assert.equal(stabilityRule({ bcr, penalties: [low], guessRate, lambdaStar: null }).verdict, "not testable");
});
