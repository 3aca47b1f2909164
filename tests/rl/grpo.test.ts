import { test, before, after } from "node:test";
import { tempDir } from "../helpers/tmp.js";
import { snapshotDir } from "../helpers/snapshot.js";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { initBackend, tf } from "../../src/engine/backend.js";
import { GPT } from "../../src/model/gpt.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { saveCheckpoint } from "../../src/run/checkpoint.js";
import { RlConfigSchema, type RlConfigInput } from "../../src/rl/config.js";
import {
  buildUpdateBatch,
  drawPrompts,
  gradientGeometry,
  sampleRollouts,
  surrogateGrads,
  trainRl,
  type UpdateBatch,
} from "../../src/rl/grpo.js";
import { groupAdvantages } from "../../src/rl/advantages.js";
import { SHAPINGS } from "../../src/rewards/index.js";
import { parseConfig } from "../../src/util/config.js";
import { readJsonl } from "../../src/util/fsx.js";
import { Rng } from "../../src/util/rng.js";

let tmp = "";
let init = "";
const tok = new CharTokenizer();

before(async () => {
  await initBackend();
  tmp = tempDir("bcr-rl-");
  init = path.join(tmp, "init");
  const gpt = new GPT({ vocabSize: tok.vocabSize, blockSize: 96, nEmbd: 16, nLayer: 1, nHead: 2, dropout: 0, seed: 3 });
  saveCheckpoint(init, { model: gpt, step: 0 });
  gpt.dispose();
});

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const tiny = (over: Partial<RlConfigInput>) =>
  parseConfig(
    {
      init,
      steps: 4,
      seed: 5,
      task: { levels: [1], evalProblems: 4 },
      sampling: { promptsPerStep: 2, groupSize: 4, budget: 12 },
      eval: { every: 2, budget: 12 },
      diagnosticsEvery: 1,
      checkpointEvery: 2,
      samplesEvery: 1,
      ...over,
    },
    RlConfigSchema,
    "test",
  );

const withoutPerf = (rows: Record<string, number>[]) =>
  rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith("perf/"))));

test("a run interrupted and resumed logs the same metrics as an uninterrupted one", async () => {
  const cfg = tiny({ kind: "penalty", shaping: { name: "kimi" } });
  const a = path.join(tmp, "a"),
    b = path.join(tmp, "b");
  const ra = await trainRl(cfg, a, { progress: false });
  assert.equal(ra.finished, true);
  const rb1 = await trainRl(cfg, b, { progress: false, maxStepsThisRun: 3 });
  assert.equal(rb1.finished, false);
  assert.equal(rb1.step, 3);
  const rb2 = await trainRl(cfg, b, { progress: false });
  assert.equal(rb2.finished, true);
  const ma = withoutPerf(readJsonl(path.join(a, "metrics.jsonl")));
  const mb = withoutPerf(readJsonl(path.join(b, "metrics.jsonl")));
  assert.equal(ma.length, 5); // steps 0..3 plus the final eval line at step 4
  assert.deepEqual(mb, ma);
  const summary = JSON.parse(fs.readFileSync(path.join(a, "summary.json"), "utf8"));
  assert.equal(summary.steps, 4);
  assert.ok("eval/accuracy" in summary.final);
});

test("calling a finished run again changes nothing: its metrics keep the final eval line", async () => {
  const cfg = tiny({ kind: "single", steps: 2 });
  const dir = path.join(tmp, "finished");
  await trainRl(cfg, dir, { progress: false });
  const before = fs.readFileSync(path.join(dir, "metrics.jsonl"), "utf8");
  assert.ok(
    readJsonl<{ step: number }>(path.join(dir, "metrics.jsonl")).some((r) => r.step === 2),
    "final eval logged at step = steps",
  );
  const again = await trainRl(cfg, dir, { progress: false });
  assert.equal(again.finished, true);
  assert.equal(fs.readFileSync(path.join(dir, "metrics.jsonl"), "utf8"), before);
});

test("a resume with a different config is refused", async () => {
  const dir = path.join(tmp, "refuse");
  await trainRl(tiny({ kind: "single", steps: 1 }), dir, { progress: false });
  await assert.rejects(trainRl(tiny({ kind: "single", steps: 2 }), dir, { progress: false }), /different config/);
});

