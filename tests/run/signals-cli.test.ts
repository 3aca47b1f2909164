// Every long `bcr` command stops on SIGTERM/SIGINT at its next step or batch, keeps its work
// (a checkpoint, the sweep cache) and exits with the signal's conventional status: 143 for
// SIGTERM, 130 for SIGINT (issue 28.4; `bcr reproduce`: tests/e2e/reproduce-sigterm.test.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { signalExitCode } from "../../src/run/interrupt.js";
import { startBcr, waitFor } from "../helpers/child.js";
import { tempDir } from "../helpers/tmp.js";

const lineCount = (file: string) =>
  fs.existsSync(file)
    ? fs
        .readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "").length
    : 0;

/** Start `args`, send `sig` once `ready` holds, and return how it ended with its stderr. */
async function interrupt(args: string[], ready: () => boolean, what: string, sig: NodeJS.Signals) {
  const c = startBcr(args);
  await waitFor(c, ready, what, 120_000);
  c.child.kill(sig);
  const end = await c.exited;
  return { ...end, stderr: c.stderr() };
}

test("signalExitCode: 128 + the signal's number", () => {
  assert.equal(signalExitCode("SIGINT"), 130);
  assert.equal(signalExitCode("SIGTERM"), 143);
});

test("bcr sft, bcr train and bcr sweep: SIGTERM exits 143 and SIGINT 130, after saving their work; the next call resumes", {
  timeout: 300_000,
}, async () => {
  const dir = tempDir("bcr-signals-");
  const sft = path.join(dir, "sft");
  const sftArgs = [
    "sft",
    "--config",
    "configs/sft-tiny.json",
    "--out",
    sft,
    "--set",
    "model.blockSize=128",
    "--set",
    "train.steps=100000",
    "--set",
    "train.evalEvery=0",
    "--set",
    "train.checkpointEvery=0",
    "--set",
    "train.logEvery=1",
  ];
  const metrics = path.join(sft, "metrics.jsonl");
  const latest = path.join(sft, "checkpoints", "latest");
  const a = await interrupt(sftArgs, () => lineCount(metrics) >= 2, "two sft steps", "SIGTERM");
  assert.deepEqual([a.code, a.signal], [143, null], a.stderr);
  assert.match(
    a.stderr,
    /bcr sft: stopped at step \d+\/100000.*\nbcr sft: SIGTERM: stopped; run the same command again to resume/,
  );
  const stoppedAt = fs.readFileSync(latest, "utf8").trim();
  // SIGINT: 130, and this call went on from the checkpoint the first one saved
  const step = Number(stoppedAt.slice("step-".length));
  const b = await interrupt(sftArgs, () => lineCount(metrics) >= step + 2, "two more sft steps", "SIGINT");
  assert.deepEqual([b.code, b.signal], [130, null], b.stderr);
  assert.ok(fs.readFileSync(latest, "utf8").trim() > stoppedAt, "resumed, and saved a later checkpoint");

  const rl = path.join(dir, "rl");
  const trainArgs = [
    "train",
    "--out",
    rl,
    "--set",
    `init=${sft}`,
    ...[
      "kind=single",
      "method=single",
      "n=1",
      "task.levels=[1]",
      "steps=100000",
      "sampling.promptsPerStep=1",
      "sampling.groupSize=2",
      "sampling.budget=8",
      "task.evalProblems=2",
      "eval.every=0",
      "eval.budget=8",
    ].flatMap((kv) => ["--set", kv]),
  ];
  const c = await interrupt(trainArgs, () => lineCount(path.join(rl, "metrics.jsonl")) >= 1, "an RL step", "SIGTERM");
  assert.deepEqual([c.code, c.signal], [143, null], c.stderr);
  assert.match(c.stderr, /bcr train: SIGTERM: stopped; run the same command again to resume/);
  assert.ok(fs.existsSync(path.join(rl, "checkpoints", "latest")), "checkpoint saved");

  const out = path.join(dir, "sweep");
  const cache = path.join(out, "cache.jsonl");
  const sweepArgs = ["sweep", "--model", `local:${sft}`, "--data", "synthetic", "--count", "2000"];
  sweepArgs.push("--levels", "1", "--ns", "1", "--budget", "fixed:16", "--out", out, "--batch-size", "1");
  const d = await interrupt(sweepArgs, () => lineCount(cache) >= 1, "a sweep group", "SIGTERM");
  assert.deepEqual([d.code, d.signal], [143, null], d.stderr);
  assert.match(d.stderr, /bcr sweep: SIGTERM: stopped; the groups finished so far are cached/);
  const kept = lineCount(cache);
  assert.ok(kept >= 1 && kept < 2000);
  const e = await interrupt(sweepArgs, () => lineCount(cache) > kept, "another sweep group", "SIGINT");
  assert.deepEqual([e.code, e.signal], [130, null], e.stderr);
  assert.ok(lineCount(cache) > kept, "the cache grew from where it was");
});
