import { test } from "node:test";
import assert from "node:assert/strict";
import {
  compareForms,
  fitScaling,
  fitSummaryText,
  unidentifiedParams,
  type ScalingForm,
} from "../../src/analysis/fit.js";
import { Rng } from "../../src/util/rng.js";

const NS = [1, 2, 3, 4, 6, 8, 12, 16];
const TRUTH: Record<ScalingForm, { params: Record<string, number>; f: (n: number) => number; sd: number }> = {
  power: { params: { a: 900, b: 0.6, c: 150 }, f: (n) => 900 * n ** -0.6 + 150, sd: 8 },
  loglinear: { params: { a: 0.8, b: -0.12 }, f: (n) => 0.8 - 0.12 * Math.log(n), sd: 0.01 },
  exponential: { params: { a: 0.5, b: 0.25, c: 0.3 }, f: (n) => 0.3 + 0.5 * Math.exp(-0.25 * n), sd: 0.01 },
  logistic: { params: { a: 2.5, b: -1.5 }, f: (n) => 1 / (1 + Math.exp(-(2.5 - 1.5 * Math.log(n)))), sd: 0.01 },
};

function noisy(form: ScalingForm, seed: number, ns = NS): number[] {
  const r = new Rng(seed);
  return ns.map((n) => TRUTH[form].f(n) + TRUTH[form].sd * r.normal());
}

for (const form of ["power", "loglinear", "exponential", "logistic"] as const) {
  test(`${form}: parameters of a known law are recovered within their bootstrap intervals`, () => {
    // Coverage over several noisy data sets (one data set can be unlucky; 8 points make
    // percentile intervals somewhat narrow, so ask for most, not 95%).
    let inside = 0,
      total = 0;
    for (let seed = 1; seed <= 8; seed++) {
      const fit = fitScaling(NS, noisy(form, seed * 101), { form, bootstrap: 150, seed });
      assert.equal(fit.form, form);
      assert.equal(fit.n, NS.length);
      assert.ok(fit.r2 > 0.98, `r2 ${fit.r2}`);
      for (const [name, truth] of Object.entries(TRUTH[form].params)) {
        const [lo, hi] = fit.ci[name]!;
        assert.ok(lo <= fit.params[name]! && fit.params[name]! <= hi, `${name} estimate outside its own interval`);
        assert.ok(hi - lo < Math.abs(truth), `${name}: interval [${lo}, ${hi}] too wide to be informative`);
        total++;
        if (lo <= truth && truth <= hi) inside++;
      }
    }
    assert.ok(inside / total >= 0.75, `${form}: only ${inside}/${total} intervals contain the true parameter`);
  });
}

test("the curve band covers the fit, tracks the true curve and widens when extrapolating", () => {
  const fit = fitScaling(NS, noisy("power", 4), { bootstrap: 300, seed: 3 });
  let covered = 0;
  for (const n of NS) {
    const [lo, hi] = fit.band(n);
    assert.ok(lo <= fit.predict(n) && fit.predict(n) <= hi);
    if (lo <= TRUTH.power.f(n) && TRUTH.power.f(n) <= hi) covered++;
  }
  assert.ok(covered >= 6, `true curve inside the band at only ${covered}/8 measured N`);
  const width = (n: number) => fit.band(n)[1] - fit.band(n)[0];
  assert.ok(width(64) > 1.5 * width(6), `extrapolated band ${width(64)} not wider than interior ${width(6)}`);
});

test("AIC prefers the true form on clean-ish data", () => {
  for (const form of ["power", "loglinear", "exponential"] as const) {
    const fits = compareForms(NS, noisy(form, 5), { bootstrap: 0 });
    assert.equal(fits.length, 3);
    assert.equal(fits[0]!.form, form, `${form}: ranking ${fits.map((f) => `${f.form}=${f.aic.toFixed(1)}`).join(" ")}`);
    for (let i = 1; i < fits.length; i++) assert.ok(fits[i - 1]!.aic <= fits[i]!.aic);
  }
});

