/**
 * The eval stage over worker threads (src/reproduce/eval-pool.ts): every file it writes is
 * byte-identical to evaluating the models one after another in this process; a failing model
 * rejects naming it; a stopped pool keeps its finished models and resumes to the same bytes; and
 * the worker count enters no stage hash.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { initBackend } from "../../src/engine/backend.js";
import { GPT } from "../../src/model/gpt.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { ReproduceConfigSchema } from "../../src/reproduce/config.js";
import { EVAL_FILE, evaluateModels, type ModelRef } from "../../src/reproduce/eval.js";
import { stageHashes } from "../../src/reproduce/pipeline.js";
import { saveCheckpoint } from "../../src/run/checkpoint.js";
import { generateProblems } from "../../src/tasks/synthetic.js";
import { tempDir } from "../helpers/tmp.js";

const config = ReproduceConfigSchema.parse({
  sft: { mix: { terse: 0.1 } }, // so the SFT model's eval also writes its compression ladder
  eval: { problems: 4, n1Budget: 16, ns: [1, 2], sweepBudget: 24, samples: 2, batchSize: 4, greedy: true },
  analysis: { bootstrap: 20 },
});
const problems = generateProblems(5, 4, [1], "t");
let models = "";

before(async () => {
  await initBackend();
  models = tempDir("bcr-eval-pool-models-");
  const tok = new CharTokenizer();
  for (const seed of [1, 2, 3]) {
    const gpt = new GPT({ vocabSize: tok.vocabSize, blockSize: 128, nEmbd: 16, nLayer: 1, nHead: 2, dropout: 0, seed });
    saveCheckpoint(path.join(models, `m${seed}`), { model: gpt, step: seed });
    gpt.dispose();
  }
});

/** Three models (the SFT one with its ladder, one with a prompt target), evaluated into `dir`. */
const refsIn = (dir: string): ModelRef[] => [
  { method: "sft", seed: null, checkpoint: path.join(models, "m1"), dir: path.join(dir, "sft") },
  { method: "bcr", seed: 1, checkpoint: path.join(models, "m2"), dir: path.join(dir, "bcr", "seed-1") },
  {
    method: "l1-exact@0.01",
    seed: 1,
    checkpoint: path.join(models, "m3"),
    dir: path.join(dir, "l1-exact@0.01", "seed-1"),
    targetLength: 30,
  },
];

/** Every file under `dir`, by relative path, with its bytes. */
function tree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const f of fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).sort()) {
    const p = path.join(dir, f);
    if (fs.statSync(p).isFile()) out.set(f, fs.readFileSync(p));
  }
  return out;
}

/** `skip`: file names left out (a resumed sweep's summary.json counts what came from its cache). */
function assertSameTree(a: string, b: string, skip: string[] = []): void {
  const keep = (t: Map<string, Buffer>) => new Map([...t].filter(([f]) => !skip.includes(path.basename(f))));
  const [ta, tb] = [keep(tree(a)), keep(tree(b))];
  assert.deepEqual([...tb.keys()], [...ta.keys()], "the same files");
  for (const [f, bytes] of ta) assert.ok(bytes.equals(tb.get(f)!), `${f} differs`);
}

let sequential = "";
test("two worker threads write every eval.json and sweep cache byte for byte as one process does", {
  timeout: 300_000,
}, async () => {
  const root = tempDir("bcr-eval-pool-");
  sequential = path.join(root, "sequential");
  const pooled = path.join(root, "pooled");
  const quiet = () => {};
  await evaluateModels(refsIn(sequential), config, problems, quiet, false, undefined, 1);
  const lines: string[] = [];
  await evaluateModels(refsIn(pooled), config, problems, (l) => lines.push(l), false, undefined, 2);

  const files = [...tree(sequential).keys()];
  for (const r of refsIn(""))
    for (const f of [EVAL_FILE, "n1/cache.jsonl", "n1-greedy/cache.jsonl", "sweep/cache.jsonl", "sweep/rows.jsonl"])
      assert.ok(files.includes(path.join(r.dir, f)), `${r.dir}/${f} written`);
  const sft = JSON.parse(fs.readFileSync(path.join(sequential, "sft", EVAL_FILE), "utf8"));
  assert.ok(sft.ladder?.length > 0 && sft.n1.length === 8 && sft.sweep.length > 0, "a full eval, ladder included");
  assertSameTree(sequential, pooled);
  assert.deepEqual(
    lines.map((l) =>
      l
        .match(/eval (\d)\/3: (\S+)/)
        ?.slice(1, 3)
        .join(" "),
    ),
    ["1 sft", "2 bcr", "3 l1-exact@0.01"],
    "one line per model, as it starts",
  );
});

test("a model that fails in a thread rejects naming the model", { timeout: 120_000 }, async () => {
  const dir = tempDir("bcr-eval-pool-fail-");
  const refs = refsIn(dir);
  refs[1] = { ...refs[1]!, checkpoint: path.join(dir, "no-such-checkpoint") };
  await assert.rejects(
    evaluateModels(refs, config, problems, () => {}, false, undefined, 2),
    /^Error: eval bcr\/seed-1: .*no-such-checkpoint/,
  );
});

test("a stopped pool keeps its finished models; the next call evaluates only the rest, to the same bytes", {
  timeout: 300_000,
}, async () => {
  assert.ok(sequential, "needs the first test's files");
  const dir = tempDir("bcr-eval-pool-stop-");
  const ctl = new AbortController();
  let started = 0;
  // Stop as the third model starts: one model is finished, the other thread is mid-model.
  const log = (l: string) => {
    if (/eval \d\/3: .* problems, /.test(l) && ++started === 3) ctl.abort(new Error("test stop"));
  };
  await assert.rejects(evaluateModels(refsIn(dir), config, problems, log, false, ctl.signal, 2), /test stop/);
  const finished = refsIn(dir).filter((r) => fs.existsSync(path.join(r.dir, EVAL_FILE)));
  assert.ok(finished.length >= 1 && finished.length < 3, `${finished.length} finished`);

  const lines: string[] = [];
  await evaluateModels(refsIn(dir), config, problems, (l) => lines.push(l), false, undefined, 2);
  assert.equal(lines.filter((l) => l.endsWith("done earlier")).length, finished.length);
  assertSameTree(sequential, dir, ["summary.json"]);
});

test("the worker count (rl.workers) enters no stage hash", () => {
  const base = stageHashes(ReproduceConfigSchema.parse({}));
  for (const workers of [1, 3]) assert.deepEqual(stageHashes(ReproduceConfigSchema.parse({ rl: { workers } })), base);
});
