/**
 * RL runs in worker processes: the worker (rl-worker.ts, a library entry point, not the CLI)
 * trains exactly what trainRl trains in this process, its records reach onStep as they are
 * written, and a failing run rejects naming its train.log.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { initBackend } from "../../src/engine/backend.js";
import { GPT } from "../../src/model/gpt.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { RlConfigSchema } from "../../src/rl/config.js";
import { trainRl } from "../../src/rl/grpo.js";
import { trainInWorker } from "../../src/reproduce/rl-pool.js";
import { runRlWorker, type WorkerMessage } from "../../src/reproduce/rl-worker.js";
import { saveCheckpoint } from "../../src/run/checkpoint.js";
import { parseConfig } from "../../src/util/config.js";
import { readJsonl } from "../../src/util/fsx.js";
import { tempDir } from "../helpers/tmp.js";

let init = "";
before(async () => {
  await initBackend();
  init = path.join(tempDir("bcr-pool-"), "init");
  const tok = new CharTokenizer();
  const gpt = new GPT({ vocabSize: tok.vocabSize, blockSize: 96, nEmbd: 16, nLayer: 1, nHead: 2, dropout: 0, seed: 3 });
  saveCheckpoint(init, { model: gpt, step: 0 });
  gpt.dispose();
});

const config = (over: Record<string, unknown> = {}) =>
  parseConfig(
    {
      init,
      steps: 3,
      seed: 2,
      kind: "bcr",
      n: [2],
      task: { levels: [1], evalProblems: 2 },
      sampling: { promptsPerStep: 2, groupSize: 2, budget: 10 },
      eval: { every: 2, budget: 10 },
      checkpointEvery: 2,
      ...over,
    },
    RlConfigSchema,
    "test",
  );
const withoutPerf = (rows: Record<string, number>[]) =>
  rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith("perf/"))));

test("a worker process trains what trainRl trains here; every record reaches onStep as written", {
  timeout: 120_000,
}, async () => {
  const dir = tempDir("bcr-pool-");
  const here = path.join(dir, "here"),
    there = path.join(dir, "worker");
  await trainRl(config(), here, { progress: false });
  const seen: [string, Record<string, number>][] = [];
  const result = await trainInWorker("bcr/seed-2", config(), there, (run, record) => seen.push([run, record]));
  assert.deepEqual(result, { step: 3, finished: true, finalAccuracy: result.finalAccuracy });
  const written = readJsonl<Record<string, number>>(path.join(there, "metrics.jsonl"));
  assert.deepEqual(
    seen.map(([, r]) => r),
    written,
  );
  assert.ok(seen.every(([run]) => run === "bcr/seed-2"));
  assert.deepEqual(
    seen.map(([, r]) => r.step),
    [0, 1, 2, 3],
  );
  assert.deepEqual(withoutPerf(written), withoutPerf(readJsonl(path.join(here, "metrics.jsonl"))));
  assert.equal(result.finalAccuracy, written.at(-1)!["eval/accuracy"]);
  assert.deepEqual(
    fs.readFileSync(path.join(there, "checkpoints", "step-0000003", "weights.bin")),
    fs.readFileSync(path.join(here, "checkpoints", "step-0000003", "weights.bin")),
  );
  assert.ok(fs.existsSync(path.join(there, "train.log")));
});

test("a failing worker rejects naming its train.log, which holds the error", { timeout: 60_000 }, async () => {
  const dir = path.join(tempDir("bcr-pool-"), "run");
  const bad = { ...config(), init: path.join(dir, "no-such-checkpoint") };
  await assert.rejects(
    trainInWorker("single/seed-1", bad, dir),
    (e: Error) => e.message.includes(path.join(dir, "train.log")) && /exited 1/.test(e.message),
  );
  assert.match(fs.readFileSync(path.join(dir, "train.log"), "utf8"), /no-such-checkpoint/);
});

test("runRlWorker refuses a config that is not JSON or not an RlConfig, naming the run folder or the field", async () => {
  const sent: WorkerMessage[] = [];
  await assert.rejects(
    runRlWorker("dir", "{not json", (m) => sent.push(m)),
    /not JSON/,
  );
  await assert.rejects(
    runRlWorker("dir", JSON.stringify({ steps: -1 }), (m) => sent.push(m)),
    /steps/,
  );
  assert.deepEqual(sent, []);
});
