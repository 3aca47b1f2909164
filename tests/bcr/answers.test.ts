import { test } from "node:test";
import assert from "node:assert/strict";
import { answersMatch, parseNumber } from "../../src/bcr/index.js";

// One row per rule of the table in src/bcr/answers.ts: [predicted, gold, match].
const CASES: [string | null, string, boolean][] = [
  ["18", "18", true],
  ["19", "18", false], // integers
  ["+7", "7", true],
  ["\u22127", "-7", true],
  ["-7", "7", false], // signs
  ["1,000", "1000", true],
  ["1{,}000", "1000", true],
  ["1,450,000", "1450000", true],
  ["1,2", "12", false],
  ["$18", "18", true],
  ["\\$18.00", "18", true], // currency
  ["50%", "50", true],
  ["50\\%", "50", true],
  ["0.5", "50%", false], // percent
  ["1.50", "1.5", true],
  [".5", "0.5", true],
  ["1.51", "1.5", false], // decimals
  ["3/4", "0.75", true],
  ["\\frac{3}{4}", "0.75", true],
  ["\\dfrac{3}{4}", "3/4", true],
  ["\\tfrac34", "3/4", true],
  ["\\frac34", "0.75", true],
  ["-\\frac{1}{2}", "-0.5", true],
  ["\\frac{-1}{2}", "-0.5", true],
  ["1/3", "0.333", false],
  ["1 1/2", "3/2", true],
  ["1/0", "0", false],
  ["18 dollars", "18", true],
  ["5 \\text{ cm}", "5", true],
  ["5 cm^2", "5", true],
  ["3 m/s", "3", true],
  ["3x", "3", false], // a variable is not a unit
  ["x = 5", "5", true],
  ["x=5", "5", true], // assignment
  ["30^\\circ", "30", true],
  ["30°", "30", true], // degrees
  ["\\boxed{5}", "5", true],
  ["$5$", "5", true],
  ["5.", "5", true], // wrappers
  ["\\left( 1, 2 \\right)", "(1,2)", true],
  ["(1,3)", "(1,2)", false], // strings
  ["\\frac{\\sqrt{3}}{2}", "\\dfrac{\\sqrt{3}}{2}", true],
  ["\\frac{\\sqrt{3}}{2}", "\\dfrac{\\sqrt3}{2}", false],
  ["Yes", "yes", true],
  ["\\text{(A)}", "(A)", true],
  [".", ".", true],
  [null, "5", false],
  ["", "", false],
];

test("answersMatch follows the documented table", () => {
  for (const [p, g, want] of CASES)
    assert.equal(answersMatch(p, g), want, `answersMatch(${JSON.stringify(p)}, ${JSON.stringify(g)})`);
});

test("parseNumber reads numbers and refuses non-numbers", () => {
  assert.equal(parseNumber("-1,234.5"), -1234.5);
  assert.equal(parseNumber("\\frac{1}{4}"), 0.25);
  assert.equal(parseNumber("abc"), null);
  assert.equal(parseNumber("1.2.3"), null);
  assert.equal(parseNumber("."), null);
});
