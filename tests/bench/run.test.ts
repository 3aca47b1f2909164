import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { trainFlops } from "../../src/profile/flops.js";
import { tempDir } from "../helpers/tmp.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

// The shape of the JSON, not timings: numbers only have to be there and positive.
test("npm run bench -- --quick runs both models and writes the JSON (settled flag, load, both cases, ratios)", () => {
  const out = path.join(tempDir("bcr-bench-"), "bench.json");
  const res = spawnSync(
    process.execPath,
    ["--import", "tsx", "bench/run.ts", "--quick", "--no-torch", "--workers", "2", "--out", out],
    { cwd: root, encoding: "utf8", env: { ...process.env, BCR_BACKEND: process.env.BCR_BACKEND ?? "auto" } },
  );
  assert.equal(res.status, 0, res.stderr.slice(-2000));
  const r = JSON.parse(fs.readFileSync(out, "utf8"));
  assert.equal(typeof r.settled, "boolean");
  assert.equal(r.settledLoadLimit, 0.5);
  assert.equal(r.machine.loadAvgAtStart.length, 3);
  assert.equal(r.settled, r.machine.loadAvgAtStart[0] <= 0.5);
  if (!r.settled) assert.match(res.stdout, /unsettled \(load \d+\.\d\)/);
  assert.deepEqual(Object.keys(r.cases).sort(), ["default", "reproduce"]);
  // the reproduction's model, read from configs/reproduce.json
  const rep = r.cases.reproduce;
  assert.deepEqual(
    {
      nEmbd: rep.model.config.nEmbd,
      nLayer: rep.model.config.nLayer,
      nHead: rep.model.config.nHead,
      blockSize: rep.model.config.blockSize,
      positions: rep.model.config.positions,
    },
    { nEmbd: 128, nLayer: 2, nHead: 4, blockSize: 768, positions: "sections" },
  );
  assert.equal(rep.model.params, rep.model.expectedParams);
  assert.equal(r.cases.default.model.config.nEmbd, 64);
  type Case = {
    ours: {
      train: { tokensPerS: number };
      sample: { cached: { tokensPerS: number } };
      profiles: { train: { kernels: number } };
    };
    ratios: Record<string, number>;
  };
  for (const c of Object.values(r.cases) as Case[]) {
    assert.ok(c.ours.train.tokensPerS > 0);
    assert.ok(c.ours.sample.cached.tokensPerS > 0);
    assert.ok(c.ours.profiles.train.kernels > 0);
    assert.deepEqual(Object.keys(c.ratios).sort(), [
      "sampleCachedTokensPerS",
      "sampleFullTokensPerS",
      "trainParallelTokensPerS",
      "trainTokensPerS",
    ]);
    assert.equal(c.ratios.trainParallelTokensPerS, null);
    assert.equal(c.ratios.trainTokensPerS, null); // --no-torch: no ratio, rather than a made-up one
  }
  // the same steps data-parallel over 2 worker threads, and the scaling 1 -> 2
  assert.equal(rep.ours.trainParallel.workers, 2);
  assert.ok(rep.ours.trainParallel.tokensPerS > 0 && rep.ours.trainParallel.scaling > 0);
  assert.ok(rep.ours.trainParallel.coresBusy > 0 && rep.ours.train.coresBusy > 0);
  assert.equal(r.cases.default.ours.trainParallel, null);
  // the rollout's sampling in 1 and in 2 worker threads at once (bench/lib/decode.ts); no stop
  // tokens, so every thread writes every new token of every call
  const d = rep.ours.decode;
  assert.equal(d.single.tokens, d.batch * d.newTokens * d.rounds);
  assert.equal(d.parallel.workers, 2);
  assert.equal(d.parallel.tokens, 2 * d.single.tokens);
  assert.ok(d.single.tokensPerS > 0 && d.parallel.tokensPerS > 0 && d.scaling > 0 && d.parallel.coresBusy > 0);
  assert.equal(r.cases.default.ours.decode, null);
  // real SFT batches: right-padded to each batch's longest example, longer than a toy batch
  assert.ok(rep.ours.train.seqLens[0] > 64, `reproduce seq ${rep.ours.train.seqLens[0]}`);
  assert.equal(r.cases.default.ours.leakCheck.numTensorsAfter, r.cases.default.ours.leakCheck.numTensorsBefore);

  // The sgemm peak on one thread and on every core (src/engine/peak.ts), measured in this run,
  // and each training entry's MFU: model FLOPs per token x tokens/s over the all-cores peak.
  const peak = r.sgemmPeak;
  assert.equal(peak.n, 1024);
  assert.equal(peak.cores, r.machine.cores);
  assert.ok(peak.oneThread.threads === 1 && peak.oneThread.gflops > 0, JSON.stringify(peak));
  assert.equal(r.matmulGflops1024.ours, peak.oneThread.gflops);
  if (r.backend.kernels?.engine === "native")
    assert.ok(peak.allCores.threads === r.machine.cores && peak.allCores.gflops > 0, JSON.stringify(peak));
  assert.match(
    res.stdout,
    /sgemm peak \(1024\^3 float32 matmul, 1 call\(s\) each\): 1 thread [\d.,]+ GFLOP\/s, \d+ threads/,
  );
  type Train = { batch: number; seqLens: number[]; tokensPerS: number; flopsPerToken: number; mfu: number | null };
  const entries: [string, Train][] = [
    ["reproduce, 1 worker", rep.ours.train],
    ["reproduce, 2 workers", rep.ours.trainParallel],
    ["default, 1 worker", r.cases.default.ours.train],
  ];
  for (const [name, t] of entries) {
    // the timed steps' FLOPs counted as whole [B, T] steps, over their padded tokens
    const model = name.startsWith("default") ? r.cases.default.model.config : rep.model.config;
    const flops = t.seqLens.reduce((a, T) => a + trainFlops(model, t.batch, T), 0);
    const tokens = t.seqLens.reduce((a, T) => a + t.batch * T, 0);
    assert.ok(Math.abs(t.flopsPerToken - flops / tokens) <= 1e-9 * t.flopsPerToken, `${name}: ${t.flopsPerToken}`);
    if (!peak.allCores) {
      assert.equal(t.mfu, null, name);
      continue;
    }
    const mfu = (t.flopsPerToken * t.tokensPerS) / (peak.allCores.gflops * 1e9);
    assert.ok(
      t.mfu != null && t.mfu > 0 && Math.abs(t.mfu - mfu) <= 1e-9 * mfu,
      `${name}: mfu ${t.mfu}, expected ${mfu}`,
    );
  }
  assert.ok(res.stdout.includes("MFU, 1 worker"), res.stdout);
  assert.ok(res.stdout.includes("MFU, 2 workers"), res.stdout);
});
