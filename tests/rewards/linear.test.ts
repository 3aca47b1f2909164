import { test } from "node:test";
import { makeShaping } from "../../src/rewards/index.js";
import { assertTotals, ro } from "./helpers.js";

test("linear: acc - lambda * len / maxLength", () => {
  // 1 - 50/100 = 0.5; 0.5 - 20/100 = 0.3; lambda 0.5: 1 - 0.25 = 0.75
  assertTotals(makeShaping("linear").shape([ro(1, 50), ro(0.5, 20)], { maxLength: 100 }), [0.5, 0.3]);
  assertTotals(makeShaping("linear", { lambda: 0.5 }).shape([ro(1, 50)], { maxLength: 100 }), [0.75]);
});
