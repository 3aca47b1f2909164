import { test } from "node:test";
import assert from "node:assert/strict";
import { lambdaStar } from "../../src/rewards/lambda-star.js";
import { linearShaping } from "../../src/rewards/linear.js";

const correct = { accuracy: 1, tokens: 29.6 };
const guess = { accuracy: 0.11, tokens: 5 };

test("lambdaStar on rigor.md's worked example: 128 * 0.89 / 24.6 = 4.63, so lambda = 5 is past it and lambda = 1 is not", () => {
  const ls = lambdaStar(correct, guess, 128);
  assert.ok(Math.abs(ls - 4.6309) < 1e-3, `${ls}`);
  // The hand numbers of the example, from the shaping itself (expected reward of each form).
  const expected = (lambda: number, f: { accuracy: number; tokens: number }) => {
    const [right, wrong] = linearShaping({ lambda }).shape(
      [
        { accuracy: 1, length: f.tokens, truncated: false },
        { accuracy: 0, length: f.tokens, truncated: false },
      ],
      { maxLength: 128 },
    );
    return f.accuracy * right!.total + (1 - f.accuracy) * wrong!.total;
  };
  assert.ok(Math.abs(expected(5, correct) - -0.15625) < 1e-9);
  assert.ok(Math.abs(expected(5, guess) - (0.11 - 25 / 128)) < 1e-9); // -0.0853
  assert.ok(expected(5, guess) > expected(5, correct));
  assert.ok(expected(1, guess) < expected(1, correct));
  // At lambda* the two forms tie under the shaping's own formula.
  assert.ok(Math.abs(expected(ls, guess) - expected(ls, correct)) < 1e-12);
});

test("lambdaStar edge cases and bad input", () => {
  assert.equal(lambdaStar(correct, { accuracy: 1, tokens: 5 }, 128), 0);
  assert.equal(lambdaStar(correct, { accuracy: 0.1, tokens: 40 }, 128), Infinity);
  assert.ok(Math.abs(lambdaStar({ accuracy: 0.9, tokens: 30 }, { accuracy: 0.1, tokens: 10 }, 100) - 4) < 1e-12);
  assert.throws(() => lambdaStar({ accuracy: 1.2, tokens: 3 }, guess, 128), /correct.accuracy/);
  assert.throws(() => lambdaStar(correct, { accuracy: 0.1, tokens: NaN }, 128), /guess.tokens/);
  assert.throws(() => lambdaStar(correct, guess, 0), /budget/);
});
