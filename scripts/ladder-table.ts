/**
 * The compression ladder table of a model (src/tasks/ladder.ts): for each trace form, N=1 accuracy
 * and tokens per problem when the response is forced into it, then the unforced responses by the
 * style they chose. For the docs' ladder table: run it on the SFT model of a ladder run (e.g.
 * runs/reproduce-ladder/sft) and its test split.
 *
 *   npx tsx scripts/ladder-table.ts <checkpoint or run folder> <problems.jsonl> [--problems 256] [--budget 160] [--temperature 0] [--samples 1]
 */
import { initBackend } from "../src/engine/backend.js";
import { loadLocal } from "../src/eval/load-local.js";
import { LocalModel } from "../src/eval/local-model.js";
import { loadProblemsFile } from "../src/eval/problems.js";
import { ladderTable } from "../src/tasks/ladder.js";

const [checkpoint, file, ...rest] = process.argv.slice(2);
const flag = (name: string, dflt: number): number => {
  const i = rest.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(rest[i + 1]);
  if (!Number.isFinite(v)) { console.error(`ladder-table: --${name} needs a number, got ${rest[i + 1]}`); process.exit(2); }
  return v;
};
if (!checkpoint || !file) {
  console.error("usage: npx tsx scripts/ladder-table.ts <checkpoint or run folder> <problems.jsonl> [--problems 256] [--budget 160] [--temperature 0] [--samples 1]");
  process.exit(2);
}
await initBackend();
const problems = loadProblemsFile(file, { limit: flag("problems", 256) });
const { gpt, tokenizer } = await loadLocal(checkpoint);
try {
  const model = new LocalModel({ model: gpt, tokenizer, name: checkpoint, maxBatch: 64 });
  const temperature = flag("temperature", 0);
  const rows = await ladderTable(model, problems, { budget: flag("budget", 160), temperature, samples: flag("samples", 1) });
  console.log(`${checkpoint} on ${problems.length} problems of ${file}, temperature ${temperature}\n`);
  console.log("| form | how | responses | accuracy | tokens/problem | steps right |\n|---|---|---|---|---|---|");
  for (const r of rows) {
    console.log(`| ${r.form} | ${r.how} | ${r.responses} | ${r.accuracy.toFixed(3)} | ${r.tokensPerProblem.toFixed(1)} | ${Number.isNaN(r.stepsRight) ? "-" : r.stepsRight.toFixed(3)} |`);
  }
} finally {
  gpt.dispose();
}
