import { test, before } from "node:test";
import { tempDir } from "../helpers/tmp.js";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { tf, useBackend } from "./setup.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { SftConfigSchema, type SftConfigInput } from "../../src/train/sft-config.js";
import {
  BatchSampler,
  encodeExample,
  loadSftData,
  makeBatch,
  splitEval,
  trainSft,
  type SftExample,
} from "../../src/train/sft.js";
import { parseConfig } from "../../src/util/config.js";
import { readJsonl } from "../../src/util/fsx.js";

before(useBackend);

const tmp = () => tempDir("bcr-sft-");
const EXAMPLES: SftExample[] = Array.from({ length: 12 }, (_, i) => ({
  prompt: `${i}+${i % 3}=`,
  response: `${i + (i % 3)}`,
}));

function config(over: SftConfigInput = {}) {
  return parseConfig(
    {
      seed: 7,
      ...over,
      model: { blockSize: 16, nEmbd: 16, nLayer: 1, nHead: 2, ...over.model },
      train: { steps: 12, batchSize: 4, evalEvery: 0, checkpointEvery: 4, keepCheckpoints: 0, ...over.train },
      optim: { lr: 1e-2, minLr: 1e-3, warmupSteps: 2, ...over.optim },
    },
    SftConfigSchema,
    "test",
  );
}
const weights = (m: { params: Map<string, tf.Variable> }) =>
  [...m.params].map(([k, v]) => [k, Array.from(v.dataSync())]);

test("batches: BOS prompt response EOS, right-padded; the mask covers response + EOS only", () => {
  const tok = new CharTokenizer();
  const a = encodeExample(tok, { prompt: "1+2=", response: "3" }, 16, "a");
  const b = encodeExample(tok, { prompt: "9=", response: "10" }, 16, "b");
  const { tokens, mask, targets } = makeBatch([a, b]);
  const [t0, t1] = tokens.arraySync();
  assert.deepEqual(t0, [1, ...tok.encode("1+2=3"), 2]);
  assert.deepEqual(t1, [1, ...tok.encode("9=10"), 2, 0]);
  // lp[t] scores token t+1: row 0 learns "3" (t=4) and EOS (t=5); row 1 learns "1","0",EOS.
  assert.deepEqual(mask.arraySync(), [
    [0, 0, 0, 0, 1, 1],
    [0, 0, 1, 1, 1, 0],
  ]);
  assert.equal(targets, 5);
  assert.throws(
    () => encodeExample(tok, { prompt: "x".repeat(20), response: "y" }, 16, "train example 3"),
    /train example 3: 23 tokens .* exceed model\.blockSize 16/,
  );
  assert.throws(
    () => encodeExample(tok, { prompt: "é", response: "y" }, 16, "train example 4"),
    /train example 4: .*unknown character/,
  );
  tf.dispose([tokens, mask]);
});

test("the sampler's state restores the same batch sequence across epochs; the eval split is seeded", () => {
  const a = new BatchSampler(5, 1);
  a.next(3);
  a.next(3);
  const saved = a.state;
  const rest = [a.next(3), a.next(3), a.next(3)];
  const b = new BatchSampler(5, 1);
  b.restore(saved);
  assert.deepEqual([b.next(3), b.next(3), b.next(3)], rest);
  assert.deepEqual(splitEval(EXAMPLES, 0.25, 3), splitEval(EXAMPLES, 0.25, 3));
  assert.equal(splitEval(EXAMPLES, 0.25, 3).eval!.length, 3);
});

test("the length-bucketed sampler restores exactly, covers every example once per epoch, and groups similar lengths", () => {
  const lengths = Array.from({ length: 64 }, (_, i) => (i * 37) % 101);
  const opts = { lengths, batchSize: 4, poolBatches: 4 };
  const a = new BatchSampler(64, 9, opts);
  const epoch = Array.from({ length: 16 }, () => a.next(4));
  assert.deepEqual(
    epoch
      .flat()
      .slice()
      .sort((x, y) => x - y),
    Array.from({ length: 64 }, (_, i) => i),
  );
  // Within a pool of 16 examples sorted by length, a batch spans a quarter of the pool's range.
  const spread = (b: number[]) => Math.max(...b.map((i) => lengths[i]!)) - Math.min(...b.map((i) => lengths[i]!));
  const unbucketed = new BatchSampler(64, 9);
  const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
  assert.ok(mean(epoch.map(spread)) < 0.5 * mean(Array.from({ length: 16 }, () => spread(unbucketed.next(4)))));
  a.next(4);
  const saved = a.state;
  const rest = [a.next(4), a.next(4)];
  const b = new BatchSampler(64, 9, opts);
  b.restore(saved);
  assert.deepEqual([b.next(4), b.next(4)], rest);
});

