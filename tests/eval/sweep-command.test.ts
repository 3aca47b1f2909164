import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { tempDir } from "../helpers/tmp.js";
import { command as sft } from "../../src/cli/commands/sft.js";
import { command as sweep } from "../../src/cli/commands/sweep.js";

test("bcr sweep with a local model and a problem file defaults to the compact template (the only one a char model can spell)", async () => {
  const run = tempDir("bcr-sweepcli-");
  const backend = process.env.BCR_BACKEND ?? "auto";
  assert.equal(
    await sft.run([
      "--config",
      "configs/sft-tiny.json",
      "--out",
      run,
      "--backend",
      backend,
      "--set",
      "train.steps=1",
      "--set",
      "train.evalEvery=0",
      "--set",
      "train.checkpointEvery=0",
    ]),
    0,
  );
  const data = path.join(run, "problems.jsonl");
  fs.writeFileSync(
    data,
    ['{"id":"a","question":"1+2","answer":"3"}', '{"id":"b","question":"7-5+1","answer":"3"}'].join("\n") + "\n",
  );
  const out = path.join(run, "sweep");
  assert.equal(
    await sweep.run(["--model", `local:${run}`, "--data", data, "--ns", "1,2", "--budget", "fixed:8", "--out", out]),
    0,
  );
  const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8"));
  assert.equal(summary.template, "compact");
  for (const r of summary.perN) assert.equal(r.failed, 0, `N=${r.n}: ${r.failed} failed groups`);
});

test("bcr sweep: a problem file that is empty, or bad on a line after blank ones, fails naming file:line before the output folder is made", async () => {
  const dir = tempDir("bcr-sweepdata-");
  const empty = path.join(dir, "empty.jsonl");
  fs.writeFileSync(empty, "\n");
  const bad = path.join(dir, "bad.jsonl");
  fs.writeFileSync(
    bad,
    ['{"id":"a","question":"1+2","answer":"3"}', "", "", '{"id":"b","question":"7-5+1"}'].join("\n"),
  );
  for (const [file, message] of [
    [empty, `${empty}: no records`],
    [bad, `${bad}:4: field "answer"`],
  ]) {
    const out = path.join(dir, "sweep");
    await assert.rejects(
      sweep.run([
        "--model",
        `local:${path.join(dir, "no-model")}`,
        "--data",
        file!,
        "--ns",
        "1",
        "--budget",
        "fixed:8",
        "--out",
        out,
      ]),
      (e: Error) => e.message.startsWith(message!),
    );
    assert.equal(fs.existsSync(out), false);
  }
});
