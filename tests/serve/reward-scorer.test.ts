import { test } from "node:test";
import assert from "node:assert/strict";
import { makeShaping } from "../../src/rewards/index.js";
import { parseRewardRequest } from "../../src/serve/reward-protocol.js";
import { scoreBatch, type ScorerConfig } from "../../src/serve/reward-scorer.js";
import { estimateTokens } from "../../src/bcr/tokens.js";
import { cpuGrowth } from "../helpers/growth.js";

const cfg: ScorerConfig = {
  shaping: makeShaping("accuracy", {}),
  template: "natural",
  maxLength: 512,
  countTokens: estimateTokens,
};

test("a response the server infers as truncated loses its unfinished last answer, as with truncated: true", () => {
  // 600 " 1" pieces are 600 estimated tokens: over the 512 cap, no end marker -> truncated.
  const response = "### Problem 1\nAnswer 1: \\boxed{5}\n### Problem 2\n" + " 1".repeat(600) + "\nAnswer 2: 7";
  const inferred = scoreBatch({ items: [{ prompt: "P", response, golds: ["5", "7"] }] }, cfg);
  const sent = scoreBatch({ items: [{ prompt: "P", response, golds: ["5", "7"], truncated: true }] }, cfg);
  assert.equal(inferred.details[0]!.truncated, true);
  assert.deepEqual(inferred.rewards, [0.5], "`Answer 2: 7` at the cut may have been `Answer 2: 75`");
  assert.deepEqual(sent.rewards, inferred.rewards);
  assert.deepEqual(inferred.extra_logs.bcr_truncated, [1]);
  // The same text ending in an end marker stopped on its own: the last answer counts.
  const stopped = scoreBatch({ items: [{ prompt: "P", response: response + "<|im_end|>", golds: ["5", "7"] }] }, cfg);
  assert.deepEqual(stopped.rewards, [1]);
  assert.equal(stopped.details[0]!.truncated, false);
  // Under the cap the unfinished-looking last answer is simply the end of the text.
  const short = scoreBatch(
    { items: [{ prompt: "P", response: "Answer 1: \\boxed{5}\nAnswer 2: 7", golds: ["5", "7"] }] },
    cfg,
  );
  assert.deepEqual(short.rewards, [1]);
});

// Hostile responses, each a repeat of `unit` between `head` and `tail`: the 120,000
// dollars, long `$`/`.` answer lines, a header flood, and neighbours a fuzzer would try.
const HOSTILE: [name: string, head: string, unit: string, tail: string][] = [
  ["dollars in a box", "Answer 1: \\boxed{", "$", "x}"],
  ["dollar lines", "", "Answer 1: " + "$".repeat(1999) + "x\n", ""],
  ["dollar-dot lines", "", "Answer 1: " + ".$".repeat(999) + "x\n", ""],
  ["section headers", "", "### Problem 1\n", "Answer 1: \\boxed{5}"],
  ["digits after a marker", "Answer 1: ", "1", ""],
  ["\\text without braces", "Answer 1: \\boxed{", "\\text ", "}"],
  ["assignments", "Answer 1: \\boxed{", "x = ", "5}"],
  ["spaces before a unit", "Answer 1: \\boxed{", " ", "5 cm}"],
  ["unclosed boxes", "", "\\boxed{", ""],
  ["answer markers", "", "Answer 1: ", ""],
];

test("hostile responses: scoring work grows linearly with the input (CPU time at 8x the size < 24x)", {
  timeout: 300_000,
}, () => {
  // Work, not wall time: a linear parser gives about 8x, the quadratic `$` regex 64x.
  for (const [name, head, unit, tail] of HOSTILE) {
    const body = (chars: number) => head + unit.repeat(Math.max(1, Math.round(chars / unit.length))) + tail;
    const growth = cpuGrowth(
      (chars) => {
        const req = parseRewardRequest({
          responses: [body(chars)],
          prompts: ["P"],
          labels: [JSON.stringify(["5", "7"])],
        });
        scoreBatch(req, cfg);
      },
      15_000,
      120_000,
    );
    assert.ok(growth < 24, `${name}: 8x the input took ${growth.toFixed(1)}x the CPU time`);
  }
});
