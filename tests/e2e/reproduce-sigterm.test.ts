// SIGTERM during `bcr reproduce --quick`'s eval stage (issue 28.4): the stage stops before its
// next batch of groups, keeps what is done (sweepN's caches), stays unfinished and the command
// exits 143; running it again resumes the eval stage from the cache and finishes it.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { readMarker } from "../../src/reproduce/stages.js";
import { startBcr, waitFor } from "../helpers/child.js";
import { tempDir } from "../helpers/tmp.js";

const lines = (file: string) =>
  fs.existsSync(file)
    ? fs
        .readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "")
    : [];

test("SIGTERM during reproduce's eval stage: exit 143, the eval stage is not done, its finished groups are kept, and a re-run resumes", {
  timeout: 600_000,
}, async () => {
  const tmp = tempDir("bcr-sigterm-");
  const runs = path.join(tmp, "runs");
  const args = [
    "reproduce",
    "--quick",
    "--out",
    path.join(tmp, "results"),
    "--runs",
    runs,
    "--quiet",
    // smaller than --quick where it does not matter here: a short SFT, and small eval batches so
    // the stage has many batch boundaries to stop at
    "--set",
    "sft.run.train.steps=20",
    "--set",
    "eval.batchSize=4",
  ];
  const cache = path.join(runs, "eval", "sft", "n1", "cache.jsonl");
  const first = startBcr(args);
  // The moment: the eval stage has started and finished its first batch of the first model.
  await waitFor(first, () => /\[reproduce\] eval: running/.test(first.stderr()), "eval stage log line");
  await waitFor(first, () => lines(cache).length > 0, "a finished eval group");
  first.child.kill("SIGTERM");
  const end = await first.exited;
  assert.deepEqual(end, { code: 143, signal: null }, first.stderr());
  assert.match(first.stderr(), /bcr reproduce: eval \(.*\) stopped \(the groups finished so far are cached\)/);
  assert.doesNotMatch(first.stderr(), /\[reproduce\] eval: done/);
  const marker = readMarker(runs, "eval");
  assert.equal(marker?.status, "running", "the eval stage is not done");
  assert.equal(readMarker(runs, "rl")?.status, "done");
  const kept = lines(cache);
  assert.ok(kept.length > 0, "the groups finished before the signal are in the cache");
  assert.ok(!fs.existsSync(path.join(runs, "eval", "l1-exact@0.01", "seed-1", "eval.json")), "stopped early");

  // Running it again (only the eval stage, to keep the test short) resumes from the cache.
  const again = startBcr([...args, "--only", "eval"]);
  const end2 = await again.exited;
  assert.deepEqual(end2, { code: 0, signal: null }, again.stderr());
  assert.match(again.stderr(), /\[reproduce\] eval: resuming/);
  assert.equal(readMarker(runs, "eval")?.status, "done");
  const after = lines(cache);
  assert.deepEqual(after.slice(0, kept.length), kept, "the cached groups are kept as they were");
  const keys = after.map((l) => JSON.stringify((JSON.parse(l) as { key: unknown }).key));
  assert.equal(new Set(keys).size, keys.length, "no group asked twice: the finished ones came from the cache");
});
