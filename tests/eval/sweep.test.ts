import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { planGroups } from "../../src/bcr/groups.js";
import { sweepN, parseBudget, budgetTokens, type SweepRow } from "../../src/eval/sweep.js";
import type { Problem } from "../../src/bcr/index.js";
import type { CompletionRequest } from "../../src/model/completion.js";
import { RecordingModel } from "./fakes.js";

const problems: Problem[] = Array.from({ length: 24 }, (_, i) => ({
  id: `p${i}`,
  question: `${i}+${i % 5}`,
  answer: String(i + (i % 5)),
  difficulty: i % 4,
}));

/** Answers every section of a compact prompt; right at positions 1-2, wrong (off by one) after. */
function compactAnswer(r: CompletionRequest): string {
  return r.prompt
    .trim()
    .split(/\s+/)
    .map((sec) => {
      const [k, expr] = sec.split(":") as [string, string];
      const [a, b] = expr.split("+").map(Number) as [number, number];
      const v = a + b + (Number(k) > 2 ? 1 : 0);
      return `${k}:${expr}=${v} A${v}`;
    })
    .join(" ");
}

const tmp = () => tempDir("bcr-sweep-");
const quiet = { progress: false as const, bootstrapResamples: 200 };

test("groups: every problem once at every position (Latin square), balanced difficulty, seeded", () => {
  for (const n of [1, 2, 3, 4, 6]) {
    const groups = planGroups(problems, n, { seed: 5 });
    const G = Math.floor(problems.length / n);
    assert.equal(groups.length, G * n);
    const seen = new Map<string, number[]>();
    for (const g of groups) g.problems.forEach((p, i) => seen.set(p.id, [...(seen.get(p.id) ?? []), i + 1]));
    assert.equal(seen.size, G * n);
    for (const pos of seen.values())
      assert.deepEqual(
        pos.sort((a, b) => a - b),
        Array.from({ length: n }, (_, i) => i + 1),
      );
  }
  // N=4 over 4 difficulty levels x 6: every group holds one problem of each level.
  for (const g of planGroups(problems, 4, { seed: 1 })) {
    assert.deepEqual(g.problems.map((p) => p.difficulty).sort(), [0, 1, 2, 3]);
  }
  // One rotation: each problem once; each difficulty level spread evenly over the positions.
  const single = planGroups(problems, 4, { seed: 1, rotations: 1 });
  assert.equal(single.length, 6);
  assert.equal(new Set(single.flatMap((g) => g.problems.map((p) => p.id))).size, 24);
  for (let d = 0; d < 4; d++) {
    const counts = [0, 0, 0, 0];
    for (const g of single) g.problems.forEach((p, i) => (counts[i]! += p.difficulty === d ? 1 : 0));
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `difficulty ${d} positions ${counts}`);
  }
  assert.deepEqual(planGroups(problems, 3, { seed: 1 }), planGroups(problems, 3, { seed: 1 }));
  assert.notDeepEqual(planGroups(problems, 3, { seed: 1 }), planGroups(problems, 3, { seed: 2 }));
  assert.equal(planGroups(problems, 4, { maxGroups: 2 }).length, 8);
});

test("budget settings: fixed is the same cap for every N, per-problem scales with N", async () => {
  assert.deepEqual(parseBudget("fixed:512"), { kind: "fixed", tokens: 512 });
  assert.deepEqual(parseBudget("per:128"), { kind: "perProblem", tokens: 128 });
  assert.throws(() => parseBudget("per:x"), /budget must be/);
  assert.equal(budgetTokens({ kind: "perProblem", tokens: 128 }, 3), 384);
  for (const budget of [parseBudget("fixed:40"), parseBudget("per:10")]) {
    const m = new RecordingModel(compactAnswer);
    const { rows } = await sweepN({ model: m, problems, ns: [1, 2, 4], budget, outDir: tmp(), maxGroups: 2, ...quiet });
    for (const r of m.asked) {
      const n = r.prompt.trim().split(/\s+/).length;
      assert.equal(r.maxTokens, budget.kind === "fixed" ? 40 : 10 * n);
    }
    // Responses are ~10-12 chars per problem: under per:10 every group is cut short.
    const truncated = rows.filter((r) => r.truncated).length;
    if (budget.kind === "perProblem") assert.equal(truncated, rows.length);
    else assert.ok(truncated > 0 && truncated < rows.length);
  }
});

