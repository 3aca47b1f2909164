import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { EVAL_COLUMNS, loadEvalRows, readEvalRows } from "../../src/frame/eval-rows.js";
import { COLUMNS, ROWS_FILE, rowsOfEval, writeRows } from "../../src/study/rows.js";
import { tempDir } from "../helpers/tmp.js";

/** A row of a table read back (arquero types `objects()` as `object[]`). */
type Row = Record<string, unknown>;

const FIX = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");

test("loadEvalRows on a results folder: one row per sample, every column, from the gzipped archive", async () => {
  const t = await loadEvalRows(path.join(FIX, "results"));
  assert.deepEqual(t.columnNames(), [...EVAL_COLUMNS]);
  // 6 models (sft and bcr x 2 RL seeds, per 2 SFT seeds) x (8 problems x 2 samples at N=1 sampled,
  // 8 greedy, 8 problems x 2 samples x N in {1, 4} in the sweep)
  assert.equal(t.numRows(), 6 * (16 + 8 + 32));
  const bcr = t.filter((d) => d.method === "bcr" && d.kind === "sweep" && d.n === 4).objects() as Row[];
  assert.equal(bcr.length, 4 * 16);
  assert.deepEqual([...new Set(bcr.map((r) => `${r.sft_seed}/${r.rl_seed}`))].sort(), ["0/1", "0/2", "1/1", "1/2"]);
  const first = bcr[0]!;
  assert.deepEqual(
    { ...first, correct: typeof first.correct },
    {
      experiment: "default",
      method: "bcr",
      sft_seed: 0,
      rl_seed: 1,
      n: 4,
      group: 0,
      position: 1,
      problem: "p0",
      sample: 0,
      correct: "boolean",
      tokens: 24,
      loops: null,
      form: null,
      truncated: false,
      decoding: "sampled",
      kind: "sweep",
      level: null,
    },
  );
  const sftN1 = t.filter((d) => d.method === "sft" && d.kind === "n1").objects() as Row[];
  assert.ok(sftN1.every((r) => r.rl_seed === null && r.group === null && r.n === 1 && r.position === 1));
  assert.equal(sftN1.filter((r) => r.decoding === "greedy").length, 16);
  assert.deepEqual(
    [...new Set(sftN1.map((r) => r.form))].sort(),
    ["bare", "essential"],
    "the N=1 trace style is the form column",
  );
  assert.equal(
    t.filter((d) => d.truncated).numRows(),
    6 * 2,
    "problem p7's two sampled N=1 draws per model, nothing else",
  );
});

test("loadEvalRows on a runs folder: eval.json per model, older rows without sample or SFT seed read as 0, failed sweep rows left out", async () => {
  const rows = await readEvalRows(path.join(FIX, "runs-folder"));
  assert.deepEqual([...new Set(rows.map((r) => r.experiment))], ["reproduce"]);
  assert.deepEqual([...new Set(rows.map((r) => `${r.method}:${r.rl_seed}`))], ["sft:null", "single:1"]);
  assert.ok(rows.every((r) => r.sample === 0 && r.sft_seed === 0));
  const sweep = (m: string) => rows.filter((r) => r.method === m && r.kind === "sweep").length;
  assert.equal(sweep("sft"), 16);
  assert.equal(sweep("single"), 15, "the failed request is not a wrong answer: left out");
  // read from one level down, the folder given is the experiment
  const below = await readEvalRows(path.join(FIX, "runs-folder/reproduce"));
  assert.ok(below.every((r) => r.experiment === "default"));
  assert.equal(below.length, rows.length);
  const named = await readEvalRows(path.join(FIX, "runs-folder"), { experiment: "mine" });
  assert.ok(named.every((r) => r.experiment === "mine"));
});

test("loadEvalRows on sample rows in long form: .jsonl and .jsonl.gz give the same table, defaults filled", async () => {
  const plain = await loadEvalRows(path.join(FIX, "samples/rows.jsonl"));
  const gz = await loadEvalRows(path.join(FIX, "samples/rows.jsonl.gz"));
  assert.deepEqual(gz.objects() as Row[], plain.objects() as Row[]);
  assert.deepEqual(
    (plain.objects() as Row[]).map((r) => [
      r.problem,
      r.kind,
      r.n,
      r.position,
      r.sample,
      r.decoding,
      r.rl_seed,
      r.experiment,
    ]),
    [
      ["q1", "n1", 1, 1, 0, "sampled", null, "default"],
      ["q2", "sweep", 2, 2, 1, "sampled", null, "default"],
      ["q3", "n1", 1, 1, 0, "greedy", null, "default"],
    ],
  );
});

