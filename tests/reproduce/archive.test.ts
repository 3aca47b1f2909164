import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { readEvalArchive, writeEvalArchive } from "../../src/reproduce/archive.js";
import type { ModelEval } from "../../src/reproduce/eval.js";
import { tempDir } from "../helpers/tmp.js";

const ev: ModelEval = {
  method: "bcr",
  seed: 1,
  checkpoint: "runs/x",
  step: 40,
  n1: [{ problemId: "p1", correct: true, tokens: 30, loops: 0, truncated: false, style: "essential" }],
  n1Greedy: [{ problemId: "p1", correct: true, tokens: 29, loops: 0, truncated: false, style: "essential" }],
  sweep: [{ n: 2, group: 0, position: 1, problemId: "p1", correct: false, tokens: 12, truncated: true, failed: false }],
};
const run = {
  dir: "runs/x/rl/linear@5/seed-1",
  name: "seed-1",
  config: {
    method: "linear@5",
    seed: 1,
    kind: "penalty",
    shaping: { name: "linear", params: { lambda: 5 } },
    optim: { lr: 1e-4 },
  },
  metrics: [
    { step: 0, "eval/accuracy": 0.9, "loss/policy": 0.1 },
    { step: 1, "loss/policy": 0.2 },
    { step: 2, "eval/accuracy": 0.2, "grad/cos_acc_len": -0.3 },
  ],
};

test("eval archive: the rows round-trip; runs keep method, seed, kind, shaping and the metrics claim 4 needs; same input, same bytes", () => {
  const dir = tempDir("bcr-archive-");
  try {
    const file = path.join(dir, "eval-rows.jsonl.gz");
    writeEvalArchive(file, { meta: { derived: { bcrBudget: 117 }, wall: { sft: 10 } }, evals: [ev], runs: [run] });
    const bytes = fs.readFileSync(file);
    const a = readEvalArchive(file);
    assert.deepEqual(a.evals, [ev]);
    assert.deepEqual(a.meta, { derived: { bcrBudget: 117 }, wall: { sft: 10 } });
    assert.deepEqual(a.runs[0]!.config, {
      method: "linear@5",
      seed: 1,
      kind: "penalty",
      shaping: { name: "linear", params: { lambda: 5 } },
    });
    assert.deepEqual(a.runs[0]!.metrics, [
      { step: 0, "eval/accuracy": 0.9 },
      { step: 2, "eval/accuracy": 0.2, "grad/cos_acc_len": -0.3 },
    ]);
    writeEvalArchive(file, { meta: { derived: { bcrBudget: 117 }, wall: { sft: 10 } }, evals: [ev], runs: [run] });
    assert.ok(fs.readFileSync(file).equals(bytes));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("eval archive: bad files are named with the line at fault", () => {
  const dir = tempDir("bcr-archive-");
  try {
    const file = path.join(dir, "bad.jsonl.gz");
    const put = (text: string) => fs.writeFileSync(file, gzipSync(Buffer.from(text)));
    fs.writeFileSync(file, "not gzip");
    assert.throws(() => readEvalArchive(file), /bad\.jsonl\.gz: not a readable gzip file/);
    put('{"kind":"meta","format":1}\n{"kind":"eval","method":"x"}\n');
    assert.throws(() => readEvalArchive(file), /line 2: an eval line needs method, n1 and sweep/);
    put('{"kind":"meta","format":2}\n');
    assert.throws(() => readEvalArchive(file), /line 1: unknown format 2/);
    put('{"kind":"meta","format":1}\nnope\n');
    assert.throws(() => readEvalArchive(file), /line 2 is not JSON/);
    put(`{"kind":"eval","method":"x","n1":[],"sweep":[]}\n`);
    assert.throws(() => readEvalArchive(file), /no meta line/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
