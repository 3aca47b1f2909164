/**
 * The N-sweep: how accuracy and tokens per problem change as N problems share one context
 * under one token budget (the paper's task-scaling law, claim 1).
 *
 * For each N:
 * 1-2. Groups and positions: planGroups (src/bcr/groups.ts), seeded, difficulty-stratified,
 *    in `rotations` cyclic rotations (default N: a Latin square over positions).
 * 3. Each group is packed with packProblems (template) and asked `samples` times (default 1;
 *    greedy decoding always once) with maxTokens = the budget (`fixed`: the same total for every
 *    N; `perProblem`: tokens * N). Every request carries its own seed, derived from named parts
 *    (deriveSeed: stream name, run seed, model, template, budget, N, base group, rotation,
 *    sample), so no two requests share a sampling stream and a re-run asks the same streams.
 *    (One seed for every request would be common random numbers: at temperature 1 every problem
 *    would take the same branch where the model's probability crosses the shared uniform draw.)
 *    Each completion is scored with scoreResponse
 *    (truncated = the response hit the budget). A problem's tokens are the response's completion
 *    tokens attributed to it (scoreResponse's attribution, rescaled to sum to the completion
 *    tokens the model reported).
 * 4. One row per problem per group and sample. Rows of a group whose completion failed have failed=true,
 *    correct=false, tokens=0.
 *
 * Resuming: every finished group is appended to `<out>/cache.jsonl` at once, keyed by
 * (stream, n, group, sample, model, template, budget, seed) plus the group's problem ids. A re-run with the
 * same settings asks only the groups not in the cache, so nothing is asked twice and nothing is
 * lost; failed groups are asked again only with `retryFailed`. The last record of a key wins.
 *
 * Aggregates per N (summary.json), each a mean with a seeded percentile bootstrap 95% CI
 * (src/analysis bootstrapMeanCI): accuracy, tokens per problem, truncation rate and answered
 * rate are first averaged per problem over its rotations and samples, then bootstrapped over
 * problems (samples are nested in problems: the rotations and draws of one problem are not
 * independent problems); accuracy by position is averaged per problem at that position, then
 * bootstrapped over those problems. Failed rows are left out of these and counted in `failed`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { planGroups, scoreGroup, type PlannedGroup, type SweepRow } from "../bcr/groups.js";
import { packProblems, type Problem, type TemplateName } from "../bcr/index.js";
import { bootstrapMeanCI, type MeanCI } from "../analysis/bootstrap.js";
import { toCsv } from "../analysis/tables.js";
import { appendJsonl, writeFileAtomic, writeJsonAtomic } from "../util/fsx.js";
import { deriveSeed } from "../util/rng.js";
import { Progress, type ProgressStream } from "../util/progress.js";
import type { ScalingFit } from "../analysis/fit.js";
import type { CompletionModel } from "../model/completion.js";

/**
 * How the response budget (the token cap of one packed response) follows N: the same for every N
 * ("fixed") or `tokens` per problem ("perProblem"). budgetTokens turns the rule into the budget.
 */
export type BudgetRule = { kind: "fixed"; tokens: number } | { kind: "perProblem"; tokens: number };

export function budgetTokens(budget: BudgetRule, n: number): number {
  return budget.kind === "fixed" ? budget.tokens : budget.tokens * n;
}

/** "fixed:512" | "per:128" (also "perProblem:128"). */
export function parseBudget(s: string): BudgetRule {
  const m = /^(fixed|per|perProblem):(\d+)$/.exec(s.trim());
  if (!m || Number(m[2]) < 1)
    throw new Error(`budget must be fixed:<tokens> or per:<tokens>, got ${JSON.stringify(s)}`);
  return { kind: m[1] === "fixed" ? "fixed" : "perProblem", tokens: Number(m[2]) };
}

export function formatBudget(b: BudgetRule): string {
  return `${b.kind === "fixed" ? "fixed" : "per"}:${b.tokens}`;
}