test("rows, attribution and aggregates: position effect visible, tokens sum to the completion", async () => {
  const out = tmp();
  const m = new RecordingModel(compactAnswer);
  const { rows, summary } = await sweepN({
    model: m,
    problems,
    ns: [1, 3],
    budget: parseBudget("fixed:1000"),
    outDir: out,
    seed: 3,
    ...quiet,
  });
  assert.equal(rows.length, 24 * 1 + 24 * 3);
  const s3 = summary.perN.find((s) => s.n === 3)!;
  assert.deepEqual(
    s3.accuracyByPosition.map((p) => p.mean),
    [1, 1, 0],
  );
  assert.ok(Math.abs(s3.accuracy.mean - 2 / 3) < 1e-9);
  assert.ok(s3.accuracy.ci[0] <= s3.accuracy.mean && s3.accuracy.mean <= s3.accuracy.ci[1]);
  assert.equal(summary.perN[0]!.accuracy.mean, 1);
  assert.equal(s3.truncationRate.mean, 0);
  // Per group, the attributed tokens add up to the completion's tokens.
  const byGroup = new Map<string, SweepRow[]>();
  for (const r of rows) byGroup.set(`${r.n}/${r.group}`, [...(byGroup.get(`${r.n}/${r.group}`) ?? []), r]);
  for (const g of byGroup.values()) {
    assert.ok(Math.abs(g.reduce((a, r) => a + r.tokens, 0) - g[0]!.groupTokens) < 1e-9);
  }
  assert.ok(
    rows.every((r) => r.answered && !r.failed && r.model === "fake" && r.template === "compact" && r.seed === 3),
  );
  const csv = fs.readFileSync(path.join(out, "rows.csv"), "utf8").trim().split("\n");
  assert.equal(csv.length, rows.length + 1);
  assert.match(
    csv[0]!,
    /^n,group,sample,position,problemId,difficulty,correct,tokens,truncated,answered,failed,model,template,seed/,
  );
  assert.deepEqual(
    fs
      .readFileSync(path.join(out, "rows.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l)),
    rows,
  );
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8")).perN.length, 2);
});

test("an interrupted sweep resumes asking nothing twice and losing nothing", async () => {
  const settings = { problems, ns: [1, 2, 3, 4], budget: parseBudget("per:16"), seed: 9, batchSize: 3, ...quiet };
  const ref = new RecordingModel(compactAnswer);
  const full = await sweepN({ ...settings, model: ref, outDir: tmp() });

  const out = tmp();
  const crashing = new RecordingModel(compactAnswer);
  crashing.failAfterCalls = 5;
  await assert.rejects(sweepN({ ...settings, model: crashing, outDir: out }), /simulated crash/);
  const afterCrash = crashing.asked.length;
  assert.equal(afterCrash, 15);

  // Interrupt once more, through an AbortSignal this time.
  const ctl = new AbortController();
  const aborting = new RecordingModel((r) => {
    if (aborting.calls === 2) ctl.abort(new Error("user stop"));
    return compactAnswer(r);
  });
  await assert.rejects(sweepN({ ...settings, model: aborting, outDir: out, signal: ctl.signal }), /user stop/);

  const resumed = new RecordingModel(compactAnswer);
  const final = await sweepN({ ...settings, model: resumed, outDir: out });
  const all = [...crashing.asked, ...aborting.asked, ...resumed.asked].map((r) => r.prompt);
  assert.equal(new Set(all).size, all.length, "a prompt was asked twice");
  assert.equal(all.length, ref.asked.length);
  assert.deepEqual(final.rows, full.rows);
  assert.deepEqual(final.summary.perN, full.summary.perN);
  assert.equal(final.summary.cached + final.summary.asked, ref.asked.length);

  // A fully cached re-run asks nothing; a torn last line from a crash mid-append is ignored.
  fs.appendFileSync(path.join(out, "cache.jsonl"), '{"key": {"n": 1, "gro');
  const again = new RecordingModel(compactAnswer);
  const rerun = await sweepN({ ...settings, model: again, outDir: out });
  assert.equal(again.asked.length, 0);
  assert.deepEqual(rerun.rows, full.rows);
});

test("failed items are recorded as failed and retried on resume only when asked", async () => {
  const out = tmp();
  const settings = { problems, ns: [2], budget: parseBudget("fixed:100"), outDir: out, ...quiet };
  const isBad = (r: CompletionRequest) => r.prompt.includes(":7+2") || r.prompt.includes(":13+3");
  const m = new RecordingModel(compactAnswer);
  m.failItem = isBad;
  const { rows, summary } = await sweepN({ ...settings, model: m });
  const failed = rows.filter((r) => r.failed);
  assert.equal(failed.length, 8); // 2 problems x 2 rotations x 2 positions
  assert.ok(failed.every((r) => !r.correct && r.tokens === 0 && r.error === "injected"));
  assert.equal(summary.perN[0]!.failed, 8);
  assert.equal(summary.perN[0]!.accuracyByPosition[0]!.count, 24 - 4);

  const noRetry = new RecordingModel(compactAnswer);
  await sweepN({ ...settings, model: noRetry });
  assert.equal(noRetry.asked.length, 0);

  const retry = new RecordingModel(compactAnswer);
  const healed = await sweepN({ ...settings, model: retry, retryFailed: true });
  assert.equal(retry.asked.length, 4);
  assert.ok(retry.asked.every(isBad));
  assert.equal(healed.rows.filter((r) => r.failed).length, 0);
  assert.equal(healed.rows.length, rows.length);
});
