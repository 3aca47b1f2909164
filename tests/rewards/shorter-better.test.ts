import { test } from "node:test";
import { makeShaping } from "../../src/rewards/index.js";
import { assertTotals, ro } from "./helpers.js";

test("shorter-better: target is the shortest correct length", () => {
  // SOL = 20: 0 - 0.01*10; 1 - 0; 1 - 0.01*20
  assertTotals(
    makeShaping("shorter-better", { beta: 0.01 }).shape([ro(0, 10), ro(1, 20), ro(1, 40)], { maxLength: 100 }),
    [-0.1, 1, 0.8],
  );
});

test("shorter-better: no correct response -> target is the group's mean length", () => {
  assertTotals(
    makeShaping("shorter-better", { beta: 0.01 }).shape([ro(0, 10), ro(0.5, 30)], { maxLength: 100 }),
    [-0.1, 0.4],
  );
});
