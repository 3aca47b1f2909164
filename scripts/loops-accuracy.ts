/**
 * Diagnostic: do re-checks cost or buy accuracy? Samples one-problem responses from a local model
 * and prints accuracy by the number of `chk` re-checks in the response, plus answer-only
 * responses (`A<value>` with no steps) as their own row.
 *
 *   npx tsx scripts/loops-accuracy.ts <checkpoint|run folder> <problems.jsonl> [count=256] [repeats=4] [temperature=1]
 *
 * Each of the first `count` problems is sampled `repeats` times (seeds 100, 101, ...) with a
 * 160-token budget, the budget of the reproduction's N=1 evaluation. Why it matters: accuracy-only
 * RL keeps re-checks only if they are right more often than responses without them; if re-checks
 * are accuracy-neutral, nothing but a budget (BCR) or a penalty pushes them out.
 */
import { packProblems } from "../src/bcr/templates.js";
import { scoreResponse } from "../src/bcr/score.js";
import type { Problem } from "../src/bcr/types.js";
import { loadLocal } from "../src/train/load-local.js";
import { CharTokenizer } from "../src/model/tokenizer.js";
import { countLoops } from "../src/tasks/traces.js";
import { readJsonl } from "../src/util/fsx.js";
import { Rng } from "../src/util/rng.js";

const [checkpoint, file, countArg = "256", repeatsArg = "4", tempArg = "1"] = process.argv.slice(2);
const count = Number(countArg), repeats = Number(repeatsArg), temperature = Number(tempArg);
if (!checkpoint || !file || !Number.isInteger(count) || count < 1 || !Number.isInteger(repeats) || repeats < 1 || !(temperature >= 0)) {
  console.error("usage: npx tsx scripts/loops-accuracy.ts <checkpoint|run folder> <problems.jsonl> [count=256] [repeats=4] [temperature=1]");
  process.exit(2);
}

/** Rows: "answer-only", then 0..4 re-checks, then "5+". */
const ANSWER_ONLY = -1, MOST = 5;
const rowName = (k: number) => (k === ANSWER_ONLY ? "answer-only" : k === MOST ? `${MOST}+ re-checks` : `${k} re-checks`);

const { gpt, tokenizer } = await loadLocal(checkpoint);
const problems = readJsonl<Problem>(file).slice(0, count);
const rows = new Map<number, { right: number; total: number; tokens: number }>();
for (let r = 0; r < repeats; r++) {
  const packed = problems.map((p) => packProblems([p]));
  const res = gpt.generate(packed.map((p) => [CharTokenizer.BOS, ...tokenizer.encode(p.text)]), {
    maxNewTokens: 160, temperature, stopTokens: [CharTokenizer.EOS], rng: new Rng(100 + r),
  });
  res.tokens.forEach((ids, i) => {
    const text = tokenizer.decode(ids);
    const right = scoreResponse(text, packed[i]!.golds, { template: "compact", truncated: !res.stopped[i] }).correct[0]!;
    // a compact response with no trace step is `1:A<value>`: no `=` anywhere
    const k = text.includes("=") ? Math.min(countLoops(text), MOST) : ANSWER_ONLY;
    const row = rows.get(k) ?? { right: 0, total: 0, tokens: 0 };
    row.right += Number(right); row.total++; row.tokens += ids.length;
    rows.set(k, row);
  });
}
console.log(`${checkpoint}: ${problems.length} problems x ${repeats} samples at temperature ${temperature}, N=1`);
let right = 0, total = 0, tokens = 0;
for (const k of [...rows.keys()].sort((a, b) => a - b)) {
  const row = rows.get(k)!;
  right += row.right; total += row.total; tokens += row.tokens;
  console.log(`  ${rowName(k).padEnd(13)} accuracy ${(row.right / row.total).toFixed(3)}  share ${(row.total / (problems.length * repeats)).toFixed(3)}  tokens ${(row.tokens / row.total).toFixed(1)}`);
}
console.log(`  ${"all".padEnd(13)} accuracy ${(right / total).toFixed(3)}  tokens ${(tokens / total).toFixed(1)}`);
