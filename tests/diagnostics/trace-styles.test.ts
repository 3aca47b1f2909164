import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { formatTraceStyles, traceStyles } from "../../src/diagnostics/trace-styles.js";
import { sweepN } from "../../src/eval/sweep.js";
import { generateProblems } from "../../src/tasks/synthetic.js";
import { tempDir } from "../helpers/tmp.js";
import { fakeSolver } from "./fake-solver.js";

const problems = generateProblems(4, 8, [2], "t");

/** A runs folder whose eval caches sweepN wrote for two fake models, one of them per seed. */
async function runsFolder(): Promise<string> {
  const runs = tempDir("bcr-styles-");
  const sweep = (model: ReturnType<typeof fakeSolver>, dir: string) =>
    sweepN({
      model,
      problems,
      ns: [1, 2],
      budget: { kind: "fixed", tokens: 200 },
      outDir: path.join(runs, "eval", dir, "sweep"),
      progress: false,
      bootstrapResamples: 10,
    });
  // "first": solves position 1 with its essential trace, answers later positions wrongly and bare.
  await sweep(
    fakeSolver(problems, (pos) => (pos === 1 ? { kind: "essential" } : { kind: "wrong" })),
    "first",
  );
  // "loops": one re-check everywhere, in two seed folders.
  for (const seed of [1, 2])
    await sweep(
      fakeSolver(problems, () => ({ kind: "rechecks", loops: 1 })),
      path.join("loops", `seed-${seed}`),
    );
  return runs;
}

test("traceStyles: shares, accuracy and tokens per style, by N and by position, from the caches sweepN wrote; seeds pooled", async () => {
  const runs = await runsFolder();
  const rows = traceStyles(runs);
  const first = rows.filter((r) => r.method === "first");
  assert.deepEqual(
    first.map((r) => r.n),
    [1, 2],
  );
  assert.deepEqual(first[0]!.styles, { essential: first[0]!.styles.essential });
  assert.equal(first[0]!.styles.essential!.problems, 8);
  assert.equal(first[0]!.styles.essential!.right, 8);
  // N=2 with rotations: every problem at both positions, so half essential (right), half shortcut (wrong).
  assert.deepEqual(
    [
      first[1]!.styles.essential!.problems,
      first[1]!.styles.essential!.right,
      first[1]!.styles.shortcut!.problems,
      first[1]!.styles.shortcut!.right,
    ],
    [8, 8, 8, 0],
  );
  const loops = rows.filter((r) => r.method === "loops");
  assert.equal(loops[0]!.styles.redundant!.problems, 16, "two seeds of 8 problems pooled");
  const byPos = traceStyles(runs, { byPosition: true, methods: ["first"] });
  assert.deepEqual(
    byPos.map((r) => [r.n, r.position, Object.keys(r.styles)]),
    [
      [1, 1, ["essential"]],
      [2, 1, ["essential"]],
      [2, 2, ["shortcut"]],
    ],
  );
  const text = formatTraceStyles(byPos, true);
  assert.equal(text[0]!.split("\t")[1], "N/position");
  // one column per style (essential, redundant, shortcut, merged, terse, bare): only shortcut has problems here
  const shortcutCell = `1.000 / 0.00 / ${(byPos[2]!.styles.shortcut!.tokens / 8).toFixed(1)}`;
  assert.equal(text[3], ["first", "2/2", "-", "-", shortcutCell, "-", "-", "-"].join("\t"));
});

test("traceStyles: a runs folder without eval/ or a named method without a cache is an error naming the path", async () => {
  const empty = tempDir("bcr-styles-");
  assert.throws(
    () => traceStyles(empty),
    (e: Error) => e.message.includes(path.join(empty, "eval")),
  );
  const runs = await runsFolder();
  fs.mkdirSync(path.join(runs, "eval", "unfinished"));
  assert.deepEqual(
    [...new Set(traceStyles(runs).map((r) => r.method))],
    ["first", "loops"],
    "a listed folder without caches is skipped",
  );
  assert.throws(() => traceStyles(runs, { methods: ["unfinished"] }), /eval[/\\]unfinished: no sweep cache/);
  assert.throws(() => traceStyles(runs, { which: "n1", methods: ["first"] }), /no n1 cache/);
});
