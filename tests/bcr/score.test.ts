import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  answersOnlyResponse,
  estimateTokens,
  packProblems,
  scoreResponse,
  type TemplateName,
} from "../../src/bcr/index.js";

test("compact: correctness, accuracy, format and per-section tokens", () => {
  const r = "1:47+8=55 55-15=40 40+6=46 A46 2:9-3=6 A7 ";
  const s = scoreResponse(r, ["46", "6", "3"]);
  assert.deepEqual(s.correct, [true, false, false]);
  assert.equal(s.accuracy, 1 / 3);
  assert.equal(s.answered, 2);
  assert.equal(s.format, 2 / 3);
  assert.equal(s.totalTokens, r.length);
  // sections: "1:...A46 " is 31 chars, "2:9-3=6 A7 " is 11, none for problem 3
  assert.deepEqual(s.tokensPerProblem, [31, 11, 0]);
  assert.equal(s.truncated, false);
});

test("compact: text before the first section is split evenly; repeated sections add up", () => {
  const s = scoreResponse("xxx 1:A1 2:A2 1:A3", ["3", "2"]);
  // "xxx " (4 chars before the first header) is split 2/2; "1:A1 " 5, "2:A2 " 5, "1:A3" 4
  assert.deepEqual(s.tokensPerProblem, [2 + 5 + 4, 2 + 5]);
  assert.deepEqual(s.correct, [true, true]);
});

test("compact: a truncated cut answer is not credited", () => {
  const s = scoreResponse("1:A46 2:9-3=6 A6", ["46", "6"], { truncated: true });
  assert.deepEqual(s.correct, [true, false]);
  assert.equal(s.truncated, true);
});

test("natural: headings cut the response; tokens rescaled to the total", () => {
  const r = "Intro.\n### Problem 2\nAnswer 2: \\boxed{6}\n### Problem 1\nAnswer 1: \\boxed{46}";
  const count = (t: string) => t.length;
  const s = scoreResponse(r, ["46", "6"], { template: "natural", countTokens: count });
  assert.deepEqual(s.correct, [true, true]);
  const p2 = "### Problem 2\nAnswer 2: \\boxed{6}\n".length;
  const p1 = "### Problem 1\nAnswer 1: \\boxed{46}".length;
  assert.deepEqual(s.tokensPerProblem, [p1 + 3.5, p2 + 3.5]); // "Intro.\n" (7) split evenly
  const d = scoreResponse(r, ["46", "6"], { template: "natural" }); // default: the one estimator, src/bcr/tokens.ts
  assert.equal(d.totalTokens, estimateTokens(r));
  assert.ok(Math.abs(d.tokensPerProblem[0]! + d.tokensPerProblem[1]! - d.totalTokens) < 1e-9);
});

test("natural without headings: cut after each answer, the tail split evenly", () => {
  const r = "aaaa Answer 1: \\boxed{1} bb Answer 2: \\boxed{2}cc";
  const s = scoreResponse(r, ["1", "2"], { template: "natural", countTokens: (t) => t.length });
  const first = "aaaa Answer 1: \\boxed{1}".length;
  const second = " bb Answer 2: \\boxed{2}".length;
  assert.deepEqual(s.tokensPerProblem, [first + 1, second + 1]);
});

const goldArb = (template: TemplateName) =>
  template === "compact"
    ? fc.oneof(fc.integer({ min: -999, max: 99999 }).map(String), fc.stringMatching(/^[0-9a-z./-]{1,8}$/))
    : fc.oneof(
        fc.integer({ min: -99999, max: 9999999 }).map(String),
        fc
          .tuple(fc.integer({ min: 1, max: 99 }), fc.integer({ min: 1, max: 99 }))
          .map(([a, b]) => `\\frac{${a}}{${b}}`),
        fc.stringMatching(/^[0-9a-z ,.()+-]{1,12}$/).filter((s) => s.trim() !== ""),
      );

for (const template of ["compact", "natural"] as const) {
  test(`${template}: packing then writing the gold answers (any order) scores 100% for N up to 16`, () => {
    fc.assert(
      fc.property(fc.array(goldArb(template), { minLength: 1, maxLength: 16 }), fc.integer(), (golds, seed) => {
        const p = packProblems(
          golds.map((g, i) => ({ id: `p${i}`, question: `q${i}`, answer: g })),
          { template },
        );
        const order = golds.map((_, i) => i).sort((a, b) => ((a * 7919 + seed) % 17) - ((b * 7919 + seed) % 17));
        for (const o of [undefined, order]) {
          const s = scoreResponse(answersOnlyResponse(p.golds, template, o), p.golds, { template });
          assert.equal(s.accuracy, 1);
          assert.equal(s.format, 1);
          assert.ok(Math.abs(s.tokensPerProblem.reduce((a, b) => a + b, 0) - s.totalTokens) < 1e-6);
        }
      }),
      { numRuns: 300 },
    );
  });
}

test("natural: 200,000 section headers are attributed without overflowing the stack", () => {
  const r = "### Problem 1\n".repeat(200_000) + "Answer 1: \\boxed{5}";
  const s = scoreResponse(r, ["5", "6"], { template: "natural", countTokens: (t) => t.length });
  assert.deepEqual(s.correct, [true, false]);
  assert.deepEqual(s.tokensPerProblem, [r.length, 0]);
});
