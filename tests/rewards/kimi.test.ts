import { test } from "node:test";
import { makeShaping } from "../../src/rewards/index.js";
import { assertTotals, ro } from "./helpers.js";

test("kimi: correct get +l, incorrect min(0, l), l = 0.5 - (len-min)/(max-min)", () => {
  // lengths 10, 20, 30 -> l = 0.5, 0, -0.5
  const g = [ro(1, 10), ro(0, 20), ro(1, 30), ro(0, 10), ro(0, 30)];
  // 1+0.5; 0+min(0,0); 1-0.5; 0+min(0,0.5)=0; 0+min(0,-0.5)
  assertTotals(makeShaping("kimi").shape(g, { maxLength: 100 }), [1.5, 0, 0.5, 0, -0.5]);
});

test("kimi: equal lengths give l = 0", () => {
  assertTotals(makeShaping("kimi").shape([ro(1, 7), ro(0, 7)], { maxLength: 100 }), [1, 0]);
});

test("kimi: fractional accuracy interpolates by default, or thresholds when asked", () => {
  const g = [ro(0.5, 10), ro(0.5, 30), ro(1, 20)];
  // l = 0.5, -0.5, 0. Interpolated: 0.5 + (0.5*0.5 + 0.5*0) = 0.75; 0.5 + (0.5*-0.5 + 0.5*-0.5) = 0; 1 + 0
  assertTotals(makeShaping("kimi").shape(g, { maxLength: 100 }), [0.75, 0, 1]);
  // threshold 0.5: both halves count as correct: 0.5+0.5, 0.5-0.5, 1+0
  assertTotals(makeShaping("kimi", { threshold: 0.5 }).shape(g, { maxLength: 100 }), [1, 0, 1]);
  // threshold 1: halves are incorrect: 0.5+min(0,0.5), 0.5+min(0,-0.5)
  assertTotals(makeShaping("kimi", { threshold: 1, weight: 2 }).shape(g, { maxLength: 100 }), [0.5, -0.5, 1]);
});
