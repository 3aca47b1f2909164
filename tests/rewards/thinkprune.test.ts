import { test } from "node:test";
import { makeShaping, thinkpruneCap } from "../../src/rewards/index.js";
import { assertTotals, ro } from "./helpers.js";
import assert from "node:assert/strict";

test("thinkprune: over the cap scores 0, the cap tightens in stages", () => {
  const s = makeShaping("thinkprune"); // caps 100%, 75%, 50% of maxLength over 3 stages
  const g = [ro(1, 80), ro(0.5, 40), ro(1, 60)];
  assertTotals(s.shape(g, { maxLength: 100, step: 0, totalSteps: 30 }), [1, 0.5, 1]);
  assertTotals(s.shape(g, { maxLength: 100, step: 10, totalSteps: 30 }), [0, 0.5, 1]);
  assertTotals(s.shape(g, { maxLength: 100, step: 29, totalSteps: 30 }), [0, 0.5, 0]);
  assertTotals(s.shape(g, { maxLength: 100 }), [1, 0.5, 1]); // no schedule info: stage 0
  assert.equal(
    thinkpruneCap({ startFrac: 1, endFrac: 0.5, stages: 3 }, { maxLength: 100, step: 30, totalSteps: 30 }),
    50,
  );
});

test("thinkprune: a fixed cap overrides the schedule", () => {
  assertTotals(
    makeShaping("thinkprune", { cap: 60 }).shape([ro(1, 60), ro(1, 61)], { maxLength: 100, step: 0, totalSteps: 9 }),
    [1, 0],
  );
});