export interface SweepOptions {
  model: CompletionModel;
  problems: Problem[];
  /** Values of N, e.g. [1, 2, 3, 4, 6, 8]. */
  ns: number[];
  budget: BudgetRule;
  /** Output folder: cache.jsonl, rows.jsonl, rows.csv, summary.json. */
  outDir: string;
  template?: TemplateName; // default "compact"
  seed?: number; // default 0: grouping, ordering, the requests' seeds, bootstrap
  /**
   * Independent draws per group at temperature > 0 (default 1). Greedy decoding is asked once
   * whatever this says: its draws would all be the same text.
   */
  samples?: number;
  /**
   * Names this sweep's sampling streams (default "sweep"), so two evaluations of one model with
   * the same groups (an N=1 eval beside the sweep's N=1 point) draw independent samples.
   */
  stream?: string;
  /** Rotations per base group (default N: full Latin square). Clamped to 1..N. */
  rotations?: number;
  /** At most this many base groups per N (default: all). */
  maxGroups?: number;
  temperature?: number; // default 0 (greedy)
  stop?: string[];
  /** Groups sent per complete() call (default 8). */
  batchSize?: number;
  /** Ask again groups whose completion failed in an earlier run. */
  retryFailed?: boolean;
  signal?: AbortSignal;
  /** Progress output: a stream, or false for none (default process.stderr). */
  progress?: ProgressStream | false;
  bootstrapResamples?: number; // default 1000
}

export interface NSummary {
  n: number;
  /** Draws per group (1 under greedy decoding). */
  samples: number;
  budgetTokens: number;
  groups: number;
  problems: number;
  rows: number;
  failed: number;
  accuracy: MeanCI;
  tokensPerProblem: MeanCI;
  truncationRate: MeanCI;
  answeredRate: MeanCI;
  accuracyByPosition: (MeanCI & { position: number; count: number })[];
  tokensEstimated: boolean;
}

export interface SweepSummary {
  model: string;
  template: TemplateName;
  budget: string;
  seed: number;
  stream: string;
  temperature: number;
  samples: number;
  ns: number[];
  /** Group draws asked in this run, and read from the cache. */
  asked: number;
  cached: number;
  perN: NSummary[];
}

export interface SweepResult {
  rows: SweepRow[];
  summary: SweepSummary;
}

export type { PlannedGroup, SweepRow };

/** Claim 1's data for one method: tokens per problem and accuracy by N (taskScalingFigure's input). */
export interface TaskScalingSeries {
  method: string;
  ns: number[];
  tokensPerProblem: number[];
  accuracy: number[];
  tokensFit?: ScalingFit;
  accuracyFit?: ScalingFit;
  /** 95% intervals per point, drawn as error bars. */
  tokensCi?: [number, number][];
  accuracyCi?: [number, number][];
}

interface CacheKey {
  stream: string;
  n: number;
  group: number;
  sample: number;
  model: string;
  template: TemplateName;
  budget: string;
  seed: number;
}
interface CacheRecord {
  key: CacheKey;
  ids: string[];
  response: string;
  finishReason: string;
  rows: SweepRow[];
}

function keyString(k: CacheKey): string {
  return JSON.stringify([k.stream, k.n, k.group, k.sample, k.model, k.template, k.budget, k.seed]);
}

/** Reads the cache; a torn last line (a crash mid-write) is ignored. */
function readCache(file: string): Map<string, CacheRecord> {
  const out = new Map<string, CacheRecord>();
  if (!fs.existsSync(file)) return out;
  const lines = fs.readFileSync(file, "utf8").split("\n");
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    let rec: CacheRecord;
    try {
      rec = JSON.parse(line) as CacheRecord;
    } catch (e) {
      if (i >= lines.length - 2) return; // the torn tail of an interrupted append
      throw new Error(`${file}:${i + 1}: malformed cache line: ${(e as Error).message}`);
    }
    // Records from before per-request seeds (no stream or sample in the key) were drawn with one
    // shared seed; they are never reused.
    if (rec.key.stream === undefined || rec.key.sample === undefined) return;
    out.set(keyString(rec.key), rec);
  });
  return out;
}

/** A group and which of its draws. */
interface Ask {
  g: PlannedGroup;
  sample: number;
}

