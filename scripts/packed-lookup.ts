/**
 * Diagnostic: can a local model solve every problem of a packed context, or only the first?
 *
 *   npx tsx scripts/packed-lookup.ts <checkpoint|run folder> <problems.jsonl> [ns=1,2,3,4] [count=96] [temperature=0] [show=0]
 *
 * Packs the first `count` problems of the file in consecutive groups of N (compact template),
 * samples one response per group (greedy by default), and prints per N: accuracy, accuracy by
 * position, tokens and re-check loops per problem, and the "fetch" rate by position: the share of
 * trace steps `<symbol><value><op><operand>=` whose op and operand are the operation the step's
 * symbol names (stepLabel: a-e for problem 1, f-j for problem 2, ...). A low fetch rate with a
 * high one at position 1 means the model cannot find a later problem's operations in the prompt.
 * With show > 0, the first `show` prompts and responses of each N are printed too, to see how the
 * later problems go wrong (a neighbouring character fetched, a step too many, an arithmetic slip).
 */
import { packProblems } from "../src/bcr/templates.js";
import { scoreResponse } from "../src/bcr/score.js";
import type { Problem } from "../src/bcr/types.js";
import { loadLocal } from "../src/train/load-local.js";
import { CharTokenizer } from "../src/model/tokenizer.js";
import { countLoops, operationFetches } from "../src/tasks/traces.js";
import { readJsonl } from "../src/util/fsx.js";
import { Rng } from "../src/util/rng.js";

const [checkpoint, file, nsArg = "1,2,3,4", countArg = "96", tempArg = "0", showArg = "0"] = process.argv.slice(2);
if (!checkpoint || !file) {
  console.error("usage: npx tsx scripts/packed-lookup.ts <checkpoint|run folder> <problems.jsonl> [ns=1,2,3,4] [count=96] [temperature=0] [show=0]");
  process.exit(2);
}
const ns = nsArg.split(",").map(Number);
const count = Number(countArg), temperature = Number(tempArg), show = Number(showArg);
if (ns.some((n) => !Number.isInteger(n) || n < 1) || !(count >= 1) || !(temperature >= 0) || !Number.isInteger(show) || show < 0) {
  console.error(`bad arguments: ns=${nsArg} count=${countArg} temperature=${tempArg} show=${showArg}`);
  process.exit(2);
}

const { gpt, tokenizer } = await loadLocal(checkpoint);
const problems = readJsonl<Problem>(file).slice(0, count);
const fmt = (xs: [number, number][]) => xs.map(([a, b]) => (b ? a / b : NaN).toFixed(2)).join(" ");
console.log(`${checkpoint} on ${problems.length} problems of ${file}, temperature ${temperature}`);
for (const n of ns) {
  const groups: Problem[][] = [];
  for (let i = 0; i + n <= problems.length; i += n) groups.push(problems.slice(i, i + n));
  const packed = groups.map((g) => packProblems(g));
  const res = gpt.generate(packed.map((p) => [CharTokenizer.BOS, ...tokenizer.encode(p.text)]), {
    maxNewTokens: Math.min(gpt.config.blockSize - packed[0]!.text.length - 1, 60 * n + 100),
    temperature, stopTokens: [CharTokenizer.EOS], rng: new Rng(1),
  });
  const right = Array.from({ length: n }, (): [number, number] => [0, 0]);
  const fetched = Array.from({ length: n }, (): [number, number] => [0, 0]);
  let tokens = 0, loops = 0;
  res.tokens.forEach((ids, i) => {
    const text = tokenizer.decode(ids);
    if (i < show) console.log(`  ${JSON.stringify(packed[i]!.text)}\n    -> ${text}`);
    scoreResponse(text, packed[i]!.golds, { template: "compact", truncated: !res.stopped[i] }).correct
      .forEach((c, k) => { right[k]![0] += Number(c); right[k]![1]++; });
    operationFetches(text, groups[i]!.map((p) => p.question)).forEach(([a, b], k) => { fetched[k]![0] += a; fetched[k]![1] += b; });
    tokens += ids.length;
    loops += countLoops(text);
  });
  const all = right.reduce((s, [a]) => s + a, 0) / right.reduce((s, [, b]) => s + b, 0);
  console.log(`N=${n}  accuracy ${all.toFixed(3)}  by position ${fmt(right)}  tokens/problem ${(tokens / groups.length / n).toFixed(1)}  ` +
    `loops/problem ${(loops / groups.length / n).toFixed(2)}  fetch by position ${fmt(fetched)}`);
}
gpt.dispose();