test("loadEvalRows: malformed input names the file and line (and the field inside a record)", async () => {
  await assert.rejects(
    loadEvalRows(path.join(FIX, "bad/missing-correct.jsonl")),
    (e: Error) => e.message === `${path.join(FIX, "bad/missing-correct.jsonl")}:3: column "correct" is missing`,
  );
  await assert.rejects(loadEvalRows(path.join(FIX, "bad/not-json.jsonl")), /not-json\.jsonl:2: not JSON/);
  await assert.rejects(
    loadEvalRows(path.join(FIX, "bad")),
    /bad\/eval-rows\.jsonl:2: sweep\[3\]: column "position" is missing/,
  );
  const dir = tempDir("bcr-frame-eval-");
  await assert.rejects(
    loadEvalRows(dir),
    /no eval-rows\.jsonl\.gz, eval-rows\.jsonl, eval\.json, rows\.jsonl\.gz under/,
  );
  await assert.rejects(loadEvalRows(path.join(dir, "nope")), /does not exist/);
  fs.writeFileSync(path.join(dir, "x.jsonl"), '{"foo":1}\n');
  await assert.rejects(loadEvalRows(path.join(dir, "x.jsonl")), /x\.jsonl:1: neither a model's eval record/);
  fs.writeFileSync(path.join(dir, "y.jsonl"), '{"method":"a","problem":"p","correct":1,"tokens":3}\n');
  await assert.rejects(
    loadEvalRows(path.join(dir, "y.jsonl")),
    /y\.jsonl:1: "correct" should be a boolean, got number 1/,
  );
  fs.writeFileSync(
    path.join(dir, "z.jsonl"),
    '{"method":"a","problem":"p","correct":true,"tokens":3,"kind":"other"}\n',
  );
  await assert.rejects(loadEvalRows(path.join(dir, "z.jsonl")), /z\.jsonl:1: "kind" should be "n1" or "sweep"/);
});

test("loadEvalRows reads the committed ladder run's archive (rows lacking sample read as 0)", async (t) => {
  const file = path.join(FIX, "../../../docs/history/ladder/eval-rows.jsonl.gz");
  if (!fs.existsSync(file)) return t.skip("no docs/history/ladder/eval-rows.jsonl.gz in this checkout");
  const rows = await loadEvalRows(file);
  assert.deepEqual(rows.columnNames(), [...EVAL_COLUMNS]);
  assert.ok(rows.numRows() > 1000);
  assert.ok(rows.filter((d) => d.method === "bcr" && d.kind === "sweep").numRows() > 0);
});

test("loadEvalRows on a regime study's rows (columnar, as src/study/rows.ts writes them)", async () => {
  const e = JSON.parse(fs.readFileSync(path.join(FIX, "runs-folder/reproduce/eval/single/seed-1/eval.json"), "utf8"));
  const levelOf = (id: string) => Number(id.slice(1)) % 2;
  const rows = [
    ...rowsOfEval({ ...e, seed: null }, "sft", 3, levelOf),
    ...rowsOfEval(e, "bcr", 3, levelOf),
    ...rowsOfEval(e, "bcr", 3, levelOf, "cont"),
  ];
  const dir = tempDir("bcr-frame-study-");
  const meta = {
    format: 1 as const,
    id: "A",
    budgets: { n1: 40, sweep: 160, bcr: {} },
    gate: [],
    gatePassed: true,
    runs: [],
    test: { problems: 8, available: 8 },
    continuation: null,
    wall: {},
  };
  writeRows(path.join(dir, "study", "A", ROWS_FILE), { meta, rows });
  const t = (await loadEvalRows(dir)).objects() as Row[];
  assert.equal(t.length, rows.length);
  assert.ok(t.every((r) => r.experiment === "study/A" && r.sft_seed === 3));
  const sft = t.filter((r) => r.method === "sft");
  assert.ok(sft.every((r) => r.rl_seed === null));
  assert.deepEqual(
    [...new Set(t.map((r) => `${r.method}|${r.kind}|${r.decoding}`))],
    [
      "sft|n1|sampled",
      "sft|n1|greedy",
      "sft|sweep|sampled",
      "bcr|n1|sampled",
      "bcr|n1|greedy",
      "bcr|sweep|sampled",
      "bcr (continued)|n1|sampled",
    ],
  );
  const sweep = t.find((r) => r.method === "bcr" && r.kind === "sweep" && r.n === 4 && r.position === 2)!;
  assert.deepEqual(
    [sweep.group, sweep.problem, sweep.level, typeof sweep.correct, typeof sweep.truncated, sweep.loops],
    [0, "p1", 1, "boolean", "boolean", null],
  );
  assert.ok(t.filter((r) => r.kind === "n1").every((r) => r.group === null && r.position === 1));
  // a row whose values do not match the meta line's columns is named
  const bad = path.join(dir, "bad.jsonl");
  fs.writeFileSync(bad, `${JSON.stringify({ kind: "meta", format: 1, columns: COLUMNS })}\n[1,2]\n`);
  await assert.rejects(loadEvalRows(bad), /bad\.jsonl:2: 2 values, the meta line names 14 columns/);
});
