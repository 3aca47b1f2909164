import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { checkpointsDir, latestPointer, RUN_FILES, runFile } from "../../src/run/files.js";

test("run-folder names are the ones on disk in old runs and results (renaming one orphans them)", () => {
  assert.deepEqual(RUN_FILES, {
    config: "config.json",
    backend: "backend.json",
    metrics: "metrics.jsonl",
    samples: "samples.jsonl",
    summary: "summary.json",
    log: "train.log",
    checkpoints: "checkpoints",
  });
  assert.equal(runFile("r", "metrics"), path.join("r", "metrics.jsonl"));
  assert.equal(checkpointsDir("r"), path.join("r", "checkpoints"));
  assert.equal(latestPointer("r"), path.join("r", "checkpoints", "latest"));
});