test("a refused resume writes nothing: a damaged checkpoint leaves the run folder byte-identical (backend.json included)", async () => {
  const cfg = tiny({ kind: "single" });
  const dir = path.join(tmp, "refused-resume");
  const r = await trainRl(cfg, dir, { progress: false, maxStepsThisRun: 3 });
  assert.equal(r.finished, false);
  // The folder as another machine left it (another backend), with its checkpoint damaged.
  fs.writeFileSync(path.join(dir, "backend.json"), '{"name":"elsewhere"}\n');
  const latest = fs.readFileSync(path.join(dir, "checkpoints", "latest"), "utf8").trim();
  const weights = path.join(dir, "checkpoints", latest, "weights.bin");
  const bytes = fs.readFileSync(weights);
  bytes[0] = bytes[0]! ^ 0xff;
  fs.writeFileSync(weights, bytes);
  const before = snapshotDir(dir);
  await assert.rejects(trainRl(cfg, dir, { progress: false }), /sha256|weights/);
  assert.deepEqual(snapshotDir(dir), before);
});

test("every kind and every shaping runs from a config and logs its metrics", async () => {
  const configs = [
    tiny({ kind: "single", steps: 1 }),
    tiny({ kind: "bcr", n: [2, 3], steps: 1 }),
    ...SHAPINGS.map((name) =>
      tiny({
        kind: "penalty",
        steps: 1,
        shaping: name.startsWith("l1") ? { name, targetLength: 8 } : { name },
      }),
    ),
  ];
  for (const cfg of configs) {
    const dir = path.join(tmp, `mode-${cfg.method}`);
    const r = await trainRl(cfg, dir, { progress: false });
    assert.equal(r.finished, true, cfg.method);
    const [m] = readJsonl<Record<string, number>>(path.join(dir, "metrics.jsonl"));
    for (const k of [
      "reward/total",
      "reward/accuracy",
      "length/mean",
      "loss/policy",
      "grad/norm",
      "adv/zero_var_frac",
      "train/clip_frac",
      "eval/accuracy",
    ]) {
      assert.ok(Number.isFinite(m![k]), `${cfg.method}: ${k} = ${m![k]}`);
    }
    if (cfg.kind === "penalty" && cfg.shaping.name !== "accuracy")
      assert.ok(Number.isFinite(m!["grad/norm_len"]), `${cfg.method}: grad/norm_len`);
  }
});

test("config errors name the field", () => {
  assert.throws(
    () => parseConfig({ init, kind: "bcr", shaping: { name: "linear" } }, RlConfigSchema, "cfg.json"),
    /cfg\.json: .*shaping\.name/,
  );
  assert.throws(
    () => parseConfig({ init, sampling: { groupSize: 1 } }, RlConfigSchema, "cfg.json"),
    /sampling\.groupSize/,
  );
  assert.throws(() => parseConfig({}, RlConfigSchema, "cfg.json"), /init/);
  assert.equal(tiny({ kind: "penalty", shaping: { name: "linear", params: { lambda: 2 } } }).method, "linear@2");
});

test("at ratio 1 the total gradient is the sum of the accuracy-term and length-term gradients", async () => {
  const cfg = tiny({
    kind: "penalty",
    shaping: { name: "linear", params: { lambda: 1 } },
    sampling: { promptsPerStep: 2, groupSize: 4, budget: 12 },
  });
  const { loadLocal } = await import("../../src/train/load-local.js");
  const { gpt } = await loadLocal(init);
  const prompts = drawPrompts(cfg, new Rng(1));
  const groups = sampleRollouts(gpt, tok, prompts, cfg, new Rng(2));
  // Hand-made rewards so that both terms vary inside each group.
  const advs = groups.map((g) =>
    groupAdvantages(
      g.map((_, j) => {
        const acc = j % 2,
          len = -0.1 * j;
        return { total: acc + len, accuracy: acc, length: len };
      }),
    ),
  );
  const batch = buildUpdateBatch(groups.flat(), advs, 4, false) as UpdateBatch;
  const sc = { clipLow: 0.2, clipHigh: 0.28, klBeta: 0, aggregation: "seq-mean" as const, budget: 12 };
  const gt = surrogateGrads(gpt, batch, batch.adv.total, sc);
  const ga = surrogateGrads(gpt, batch, batch.adv.accuracy, sc);
  const gl = surrogateGrads(gpt, batch, batch.adv.length, sc);
  assert.ok(gt.clipFrac === 0, "ratios are 1 at the sampling policy: no clipping");
  const sum = new Map([...ga.grads].map(([k, g]) => [k, tf.add(g, gl.grads.get(k)!)]));
  const geo = gradientGeometry(gt.grads, sum);
  assert.ok(geo.cos > 0.9999, `cos(total, acc+len) = ${geo.cos}`);
  assert.ok(Math.abs(geo.normA - geo.normB) / geo.normA < 1e-3, `${geo.normA} vs ${geo.normB}`);
  tf.dispose([...gt.grads.values(), ...ga.grads.values(), ...gl.grads.values(), ...sum.values()]);
  gpt.dispose();
});