test("hand-checked R^2, RSS and AIC on a tiny loglinear example", () => {
  // x = ln N = 0, 1, 2 and y = 1, 2, 4: OLS slope 1.5, intercept 5/6, residuals 1/6, -1/3, 1/6.
  const fit = fitScaling([1, Math.E, Math.E ** 2], [1, 2, 4], { form: "loglinear", bootstrap: 0 });
  assert.ok(Math.abs(fit.params.a! - 5 / 6) < 1e-12);
  assert.ok(Math.abs(fit.params.b! - 1.5) < 1e-12);
  assert.ok(Math.abs(fit.rss - 1 / 6) < 1e-12);
  assert.ok(Math.abs(fit.r2 - 27 / 28) < 1e-12); // TSS = 14/3
  const k = 3; // two curve parameters + the variance
  const aic = 3 * Math.log(2 * Math.PI) + 3 * Math.log(1 / 18) + 3 + 2 * k;
  assert.ok(Math.abs(fit.aic - aic) < 1e-9);
  assert.ok(Math.abs(fit.bic - (aic - 2 * k + k * Math.log(3))) < 1e-9);
  assert.ok(Math.abs(fit.predict(Math.E) - 7 / 3) < 1e-12);
  assert.deepEqual(fit.band(2).map(Number.isNaN), [true, true]); // no bootstrap, no band
});

test("weights: uniform scaling changes nothing; a down-weighted outlier is ignored", () => {
  const ys = noisy("power", 2);
  const plain = fitScaling(NS, ys, { bootstrap: 0 });
  const doubled = fitScaling(NS, ys, { bootstrap: 0, weights: NS.map(() => 2) });
  for (const k of ["a", "b", "c"])
    assert.ok(Math.abs(plain.params[k]! - doubled.params[k]!) < 1e-6 * Math.abs(plain.params[k]!) + 1e-9);
  const bad = ys.slice();
  bad[3] = bad[3]! + 400;
  const hurt = fitScaling(NS, bad, { bootstrap: 0 });
  const fixed = fitScaling(NS, bad, { bootstrap: 0, weights: NS.map((_, i) => (i === 3 ? 1e-8 : 1)) });
  const without = fitScaling(
    NS.filter((_, i) => i !== 3),
    ys.filter((_, i) => i !== 3),
    { bootstrap: 0 },
  );
  assert.ok(Math.abs(hurt.params.b! - without.params.b!) > 0.05, "the outlier should distort the unweighted fit");
  assert.ok(Math.abs(fixed.params.b! - without.params.b!) < 1e-3, `${fixed.params.b} vs ${without.params.b}`);
});

test("bootstrap is reproducible from its seed and differs across seeds", () => {
  const ys = noisy("exponential", 9);
  const a = fitScaling(NS, ys, { form: "exponential", bootstrap: 50, seed: 1 });
  const b = fitScaling(NS, ys, { form: "exponential", bootstrap: 50, seed: 1 });
  const c = fitScaling(NS, ys, { form: "exponential", bootstrap: 50, seed: 2 });
  assert.deepEqual(a.ci, b.ci);
  assert.notDeepEqual(a.ci, c.ci);
  assert.equal(a.resamples, 50);
});

test("bad input gives clear errors", () => {
  assert.throws(() => fitScaling([1, 2, 3], [1, 2]), /ns has 3 entries but values has 2/);
  assert.throws(() => fitScaling([1, 2, 3], [3, 2, 1], { form: "power" }), /needs at least 4 points/);
  assert.throws(() => fitScaling([1, 2], [2, 1], { form: "loglinear" }), /needs at least 3 points/);
  assert.throws(() => fitScaling([1, 2, 3, 4], [1, NaN, 3, 4]), /values\[1\] is not a finite number/);
  assert.throws(() => fitScaling([1, 0, 3, 4], [1, 2, 3, 4]), /ns\[1\] must be a finite number > 0/);
  assert.throws(() => fitScaling([1, 1, 2, 2], [1, 2, 3, 4]), /at least 3 distinct N/);
  assert.throws(() => fitScaling([1, 2, 3, 4], [1, 2, 3, 4], { weights: [1, 1] }), /weights has 2 entries/);
  assert.throws(() => fitScaling([1, 2, 3, 4], [1, 2, 3, 4], { form: "cubic" as never }), /unknown form 'cubic'/);
  // compareForms skips forms with too few points but still fits the rest.
  assert.deepEqual(
    compareForms([1, 2, 4], [3, 2, 1], { bootstrap: 0 }).map((f) => f.form),
    ["loglinear"],
  );
  assert.throws(() => compareForms([1, 2], [3, 2]), /needs at least/);
});

