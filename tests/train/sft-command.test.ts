import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";
import { snapshotDir } from "../helpers/snapshot.js";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { command } from "../../src/cli/commands/sft.js";
import { UsageError } from "../../src/cli/command.js";
import { readJsonl } from "../../src/util/fsx.js";
import { backendInfo } from "../../src/engine/backend.js";

test("bcr sft runs a config with --set overrides into a run folder, and resumes there", async () => {
  const out = tempDir("bcr-sftcli-");
  const args = [
    "--config",
    "configs/sft-tiny.json",
    "--out",
    out,
    "--backend",
    process.env.BCR_BACKEND ?? "auto",
    "--set",
    "train.steps=4",
    "--set",
    "train.evalEvery=0",
    "--set",
    "train.checkpointEvery=0",
  ];
  assert.equal(await command.run([...args, "--max-steps", "2"]), 0);
  assert.equal(fs.readFileSync(path.join(out, "checkpoints", "latest"), "utf8").trim(), "step-0000002");
  assert.equal(await command.run(args), 0);
  const cfg = JSON.parse(fs.readFileSync(path.join(out, "config.json"), "utf8"));
  assert.equal(cfg.train.steps, 4);
  assert.equal(cfg.optim.lr, 0.01); // from the file
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, "backend.json"), "utf8")).name, backendInfo()!.name);
  const steps = readJsonl<{ step: number; "train/loss"?: number }>(path.join(out, "metrics.jsonl"))
    .filter((r) => r["train/loss"] !== undefined)
    .map((r) => r.step);
  assert.deepEqual(steps, [0, 1, 2, 3]); // step = updates before the measurement (src/run/metrics.ts)
  await assert.rejects(command.run(["--bogus"]), UsageError);
  await assert.rejects(command.run(["--max-steps", "0"]), /--max-steps must be an integer >= 1/);
});

test("bcr sft with an empty data file fails naming the file and leaves no run folder", async () => {
  const dir = tempDir("bcr-sftempty-");
  const empty = path.join(dir, "empty.jsonl");
  fs.writeFileSync(empty, "\n");
  const cases = [
    ["--set", `data.train=${empty}`],
    ["--set", `data.eval=${empty}`],
  ];
  for (const extra of cases) {
    const out = path.join(dir, "run");
    await assert.rejects(command.run(["--config", "configs/sft-tiny.json", "--out", out, ...extra]), (e: Error) =>
      e.message.startsWith(`${empty}: no records`),
    );
    assert.equal(fs.existsSync(out), false);
  }
});

test("a refused bcr sft writes nothing: an existing run folder stays byte-identical, a new one is not created", async () => {
  const out = path.join(tempDir("bcr-sftrefuse-"), "run");
  const args = ["--config", "configs/sft-tiny.json", "--out", out, "--backend", process.env.BCR_BACKEND ?? "auto"];
  const small = ["--set", "train.steps=4", "--set", "train.evalEvery=0", "--set", "train.checkpointEvery=0"];
  assert.equal(await command.run([...args, ...small, "--max-steps", "2"]), 0);
  const before = snapshotDir(out);
  assert.ok(before["config.json"] && before["checkpoints/latest"]);
  // A resume whose model differs from the checkpoint's is refused...
  await assert.rejects(command.run([...args, ...small, "--set", "model.nEmbd=16"]), /model config differs|nEmbd/);
  // ...and so is one whose checkpoint is damaged (the weights no longer match their sha256).
  const latest = fs.readFileSync(path.join(out, "checkpoints", "latest"), "utf8").trim();
  const weights = path.join(out, "checkpoints", latest, "weights.bin");
  const bytes = fs.readFileSync(weights);
  bytes[0] = bytes[0]! ^ 0xff;
  fs.writeFileSync(weights, bytes);
  const damaged = snapshotDir(out);
  await assert.rejects(command.run([...args, ...small, "--set", "optim.lr=0.02"]), /sha256|size|weights/);
  assert.deepEqual(snapshotDir(out), damaged, "the damaged folder is left as it was");
  bytes[0] = bytes[0]! ^ 0xff;
  fs.writeFileSync(weights, bytes);
  assert.deepEqual(snapshotDir(out), before, "the folder is byte-identical after the refused calls");

  // A new folder whose init checkpoint does not exist is not created at all.
  const fresh = path.join(path.dirname(out), "fresh");
  await assert.rejects(
    command.run([...args.slice(0, 2), "--out", fresh, "--set", `init=${path.join(out, "nowhere")}`]),
  );
  assert.equal(fs.existsSync(fresh), false, "no run folder");
});
