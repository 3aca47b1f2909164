/**
 * Diagnostic: does problem 2 of a packed pair fail because of *where* it starts? Teacher-forces
 * problem 1's trace with a chosen number of re-checks (0 = the essential trace), so problem 2's
 * trace starts earlier or later in the context with everything else equal, then lets the model
 * write problem 2 (greedy) and prints problem 2's accuracy and fetch rate per choice.
 *
 *   npx tsx scripts/later-start.ts <checkpoint|run folder> <problems.jsonl> [pairs=64] [loops=0,2,4]
 *
 * Re-checks are placed as in the SFT data (each repeats the step just done; seeded). If problem 2
 * does much better when it starts earlier, the fetch depends on absolute position; if not, the
 * position of problem 2's trace is not what makes it hard.
 */
import { packProblems } from "../src/bcr/templates.js";
import { scoreResponse } from "../src/bcr/score.js";
import type { Problem } from "../src/bcr/types.js";
import { loadLocal } from "../src/train/load-local.js";
import { CharTokenizer } from "../src/model/tokenizer.js";
import { operationFetches, trace } from "../src/tasks/traces.js";
import { readJsonl } from "../src/util/fsx.js";
import { Rng } from "../src/util/rng.js";

const [checkpoint, file, pairsArg = "64", loopsArg = "0,2,4"] = process.argv.slice(2);
const pairs = Number(pairsArg);
const loopChoices = loopsArg.split(",").map(Number);
if (!checkpoint || !file || !Number.isInteger(pairs) || pairs < 1 || loopChoices.some((k) => !Number.isInteger(k) || k < 0)) {
  console.error("usage: npx tsx scripts/later-start.ts <checkpoint|run folder> <problems.jsonl> [pairs=64] [loops=0,2,4]");
  process.exit(2);
}

const { gpt, tokenizer } = await loadLocal(checkpoint);
const problems = readJsonl<Problem>(file).slice(0, 2 * pairs);
if (problems.length < 2 * pairs) throw new Error(`${file}: need ${2 * pairs} problems for ${pairs} pairs, found ${problems.length}`);
console.log(`${checkpoint}: ${pairs} pairs of ${file}, problem 1 teacher-forced, problem 2 greedy`);
for (const loops of loopChoices) {
  const rng = new Rng(7);
  const prompts: string[] = [], forcedStarts: string[] = [];
  for (let i = 0; i < pairs; i++) {
    const [p1, p2] = [problems[2 * i]!, problems[2 * i + 1]!];
    const forced = loops === 0 ? trace(p1.question, p1.answer, "essential", rng)
      : trace(p1.question, p1.answer, "redundant", rng, { loops: [loops, loops] });
    prompts.push(packProblems([p1, p2]).text);
    forcedStarts.push(`1:${forced} 2:`);
  }
  const res = gpt.generate(prompts.map((t, i) => [CharTokenizer.BOS, ...tokenizer.encode(t + forcedStarts[i]!)]), {
    maxNewTokens: 100, temperature: 0, stopTokens: [CharTokenizer.EOS], rng: new Rng(1),
  });
  let right = 0, fetched = 0, steps = 0, start = 0;
  res.tokens.forEach((ids, i) => {
    const [p1, p2] = [problems[2 * i]!, problems[2 * i + 1]!];
    // the whole response (forced problem 1, then the model's text) scored as any response is
    const response = forcedStarts[i]! + tokenizer.decode(ids);
    right += Number(scoreResponse(response, [p1.answer, p2.answer], { template: "compact", truncated: !res.stopped[i] }).correct[1]);
    const [r, t] = operationFetches(response, [p1.question, p2.question])[1]!;
    fetched += r; steps += t;
    start += 1 + prompts[i]!.length + forcedStarts[i]!.length;
  });
  console.log(`  problem 1 with ${loops} re-checks: problem 2 starts at position ${(start / pairs).toFixed(0)} on average; ` +
    `problem 2 accuracy ${(right / pairs).toFixed(3)}, fetch ${(fetched / steps).toFixed(2)} (${steps} steps)`);
}
