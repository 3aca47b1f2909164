import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { chooseOut } from "../../bench/lib/out.js";
import { settledLabel } from "../../src/profile/report.js";
import { tempDir } from "../helpers/tmp.js";

test("an unsettled run does not replace a settled bench.json unless --out or --force says so", () => {
  const dir = tempDir("bcr-bench-out-");
  const out = path.join(dir, "bench.json");
  const side = path.join(dir, "side.json");
  const opts = { out, outGiven: false, force: false };
  assert.deepEqual(chooseOut(opts, false, side), { file: out, why: null }); // nothing there yet
  fs.writeFileSync(out, JSON.stringify({ settled: false }));
  assert.equal(chooseOut(opts, false, side).file, out); // an unsettled one may be replaced
  fs.writeFileSync(out, JSON.stringify({ settled: true }));
  const kept = chooseOut(opts, false, side);
  assert.equal(kept.file, side);
  assert.match(kept.why!, /settled/);
  assert.equal(chooseOut(opts, true, side).file, out); // a settled run replaces it
  assert.equal(chooseOut({ ...opts, force: true }, false, side).file, out);
  assert.equal(chooseOut({ ...opts, outGiven: true }, false, side).file, out);
});

test("settledLabel marks a load above the limit and nothing at or below it", () => {
  assert.equal(settledLabel(0.5, 0.5), null);
  assert.equal(settledLabel(0.12, 0.5), null);
  assert.equal(settledLabel(3.14, 0.5), "unsettled (load 3.1)");
});
