import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as aq from "arquero";
import { asRuns, loadRuns, RUN_COLUMNS } from "../../src/frame/runs.js";
import { readRuns, stabilityRows, stabilityTable } from "../../src/analysis/stability.js";
import { tempDir } from "../helpers/tmp.js";

/** A row of a table read back (arquero types `objects()` as `object[]`). */
type Row = Record<string, unknown>;

const FIX = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");

test("loadRuns on a runs folder: one row per logged step, records of one step merged, SFT runs skipped", async () => {
  const t = await loadRuns(path.join(FIX, "runs-folder"));
  assert.deepEqual(t.columnNames(), [
    ...RUN_COLUMNS,
    "eval/accuracy",
    "eval/tokens_per_problem",
    "reward/accuracy",
    "length/mean",
    "grad/norm",
  ]);
  assert.deepEqual(t.objects() as Row[], [
    {
      experiment: "reproduce",
      method: "single",
      sft_seed: 0,
      rl_seed: 1,
      step: 0,
      "eval/accuracy": 0.4,
      "eval/tokens_per_problem": 19.5,
      "reward/accuracy": 0.3,
      "length/mean": 16,
      "grad/norm": null,
    },
    {
      experiment: "reproduce",
      method: "single",
      sft_seed: 0,
      rl_seed: 1,
      step: 1,
      "eval/accuracy": null,
      "eval/tokens_per_problem": null,
      "reward/accuracy": 0.5,
      "length/mean": 15,
      "grad/norm": 0.7,
    },
    {
      experiment: "reproduce",
      method: "single",
      sft_seed: 0,
      rl_seed: 1,
      step: 2,
      "eval/accuracy": 0.6,
      "eval/tokens_per_problem": 18,
      "reward/accuracy": 0.55,
      "length/mean": null,
      "grad/norm": null,
    },
  ]);
});

test("loadRuns on an archive: its run lines, sorted by seeds; long form has one row per finite number", async () => {
  const wide = await loadRuns(path.join(FIX, "results"));
  assert.equal(wide.numRows(), 4 * 4);
  assert.deepEqual(
    (wide.filter((d) => d.step === 0).objects() as Row[]).map((r) => [r.sft_seed, r.rl_seed, r["reward/accuracy"]]),
    [
      [0, 1, 0.21],
      [0, 2, 0.22],
      [1, 1, 0.26],
      [1, 2, 0.27],
    ],
  );
  const long = await loadRuns(path.join(FIX, "results"), { long: true });
  assert.deepEqual(long.columnNames(), [...RUN_COLUMNS, "metric", "value"]);
  assert.equal(long.numRows(), 4 * 4 * 2);
  assert.deepEqual(long.slice(0, 2).objects() as Row[], [
    { experiment: "default", method: "bcr", sft_seed: 0, rl_seed: 1, step: 0, metric: "reward/accuracy", value: 0.21 },
    { experiment: "default", method: "bcr", sft_seed: 0, rl_seed: 1, step: 0, metric: "length/mean", value: 30 },
  ]);
});

test("loadRuns: a run folder given directly, gzipped metrics, a record without step, and errors naming the file", async () => {
  const dir = tempDir("bcr-frame-runs-");
  const run = path.join(dir, "rl", "bcr", "seed-3");
  fs.mkdirSync(run, { recursive: true });
  fs.writeFileSync(path.join(run, "config.json"), JSON.stringify({ method: "bcr", seed: 3, sftSeed: 2 }));
  const { gzipSync } = await import("node:zlib");
  fs.writeFileSync(path.join(run, "metrics.jsonl.gz"), gzipSync('{"loss/policy":1}\n{"loss/policy":0.5,"note":"x"}\n'));
  const t = await loadRuns(dir);
  assert.deepEqual(t.objects() as Row[], [
    { experiment: "default", method: "bcr", sft_seed: 2, rl_seed: 3, step: 0, "loss/policy": 1 },
    { experiment: "default", method: "bcr", sft_seed: 2, rl_seed: 3, step: 1, "loss/policy": 0.5 },
  ]);
  fs.writeFileSync(path.join(run, "config.json"), JSON.stringify({ method: "bcr" }));
  await assert.rejects(loadRuns(dir), /seed-3\/config\.json: column "seed" is missing/);
  fs.writeFileSync(path.join(run, "config.json"), JSON.stringify({ method: "bcr", seed: 3 }));
  fs.rmSync(path.join(run, "metrics.jsonl.gz"));
  fs.writeFileSync(path.join(run, "metrics.jsonl"), '{"step":0,"a":1}\n{"step":"one","a":2}\n');
  await assert.rejects(loadRuns(dir), /seed-3\/metrics\.jsonl:2: "step" should be a number/);
  await assert.rejects(loadRuns(tempDir("bcr-frame-empty-")), /no RL run under/);
});

test("asRuns: the wide table back as one Run per (experiment, method, sft_seed, rl_seed), null cells dropped, for stabilityTable", async () => {
  const t = aq.table({
    experiment: ["e", "e", "e", "e"],
    method: ["bcr", "bcr", "single", "bcr"],
    sft_seed: [0, 0, 0, 1],
    rl_seed: [1, 1, 1, 1],
    step: [0, 1, 0, 0],
    "eval/accuracy": [0.4, null, 0.5, 0.3],
    "grad/norm": [null, 0.7, 0.2, 0.1],
  });
  const runs = asRuns(t);
  assert.deepEqual(runs, [
    {
      dir: "",
      name: "bcr/sft-0/seed-1",
      config: { method: "bcr", seed: 1, sftSeed: 0 },
      metrics: [
        { step: 0, "eval/accuracy": 0.4 },
        { step: 1, "grad/norm": 0.7 },
      ],
    },
    {
      dir: "",
      name: "single/sft-0/seed-1",
      config: { method: "single", seed: 1, sftSeed: 0 },
      metrics: [{ step: 0, "eval/accuracy": 0.5, "grad/norm": 0.2 }],
    },
    {
      dir: "",
      name: "bcr/sft-1/seed-1",
      config: { method: "bcr", seed: 1, sftSeed: 1 },
      metrics: [{ step: 0, "eval/accuracy": 0.3, "grad/norm": 0.1 }],
    },
  ]);
  const long = await loadRuns(path.join(FIX, "runs-folder"), { long: true });
  assert.throws(
    () => asRuns(long.select("experiment", "method", "sft_seed", "rl_seed", "metric", "value")),
    /asRuns: no column step/,
  );
  // The same runs through run folders (readRuns) and through the table: the same stability table.
  const folder = path.join(FIX, "runs-folder");
  assert.deepEqual(
    stabilityRows(stabilityTable(asRuns(await loadRuns(folder)), { seed: 0 })),
    stabilityRows(stabilityTable(readRuns(path.join(folder, "reproduce", "rl")), { seed: 0 })),
  );
});
