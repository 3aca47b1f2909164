import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { initBackend } from "../../src/engine/backend.js";
import { GPT } from "../../src/model/gpt.js";
import { RunFolder } from "../../src/run/folder.js";
import { runFile } from "../../src/run/files.js";
import { tempDir } from "../helpers/tmp.js";

before(async () => {
  await initBackend("cpu");
});

const tinyModel = () => new GPT({ vocabSize: 8, blockSize: 8, nEmbd: 4, nLayer: 1, nHead: 1, dropout: 0, seed: 1 });

test("header, a different config refused, summary round trip", () => {
  const dir = path.join(tempDir("bcr-run-"), "run");
  const run = new RunFolder(dir);
  assert.equal(run.hasConfig(), false);
  run.requireSameConfig({ a: 1 }); // a new folder takes any config
  run.writeHeader({ a: 1 });
  assert.equal(run.hasConfig(), true);
  assert.ok(fs.existsSync(runFile(dir, "backend")));
  run.requireSameConfig({ a: 1 });
  assert.throws(
    () => run.requireSameConfig({ a: 2 }),
    (e: Error) => e.message.startsWith(runFile(dir, "config")) && /different config/.test(e.message),
  );
  assert.equal(run.hasSummary(), false);
  run.writeSummary({ steps: 3 });
  assert.deepEqual(run.readSummary(), { steps: 3 });
});

test("resume loads the latest checkpoint and drops the metrics at and after its step; startFresh forgets everything", () => {
  const dir = tempDir("bcr-run-");
  const run = new RunFolder(dir);
  run.writeHeader({});
  assert.equal(run.resume(), null, "no checkpoint yet");
  const model = tinyModel();
  for (let step = 0; step < 5; step++) {
    run.metrics.append({ step, loss: 5 - step });
    if (step === 1 || step === 3) run.saveCheckpoint({ model, step: step + 1 }, 0);
  }
  run.logSample({ step: 0, text: "x" });
  const ck = run.resume();
  assert.equal(ck?.step, 4);
  assert.deepEqual(
    run.metrics.read().map((r) => r.step),
    [0, 1, 2, 3],
  );
  run.startFresh();
  assert.equal(run.latestCheckpoint(), null);
  assert.deepEqual(run.metrics.read(), []);
  assert.equal(fs.existsSync(runFile(dir, "samples")), false);
  assert.ok(run.hasConfig(), "the header stays");
  model.dispose();
});
