import { test } from "node:test";
import assert from "node:assert/strict";
import { makeShaping } from "../../src/rewards/index.js";
import { assertTotals, ro } from "./helpers.js";

test("l1-exact: acc - alpha * |target - len|", () => {
  const s = makeShaping("l1-exact", { alpha: 0.001 });
  // 1 - 0.001*50 = 0.95; 1 - 0.001*20 = 0.98; 0 - 0
  assertTotals(s.shape([ro(1, 150), ro(1, 80), ro(0, 100)], { maxLength: 512, targetLength: 100 }), [0.95, 0.98, 0]);
  assert.throws(() => s.shape([ro(1, 1)], { maxLength: 512 }), /targetLength/);
});
