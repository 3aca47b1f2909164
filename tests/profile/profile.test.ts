import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { root } from "../helpers/child.js";
import { tempDir } from "../helpers/tmp.js";

const bcr = (args: string[]) =>
  spawnSync(process.execPath, [path.join(root, "bin/bcr.js"), "profile", ...args], { cwd: root, encoding: "utf8" });

const PHASES = ["sft", "sft-dp", "rl-rollout", "rl-update", "eval"];

// The shape of the output, not timings: figures only have to be there, finite and consistent.
test("bcr profile --quick prints every phase, and its JSON has every field with kernels within the wall", () => {
  const out = path.join(tempDir("bcr-profile-"), "profile.json");
  const res = bcr(["--quick", "--workers", "2", "--json", out]);
  assert.equal(res.status, 0, res.stderr.slice(-3000));
  for (const label of [
    "sft step, 1 worker",
    "sft step, 2 workers",
    "rl rollout",
    "rl update",
    "eval batch",
    "kernel ms per step",
    "outside kernels",
    "% 1-thread peak",
    "% machine peak",
  ])
    assert.ok(res.stdout.includes(label), `stdout lacks "${label}":\n${res.stdout}`);
  assert.match(res.stdout, /load average \d+\.\d\d/);
  const r = JSON.parse(fs.readFileSync(out, "utf8"));
  assert.equal(r.settledLoadLimit, 0.5);
  assert.equal(r.loadAvgAtStart.length, 3);
  assert.equal(r.settled, r.loadAvgAtStart[0] <= 0.5);
  if (!r.settled) assert.match(res.stdout, /unsettled \(load \d+\.\d\)/);
  // both sgemm peaks of this run (src/engine/peak.ts), in the header and the JSON; the
  // all-cores one needs OpenBLAS's thread control, the native kernel set (else it is null)
  const { oneThread, allCores, cores } = r.peak;
  assert.equal(cores, os.availableParallelism());
  assert.ok(oneThread.gflops > 0 && oneThread.threads === 1, JSON.stringify(r.peak));
  if (r.backend.kernels?.engine === "native") {
    assert.ok(allCores.gflops > 0 && allCores.threads === cores, JSON.stringify(r.peak));
    const header = `sgemm peak .*: 1 thread [\\d.,]+ GFLOP/s, ${cores} threads \\(the machine\\) [\\d.,]+ GFLOP/s`;
    assert.match(res.stdout, new RegExp(header));
  } else assert.equal(allCores, null);
  const share = (peak: { gflops: number } | null, gflopPerS: number) => (peak ? gflopPerS / peak.gflops : null);
  assert.equal(r.model.nEmbd, 32); // --quick's tiny model
  assert.match(r.config.file, /configs\/study\/A\.json$/);
  assert.deepEqual(r.skipped, []);
  assert.deepEqual(
    r.phases.map((p: { id: string }) => p.id),
    PHASES,
  );
  const blasThreads = r.backend.kernels?.engine === "native" ? r.backend.kernels.threads : r.backend.threads;
  for (const p of r.phases) {
    for (const k of ["wallMs", "kernelMs", "outsideMs", "kernelCalls", "flops", "gflopPerS", "oneThreadPeakShare"])
      assert.ok(Number.isFinite(p[k]) && p[k] >= 0, `${p.id}.${k} = ${p[k]}`);
    assert.ok(p.flops > 0 && p.kernelCalls > 0, p.id);
    assert.equal(typeof p.shape, "string");
    const sum = p.kernels.reduce((a: number, k: { ms: number }) => a + k.ms, 0);
    assert.ok(
      Math.abs(sum - p.kernelMs) < 1e-6 * Math.max(1, p.kernelMs),
      `${p.id}: kernels sum ${sum} != ${p.kernelMs}`,
    );
    assert.ok(p.kernelMs <= p.wallMs, `${p.id}: kernel ms ${p.kernelMs} > wall ${p.wallMs}`);
    assert.equal(p.oneThreadPeakShare, share(oneThread, p.gflopPerS), p.id);
    assert.equal(p.machinePeakShare, share(allCores, p.gflopPerS), p.id);
    // the MFU: work on one thread (one worker, 1 OpenBLAS thread a call: BCR_BLAS_THREADS's default)
    // against the 1-thread peak, the 2 workers against the machine's
    assert.equal(p.threads, (p.id === "sft-dp" ? 2 : 1) * blasThreads, p.id);
    const against = p.threads > 1 ? "allCores" : "oneThread";
    assert.equal(p.mfuAgainst, against, p.id);
    assert.equal(p.mfu, against === "allCores" ? p.machinePeakShare : p.oneThreadPeakShare, p.id);
  }
});

test("a bad flag exits non-zero and names the flag", () => {
  const unknown = bcr(["--bogus"]);
  assert.notEqual(unknown.status, 0);
  assert.match(unknown.stderr, /--bogus/);
  const steps = bcr(["--steps", "0"]);
  assert.notEqual(steps.status, 0);
  assert.match(steps.stderr, /--steps must be an integer >= 1, got '0'/);
  const missing = bcr(["--config", "no/such/config.json"]);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /no\/such\/config\.json: no such file/);
});
