// Two SFT items side by side (src/study/side-by-side.ts): the quick study's experiment A run with
// its SFT seeds one at a time and two at a time gives byte-identical rows (the arithmetic does not
// depend on the process), each paired seed records its share of the elapsed time, and the rows'
// stage times use it; a share file with a bad factor is refused with its path.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { fileURLToPath } from "node:url";
import { loadStudy, sftSeedDir } from "../../src/study/config.js";
import { readRows } from "../../src/study/rows.js";
import { runStudy } from "../../src/study/runner.js";
import { RunStopped } from "../../src/run/interrupt.js";
import { timeShare } from "../../src/study/side-by-side.js";
import { tempDir } from "../helpers/tmp.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

async function runA(sideBySide: boolean, tmp = tempDir("bcr-sbs-"), stopAt?: RegExp) {
  const out = path.join(tmp, "out"),
    runs = path.join(tmp, "runs");
  const stop = new AbortController();
  await runStudy(loadStudy(path.join(root, "configs/study/quick.json")), {
    experiment: "A",
    out,
    runs,
    progress: false,
    report: false,
    sideBySide,
    costsFrom: path.join(root, "docs/history/ladder/summary.json"),
    signal: stop.signal,
    // Stops the study when a line matching stopAt is logged (the test of a stop mid-item).
    log: (l) => {
      if (stopAt?.test(l)) stop.abort();
    },
  });
  const file = path.join(out, "study", "A", "rows.jsonl.gz");
  const lines = zlib.gunzipSync(fs.readFileSync(file)).toString("utf8").split("\n");
  return { runs, rows: lines.slice(1).join("\n"), meta: readRows(file).meta };
}

test("SFT items side by side: the same rows as one at a time, and each seed's share of the elapsed time", {
  timeout: 600_000,
}, async () => {
  const alone = await runA(false);
  const paired = await runA(true);
  assert.ok(alone.rows.length > 1000, "rows were written");
  assert.equal(paired.rows, alone.rows, "rows differ between SFT seeds side by side and one at a time");
  const study = loadStudy(path.join(root, "configs/study/quick.json"));
  const seeds = study.experiments.find((e) => e.spec.id === "A")!.spec.sftSeeds;
  assert.ok(seeds.length >= 2);
  // Seeds 1 and 2 ran side by side; an odd last seed ran alone and has no share file.
  for (const [i, k] of seeds.entries()) {
    const f = path.join(sftSeedDir(paired.runs, "A", k), "side-by-side.json");
    const paired_ = i < seeds.length - (seeds.length % 2);
    assert.equal(fs.existsSync(f), paired_, `sft-${k}: side-by-side.json`);
    if (paired_) {
      const s = JSON.parse(fs.readFileSync(f, "utf8"));
      assert.ok(s.factor > 0 && s.factor <= 1, `factor ${s.factor}`);
      assert.equal(timeShare(path.dirname(f)), s.factor);
    }
    assert.equal(fs.existsSync(path.join(sftSeedDir(alone.runs, "A", k), "side-by-side.json")), false);
  }
  for (const s of ["sft", "gate", "rl", "eval"]) assert.equal(typeof paired.meta.wall[s], "number", s);
});

test("timeShare: 1 without a share file; a factor outside (0, 1] is refused naming the file", () => {
  const dir = tempDir("bcr-share-");
  assert.equal(timeShare(dir), 1);
  fs.writeFileSync(path.join(dir, "side-by-side.json"), JSON.stringify({ factor: 0.6 }));
  assert.equal(timeShare(dir), 0.6);
  for (const bad of [0, 1.5, "0.5", null]) {
    fs.writeFileSync(path.join(dir, "side-by-side.json"), JSON.stringify({ factor: bad }));
    assert.throws(() => timeShare(dir), /side-by-side\.json: factor must be a number in \(0, 1\]/);
  }
});

test("a stop while two SFT items run side by side: RunStopped, and the resumed study gives the same rows", {
  timeout: 600_000,
}, async () => {
  const tmp = tempDir("bcr-sbs-stop-");
  // Asked to stop as soon as the first item's SFT has started in its process.
  await assert.rejects(runA(true, tmp, /^\[sft-\d\] \[reproduce\] sft: running/), RunStopped);
  assert.equal(fs.existsSync(path.join(tmp, "out", "study", "A", "rows.jsonl.gz")), false, "no rows after a stop");
  const resumed = await runA(true, tmp);
  const alone = await runA(false);
  assert.equal(resumed.rows, alone.rows);
});
