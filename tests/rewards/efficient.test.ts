import { test } from "node:test";
import { makeShaping } from "../../src/rewards/index.js";
import { assertTotals, ro } from "./helpers.js";

const sig = (x: number) => 1 / (1 + Math.exp(-x));

test("efficient: correct get 1 - alpha*sigmoid((len - mean_c)/std_c), incorrect 0", () => {
  // correct lengths 10, 30: mean 20, std 10 -> z = -1, +1
  const r = makeShaping("efficient", { alpha: 0.2 }).shape([ro(1, 10), ro(1, 30), ro(0, 5)], { maxLength: 100 });
  assertTotals(r, [1 - 0.2 * 0.2689414213699951, 1 - 0.2 * 0.7310585786300049, 0]);
  assertTotals(r, [1 - 0.2 * sig(-1), 1 - 0.2 * sig(1), 0]);
});

test("efficient: std 0 gives z = 0; no correct response gives no length term", () => {
  assertTotals(makeShaping("efficient", { alpha: 0.2 }).shape([ro(1, 40), ro(0, 10)], { maxLength: 100 }), [0.9, 0]);
  assertTotals(makeShaping("efficient").shape([ro(0.5, 40), ro(0, 10)], { maxLength: 100 }), [0.5, 0]);
});

test("efficient: a partly correct response is scaled by its accuracy", () => {
  // stats from the one fully correct response (len 20, std 0); the half-right one (len 20) gets z = 0
  assertTotals(makeShaping("efficient", { alpha: 0.2 }).shape([ro(1, 20), ro(0.5, 20)], { maxLength: 100 }), [
    0.9,
    0.5 * 0.9,
  ]);
});