export async function sweepN(opts: SweepOptions): Promise<SweepResult> {
  const template = opts.template ?? "compact";
  const seed = opts.seed ?? 0;
  const temperature = opts.temperature ?? 0;
  const stream = opts.stream ?? "sweep";
  if (opts.samples !== undefined && !(Number.isInteger(opts.samples) && opts.samples >= 1))
    throw new Error(`sweepN: samples must be a positive integer, got ${opts.samples}`);
  const samples = temperature > 0 ? (opts.samples ?? 1) : 1;
  const budget = formatBudget(opts.budget);
  const batchSize = Math.max(1, opts.batchSize ?? 8);
  const resolver = (opts.model as { resolveModel?: (s?: AbortSignal) => Promise<string> }).resolveModel;
  if (resolver) await resolver.call(opts.model, opts.signal);
  const model = opts.model.name;
  fs.mkdirSync(opts.outDir, { recursive: true });
  const cacheFile = path.join(opts.outDir, "cache.jsonl");
  const cache = readCache(cacheFile);

  const plan = opts.ns.flatMap((n) =>
    planGroups(opts.problems, n, { seed, rotations: opts.rotations, maxGroups: opts.maxGroups }),
  );
  const asks: Ask[] = plan.flatMap((g) => Array.from({ length: samples }, (_, sample) => ({ g, sample })));
  const keyOf = ({ g, sample }: Ask): CacheKey => ({
    stream,
    n: g.n,
    group: g.group,
    sample,
    model,
    template,
    budget,
    seed,
  });
  const requestSeed = ({ g, sample }: Ask): number =>
    deriveSeed(stream, seed, model, template, budget, g.n, g.base, g.rotation, sample);
  const done = (a: Ask): boolean => {
    const rec = cache.get(keyString(keyOf(a)));
    if (!rec || rec.ids.join("\u0000") !== a.g.problems.map((p) => p.id).join("\u0000")) return false;
    return !(opts.retryFailed && rec.finishReason === "error");
  };
  const todo = asks.filter((a) => !done(a));
  const cached = asks.length - todo.length;
  const bar =
    opts.progress === false
      ? null
      : new Progress({ total: asks.length, startStep: cached, label: `sweep ${model}`, stream: opts.progress });

  let asked = 0;
  for (let i = 0; i < todo.length; i += batchSize) {
    opts.signal?.throwIfAborted();
    const batch = todo.slice(i, i + batchSize);
    const completions = await opts.model.complete(
      batch.map((a) => ({
        prompt: packProblems(a.g.problems, { template }).text,
        maxTokens: budgetTokens(opts.budget, a.g.n),
        temperature,
        seed: requestSeed(a),
        ...(opts.stop ? { stop: opts.stop } : {}),
      })),
      { signal: opts.signal },
    );
    batch.forEach((a, j) => {
      const c = completions[j]!;
      const rec: CacheRecord = {
        key: keyOf(a),
        ids: a.g.problems.map((p) => p.id),
        response: c.text,
        finishReason: c.finishReason,
        rows: scoreGroup(a.g, c, { model, template, seed, budget, sample: a.sample }),
      };
      appendJsonl(cacheFile, rec);
      cache.set(keyString(rec.key), rec);
    });
    asked += batch.length;
    bar?.update(cached + asked, { n: batch[batch.length - 1]!.g.n });
  }
  bar?.done();

  const rows = asks.flatMap((a) => cache.get(keyString(keyOf(a)))!.rows);
  const summary: SweepSummary = {
    model,
    template,
    budget,
    seed,
    stream,
    temperature,
    samples,
    ns: opts.ns,
    asked,
    cached,
    perN: opts.ns.map((n) =>
      summarizeN(
        rows.filter((r) => r.n === n),
        n,
        budgetTokens(opts.budget, n),
        seed,
        opts.bootstrapResamples,
      ),
    ),
  };
  writeJsonAtomic(path.join(opts.outDir, "summary.json"), summary);
  writeFileAtomic(
    path.join(opts.outDir, "rows.jsonl"),
    rows.map((r) => JSON.stringify(r)).join("\n") + (rows.length ? "\n" : ""),
  );
  writeFileAtomic(path.join(opts.outDir, "rows.csv"), sweepRowsCsv(rows));
  return { rows, summary };
}

/** One plain row per N of a sweep summary (tables, CSV): the means with their 95% CIs. */
export interface SummaryRow {
  model: string;
  N: number;
  groups: number;
  failed: number;
  accuracy: number;
  acc_lo: number;
  acc_hi: number;
  tokens_per_problem: number;
  tok_lo: number;
  tok_hi: number;
  truncation: number;
  trunc_lo: number;
  trunc_hi: number;
  answered: number;
}

