/**
 * End to end: the whole pipeline with an even smaller config than --quick (no PNGs, so no
 * Chromium), into a temp dir; then a second call skips every stage, and a changed claim
 * threshold re-runs only analysis and report. The full `bcr reproduce --quick` (PNGs included)
 * is CI's job.
 */
import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { ReproduceConfigSchema, type ReproduceConfigInput } from "../../src/reproduce/config.js";
import { demoModelDir, reproduce, stageHashes } from "../../src/reproduce/pipeline.js";
import { backendInfo } from "../../src/engine/backend.js";
import { arithmeticFingerprint } from "../../src/model/arithmetic-fingerprint.js";
import { derive } from "../../src/reproduce/budget.js";
import { layout } from "../../src/reproduce/layout.js";
import { rlConfigFor } from "../../src/reproduce/rl.js";
import { RlConfigSchema } from "../../src/rl/config.js";
import { latestCheckpoint } from "../../src/run/checkpoint.js";
import { RunStopped } from "../../src/run/interrupt.js";
import { loadConfig } from "../../src/util/config.js";
import { readJsonl } from "../../src/util/fsx.js";

const Est = z.strictObject({ mean: z.number(), ci: z.tuple([z.number(), z.number()]) }).passthrough();
const Method = z.object({
  n1: z.object({ accuracy: Est, tokens_per_problem: Est }),
  sweep: z
    .array(
      z.object({
        n: z.number().int(),
        accuracy: z.number().min(0).max(1),
        tokens_per_problem: z.number().nonnegative(),
      }),
    )
    .min(1),
  loops_per_response: z.number().nonnegative(),
  collapsed: z.boolean().nullable(),
});
/** The contract shape of <out>/claims.json (more fields are allowed). */
export const ClaimsJson = z.object({
  backend: z.string(),
  cores: z.number().int().positive(),
  wall_s: z.number().nonnegative(),
  seeds: z.array(z.number().int()).min(1),
  methods: z.record(z.string(), Method),
  claims: z
    .array(
      z.object({
        id: z.string(),
        number: z.number(),
        verdict: z.enum(["held", "partially", "not held", "not tested"]),
      }),
    )
    .length(4),
});

const tiny: ReproduceConfigInput = {
  name: "reproduce-test",
  seeds: [1],
  data: { train: 200, test: 16, levels: [1] },
  sft: {
    examples: 200,
    groupSizes: [1, 2],
    run: {
      model: { blockSize: 128, nEmbd: 16, nLayer: 1, nHead: 2 },
      train: { steps: 4, batchSize: 8, evalEvery: 0, evalBatches: 1, checkpointEvery: 0 },
      optim: { warmupSteps: 1 },
    },
  },
  rl: {
    steps: 1,
    promptsPerStep: 2,
    groupSize: 2,
    singleBudget: 32,
    evalEvery: 0,
    evalProblems: 4,
    evalBudget: 32,
    diagnosticsEvery: 1,
    checkpointEvery: 0,
  },
  eval: { problems: 8, n1Budget: 32, ns: [1, 2, 4], sweepBudget: 48, batchSize: 16 },
  analysis: { bootstrap: 50 },
  figures: { png: false },
};

