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
  assert.equal(await sft.run(["--config", "configs/sft-tiny.json", "--out", run, "--backend", backend,
    "--set", "train.steps=1", "--set", "train.evalEvery=0", "--set", "train.checkpointEvery=0"]), 0);
  const data = path.join(run, "problems.jsonl");
  fs.writeFileSync(data, ['{"id":"a","question":"1+2","answer":"3"}', '{"id":"b","question":"7-5+1","answer":"3"}'].join("\n") + "\n");
  const out = path.join(run, "sweep");
  assert.equal(await sweep.run(["--model", `local:${run}`, "--data", data, "--ns", "1,2", "--budget", "fixed:8", "--out", out]), 0);
  const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8"));
  assert.equal(summary.template, "compact");
  for (const r of summary.perN) assert.equal(r.failed, 0, `N=${r.n}: ${r.failed} failed groups`);
});
