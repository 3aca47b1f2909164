import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadSyntheticDataset, writeSyntheticDataset } from "../../src/tasks/index.js";

test("the data set is seeded, disjoint, and verified on load", () => {
  const dir = tempDir("bcr-synth-");
  const opts = { seed: 7, train: 300, test: 50, levels: [2, 3] };
  const m = writeSyntheticDataset(dir, opts);
  assert.deepEqual(m.counts, { train: 300, test: 50 });
  const train = loadSyntheticDataset(dir, "train");
  const test_ = loadSyntheticDataset(dir, "test");
  assert.equal(train.length, 300);
  const trainQ = new Set(train.map((p) => p.question));
  assert.equal(trainQ.size, 300);
  assert.ok(test_.every((p) => !trainQ.has(p.question)));
  const before = fs.readFileSync(path.join(dir, "train.jsonl"), "utf8");
  assert.deepEqual(writeSyntheticDataset(dir, opts), m); // same seed, same bytes
  assert.equal(fs.readFileSync(path.join(dir, "train.jsonl"), "utf8"), before);

  fs.appendFileSync(path.join(dir, "test.jsonl"), JSON.stringify({ id: "x", question: "1+1", answer: "2" }) + "\n");
  assert.throws(() => loadSyntheticDataset(dir, "test"), /test\.jsonl: sha256 mismatch/);
  fs.rmSync(path.join(dir, "manifest.json"));
  assert.throws(() => loadSyntheticDataset(dir, "train"), /manifest\.json not found.*npm run datasets/);
  assert.throws(() => writeSyntheticDataset(dir, { seed: 1, train: 100000, test: 10, levels: [1] }), /distinct/);
});