export function summaryRows(summary: SweepSummary): SummaryRow[] {
  return summary.perN.map((p) => ({
    model: summary.model,
    N: p.n,
    groups: p.groups,
    failed: p.failed,
    accuracy: p.accuracy.mean,
    acc_lo: p.accuracy.ci[0],
    acc_hi: p.accuracy.ci[1],
    tokens_per_problem: p.tokensPerProblem.mean,
    tok_lo: p.tokensPerProblem.ci[0],
    tok_hi: p.tokensPerProblem.ci[1],
    truncation: p.truncationRate.mean,
    trunc_lo: p.truncationRate.ci[0],
    trunc_hi: p.truncationRate.ci[1],
    answered: p.answeredRate.mean,
  }));
}

/**
 * A sweep summary (with its 95% intervals) as the input of taskScalingFigure (and, through `tokensPerProblem` or `accuracy`
 * as `values`, of scalingFigure and fitScaling): the mean per N, labelled `method` (default the
 * summary's model name).
 */
export function taskScalingSeries(summary: SweepSummary, method: string = summary.model): TaskScalingSeries {
  return {
    method,
    ns: summary.perN.map((p) => p.n),
    tokensPerProblem: summary.perN.map((p) => p.tokensPerProblem.mean),
    accuracy: summary.perN.map((p) => p.accuracy.mean),
    tokensCi: summary.perN.map((p) => p.tokensPerProblem.ci),
    accuracyCi: summary.perN.map((p) => p.accuracy.ci),
  };
}

const EMPTY: MeanCI = { mean: NaN, ci: [NaN, NaN] };

export function summarizeN(rows: SweepRow[], n: number, budget: number, seed = 0, resamples = 1000): NSummary {
  const ok = rows.filter((r) => !r.failed);
  const ci = (xs: number[]): MeanCI => (xs.length ? bootstrapMeanCI(xs, { seed, resamples }) : EMPTY);
  const byProblem = new Map<string, SweepRow[]>();
  for (const r of ok) {
    let l = byProblem.get(r.problemId);
    if (!l) byProblem.set(r.problemId, (l = []));
    l.push(r);
  }
  const perProblem = (f: (r: SweepRow) => number): number[] =>
    [...byProblem.values()].map((rs) => rs.reduce((s, r) => s + f(r), 0) / rs.length);
  const accuracyByPosition = Array.from({ length: n }, (_, k) => {
    const at = ok.filter((r) => r.position === k + 1);
    const perProblemAt = new Map<string, number[]>();
    for (const r of at) {
      let l = perProblemAt.get(r.problemId);
      if (!l) perProblemAt.set(r.problemId, (l = []));
      l.push(Number(r.correct));
    }
    const xs = [...perProblemAt.values()].map((v) => v.reduce((a, b) => a + b, 0) / v.length);
    return { position: k + 1, count: at.length, ...ci(xs) };
  });
  return {
    n,
    samples: ok.reduce((m, r) => Math.max(m, (r.sample ?? 0) + 1), 1),
    budgetTokens: budget,
    groups: new Set(rows.map((r) => r.group)).size,
    problems: new Set(rows.map((r) => r.problemId)).size,
    rows: rows.length,
    failed: rows.length - ok.length,
    accuracy: ci(perProblem((r) => Number(r.correct))),
    tokensPerProblem: ci(perProblem((r) => r.tokens)),
    truncationRate: ci(perProblem((r) => Number(r.truncated))),
    answeredRate: ci(perProblem((r) => Number(r.answered))),
    accuracyByPosition,
    tokensEstimated: ok.some((r) => r.tokensEstimated),
  };
}

const COLUMNS: string[] = [
  "n",
  "group",
  "sample",
  "position",
  "problemId",
  "difficulty",
  "correct",
  "tokens",
  "truncated",
  "answered",
  "failed",
  "model",
  "template",
  "seed",
  "budget",
  "groupTokens",
  "tokensEstimated",
  "error",
];

/** The sweep's rows as CSV, columns in the order above (cells quoted as RFC 4180 asks). */
export function sweepRowsCsv(rows: SweepRow[]): string {
  // toCsv writes a column no row has (`error` when nothing failed) as empty cells.
  return toCsv(rows, { columns: COLUMNS });
}