test("a short run on an easy objective raises the reward (length penalty teaches an early stop)", async () => {
  // Reward = -len/budget: an untrained model rarely emits EOS, so the only way up is to learn
  // to stop early. The group-relative advantages must find it within a few dozen steps.
  const cfg = tiny({
    kind: "penalty",
    steps: 30,
    shaping: { name: "linear", params: { lambda: 1 } },
    sampling: { promptsPerStep: 4, groupSize: 8, budget: 16 },
    optim: { lr: 0.03 },
    eval: { every: 0, budget: 8 },
    diagnosticsEvery: 0,
    checkpointEvery: 0,
    samplesEvery: 0,
  });
  const dir = path.join(tmp, "easy");
  const numTensors: number[] = [];
  await trainRl(cfg, dir, { progress: false, onMetrics: () => numTensors.push(tf.memory().numTensors) });
  const m = readJsonl<Record<string, number>>(path.join(dir, "metrics.jsonl")).filter(
    (r) => r["reward/total"] !== undefined,
  );
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(m.slice(0, 5).map((r) => r["reward/total"]!));
  const last = mean(m.slice(-5).map((r) => r["reward/total"]!));
  assert.ok(last > first + 0.2, `reward ${first.toFixed(3)} -> ${last.toFixed(3)}`);
  assert.ok(
    numTensors.slice(2).every((n) => n === numTensors[2]),
    `tensor count drifts: ${numTensors.join(",")}`,
  );
});

test("with task.trainFile, prompts are drawn only from that file's problems at the run's levels", () => {
  const file = path.join(tmp, "train.jsonl");
  const probs = [
    { id: "a", question: "1+2", answer: "3", difficulty: 5 },
    { id: "b", question: "4-1", answer: "3", difficulty: 5 },
    { id: "c", question: "9-9", answer: "0", difficulty: 6 },
  ];
  fs.writeFileSync(file, probs.map((p) => JSON.stringify(p)).join("\n") + "\n");
  const cfg = tiny({ kind: "bcr", n: 3, task: { levels: [5], evalProblems: 4, trainFile: file } });
  const prompts = drawPrompts(cfg, new Rng(4));
  for (const p of prompts) for (const g of p.golds) assert.equal(g, "3");
  assert.throws(
    () => drawPrompts(tiny({ task: { levels: [7], evalProblems: 4, trainFile: file } }), new Rng(1)),
    /no problems at levels 7/,
  );
});

test("a bad init checkpoint is refused before anything is written to the run folder", async () => {
  const dir = path.join(tmp, "bad-init");
  await assert.rejects(
    trainRl(tiny({ init: path.join(tmp, "no-such-checkpoint") }), dir, { progress: false }),
    /not a checkpoint/,
  );
  assert.equal(fs.existsSync(dir), false);
});

test("a bad or empty task.trainFile is refused with its file and line before the run folder is written", async () => {
  const empty = path.join(tmp, "empty-train.jsonl");
  fs.writeFileSync(empty, "");
  const bad = path.join(tmp, "bad-train.jsonl");
  fs.writeFileSync(
    bad,
    [
      JSON.stringify({ id: "a", question: "1+2", answer: "3", difficulty: 1 }),
      "",
      JSON.stringify({ id: "b", question: "4-1", difficulty: 1 }),
    ].join("\n"),
  );
  for (const [file, message] of [
    [empty, `${empty}: no records`],
    [bad, `${bad}:3: field "answer"`],
  ] as const) {
    const dir = path.join(tmp, `bad-train-${path.basename(file)}`);
    await assert.rejects(
      trainRl(tiny({ task: { levels: [1], evalProblems: 4, trainFile: file } }), dir, { progress: false }),
      (e: Error) => e.message.startsWith(message),
    );
    assert.equal(fs.existsSync(dir), false, "no run folder");
  }
});
