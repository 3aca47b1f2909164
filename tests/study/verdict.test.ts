import { test } from "node:test";
import assert from "node:assert/strict";
import { freeLunchRule } from "../../src/study/rules.js";
import {
  acrossArithmetic,
  acrossArithmeticResult,
  acrossArithmeticResults,
  fromHalves,
  gate,
  sampledEstimate,
  underGates,
} from "../../src/study/verdict.js";

test("halves: all held, some, none", () => {
  const p = (held: boolean) => ({ held, figure: "" });
  assert.equal(fromHalves({ a: p(true), b: p(true) }), "held");
  assert.equal(fromHalves({ a: p(true), b: p(false) }), "partially");
  assert.equal(fromHalves({ a: p(false), b: p(false) }), "not held");
});

test("a verdict must survive a change of arithmetic", () => {
  assert.equal(acrossArithmetic("held", "held"), "held");
  assert.equal(acrossArithmetic("not held", "not held"), "not held");
  assert.equal(acrossArithmetic("held", "partially"), "not decided");
  assert.equal(acrossArithmetic("held", "gate failed"), "not decided");
  const a = freeLunchRule({
    tokenReduction: { mean: 0.4, ci: [0.3, 0.5] },
    accuracyDiff: { mean: 0, ci: [-0.02, 0.02] },
    margin: 0.03,
  });
  const b = freeLunchRule({
    tokenReduction: { mean: 0.2, ci: [0.1, 0.3] },
    accuracyDiff: { mean: 0, ci: [-0.02, 0.02] },
    margin: 0.03,
  });
  const both = acrossArithmeticResult(a, b, ["openblas-haswell", "intel-xeon"]);
  assert.equal(both.verdict, "not decided");
  assert.match(
    both.figure,
    /^openblas-haswell held \(.*\) \| intel-xeon partially \(.*\): kernel sets disagree, so not decided$/,
  );
});

test("across three kernel sets: the verdict stands only where all agree, every side's figure kept; fewer than two is an error", () => {
  const r = (verdict: "held" | "partially", figure: string) => ({ verdict, figure, parts: {} });
  const agree = acrossArithmeticResults([
    { label: "native (OpenBLAS Zen)", result: r("held", "a") },
    { label: "native (OpenBLAS Haswell)", result: r("held", "b") },
    { label: "wasm", result: r("held", "c") },
  ]);
  assert.equal(agree.verdict, "held");
  assert.equal(
    agree.figure,
    "native (OpenBLAS Zen) held (a) | native (OpenBLAS Haswell) held (b) | wasm held (c): kernel sets agree",
  );
  const one = acrossArithmeticResults([
    { label: "x", result: r("held", "a") },
    { label: "y", result: r("held", "b") },
    { label: "z", result: r("partially", "c") },
  ]);
  assert.equal(one.verdict, "not decided");
  assert.match(one.figure, /z partially \(c\): kernel sets disagree, so not decided$/);
  assert.throws(
    () => acrossArithmeticResults([{ label: "x", result: r("held", "a") }]),
    /needs two kernel sets or more, got 1/,
  );
});

test("gates: direction, failure on a missing measurement, and every claim 'gate failed'", () => {
  const ok = gate("SFT bare-form accuracy at N=8", 0.31, 0.25, ">=");
  assert.equal(ok.passed, true);
  assert.equal(ok.threshold, 0.25);
  assert.equal(ok.figure, "SFT bare-form accuracy at N=8 0.31 (needs >= 0.25): passed");
  const loops = gate("SFT loops per response", 0.004, 0.05, ">=");
  assert.equal(loops.passed, false);
  assert.equal(gate("guess rate", 0.21, 0.3, "<=").passed, true);
  assert.equal(gate("guess rate", Number.NaN, 0.3, "<=").passed, false);
  assert.match(gate("guess rate", Number.NaN, 0.3, "<=").figure, /not measured/);
  const claim = freeLunchRule({
    tokenReduction: { mean: 0.4, ci: [0.3, 0.5] },
    accuracyDiff: { mean: 0, ci: [-0.02, 0.02] },
    margin: 0.03,
  });
  assert.equal(underGates([ok], claim), claim);
  const gated = underGates([ok, loops], claim);
  assert.equal(gated.verdict, "gate failed");
  assert.match(gated.figure, /^gate failed: SFT loops per response 0.004 \(needs >= 0.05\): failed \(not judged: /);
});

test("sampledEstimate combines aligned resamples index by index", () => {
  const e = sampledEstimate(
    ([x, y]) => x! / y!,
    [
      { point: 2, resamples: [2, 4, 6] },
      { point: 1, resamples: [1, 2, 3] },
    ],
  );
  assert.deepEqual(e, { mean: 2, ci: [2, 2] });
  assert.throws(() => sampledEstimate(([x]) => x!, []), /no inputs/);
});
