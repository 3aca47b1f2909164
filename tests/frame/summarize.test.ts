import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { bootstrapMeanCI } from "../../src/analysis/bootstrap.js";
import { nestedMeanCI } from "../../src/analysis/nested.js";
import { loadEvalRows, readEvalRows } from "../../src/frame/eval-rows.js";
import { SUMMARY_COLUMNS, summarize } from "../../src/frame/summarize.js";

/** A row of a table read back (arquero types `objects()` as `object[]`). */
type Row = Record<string, unknown>;

const FIX = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");

/** Samples per problem of one run: p0 [1, 0], p1 [1, 1], p2 [0, 0], p3 [1, 0]. */
const ONE_RUN = [
  [1, 0],
  [1, 1],
  [0, 0],
  [1, 0],
].flatMap((xs, p) =>
  xs.map((v, sample) => ({ method: "bcr", sft_seed: 0, rl_seed: 1, problem: `p${p}`, sample, correct: v === 1 })),
);

test("summarize, one seed: the mean is the plain mean, the interval nested.ts's (= the problem bootstrap's)", () => {
  const t = summarize(ONE_RUN, { by: ["method"], value: "correct" });
  assert.deepEqual(t.columnNames(), ["method", ...SUMMARY_COLUMNS]);
  const [row] = t.objects() as Row[];
  const plain = ONE_RUN.filter((r) => r.correct).length / ONE_RUN.length; // 4/8
  assert.equal(row!.mean, plain);
  // by hand: samples averaged inside each problem, one SFT seed, one RL seed
  const problemMeans = [0.5, 1, 0, 0.5];
  const ci = nestedMeanCI([[problemMeans]]);
  assert.deepEqual([row!.lo, row!.hi], ci.ci);
  assert.deepEqual(ci.ci, bootstrapMeanCI(problemMeans).ci, "one unit per level: the plain problem bootstrap");
  assert.equal(row!.n_problems, 4);
  assert.equal(row!.n_seeds, 1);
  const narrow = summarize(ONE_RUN, { value: "correct", level: 0.5 }).objects()[0] as Row;
  assert.deepEqual([narrow.lo, narrow.hi], nestedMeanCI([[problemMeans]], { level: 0.5 }).ci);
  assert.ok((narrow.hi as number) - (narrow.lo as number) <= (row!.hi as number) - (row!.lo as number));
});

test("summarize, several seeds: SFT seeds, then RL seeds, then problems, as nestedMeanCI on the same array", async () => {
  const rows = await readEvalRows(path.join(FIX, "results"));
  const bcr = rows.filter((r) => r.method === "bcr" && r.kind === "n1" && r.decoding === "sampled");
  const t = summarize(bcr, { value: "correct", resamples: 300, seed: 7 }).objects()[0] as Row;
  // values[sft][rl][problem]: a problem's two samples averaged
  const values = [0, 1].map((s) =>
    [1, 2].map((r) =>
      [0, 1, 2, 3, 4, 5, 6, 7].map((p) => {
        const xs = bcr
          .filter((x) => x.sft_seed === s && x.rl_seed === r && x.problem === `p${p}`)
          .map((x) => +x.correct);
        return xs.reduce((a, b) => a + b, 0) / xs.length;
      }),
    ),
  );
  const ci = nestedMeanCI(values, { resamples: 300, seed: 7 });
  assert.equal(t.mean, ci.mean);
  assert.deepEqual([t.lo, t.hi], ci.ci);
  assert.equal(t.n_problems, 8);
  assert.equal(t.n_seeds, 4);
});

test("summarize: groups sorted by their keys, an arquero table in, null values left out, numbers as values", async () => {
  const rows = await loadEvalRows(path.join(FIX, "results"));
  const t = summarize(rows, { by: ["kind", "method", "n"], value: "tokens", resamples: 50 });
  assert.deepEqual(
    (t.objects() as Row[]).map((r) => [r.kind, r.method, r.n]),
    [
      ["n1", "bcr", 1],
      ["n1", "sft", 1],
      ["sweep", "bcr", 1],
      ["sweep", "bcr", 4],
      ["sweep", "sft", 1],
      ["sweep", "sft", 4],
    ],
  );
  // loops is null on sweep rows: they drop out rather than count as 0
  const loops = summarize(rows, { by: ["kind"], value: "loops", resamples: 50 }).objects() as Row[];
  assert.deepEqual(
    loops.map((r) => r.kind),
    ["n1"],
  );
  // without a problem column, each row of a unit is its own problem (one row per run and step)
  const steps = [1, 2].flatMap((rl_seed) =>
    [0, 1].map((step) => ({ method: "bcr", rl_seed, step, v: rl_seed + step })),
  );
  const s = summarize(steps, { by: ["step"], value: "v", resamples: 50 }).objects() as Row[];
  assert.deepEqual(
    s.map((r) => [r.step, r.mean, r.n_seeds, r.n_problems]),
    [
      [0, 1.5, 2, 1],
      [1, 2.5, 2, 1],
    ],
  );
});

test("summarize: errors name the column, the row or the group", () => {
  assert.throws(() => summarize(ONE_RUN, { by: ["nope"], value: "correct" }), /summarize: no column "nope"/);
  assert.throws(
    () => summarize([{ problem: "a", value: "x" }], { value: "value" }),
    /summarize: row 0: "value" is "x", not a number or boolean/,
  );
  // two runs that did not see the same problems cannot share a problem draw
  const uneven = [...ONE_RUN, { method: "bcr", sft_seed: 0, rl_seed: 2, problem: "p0", sample: 0, correct: true }];
  assert.throws(
    () => summarize(uneven, { by: ["method"], value: "correct" }),
    /summarize \(group method="bcr"\): samplesFromRows: cell \(sft all, rl 2\) has 1 of the 4 problems/,
  );
});

test("summarize: ten and more seeds are ordered as numbers, so the resamples match nestedMeanCI's on the array in seed order", () => {
  const seeds = [1, 2, 3, 10, 11, 12];
  const rows = seeds.flatMap((rl_seed) =>
    ["a", "b"].map((problem, p) => ({ rl_seed, problem, x: (rl_seed * 7 + p * 3) % 5 })),
  );
  const t = summarize(rows, { value: "x", resamples: 200 }).objects()[0] as Row;
  const values = [seeds.map((s) => [0, 1].map((p) => (s * 7 + p * 3) % 5))];
  assert.deepEqual([t.lo, t.hi], nestedMeanCI(values, { resamples: 200 }).ci);
});
