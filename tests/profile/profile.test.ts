import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
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
    "% peak",
  ])
    assert.ok(res.stdout.includes(label), `stdout lacks "${label}":\n${res.stdout}`);
  assert.match(res.stdout, /load average \d+\.\d\d/);
  const r = JSON.parse(fs.readFileSync(out, "utf8"));
  assert.equal(r.settledLoadLimit, 0.5);
  assert.equal(r.loadAvgAtStart.length, 3);
  assert.equal(r.settled, r.loadAvgAtStart[0] <= 0.5);
  if (!r.settled) assert.match(res.stdout, /unsettled \(load \d+\.\d\)/);
  assert.ok(r.peak.gflops > 0);
  assert.equal(r.model.nEmbd, 32); // --quick's tiny model
  assert.match(r.config.file, /configs\/study\/A\.json$/);
  assert.deepEqual(r.skipped, []);
  assert.deepEqual(
    r.phases.map((p: { id: string }) => p.id),
    PHASES,
  );
  for (const p of r.phases) {
    for (const k of ["wallMs", "kernelMs", "outsideMs", "kernelCalls", "flops", "gflopPerS", "peakShare"])
      assert.ok(Number.isFinite(p[k]) && p[k] >= 0, `${p.id}.${k} = ${p[k]}`);
    assert.ok(p.flops > 0 && p.kernelCalls > 0, p.id);
    assert.equal(typeof p.shape, "string");
    const sum = p.kernels.reduce((a: number, k: { ms: number }) => a + k.ms, 0);
    assert.ok(
      Math.abs(sum - p.kernelMs) < 1e-6 * Math.max(1, p.kernelMs),
      `${p.id}: kernels sum ${sum} != ${p.kernelMs}`,
    );
    assert.ok(p.kernelMs <= p.wallMs, `${p.id}: kernel ms ${p.kernelMs} > wall ${p.wallMs}`);
    assert.ok(Math.abs(p.gflopPerS / r.peak.gflops - p.peakShare) < 1e-9, p.id);
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
