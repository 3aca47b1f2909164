import { test } from "node:test";
import assert from "node:assert/strict";
import { makeShaping } from "../../src/rewards/index.js";
import { assertTotals, ro } from "./helpers.js";

test("l1-max: only overshoot is penalised", () => {
  const s = makeShaping("l1-max", { alpha: 0.001 });
  assertTotals(s.shape([ro(1, 150), ro(1, 80), ro(0.5, 300)], { maxLength: 512, targetLength: 100 }), [0.95, 1, 0.3]);
  assert.throws(() => s.shape([ro(1, 1)], { maxLength: 512, targetLength: 0 }), /targetLength/);
});
