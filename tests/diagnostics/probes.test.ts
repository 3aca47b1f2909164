import { test } from "node:test";
import assert from "node:assert/strict";
import { scoreResponse } from "../../src/bcr/score.js";
import { packProblems } from "../../src/bcr/templates.js";
import { laterStart } from "../../src/diagnostics/later-start.js";
import { ANSWER_ONLY, loopsAccuracy } from "../../src/diagnostics/loops-accuracy.js";
import { packedLookup } from "../../src/diagnostics/packed-lookup.js";
import { generateAndScore } from "../../src/diagnostics/probe.js";
import { generateProblems } from "../../src/tasks/synthetic.js";
import { trace } from "../../src/tasks/traces.js";
import { Rng } from "../../src/util/rng.js";
import { fakeSolver } from "./fake-solver.js";

// Level 2: every problem has at least two operations, so its trace has steps to fetch.
const problems = generateProblems(3, 12, [2], "t");

test("generateAndScore: the forced start is part of the scored response, not of the token count; scores match scoreResponse", () => {
  const model = fakeSolver(problems, () => ({ kind: "essential" }));
  const [r] = generateAndScore(model, [{ problems: problems.slice(0, 2), forced: "1:A0 2:" }], {
    budget: 200,
    temperature: 0,
    seed: 1,
  });
  assert.ok(r!.response.startsWith("1:A0 2:"));
  assert.equal(r!.tokens, r!.response.length - "1:A0 2:".length + 1, "generated characters plus the EOS");
  const golds = packProblems(problems.slice(0, 2)).golds;
  assert.deepEqual(r!.correct, scoreResponse(r!.response, golds, { template: "compact", truncated: false }).correct);
  assert.equal(r!.correct[1], true);
  assert.equal(r!.truncated, false);
});

test("generateAndScore refuses a budget the context cannot hold, naming both numbers", () => {
  const model = fakeSolver(problems, () => ({ kind: "essential" }), 40);
  assert.throws(
    () => generateAndScore(model, [{ problems: problems.slice(0, 1) }], { budget: 39, temperature: 0, seed: 1 }),
    /longest prompt \(\d+ tokens\) and 39 new tokens do not fit the model's context \(40\)/,
  );
});

test("packedLookup: a model that solves only position 1 shows accuracy and fetch 1 there, 0 accuracy and no steps after", () => {
  const model = fakeSolver(problems, (pos) => (pos === 1 ? { kind: "essential" } : { kind: "wrong" }));
  const [n1, n3] = packedLookup(model, problems, { ns: [1, 3] });
  assert.equal(n1!.groups, 12);
  assert.deepEqual([n1!.accuracy, n1!.accuracyByPosition, n1!.fetchByPosition], [1, [1], [1]]);
  assert.equal(n3!.groups, 4);
  assert.equal(n3!.accuracy, 1 / 3);
  assert.deepEqual(n3!.accuracyByPosition, [1, 0, 0]);
  assert.equal(n3!.fetchByPosition[0], 1);
  assert.ok(n3!.fetchByPosition.slice(1).every(Number.isNaN), "no trace steps at positions 2-3: no fetch rate");
  assert.equal(n3!.loopsPerProblem, 0);
});

test("loopsAccuracy: rows by re-check count, answer-only its own row; shares from an independent count", () => {
  // 2 re-checks for questions of even length, a wrong bare answer otherwise.
  const twoLoops = (q: string) => q.length % 2 === 0;
  const model = fakeSolver(problems, (_, q) => (twoLoops(q) ? { kind: "rechecks", loops: 2 } : { kind: "wrong" }));
  const r = loopsAccuracy(model, problems, { repeats: 3 });
  const expectTwo = problems.filter((p) => twoLoops(p.question)).length;
  assert.ok(expectTwo > 0 && expectTwo < problems.length, "the fixture has both kinds");
  assert.equal(r.responses, 36);
  assert.deepEqual(
    r.rows.map((x) => [x.loops, x.responses, x.right]),
    [
      [ANSWER_ONLY, 3 * (problems.length - expectTwo), 0],
      [2, 3 * expectTwo, 3 * expectTwo],
    ],
  );
});

test("laterStart: problem 2 starts later by the forced re-checks' length; accuracy and fetch of a model that solves it", () => {
  const model = fakeSolver(problems, () => ({ kind: "essential" }));
  const rows = laterStart(model, problems.slice(0, 4), { loops: [0, 2] });
  assert.deepEqual(
    rows.map((r) => [r.loops, r.pairs, r.accuracy, r.fetch]),
    [
      [0, 2, 1, 1],
      [2, 2, 1, 1],
    ],
  );
  // Independently: BOS + the packed prompt + problem 1's essential trace (no randomness at 0 re-checks) + " 2:".
  const pairs = [problems.slice(0, 2), problems.slice(2, 4)];
  const starts = pairs.map(
    ([p1, p2]) =>
      1 +
      packProblems([p1!, p2!]).text.length +
      `1:${trace(p1!.question, p1!.answer, "essential", new Rng(0))} 2:`.length,
  );
  assert.equal(rows[0]!.meanStart, (starts[0]! + starts[1]!) / 2);
  assert.ok(rows[1]!.meanStart > rows[0]!.meanStart, "re-checks in problem 1 move problem 2 later");
  assert.equal(rows[0]!.steps, rows[1]!.steps, "problem 2's steps do not depend on problem 1's re-checks");
});
