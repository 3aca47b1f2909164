import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { readResults, sweepSeries } from "../../src/notebook/results.js";
import { tempDir } from "../helpers/tmp.js";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");

test("readResults: the committed ladder run, with its sweep as series carrying intervals", () => {
  const r = readResults(path.join(root, "docs/history/ladder"))!;
  assert.equal(r.name, "reproduce");
  assert.equal(r.smokeTest, false);
  assert.match(r.describe, /results of the 'reproduce' run .*commit [0-9a-f]{7}, RL seeds 1, 2, 3/);
  for (const t of ["sweep", "fits", "n1", "claims", "stability", "free_lunch"]) assert.ok(r.tables[t]?.length, t);
  // The series are the CSV's numbers, independently re-read here line by line.
  const lines = fs
    .readFileSync(path.join(root, "docs/history/ladder/tables/sweep.csv"), "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((l) => l.split(","));
  const bcr = r.series.find((s) => s.method === "bcr")!;
  const bcrLines = lines.filter((l) => l[0] === "bcr");
  assert.deepEqual(
    bcr.ns,
    bcrLines.map((l) => Number(l[1])),
  );
  assert.deepEqual(
    bcr.accuracy,
    bcrLines.map((l) => Number(l[2])),
  );
  assert.deepEqual(
    bcr.tokensPerProblem,
    bcrLines.map((l) => Number(l[5])),
  );
  assert.deepEqual(
    bcr.tokensCi,
    bcrLines.map((l) => [Number(l[6]), Number(l[7])]),
  );
  assert.deepEqual(
    r.series.map((s) => s.method),
    [...new Set(lines.map((l) => l[0]))],
  );
  assert.ok(r.figures.includes("task_scaling"));
});

test("readResults: no summary.json -> null; a quick run is marked; a bad sweep row names file, row and column", () => {
  const dir = tempDir("bcr-results-");
  assert.equal(readResults(dir), null);
  fs.writeFileSync(path.join(dir, "summary.json"), JSON.stringify({ name: "reproduce-quick", seeds: [1] }));
  fs.mkdirSync(path.join(dir, "tables"));
  fs.writeFileSync(
    path.join(dir, "tables", "sweep.csv"),
    "method,n,accuracy,accuracy_lo,accuracy_hi,tokens_per_problem,tokens_lo,tokens_hi\nbcr,1,0.5,0.4,0.6,30,28,32\nbcr,2,x,0.4,0.6,30,28,32\n",
  );
  assert.throws(() => readResults(dir), /sweep\.csv: row 3, column accuracy: expected a number, got "x"/);
  fs.writeFileSync(
    path.join(dir, "tables", "sweep.csv"),
    "method,n,accuracy,accuracy_lo,accuracy_hi,tokens_per_problem,tokens_lo,tokens_hi\nbcr,1,0.5,0.4,0.6,30,28,32\n",
  );
  const r = readResults(dir)!;
  assert.equal(r.smokeTest, true);
  assert.match(r.describe, /^SMOKE TEST, NOT A RESULT/);
  assert.deepEqual(sweepSeries(r.tables.sweep!), r.series);
  fs.writeFileSync(path.join(dir, "summary.json"), "{");
  assert.throws(() => readResults(dir), /summary\.json: not valid JSON/);
});

test("readResults: the truncation rate per N rides with the series, and the run's fit rule (criterion, bootstrap) is read from its config", () => {
  const dir = tempDir("bcr-results-");
  try {
    fs.mkdirSync(path.join(dir, "tables"));
    const header = "method,n,accuracy,accuracy_lo,accuracy_hi,tokens_per_problem,tokens_lo,tokens_hi";
    fs.writeFileSync(path.join(dir, "summary.json"), JSON.stringify({ name: "reproduce", seeds: [1] }));
    fs.writeFileSync(path.join(dir, "tables", "sweep.csv"), `${header}\nbcr,1,0.5,0.4,0.6,30,28,32\n`);
    let r = readResults(dir)!;
    assert.equal(r.series[0]!.truncationRate, undefined, "no column, no rates");
    assert.deepEqual(r.fit, { fitBy: "aicc", bootstrap: 1000, seed: 0 }, "the reproduce config's defaults");
    fs.writeFileSync(
      path.join(dir, "summary.json"),
      JSON.stringify({
        name: "reproduce",
        seeds: [1],
        config: { analysis: { fitBy: "bic", bootstrap: 200, seed: 3 } },
      }),
    );
    fs.writeFileSync(
      path.join(dir, "tables", "sweep.csv"),
      `${header},truncation_rate\nbcr,1,0.5,0.4,0.6,30,28,32,0\nbcr,6,0.3,0.2,0.4,20,18,22,0.75\nsft,1,0.4,0.3,0.5,12,11,13,0\n`,
    );
    r = readResults(dir)!;
    assert.deepEqual(
      r.series.map((s) => [s.method, s.truncationRate]),
      [
        ["bcr", [0, 0.75]],
        ["sft", [0]],
      ],
    );
    assert.deepEqual(r.fit, { fitBy: "bic", bootstrap: 200, seed: 3 });
    fs.writeFileSync(
      path.join(dir, "tables", "sweep.csv"),
      `${header},truncation_rate\nbcr,1,0.5,0.4,0.6,30,28,32,0\nbcr,6,0.3,0.2,0.4,20,18,22,\n`,
    );
    assert.throws(() => readResults(dir), /sweep\.csv: row 3, column truncation_rate: expected a number, got/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("readResults on the committed ladder run: the sweep carries its truncation rates, fits ranked by the run's rule", () => {
  const r = readResults(path.join(root, "docs/history/ladder"))!;
  for (const s of r.series) {
    assert.equal(s.truncationRate?.length, s.ns.length, s.method);
    for (const t of s.truncationRate!) assert.ok(t >= 0 && t <= 1, `${s.method}: ${t}`);
  }
  assert.ok(["aic", "aicc", "bic"].includes(r.fit.fitBy));
});
