import { test } from "node:test";
import assert from "node:assert/strict";
import {
  LEVELS,
  VALUE_MAX,
  generateProblem,
  generateProblems,
  levelConfig,
  solveSteps,
} from "../../src/tasks/index.js";
import { Rng } from "../../src/util/rng.js";

const SYNTH_CHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ +-*/=()[]{}<>?:;#|,.!_\n";

test("solveSteps evaluates left to right", () => {
  assert.deepEqual(
    solveSteps("47+8-15+6").map((s) => s.result),
    [55, 40, 46],
  );
  assert.deepEqual(solveSteps("9-3")[0], { a: 9, op: "-", b: 3, result: 6 });
  assert.throws(() => solveSteps("4*2"), /not a synthetic question/);
  assert.throws(() => solveSteps("12"), /not a synthetic question/);
});

test("problems respect their level: op count, operand range, values in 0..max (199, or 9 for digit chains), correct answer", () => {
  const rng = new Rng(3);
  for (const level of Object.keys(LEVELS).map(Number)) {
    const c = levelConfig(level);
    for (let i = 0; i < 500; i++) {
      const p = generateProblem(rng, level);
      const steps = solveSteps(p.question);
      assert.ok(steps.length >= c.ops[0] && steps.length <= c.ops[1], p.question);
      assert.equal(p.answer, String(steps.at(-1)!.result));
      assert.equal(p.difficulty, level);
      assert.ok(steps[0]!.a >= c.start[0] && steps[0]!.a <= c.start[1]);
      for (const s of steps) {
        assert.ok(s.b >= c.operand[0] && s.b <= c.operand[1], p.question);
        assert.ok(s.result >= 0 && s.result <= (c.max ?? VALUE_MAX), p.question);
      }
      for (const ch of p.question) assert.ok(SYNTH_CHARS.includes(ch));
    }
  }
  assert.throws(() => levelConfig(9), /valid levels: 1, 2, 3, 4, 5, 6, 7, 8/);
});

test("generation is seeded", () => {
  assert.deepEqual(generateProblems(5, 20, [1, 3]), generateProblems(5, 20, [1, 3]));
  assert.notDeepEqual(generateProblems(5, 20, [1, 3]), generateProblems(6, 20, [1, 3]));
  assert.deepEqual(new Set(generateProblems(5, 200, [1, 3]).map((p) => p.difficulty)), new Set([1, 3]));
});
