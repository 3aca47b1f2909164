import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { SHAPINGS, makeShaping } from "../../src/rewards/index.js";

test("SHAPINGS lists the nine shapings of the contract", () => {
  assert.deepEqual([...SHAPINGS].sort(), [
    "accuracy",
    "dapo-overlong",
    "efficient",
    "kimi",
    "l1-exact",
    "l1-max",
    "linear",
    "shorter-better",
    "thinkprune",
  ]);
});

test("makeShaping rejects unknown names and parameters, listing the valid ones", () => {
  assert.throws(() => makeShaping("lenpen"), /unknown reward shaping 'lenpen'.*accuracy, linear, kimi/);
  assert.throws(() => makeShaping("linear", { alpha: 1 }), /no parameter 'alpha'; valid parameters: lambda/);
  assert.throws(() => makeShaping("accuracy", { x: 1 }), /valid parameters: \(none\)/);
  assert.throws(() => makeShaping("linear", { lambda: Number.NaN }), /finite number/);
  assert.deepEqual(makeShaping("linear", { lambda: 0.5 }).params, { lambda: 0.5 });
  assert.deepEqual(makeShaping("kimi").params, { weight: 1, threshold: 0 });
});

test("every shaping is pure, keeps total = accuracy + length and passes accuracy through", () => {
  const rollout = fc.record({
    accuracy: fc.double({ min: 0, max: 1, noNaN: true }),
    length: fc.integer({ min: 0, max: 600 }),
    truncated: fc.boolean(),
  });
  fc.assert(
    fc.property(
      fc.constantFrom(...SHAPINGS),
      fc.array(rollout, { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 0, max: 100 }),
      (name, group, step) => {
        const s = makeShaping(name);
        const ctx = { maxLength: 512, step, totalSteps: 100, targetLength: 200 };
        const copy = JSON.stringify(group);
        const a = s.shape(group, ctx);
        assert.deepEqual(s.shape(group, ctx), a);
        assert.equal(JSON.stringify(group), copy);
        a.forEach((r, i) => {
          assert.ok(Number.isFinite(r.total));
          assert.equal(r.accuracy, group[i]!.accuracy);
          assert.ok(Math.abs(r.total - r.accuracy - r.length) < 1e-12);
        });
      },
    ),
    { numRuns: 300 },
  );
});
