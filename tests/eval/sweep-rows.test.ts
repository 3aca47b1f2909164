import { test } from "node:test";
import assert from "node:assert/strict";
import { summaryRows, taskScalingSeries, type NSummary, type SweepSummary } from "../../src/eval/sweep.js";
import { toMarkdown } from "../../src/analysis/tables.js";
import { taskScalingFigure } from "../../src/viz/figures.js";

const ci = (mean: number, d = 0.125) => ({ mean, ci: [mean - d, mean + d] as [number, number] });
const perN = (n: number, acc: number, tok: number): NSummary => ({
  n, budgetTokens: 96, groups: 12 / n, problems: 12, rows: 12, failed: 0,
  accuracy: ci(acc), tokensPerProblem: ci(tok, 5), truncationRate: ci(0.25), answeredRate: ci(0.875),
  accuracyByPosition: [], tokensEstimated: false,
});
const summary: SweepSummary = {
  model: "bcr/seed-0", template: "compact", budget: "fixed:96", seed: 0, ns: [1, 2, 4], asked: 7, cached: 0,
  perN: [perN(1, 0.75, 30), perN(2, 0.625, 20), perN(4, 0.5, 12)],
};

test("summaryRows: one plain row per N with means and CIs", () => {
  const rows = summaryRows(summary);
  assert.equal(rows.length, 3);
  assert.deepEqual(rows[1], {
    model: "bcr/seed-0", N: 2, groups: 6, failed: 0, accuracy: 0.625, acc_lo: 0.5, acc_hi: 0.75,
    tokens_per_problem: 20, tok_lo: 15, tok_hi: 25, truncation: 0.25, trunc_lo: 0.125, trunc_hi: 0.375, answered: 0.875,
  });
  assert.match(toMarkdown(rows), /\|bcr\/seed-0\|1\|/);
});

test("taskScalingSeries: the means per N, labelled by the model or a given method", () => {
  const s = taskScalingSeries(summary);
  assert.deepEqual(s, { method: "bcr/seed-0", ns: [1, 2, 4], tokensPerProblem: [30, 20, 12], accuracy: [0.75, 0.625, 0.5] });
  assert.equal(taskScalingSeries(summary, "bcr").method, "bcr");
  const fig = taskScalingFigure([taskScalingSeries(summary, "bcr")]);
  assert.deepEqual(fig.data[0]!.y, [30, 20, 12]);
});
