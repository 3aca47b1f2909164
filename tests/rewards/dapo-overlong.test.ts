import { test } from "node:test";
import assert from "node:assert/strict";
import { makeShaping } from "../../src/rewards/index.js";
import { assertTotals, ro } from "./helpers.js";

test("dapo-overlong: 0 up to maxLength - cache, linear to -1 at maxLength", () => {
  const g = [ro(1, 50), ro(1, 80), ro(1, 90), ro(0, 100), ro(1, 120)];
  const want = [1, 1, 0.5, -1, 0];
  assertTotals(makeShaping("dapo-overlong", { cache: 20 }).shape(g, { maxLength: 100 }), want);
  // default cacheFrac 0.2 of maxLength 100 is the same cache of 20
  assertTotals(makeShaping("dapo-overlong").shape(g, { maxLength: 100 }), want);
  assert.deepEqual(makeShaping("dapo-overlong", { cache: 20 }).params, { cache: 20 });
});