test("loss falls on a tiny dataset: from > 3.5 (~ln 89 at init) to a last-5 mean < 1.8 in 60 steps", async () => {
  const out = tmp();
  const r = await trainSft(
    config({ train: { steps: 60, checkpointEvery: 0, evalEvery: 30 } }),
    { train: EXAMPLES, eval: EXAMPLES.slice(0, 4) },
    out,
    { progress: false },
  );
  const first = r.losses[0]!.loss;
  const last5 = r.losses.slice(-5).reduce((a, l) => a + l.loss, 0) / 5;
  assert.ok(first > 3.5, `first loss ${first}`);
  assert.ok(last5 < 1.8, `mean of the last 5 losses ${last5}`);
  assert.equal(r.evalLosses.length, 2);
  assert.ok(
    r.evalLosses[1]!.loss < 1.8 && r.evalLosses[1]!.loss < r.evalLosses[0]!.loss,
    `eval ${JSON.stringify(r.evalLosses)}`,
  );
  for (const f of [
    "config.json",
    "backend.json",
    "metrics.jsonl",
    "checkpoints/latest",
    "checkpoints/step-0000060/weights.bin",
  ]) {
    assert.ok(fs.existsSync(path.join(out, f)), f);
  }
  const rows = readJsonl<Record<string, number>>(path.join(out, "metrics.jsonl"));
  const keys = new Set(rows.flatMap((r) => Object.keys(r)));
  for (const k of ["step", "train/loss", "train/lr", "grad/norm", "perf/tokens_per_s", "eval/loss"])
    assert.ok(keys.has(k), k);
  assert.equal(rows.filter((r) => "train/loss" in r).length, 60);
  r.model.dispose();
});

