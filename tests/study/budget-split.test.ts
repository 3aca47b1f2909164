// Experiment B's arm: bcr with its total budget split into equal per-problem caps (bcr-split), and
// mixed-difficulty packs. The scorer drops an answer whose attributed section runs over budget / N;
// the RL config labels the arm; drawPrompts deals half easy, half hard problems into a pack.
import { test } from "node:test";
import assert from "node:assert/strict";
import { scoreResponse, withinCap } from "../../src/bcr/index.js";
import { perProblemCap, RlConfigSchema } from "../../src/rl/config.js";
import { drawPrompts } from "../../src/rl/grpo.js";
import { Rng } from "../../src/util/rng.js";

test("a per-problem cap drops the answer of a section longer than budget / N, and only that one", () => {
  // sections: "1:a4+3=7 A7 " 12 chars, "2:a5+1=6 b6+2=8 A8" 18 chars; a 30-token budget over N=2: cap 15
  const response = "1:a4+3=7 A7 2:a5+1=6 b6+2=8 A8";
  const shared = scoreResponse(response, ["7", "8"]);
  assert.deepEqual(shared.correct, [true, true]);
  assert.deepEqual(shared.tokensPerProblem, [12, 18]);
  assert.equal(shared.overCap, undefined);
  const split = scoreResponse(response, ["7", "8"], { perProblemCap: 15 });
  assert.deepEqual(split.correct, [true, false]);
  assert.deepEqual(split.overCap, [false, true]);
  assert.equal(split.accuracy, 0.5);
  assert.equal(split.answered, 1, "the capped problem counts as unanswered");
  assert.deepEqual(split.tokensPerProblem, [12, 18], "attribution is the same packed generation");
  // A cap exactly at a section's length keeps it; a wrong answer stays wrong under any cap.
  assert.deepEqual(scoreResponse(response, ["7", "8"], { perProblemCap: 18 }).correct, [true, true]);
  assert.deepEqual(scoreResponse(response, ["6", "8"], { perProblemCap: 100 }).correct, [false, true]);
  assert.ok(withinCap(15, 15) && !withinCap(15.5, 15));
  assert.throws(() => scoreResponse(response, ["7", "8"], { perProblemCap: 0 }), /perProblemCap/);
});

test("bcr with budgetSplit equal is the bcr-split arm with a cap of floor(budget / N); other kinds refuse it", () => {
  const c = RlConfigSchema.parse({ kind: "bcr", budgetSplit: "equal", init: "x", sampling: { budget: 140 } });
  assert.equal(c.method, "bcr-split");
  assert.equal(perProblemCap(c, 4), 35);
  assert.equal(perProblemCap(c, 3), 46);
  const shared = RlConfigSchema.parse({ kind: "bcr", init: "x" });
  assert.equal(shared.method, "bcr");
  assert.equal(perProblemCap(shared, 4), undefined);
  assert.equal("budgetSplit" in shared, false, "absent stays absent (config bytes and hashes unchanged)");
  assert.throws(() => RlConfigSchema.parse({ kind: "single", budgetSplit: "equal", init: "x" }), /budgetSplit/);
});

test("packMix deals each pack half easy, half hard (N=4: 2 and 2; N=1: either), in shuffled order", () => {
  const cfg = RlConfigSchema.parse({
    kind: "bcr",
    n: 4,
    init: "x",
    task: {
      levels: [5, 6, 7, 8],
      packMix: [
        [5, 6],
        [7, 8],
      ],
    },
    sampling: { promptsPerStep: 50 },
  });
  const prompts = drawPrompts(cfg, new Rng(3));
  const firstHard = new Set<number>();
  for (const p of prompts) {
    const levels = p.ids.map((id) => Number(/L(\d)/.exec(id)![1]));
    assert.equal(levels.filter((l) => l <= 6).length, 2, `pack levels ${levels}`);
    firstHard.add(Number(levels[0]! >= 7));
  }
  assert.deepEqual([...firstHard].sort(), [0, 1], "positions are shuffled");
  const single = RlConfigSchema.parse({
    kind: "single",
    init: "x",
    task: {
      packMix: [
        [5, 6],
        [7, 8],
      ],
    },
    sampling: { promptsPerStep: 60 },
  });
  const hard = drawPrompts(single, new Rng(4)).filter((p) => Number(/L(\d)/.exec(p.ids[0]!)![1]) >= 7).length;
  assert.ok(hard > 15 && hard < 45, `single prompts: ${hard}/60 hard`);
});