test("logistic stays in (0, 1) and matches an independent logit-scale computation on exact data", () => {
  // Exact points of a logistic law: the fit must give its parameters back (logit(y) is linear in ln N).
  const ys = NS.map((n) => 1 / (1 + Math.exp(-(1.2 - 0.9 * Math.log(n)))));
  const fit = fitScaling(NS, ys, { form: "logistic", bootstrap: 0 });
  assert.ok(Math.abs(fit.params.a! - 1.2) < 1e-4 && Math.abs(fit.params.b! + 0.9) < 1e-4, JSON.stringify(fit.params));
  for (const n of [0.5, 1, 100, 1e6]) assert.ok(fit.predict(n) > 0 && fit.predict(n) < 1);
});

test("identifiability: a well-determined fit is identifiable; one whose intervals explode is not", () => {
  const good = fitScaling(NS, noisy("power", 7), { form: "power", bootstrap: 100, seed: 1 });
  assert.equal(good.identifiable, true);
  assert.deepEqual(good.unidentified, []);
  // A flat, noisy curve: the power form's a and c trade off without bound (a*N^-b + c with b -> 0).
  const r = new Rng(5);
  const flat = [1, 2, 3, 4, 6, 8].map(() => 50 + 3 * r.normal());
  const bad = fitScaling([1, 2, 3, 4, 6, 8], flat, { form: "exponential", bootstrap: 100, seed: 1 });
  assert.equal(bad.identifiable, false, JSON.stringify(bad.ci));
  assert.ok(bad.unidentified.length > 0);
});

test("unidentifiedParams: the rule on stored numbers", () => {
  assert.deepEqual(unidentifiedParams({ a: -21080, b: 0.0002564 }, { a: [-6.26e9, 1.17e10], b: [0.00125, 3.09] }), [
    "a",
    "b",
  ]);
  assert.deepEqual(unidentifiedParams({ a: 57.97, b: -14.96 }, { a: [35.6, 76.1], b: [-29.2, 0.262] }), []);
  assert.deepEqual(unidentifiedParams({ a: 1 }, { a: [NaN, NaN] }), [], "no bootstrap: nothing to judge");
  assert.deepEqual(unidentifiedParams({ a: 1 }, { a: [-Infinity, 2] }), ["a"]);
});

test("fitSummaryText: numbers with intervals, or 'not identifiable' without them", () => {
  // The committed sft exponential fit of tokens/problem (docs/history/essential/tables/fits.csv, rank 2).
  assert.deepEqual(
    fitSummaryText({
      formula: "y = -21080 + 21140*exp(-0.0002564*N)",
      params: { a: 21140, b: 0.0002564, c: -21080 },
      ci: { a: [36.2, 7720], b: [0.00125, 3.09], c: [-6810, 35.8] },
    }),
    { formula: "not identifiable", params: "intervals of a, b, c explode" },
  );
  assert.deepEqual(
    fitSummaryText({
      formula: "y = 57.97 - 14.96*ln(N)",
      params: { a: 57.97, b: -14.96 },
      ci: { a: [35.61, 76.12], b: [-29.21, 0.2623] },
    }),
    { formula: "y = 57.97 - 14.96*ln(N)", params: "a=57.97 [35.6, 76.1]; b=-14.96 [-29.2, 0.262]" },
  );
});
