import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  detectCollapse,
  metricCurve,
  readRun,
  readRuns,
  stabilityRows,
  stabilityTable,
  summarizeRun,
} from "../../src/analysis/stability.js";
import { toMarkdown } from "../../src/analysis/tables.js";
import { appendJsonl, writeJsonAtomic } from "../../src/util/fsx.js";
import { Rng } from "../../src/util/rng.js";

/** A synthetic run folder: accuracy follows acc(step); the length-penalty runs have negative cosine. */
function writeRun(root: string, method: string, seed: number, acc: (s: number) => number, cos: number | null) {
  const dir = path.join(root, `${method}-s${seed}`);
  writeJsonAtomic(path.join(dir, "config.json"), { method, seed, steps: 40 });
  const r = new Rng(seed);
  for (let s = 0; s < 40; s++) {
    const row: Record<string, number> = {
      step: s,
      "grad/norm": 1 + 0.1 * r.normal() + (cos !== null && s > 20 ? 5 : 0),
      "adv/neg_correct_frac": cos === null ? 0 : 0.3,
    };
    if (cos !== null) row["grad/cos_acc_len"] = cos + 0.05 * r.normal();
    if (s % 5 === 0 || s === 39) row["eval/accuracy"] = acc(s) + 0.01 * r.normal();
    appendJsonl(path.join(dir, "metrics.jsonl"), row);
  }
  return dir;
}

