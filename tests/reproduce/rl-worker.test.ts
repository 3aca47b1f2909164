/**
 * The worker process on its own (rl-worker.ts, as rl-pool.ts starts it): SIGTERM, or its parent
 * going away (stdin closes), stops the run after the current step with a checkpoint, and the
 * run resumed to the end logs exactly what an uninterrupted run logs.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { initBackend } from "../../src/engine/backend.js";
import { GPT } from "../../src/model/gpt.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { RlConfigSchema } from "../../src/rl/config.js";
import { trainRl } from "../../src/rl/grpo.js";
import { latestCheckpoint, saveCheckpoint } from "../../src/run/checkpoint.js";
import { parseConfig } from "../../src/util/config.js";
import { readJsonl } from "../../src/util/fsx.js";
import { tempDir } from "../helpers/tmp.js";

const worker = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../src/reproduce/rl-worker.ts");
let init = "";
before(async () => {
  await initBackend();
  init = path.join(tempDir("bcr-worker-"), "init");
  const tok = new CharTokenizer();
  const gpt = new GPT({ vocabSize: tok.vocabSize, blockSize: 96, nEmbd: 16, nLayer: 1, nHead: 2, dropout: 0, seed: 3 });
  saveCheckpoint(init, { model: gpt, step: 0 });
  gpt.dispose();
});

const config = () =>
  parseConfig(
    {
      init,
      steps: 40,
      seed: 4,
      task: { levels: [1], evalProblems: 2 },
      sampling: { promptsPerStep: 2, groupSize: 2, budget: 10 },
      eval: { every: 0, budget: 10 },
      checkpointEvery: 0,
    },
    RlConfigSchema,
    "test",
  );
const withoutPerf = (rows: Record<string, number>[]) =>
  rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith("perf/"))));

/** Start the worker; `stop` is called once the first step record arrives. Resolves with its exit code and messages. */
function runWorker(
  dir: string,
  stop: (child: ReturnType<typeof spawn>) => void,
): Promise<{ code: number | null; messages: { type: string; result?: { step: number; finished: boolean } }[] }> {
  const child = spawn(process.execPath, ["--import", "tsx", worker, dir, JSON.stringify(config())], {
    stdio: ["pipe", "pipe", "ignore"],
  });
  const messages: { type: string; result?: { step: number; finished: boolean } }[] = [];
  let pending = "",
    stopped = false;
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const l of lines) {
      messages.push(JSON.parse(l));
      if (!stopped && messages.at(-1)!.type === "step") {
        stopped = true;
        stop(child);
      }
    }
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, messages })));
}

for (const [how, stop] of [
  ["SIGTERM", (c: ReturnType<typeof spawn>) => c.kill("SIGTERM")],
  ["its stdin closing (the parent is gone)", (c: ReturnType<typeof spawn>) => c.stdin!.end()],
] as const) {
  test(`a worker stopped by ${how} checkpoints at its step; resumed, the run equals an uninterrupted one`, {
    timeout: 180_000,
  }, async () => {
    const dir = path.join(tempDir("bcr-worker-"), "run");
    const { code, messages } = await runWorker(dir, stop);
    assert.equal(code, 0);
    const result = messages.at(-1)!;
    assert.equal(result.type, "result");
    assert.equal(result.result!.finished, false);
    const at = result.result!.step;
    assert.ok(at >= 1 && at < 40, `stopped at step ${at}`);
    assert.ok(latestCheckpoint(path.join(dir, "checkpoints"))?.endsWith(`step-${String(at).padStart(7, "0")}`));
    assert.equal(messages.filter((m) => m.type === "step").length, at, "one record per step done");
    await trainRl(config(), dir, { progress: false });
    const whole = path.join(tempDir("bcr-worker-"), "whole");
    await trainRl(config(), whole, { progress: false });
    assert.deepEqual(
      withoutPerf(readJsonl(path.join(dir, "metrics.jsonl"))),
      withoutPerf(readJsonl(path.join(whole, "metrics.jsonl"))),
    );
    assert.deepEqual(
      fs.readFileSync(path.join(dir, "checkpoints", "step-0000040", "weights.bin")),
      fs.readFileSync(path.join(whole, "checkpoints", "step-0000040", "weights.bin")),
    );
  });
}
