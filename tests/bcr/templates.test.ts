import { test } from "node:test";
import assert from "node:assert/strict";
import {
  answersOnlyResponse,
  formatAnswer,
  packProblems,
  withTargetLength,
  withTargetPerProblem,
} from "../../src/bcr/index.js";
import { COMPACT_MIN_COLUMNS } from "../../src/bcr/templates.js";

const probs = [
  { id: "a", question: "47+8-15+6", answer: "46" },
  { id: "b", question: "9-3", answer: "6" },
];

test("compact packing numbers the problems on one line", () => {
  const p = packProblems(probs);
  // two problems, then two blank 14-character columns (COMPACT_MIN_COLUMNS = 4)
  assert.equal(p.text, "1:47+8-15+6   2:9-3        " + " ".repeat(28) + "\n");
  assert.deepEqual([p.n, p.ids, p.golds, p.template], [2, ["a", "b"], ["46", "6"], "compact"]);
});

test("compact prompts of 1-4 problems have one length, so the response starts at one position; more problems make it longer", () => {
  const chain = (i: number) => ({ id: `p${i}`, question: "9-1+2", answer: "0" });
  const lengths = [1, 2, 3, 4, 5, 8].map(
    (n) => packProblems(Array.from({ length: n }, (_, i) => chain(i))).text.length,
  );
  assert.deepEqual(lengths, [56, 56, 56, 56, 70, 112]);
  assert.equal(COMPACT_MIN_COLUMNS, 4);
});

test("compact columns: with digit chains (<= 11 characters) and N <= 9, problem k starts at 14 (k - 1)", () => {
  const chains = ["1+2", "9-1+2-3+4-5", "0+7-3", "5-5+2+1"].map((question, i) => ({
    id: `p${i}`,
    question,
    answer: "0",
  }));
  const text = packProblems(chains).text;
  chains.forEach((p, k) => assert.equal(text.slice(14 * k, 14 * k + 2 + p.question.length), `${k + 1}:${p.question}`));
  assert.equal(text.length, 14 * chains.length);
});

test("natural packing has an instruction and ### Problem k sections", () => {
  const p = packProblems(probs, { template: "natural" });
  assert.match(p.text, /^Solve the following 2 problems/);
  assert.match(p.text, /Answer k: \\boxed\{\.\.\.\}/);
  assert.ok(p.text.includes("### Problem 1\n47+8-15+6\n\n### Problem 2\n9-3\n"));
  assert.match(packProblems([probs[0]!], { template: "natural" }).text, /^Solve the following problem\./);
  assert.throws(() => packProblems([]), /at least one/);
});

test("answer formatting and target-length prompts", () => {
  assert.equal(formatAnswer(3, "12"), "3:A12");
  assert.throws(() => formatAnswer(1, "1 2"), /whitespace/);
  assert.equal(formatAnswer(2, "5", "natural"), "### Problem 2\nAnswer 2: \\boxed{5}");
  assert.equal(answersOnlyResponse(["4", "5"], "compact", [1, 0]), "2:A5 1:A4");
  assert.equal(
    withTargetLength(packProblems(probs), 120).text,
    "L120 1:47+8-15+6   2:9-3        " + " ".repeat(28) + "\n",
  );
  assert.match(withTargetLength(packProblems(probs, { template: "natural" }), 99.6).text, /^Think for 100 tokens\.\n/);
  // a per-problem target states target x N: 2 problems x 32 = 64
  assert.match(withTargetPerProblem(packProblems(probs), 32).text, /^L64 1:47\+8-15\+6 /);
  assert.match(withTargetPerProblem(packProblems(probs.slice(0, 1)), 32).text, /^L32 1:/);
});