test("same seed gives identical losses; another seed does not", async () => {
  const run = async (seed: number) => {
    const r = await trainSft(config({ seed, train: { steps: 5, checkpointEvery: 0 } }), EXAMPLES, tmp(), {
      progress: false,
    });
    r.model.dispose();
    return r.losses.map((l) => l.loss);
  };
  const a = await run(7),
    b = await run(7),
    c = await run(8);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test("interrupted (crash after the step-4 checkpoint) then resumed = uninterrupted, bit for bit (with dropout)", async () => {
  const cfg = config({ model: { dropout: 0.1 } });
  const full = await trainSft(cfg, EXAMPLES, tmp(), { progress: false });
  const out = tmp();
  const part = await trainSft(cfg, EXAMPLES, out, { progress: false, maxStepsThisRun: 6, saveOnStop: false });
  assert.equal(part.stopped, true);
  assert.equal(part.step, 6);
  part.model.dispose();
  const resumed = await trainSft(cfg, EXAMPLES, out, { progress: false });
  assert.equal(resumed.startStep, 4);
  assert.equal(resumed.step, 12);
  assert.deepEqual(weights(resumed.model), weights(full.model));
  // metrics.jsonl holds each step once (step = updates before it: 0..11), with the same losses as the uninterrupted run.
  const logged = readJsonl<Record<string, number>>(path.join(out, "metrics.jsonl")).filter((r) => "train/loss" in r);
  assert.deepEqual(
    logged.map((r) => r.step),
    Array.from({ length: 12 }, (_, i) => i),
  );
  assert.deepEqual(
    logged.map((r) => r["train/loss"]),
    full.losses.map((l) => l.loss),
  );
  full.model.dispose();
  resumed.model.dispose();
});

test("a stop via AbortSignal saves a checkpoint at the stop step; resume continues from it", async () => {
  const out = tmp();
  const ctl = new AbortController();
  const cfg = config({ train: { steps: 6, checkpointEvery: 0 } });
  const part = await trainSft(cfg, EXAMPLES, out, {
    progress: false,
    onMetrics: (r) => {
      if (r.step === 2) ctl.abort();
    },
    signal: ctl.signal, // the record of the 3rd update
  });
  assert.equal(part.step, 3);
  part.model.dispose();
  assert.ok(fs.existsSync(path.join(out, "checkpoints", "step-0000003")));
  const rest = await trainSft(cfg, EXAMPLES, out, { progress: false });
  assert.equal(rest.startStep, 3);
  assert.equal(rest.step, 6);
  rest.model.dispose();
});

test("metrics follow src/run's step convention: an interrupted run's file equals an uninterrupted one's, eval lines included, and a finished run called again logs nothing twice", async () => {
  const cfg = config({ train: { steps: 8, evalEvery: 4, checkpointEvery: 4 } });
  const data = { train: EXAMPLES, eval: EXAMPLES.slice(0, 4) };
  const lines = (dir: string) =>
    readJsonl<Record<string, number>>(path.join(dir, "metrics.jsonl")).map(({ "perf/tokens_per_s": _, ...r }) => r);
  const a = tmp();
  (await trainSft(cfg, data, a, { progress: false })).model.dispose();
  const b = tmp();
  // Crash after update 6: the checkpoint at 4 is the latest; the eval of the model after 4 updates (step 4) was logged before it.
  (await trainSft(cfg, data, b, { progress: false, maxStepsThisRun: 6, saveOnStop: false })).model.dispose();
  (await trainSft(cfg, data, b, { progress: false })).model.dispose();
  assert.deepEqual(lines(b), lines(a));
  assert.deepEqual(
    lines(a)
      .filter((r) => "eval/loss" in r)
      .map((r) => r.step),
    [4, 8],
    "eval/loss after 4 and 8 updates",
  );
  assert.deepEqual(
    lines(a)
      .filter((r) => "train/loss" in r)
      .map((r) => r.step),
    [0, 1, 2, 3, 4, 5, 6, 7],
  );
  // Called again when finished: resumes at 8, drops nothing it does not redo, redoes only the final eval.
  (await trainSft(cfg, data, a, { progress: false })).model.dispose();
  assert.deepEqual(lines(a), lines(b), "no duplicate final eval line");
});

test("no tensor leak across steps (eval and checkpoints included)", async () => {
  const counts: number[] = [];
  const r = await trainSft(config({ train: { steps: 10, evalEvery: 3, checkpointEvery: 4 } }), EXAMPLES, tmp(), {
    progress: false,
    onMetrics: (m) => {
      if ("train/loss" in m) counts.push(tf.memory().numTensors);
    },
  });
  assert.equal(counts.length, 10);
  assert.ok(
    counts.slice(2).every((n) => n === counts[2]),
    `tensor counts ${counts}`,
  );
  const before = tf.memory().numTensors;
  r.model.dispose();
  assert.ok(tf.memory().numTensors < before);
});

test("loadSftData holds out data.evalFraction of data.train when no data.eval is given", () => {
  const dir = tempDir("bcr-sftdata-");
  const file = path.join(dir, "train.jsonl");
  const rows = Array.from({ length: 40 }, (_, i) => ({ prompt: `1:${i % 9}+1\n`, response: `1:A${(i % 9) + 1}` }));
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  const cfg = parseConfig({ data: { train: file, evalFraction: 0.1 } }, SftConfigSchema, "test");
  const d = loadSftData(cfg);
  assert.equal(d.eval!.length, 4);
  assert.equal(d.train.length, 36);
  const withEval = loadSftData(parseConfig({ data: { train: file, eval: file } }, SftConfigSchema, "test"));
  assert.equal(withEval.train.length, 40);
  assert.equal(withEval.eval!.length, 40);
});

test("init starts from another run's weights (kept exactly at lr ~0), with any init seed; a different architecture is refused", async () => {
  const base = tmp();
  const first = await trainSft(config({ train: { steps: 8, checkpointEvery: 0 } }), EXAMPLES, base, {
    progress: false,
  });
  const trained = weights(first.model);
  first.model.dispose();
  // A fine-tune with lr ~0 must keep the trained weights (a random init would not match them).
  const tuned = await trainSft(
    config({
      init: base,
      seed: 9,
      train: { steps: 1, checkpointEvery: 0 },
      optim: { lr: 1e-12, minLr: 0, warmupSteps: 0, weightDecay: 0 },
    }),
    EXAMPLES,
    tmp(),
    { progress: false },
  );
  const after = weights(tuned.model);
  tuned.model.dispose();
  for (let i = 0; i < trained.length; i++) {
    const [name, w] = trained[i]! as [string, number[]];
    const v = after[i]![1] as number[];
    assert.ok(
      w.every((x, j) => Math.abs(x - v[j]!) < 1e-6),
      `${name} changed`,
    );
  }
  await assert.rejects(
    trainSft(config({ init: base, model: { nEmbd: 32 } }), EXAMPLES, tmp(), { progress: false }),
    /nEmbd|config|shape/i,
  );
});

test("data errors name the file and its line, not the example's index after blank lines or the eval split", async () => {
  const dir = tempDir("bcr-sftlines-");
  const file = path.join(dir, "train.jsonl");
  // 14 records on 16 lines (blank lines 3 and 8); the one on line 12 holds a character the tokenizer lacks.
  const lines: string[] = [];
  for (let i = 0; lines.length < 16; i++) {
    if (lines.length === 2 || lines.length === 7) lines.push("");
    lines.push(JSON.stringify({ prompt: `${i}+1=`, response: lines.length === 11 ? "é" : `${i + 1}` }));
  }
  fs.writeFileSync(file, lines.join("\n") + "\n");
  for (const data of [
    { train: file, evalFraction: 0.5 },
    { train: file, evalFraction: 0 },
    { train: file, eval: file },
  ]) {
    const cfg = config({ data });
    const out = path.join(dir, "run");
    await assert.rejects(
      trainSft(cfg, loadSftData(cfg), out, { progress: false }),
      (e: Error) => e.message.startsWith(`${file}:12: `) && /unknown character/.test(e.message),
    );
    assert.equal(fs.existsSync(out), false, "no run folder for data that cannot be trained on");
  }
  // a record without its fields, after a blank line: the line, not "record 5"
  fs.writeFileSync(
    file,
    [JSON.stringify({ prompt: "1", response: "2" }), "", JSON.stringify({ prompt: "1" })].join("\n"),
  );
  assert.throws(
    () => loadSftData(config({ data: { train: file } })),
    (e: Error) => e.message.startsWith(`${file}:3: expected {"prompt"`),
  );
});