test("reproduce: every stage, every output; a second run skips; a threshold change redoes analysis + report only", {
  timeout: 240_000,
}, async () => {
  const dir = tempDir("bcr-reproduce-");
  const runs = path.join(dir, "runs"),
    out = path.join(dir, "results");
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  try {
    const config = ReproduceConfigSchema.parse(tiny);
    assert.equal(config.rl.workers, 2, "RL runs train in worker processes (rl-pool.ts)");
    const steps = new Map<string, Record<string, number>[]>();
    const onStep = (run: string, record: Record<string, number>) => steps.set(run, [...(steps.get(run) ?? []), record]);
    const r = await reproduce(config, { runs, out, progress: false, log, onStep });
    assert.deepEqual(
      Object.values(r.stages).map((s) => s.action),
      ["fresh", "fresh", "fresh", "fresh", "fresh", "fresh"],
    );

    const claims = ClaimsJson.parse(JSON.parse(fs.readFileSync(path.join(out, "claims.json"), "utf8")));
    assert.deepEqual(
      Object.keys(claims.methods).sort(),
      ["bcr", "kimi", "l1-exact@0.01", "linear@5", "sft", "single"].sort(),
    );
    assert.equal(claims.methods.sft!.collapsed, null);
    assert.equal(typeof claims.methods.bcr!.collapsed, "boolean");
    assert.deepEqual(
      claims.methods.bcr!.sweep.map((p) => p.n),
      [1, 2, 4],
    );
    const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8"));
    for (const k of ["data", "sft", "rl", "eval", "analysis", "report", "total"])
      assert.equal(typeof summary.wall_s[k], "number", k);
    assert.equal(summary.config.rl.steps, 1);
    assert.ok(summary.derived.bcrBudget > 0);
    for (const t of ["n1", "sweep", "fits", "stability", "free_lunch", "claims"])
      assert.ok(fs.existsSync(path.join(out, "tables", `${t}.csv`)), t);
    for (const f of [
      "task_scaling",
      "accuracy_vs_tokens",
      "training_eval_accuracy",
      "gradients",
      "dose_response",
      "position_accuracy",
      "length_histogram",
      "loop_histogram",
    ]) {
      assert.ok(fs.existsSync(path.join(out, "figures", `${f}.html`)), f);
    }
    assert.ok(fs.existsSync(path.join(out, "figures", "plotly.min.js")));
    assert.ok(fs.existsSync(path.join(out, "models", "sft", "weights.bin")), "with --out, the demo model is beside it");
    const html = fs.readFileSync(path.join(out, "report.html"), "utf8");
    assert.doesNotMatch(html, /SMOKE TEST/, "only quick configs carry the smoke-test banner");
    assert.match(html, /The four claims/);
    for (const c of claims.claims) assert.ok(html.includes(c.verdict));
    // run folders as planned, each with the resolved RlConfig it was trained with
    const bcrCfg = JSON.parse(fs.readFileSync(path.join(runs, "rl", "bcr", "seed-1", "config.json"), "utf8"));
    assert.equal(bcrCfg.sampling.budget, summary.derived.bcrBudget);
    assert.equal(bcrCfg.init, path.join(runs, "sft"));
    // every record of every worker reached onStep, as written to its metrics.jsonl
    assert.deepEqual([...steps.keys()].sort(), [
      "bcr/seed-1",
      "kimi/seed-1",
      "l1-exact@0.01/seed-1",
      "linear@5/seed-1",
      "single/seed-1",
    ]);
    for (const [run, records] of steps)
      assert.deepEqual(records, readJsonl(path.join(runs, "rl", run, "metrics.jsonl")), run);

    // Checkable from the results alone: a copy of results/ without the runs folder re-judges every
    // claim from eval-rows.jsonl.gz with the same numbers and verdicts.
    assert.ok(fs.existsSync(path.join(out, "eval-rows.jsonl.gz")));
    const copy = path.join(dir, "results-copy"),
      noRuns = path.join(dir, "no-runs");
    fs.cpSync(out, copy, { recursive: true });
    fs.rmSync(path.join(copy, "claims.json"));
    const rejudged = await reproduce(config, {
      runs: noRuns,
      out: copy,
      only: ["analysis", "report"],
      progress: false,
      log,
    });
    assert.deepEqual(Object.keys(rejudged.stages), ["analysis", "report"]);
    const strip = (c: Record<string, unknown>) => ({ ...c, wall_s: 0 });
    const before = JSON.parse(fs.readFileSync(path.join(out, "claims.json"), "utf8"));
    const after = JSON.parse(fs.readFileSync(path.join(copy, "claims.json"), "utf8"));
    assert.deepEqual(strip(after), strip(before));
    assert.ok(!fs.existsSync(path.join(noRuns, "rl")), "nothing trained");
    assert.ok(lines.some((l) => l.includes("re-judging from")));

    const again = await reproduce(config, { runs, out, progress: false, log });
    assert.deepEqual(
      Object.values(again.stages).map((s) => s.action),
      ["skip", "skip", "skip", "skip", "skip", "skip"],
    );

    const stricter = ReproduceConfigSchema.parse({ ...tiny, claims: { freeLunchMinReduction: 0.9 } });
    const third = await reproduce(stricter, { runs, out, progress: false, log });
    assert.deepEqual(
      Object.values(third.stages).map((s) => s.action),
      ["skip", "skip", "skip", "skip", "fresh", "fresh"],
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("demoModelDir: the default run's demo model goes to results/models/sft, others' and any --out run's beside their results", () => {
  const ladder = loadConfig("configs/reproduce.json", ReproduceConfigSchema);
  assert.equal(ladder.out, "docs/history/ladder");
  assert.equal(demoModelDir(ladder, {}, ladder.out), "results/models/sft");
  assert.equal(demoModelDir(ladder, { out: "/tmp/x" }, "/tmp/x"), path.join("/tmp/x", "models", "sft"));
  const essential = loadConfig("configs/reproduce-essential.json", ReproduceConfigSchema);
  assert.equal(demoModelDir(essential, {}, essential.out), path.join("docs/history/essential", "models", "sft"));
});

test("rlConfigFor: same RL budget for every method; bcr gets the derived tight budget; l1 a target length", () => {
  const config = ReproduceConfigSchema.parse({});
  const derived = derive(config, {
    meanEssentialTokens: 27.7,
    meanRedundantTokens: 52,
    meanShortcutTokens: 5,
    sftExamples: 1,
    sftStyleShares: {},
  });
  assert.equal(derived.bcrBudget, Math.ceil(1.2 * 3 * 27.7));
  assert.equal(derived.targetLength, 28);
  const L = layout("runs/reproduce", "results");
  const cfgs = config.rl.methods.map((m) => rlConfigFor(config, m, 2, derived, L.sft));
  assert.deepEqual(
    cfgs.map((c) => c.method),
    ["single", "bcr", "linear@5", "kimi", "l1-exact@0.01"],
  );
  for (const c of cfgs) {
    assert.equal(c.steps, config.rl.steps);
    assert.equal(c.sampling.promptsPerStep, config.rl.promptsPerStep);
    assert.equal(c.sampling.groupSize, config.rl.groupSize);
    assert.equal(c.seed, 2);
    assert.equal(c.init, path.join("runs/reproduce", "sft"));
    assert.deepEqual(RlConfigSchema.parse(JSON.parse(JSON.stringify(c))), c, "a written config parses back to itself");
  }
  assert.equal(cfgs[1]!.sampling.budget, derived.bcrBudget);
  assert.equal(cfgs[1]!.n, 3);
  assert.equal(cfgs[0]!.sampling.budget, config.rl.singleBudget);
  assert.equal(cfgs[4]!.shaping.targetLength, 28);
  assert.equal(cfgs[2]!.shaping.targetLength, undefined);

  // N drawn from a list: one budget for every N, from the list's mean (2+3+7)/3 = 4.
  const listed = ReproduceConfigSchema.parse({ rl: { bcr: { n: [2, 3, 7] } } });
  const d2 = derive(listed, {
    meanEssentialTokens: 27.7,
    meanRedundantTokens: 52,
    meanShortcutTokens: 5,
    sftExamples: 1,
    sftStyleShares: {},
  });
  assert.equal(d2.bcrBudget, Math.ceil(1.2 * 4 * 27.7));
  const bcr2 = rlConfigFor(listed, listed.rl.methods[1]!, 1, d2, L.sft);
  assert.deepEqual(bcr2.n, [2, 3, 7]);
  assert.equal(bcr2.sampling.budget, d2.bcrBudget);
  assert.deepEqual(RlConfigSchema.parse(JSON.parse(JSON.stringify(bcr2))), bcr2);
});

test("sft.extend: the data stage writes the second phase's packs; the sft stage trains sft-base, then continues it in sft/ with a longer context", {
  timeout: 120_000,
}, async () => {
  const dir = tempDir("bcr-reproduce-extend-");
  const runs = path.join(dir, "runs"),
    out = path.join(dir, "results");
  const base = tiny.sft!;
  const run = {
    ...base.run!,
    model: { ...base.run!.model!, blockSize: 192 },
    train: { ...base.run!.train!, steps: 3 },
  };
  try {
    const config = ReproduceConfigSchema.parse({
      ...tiny,
      sft: { ...base, extend: { examples: 60, groupSizes: [3, 4], run } },
    });
    const r = await reproduce(config, { runs, out, progress: false, log: () => {}, only: ["data", "sft"] });
    assert.deepEqual(Object.keys(r.stages), ["data", "sft"]);
    const sizes = (f: string) =>
      new Set(
        fs
          .readFileSync(path.join(runs, "data", f), "utf8")
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l).n as number),
      );
    assert.deepEqual([...sizes("sft.jsonl")].sort(), [1, 2]);
    assert.deepEqual([...sizes("sft-extend.jsonl")].sort(), [3, 4]);
    assert.equal(JSON.parse(fs.readFileSync(path.join(runs, "data", "stats.json"), "utf8")).sftExtendExamples, 60);
    // Phase one ran its 4 steps at blockSize 128; phase two its 3 from phase one's weights at 192.
    const latest = (d: string, f: string) =>
      JSON.parse(fs.readFileSync(path.join(latestCheckpoint(path.join(runs, d, "checkpoints"))!, f), "utf8"));
    const model = (d: string) => latest(d, "model.json").config;
    const state = (d: string) => latest(d, "state.json").step;
    assert.equal(model("sft-base").blockSize, 128);
    assert.equal(model("sft").blockSize, 192);
    assert.deepEqual([state("sft-base"), state("sft")], [4, 3]);
    assert.equal(
      JSON.parse(fs.readFileSync(path.join(runs, "sft", "config.json"), "utf8")).init,
      path.join(runs, "sft-base"),
    );
    assert.equal((r.stages.sft!.info as { base: { step: number } }).base.step, 4);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("sft.extend: the second phase must keep the first phase's model (blockSize may grow) and leave init to the pipeline, each error naming its field", () => {
  const run = tiny.sft!.run!;
  const errors = (extendRun: object) => {
    const r = ReproduceConfigSchema.safeParse({
      ...tiny,
      sft: { ...tiny.sft, extend: { groupSizes: [8], run: extendRun } },
    });
    assert.equal(r.success, false);
    return r.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };
  assert.deepEqual(errors({ ...run, model: { ...run.model, nEmbd: 32 } }), [
    "sft.extend.run.model.nEmbd: must equal sft.run.model.nEmbd (16): the second phase continues the first model",
  ]);
  assert.deepEqual(errors({ ...run, model: { ...run.model, blockSize: 64 } }), [
    "sft.extend.run.model.blockSize: must be at least sft.run.model.blockSize (128): the context may grow, not shrink",
  ]);
  assert.deepEqual(errors({ ...run, init: "runs/x" }), [
    "sft.extend.run.init: is set by the pipeline (the first phase's run); leave it out",
  ]);
  assert.ok(
    ReproduceConfigSchema.safeParse({
      ...tiny,
      sft: { ...tiny.sft, extend: { groupSizes: [8], run: { ...run, model: { ...run.model, blockSize: 256 } } } },
    }).success,
  );
});

test("the SFT stage's hash carries the process's arithmetic fingerprint: an SFT model made under other arithmetic is trained again, not reused", {
  timeout: 120_000,
}, async () => {
  const dir = tempDir("bcr-reproduce-arith-");
  const runs = path.join(dir, "runs"),
    out = path.join(dir, "results");
  try {
    const config = ReproduceConfigSchema.parse(tiny);
    const lines: string[] = [];
    await reproduce(config, { runs, out, progress: false, log: (l) => lines.push(l), only: ["data", "sft"] });
    const engine = backendInfo()!.kernels?.engine;
    const fp = arithmeticFingerprint();
    assert.ok(
      lines.includes(`[reproduce] arithmetic fingerprint ${fp} (it enters the SFT stage's hash)`),
      lines.join("\n"),
    );
    const markerPath = path.join(runs, ".reproduce", "sft.json");
    const marker = JSON.parse(fs.readFileSync(markerPath, "utf8"));
    assert.equal(marker.hash, stageHashes(config, engine, fp).sft);
    assert.notEqual(marker.hash, stageHashes(config, engine).sft, "not the hash without the fingerprint");
    // The same folder as if its SFT model had been trained where the fingerprint was another.
    fs.writeFileSync(
      markerPath,
      JSON.stringify({ ...marker, hash: stageHashes(config, engine, "0123456789abcdef").sft }),
    );
    const again = await reproduce(config, { runs, out, progress: false, log: () => {}, only: ["data", "sft"] });
    assert.equal(again.stages.data!.action, "skip");
    assert.equal(again.stages.sft!.action, "fresh");
    assert.equal(JSON.parse(fs.readFileSync(markerPath, "utf8")).hash, marker.hash);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a stop request during SFT: reproduce rejects with RunStopped, the stage stays unfinished, and the next call resumes and finishes it", {
  timeout: 120_000,
}, async () => {
  const dir = tempDir("bcr-reproduce-stop-");
  const runs = path.join(dir, "runs"),
    out = path.join(dir, "results");
  try {
    const config = ReproduceConfigSchema.parse(tiny);
    const ctl = new AbortController();
    // asked to stop as the sft stage starts: the trainer stops at its first step boundary
    const log = (l: string) => {
      if (/sft: running/.test(l)) ctl.abort();
    };
    await assert.rejects(
      reproduce(config, { runs, out, progress: false, log, only: ["data", "sft"], signal: ctl.signal }),
      (e: Error) =>
        e instanceof RunStopped && /^sft \(/.test(e.message) && /run the same command again/.test(e.message),
    );
    const marker = JSON.parse(fs.readFileSync(path.join(runs, ".reproduce", "sft.json"), "utf8"));
    assert.equal(marker.status, "running", "not marked done");
    const again = await reproduce(config, { runs, out, progress: false, log: () => {}, only: ["data", "sft"] });
    assert.equal(again.stages.data!.action, "skip");
    assert.equal(again.stages.sft!.action, "resume");
    assert.equal(JSON.parse(fs.readFileSync(path.join(runs, ".reproduce", "sft.json"), "utf8")).status, "done");
    assert.equal(path.basename(latestCheckpoint(path.join(runs, "sft", "checkpoints"))!), "step-0000004");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
