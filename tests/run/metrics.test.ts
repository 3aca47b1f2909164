import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { MetricsLog } from "../../src/run/metrics.js";
import { tempDir } from "../helpers/tmp.js";

test("keepBefore(c) keeps exactly the records measured before the checkpoint at c", () => {
  const seen: number[] = [];
  const log = new MetricsLog(path.join(tempDir("bcr-run-"), "metrics.jsonl"), (r) => seen.push(r.step!));
  for (const step of [0, 1, 2, 2, 3, 4]) log.append({ step, x: step * 10 });
  assert.deepEqual(seen, [0, 1, 2, 2, 3, 4], "every record reaches the hook");
  log.keepBefore(2);
  assert.deepEqual(
    log.read().map((r) => r.step),
    [0, 1],
  );
  assert.equal(log.has(1), true);
  assert.equal(log.has(2), false);
  log.keepBefore(0);
  assert.deepEqual(log.read(), []);
});

test("a missing file reads as no records; clear removes it; keepBefore on none writes nothing", () => {
  const file = path.join(tempDir("bcr-run-"), "metrics.jsonl");
  const log = new MetricsLog(file);
  assert.deepEqual(log.read(), []);
  log.keepBefore(3);
  assert.equal(fs.existsSync(file), false);
  log.append({ step: 0 });
  log.clear();
  assert.equal(fs.existsSync(file), false);
});
