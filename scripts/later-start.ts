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
import type { Problem } from "../src/bcr/types.js";
import { loadLocal } from "../src/eval/load-local.js";
import { CharTokenizer } from "../src/model/tokenizer.js";
import { OPS_PER_BLOCK, STEP_SYMBOLS, trace } from "../src/tasks/traces.js";
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
  const prefixes: string[] = [];
  for (let i = 0; i < pairs; i++) {
    const [p1, p2] = [problems[2 * i]!, problems[2 * i + 1]!];
    const forced = loops === 0 ? trace(p1.question, p1.answer, "essential", rng)
      : trace(p1.question, p1.answer, "redundant", rng, { loops: [loops, loops] });
    prefixes.push(packProblems([p1, p2]).text + `1:${forced} 2:`);
  }
  const res = gpt.generate(prefixes.map((t) => [CharTokenizer.BOS, ...tokenizer.encode(t)]), {
    maxNewTokens: 100, temperature: 0, stopTokens: [CharTokenizer.EOS], rng: new Rng(1),
  });
  let right = 0, fetched = 0, steps = 0, start = 0;
  res.tokens.forEach((ids, i) => {
    const p2 = problems[2 * i + 1]!;
    const text = tokenizer.decode(ids).split(/\s\d+:/)[0]!; // problem 2's section only
    if (new RegExp(`(^|\\s)A${p2.answer}(\\s|$)`).test(text.trim() + " ")) right++;
    const ops = p2.question.match(/[+-]\d+/g) ?? [];
    for (const step of text.matchAll(/(?:^|\s)([a-zB-Z])\d+([+-]\d+)=/g)) {
      const j = STEP_SYMBOLS.indexOf(step[1]!) - OPS_PER_BLOCK;
      steps++;
      if (j >= 0 && j < ops.length && ops[j] === step[2]) fetched++;
    }
    start += 1 + prefixes[i]!.length;
  });
  console.log(`  problem 1 with ${loops} re-checks: problem 2 starts at position ${(start / pairs).toFixed(0)} on average; ` +
    `problem 2 accuracy ${(right / pairs).toFixed(3)}, fetch ${(fetched / steps).toFixed(2)} (${steps} steps)`);
}
