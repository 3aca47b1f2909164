import { test } from "node:test";
import assert from "node:assert/strict";
import {
  summaryRows,
  sweepRowsCsv,
  taskScalingSeries,
  type NSummary,
  type SweepRow,
  type SweepSummary,
} from "../../src/eval/sweep.js";
import { toMarkdown } from "../../src/analysis/tables.js";
import { taskScalingFigure } from "../../src/viz/figures.js";

const ci = (mean: number, d = 0.125) => ({ mean, ci: [mean - d, mean + d] as [number, number] });
const perN = (n: number, acc: number, tok: number): NSummary => ({
  n,
  samples: 1,
  budgetTokens: 96,
  groups: 12 / n,
  problems: 12,
  rows: 12,
  failed: 0,
  accuracy: ci(acc),
  tokensPerProblem: ci(tok, 5),
  truncationRate: ci(0.25),
  answeredRate: ci(0.875),
  accuracyByPosition: [],
  tokensEstimated: false,
});
const summary: SweepSummary = {
  model: "bcr/seed-0",
  template: "compact",
  budget: "fixed:96",
  seed: 0,
  stream: "sweep",
  temperature: 0,
  samples: 1,
  ns: [1, 2, 4],
  asked: 7,
  cached: 0,
  perN: [perN(1, 0.75, 30), perN(2, 0.625, 20), perN(4, 0.5, 12)],
};

test("summaryRows: one plain row per N with means and CIs", () => {
  const rows = summaryRows(summary);
  assert.equal(rows.length, 3);
  assert.deepEqual(rows[1], {
    model: "bcr/seed-0",
    N: 2,
    groups: 6,
    failed: 0,
    accuracy: 0.625,
    acc_lo: 0.5,
    acc_hi: 0.75,
    tokens_per_problem: 20,
    tok_lo: 15,
    tok_hi: 25,
    truncation: 0.25,
    trunc_lo: 0.125,
    trunc_hi: 0.375,
    answered: 0.875,
  });
  assert.match(toMarkdown(rows), /\|bcr\/seed-0\|1\|/);
});

test("taskScalingSeries: the means per N with their intervals, labelled by the model or a given method", () => {
  const s = taskScalingSeries(summary);
  assert.deepEqual(s, {
    method: "bcr/seed-0",
    ns: [1, 2, 4],
    tokensPerProblem: [30, 20, 12],
    accuracy: [0.75, 0.625, 0.5],
    tokensCi: [
      [25, 35],
      [15, 25],
      [7, 17],
    ],
    accuracyCi: [
      [0.625, 0.875],
      [0.5, 0.75],
      [0.375, 0.625],
    ],
  });
  assert.equal(taskScalingSeries(summary, "bcr").method, "bcr");
  const fig = taskScalingFigure([taskScalingSeries(summary, "bcr")]);
  assert.deepEqual(fig.data[0]!.y, [30, 20, 12]);
});

test("sweepRowsCsv: every column in a fixed order, an absent error an empty cell, extra keys dropped", () => {
  const row = (over: Partial<SweepRow>): SweepRow => ({
    n: 2,
    group: 0,
    sample: 0,
    position: 1,
    problemId: "p1",
    difficulty: 5,
    correct: true,
    tokens: 12.5,
    truncated: false,
    answered: true,
    failed: false,
    model: "m",
    template: "compact",
    seed: 0,
    budget: "fixed:96",
    groupTokens: 25,
    tokensEstimated: false,
    ...over,
  });
  const header =
    "n,group,sample,position,problemId,difficulty,correct,tokens,truncated,answered,failed,model,template,seed,budget,groupTokens,tokensEstimated,error\n";
  // No row has `error` (a sweep without failures): the column is still there, empty.
  assert.equal(
    sweepRowsCsv([row({}), row({ position: 2, problemId: "p2", difficulty: null })]),
    header +
      "2,0,0,1,p1,5,true,12.5,false,true,false,m,compact,0,fixed:96,25,false,\n2,0,0,2,p2,,true,12.5,false,true,false,m,compact,0,fixed:96,25,false,\n",
  );
  const failed = {
    ...row({ correct: false, tokens: 0, answered: false, failed: true, groupTokens: 0, error: "HTTP 500, retry" }),
    extra: 1,
  } as SweepRow;
  assert.equal(
    sweepRowsCsv([failed]),
    header + '2,0,0,1,p1,5,false,0,false,false,true,m,compact,0,fixed:96,0,false,"HTTP 500, retry"\n',
  );
});