function withRuns(fn: (root: string) => void) {
  const root = tempDir("bcr-stab-");
  try {
    for (const seed of [1, 2, 3]) {
      writeRun(path.join(root, "bcr"), "bcr", seed, (s) => 0.4 + 0.005 * s, null);
      writeRun(root, "linear", seed, (s) => (s < 10 + 5 * seed ? 0.4 : 0.02), -0.4);
    }
    writeRun(root, "kimi", 1, (s) => (s === 15 ? 0.1 : 0.4), -0.1); // one bad eval, then recovers
    fn(root);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

test("detectCollapse: onset is the start of the final below-half stretch", () => {
  const c = detectCollapse({ steps: [0, 10, 20, 30, 40], values: [0.5, 0.1, 0.4, 0.2, 0.0] });
  assert.deepEqual(c, { collapsed: true, onsetStep: 30, startValue: 0.5, threshold: 0.25, finalValue: 0, minValue: 0 });
  assert.equal(detectCollapse({ steps: [0, 10, 20], values: [0.5, 0.1, 0.3] }).collapsed, false); // recovered
  assert.equal(detectCollapse({ steps: [0, 1], values: [0, 0] }).collapsed, false); // nothing to lose
  assert.equal(detectCollapse({ steps: [0, 1, 2], values: [0.5, 0.3, 0.2] }, { fraction: 0.3 }).collapsed, false);
  assert.throws(() => detectCollapse({ steps: [], values: [] }), /empty/);
});

test("readRuns finds nested run folders; curves skip steps without the metric", () => {
  withRuns((root) => {
    const runs = readRuns(root);
    assert.equal(runs.length, 7);
    assert.deepEqual([...new Set(runs.map((r) => r.config.method))].sort(), ["bcr", "kimi", "linear"]);
    const acc = metricCurve(runs[0]!, "eval/accuracy");
    assert.deepEqual(acc.steps, [0, 5, 10, 15, 20, 25, 30, 35, 39]);
    assert.equal(metricCurve(runs[0]!, "grad/cos_acc_len").values.length, 0); // bcr logs no length term
    assert.equal(readRuns(runs[0]!.dir).length, 1);
  });
});

test("readRuns follows symbolic links: a runs folder assembled from links reads like one holding the runs", () => {
  withRuns((root) => {
    const linked = tempDir("bcr-stab-links-");
    try {
      fs.symlinkSync(path.join(root, "bcr"), path.join(linked, "bcr"), "dir");
      fs.symlinkSync(path.join(root, "linear-s1"), path.join(linked, "linear-s1"), "dir");
      fs.symlinkSync(path.join(root, "missing"), path.join(linked, "dangling"), "dir"); // ignored, no throw
      const runs = readRuns(linked);
      assert.deepEqual(
        runs.map((r) => r.name),
        ["bcr-s1", "bcr-s2", "bcr-s3", "linear-s1"],
      );
    } finally {
      fs.rmSync(linked, { recursive: true, force: true });
    }
  });
});

test("summarizeRun reports collapse onset and gradient statistics", () => {
  withRuns((root) => {
    const lin = readRuns(root).find((r) => r.name === "linear-s1")!;
    const s = summarizeRun(lin);
    assert.equal(s.collapsed, true);
    assert.equal(s.onsetStep, 15);
    assert.ok(s.meanCosAccLen! < -0.3);
    assert.equal(s.negativeCosShare, 1);
    assert.ok(s.gradNormMax! > 5 && s.gradNormMedian! < s.gradNormMax!);
  });
});

test("stabilityTable: BCR stable, linear penalty collapses on every seed, a transient dip is not collapse", () => {
  withRuns((root) => {
    const table = stabilityTable(readRuns(root), { resamples: 200 });
    const by = Object.fromEntries(table.map((m) => [m.method, m]));
    const bcr = by.bcr!,
      lin = by.linear!,
      kimi = by.kimi!;
    assert.equal(bcr.stable, true);
    assert.equal(bcr.collapsed, 0);
    assert.equal(bcr.total, 3);
    assert.equal(bcr.meanCosAccLen, null);
    assert.ok(bcr.finalAccuracy!.mean > bcr.startAccuracy!.mean);
    assert.ok(
      bcr.finalAccuracy!.ci[0] <= bcr.finalAccuracy!.mean && bcr.finalAccuracy!.mean <= bcr.finalAccuracy!.ci[1],
    );
    assert.equal(lin.stable, false);
    assert.equal(lin.collapsed, 3);
    assert.deepEqual(lin.onsetSteps, [15, 20, 25]);
    assert.ok(lin.minAccuracy! < 0.05);
    assert.equal(lin.negativeCosShare, 1);
    assert.ok(Math.abs(lin.meanNegCorrectFrac! - 0.3) < 1e-12);
    assert.match(lin.reasons.join("; "), /3\/3 seeds collapsed \(onset steps 15, 20, 25\)/);
    assert.equal(kimi.collapsed, 0);
    assert.equal(kimi.stable, true);
    const rows = stabilityRows(table);
    assert.equal(rows.find((r) => r.method === "linear")!.collapsed, "3/3");
    assert.match(toMarkdown(rows), /\|linear\|3\|/);
  });
});

test("readRun errors name the file and field", () => {
  const root = tempDir("bcr-stab-");
  try {
    writeJsonAtomic(path.join(root, "r", "config.json"), { seed: 1, method: 3 });
    assert.throws(() => readRuns(root), /config\.json: field method: expected a string/);
    assert.throws(() => readRun(path.join(root, "r")), /config\.json: field method: expected a string/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("readRuns skips folders whose config names no method (SFT runs), still throws on malformed JSON", () => {
  const root = tempDir("bcr-stab-");
  try {
    writeJsonAtomic(path.join(root, "sft", "config.json"), { name: "sft", model: { nEmbd: 32 } });
    writeJsonAtomic(path.join(root, "rl", "bcr", "seed-0", "config.json"), { method: "bcr", seed: 0 });
    assert.deepEqual(
      readRuns(root).map((r) => r.config.method),
      ["bcr"],
    );
    assert.deepEqual(readRuns(path.join(root, "sft")), []);
    assert.throws(() => readRun(path.join(root, "sft")), /field method/);
    fs.writeFileSync(path.join(root, "rl", "bcr", "seed-0", "config.json"), "{ not json");
    assert.throws(() => readRuns(root), /config\.json: malformed JSON/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
