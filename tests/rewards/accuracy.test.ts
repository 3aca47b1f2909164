import { test } from "node:test";
import assert from "node:assert/strict";
import { makeShaping } from "../../src/rewards/index.js";
import { assertTotals, ro } from "./helpers.js";

test("accuracy: reward is the mean per-problem correctness whatever the length", () => {
  const r = makeShaping("accuracy").shape([ro(1, 500, true), ro(0.25, 3), ro(0, 100)], { maxLength: 512 });
  assertTotals(r, [1, 0.25, 0]);
  assert.deepEqual(
    r.map((x) => x.length),
    [0, 0, 0],
  );
});
