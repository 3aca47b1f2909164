/**
 * The pure BCR pieces of an N-sweep or a periodic eval: which problems share a context in which
 * order (planGroups), and how one packed completion becomes one row per problem (scoreGroup).
 * No I/O, no model: src/eval/sweep.ts and src/rl/evaluate.ts drive them.
 *
 * planGroups, for one N:
 * 1. Groups. The problems are shuffled (seeded), the first G*N kept (G = floor(P/N), at most
 *    `maxGroups`), stably sorted by difficulty (missing = 0), and dealt in snake order
 *    (0..G-1, G-1..0, ...) into G base groups, so every group draws one problem from each
 *    difficulty stratum (member s from stratum s) and group mean difficulties match.
 * 2. Positions. Each base group is asked in `rotations` cyclic rotations (default N, a full
 *    Latin square: every problem is seen once at every position 1..N, so position effects
 *    average out and can be measured). With r < N rotations, base group b uses the offsets
 *    (b + j) mod N for j < r: stratum s then sits at position (s - b - j) mod N, so each
 *    difficulty stratum is spread evenly over the positions across base groups.
 *    Group index = b * r + j.
 *
 * scoreGroup: the completion is scored with scoreResponse (truncated = it hit its token cap); a
 * problem's tokens are the completion tokens attributed to it (scoreResponse's attribution,
 * rescaled to sum to the completion tokens the model reported). A failed completion gives rows
 * with failed=true, correct=false, tokens=0.
 */
import type { Completion } from "../model/completion.js";
import { Rng } from "../util/rng.js";
import { extractAnswers } from "./extract.js";
import { scoreResponse } from "./score.js";
import type { Problem, TemplateName } from "./types.js";

/** A planned group: which problems, in which order. */
export interface PlannedGroup {
  n: number;
  /** base * rotations + rotation. */
  group: number;
  /** The base group (which problems) and its cyclic rotation (which order). */
  base: number;
  rotation: number;
  problems: Problem[];
}

/** One row of the tidy table. */
export interface SweepRow {
  n: number;
  group: number;
  /** 1-based position of the problem in the packed prompt. */
  position: number;
  /** Which independent draw of this group (0..samples-1; 0 under greedy decoding). */
  sample: number;
  problemId: string;
  difficulty: number | null;
  correct: boolean;
  /** Completion tokens attributed to this problem. */
  tokens: number;
  truncated: boolean;
  answered: boolean;
  failed: boolean;
  model: string;
  template: TemplateName;
  seed: number;
  budget: string;
  /** The group's completion tokens and whether they are an estimate. */
  groupTokens: number;
  tokensEstimated: boolean;
  error?: string;
}

/** The groups of one N (steps 1-2 of the header). */
export function planGroups(
  problems: Problem[],
  n: number,
  opts: { seed?: number; rotations?: number; maxGroups?: number } = {},
): PlannedGroup[] {
  if (!Number.isInteger(n) || n < 1) throw new Error(`N must be a positive integer, got ${n}`);
  const rng = new Rng(((opts.seed ?? 0) * 1000003 + n) >>> 0);
  const G = Math.min(Math.floor(problems.length / n), opts.maxGroups ?? Infinity);
  if (G < 1) return [];
  const kept = rng.shuffle(problems).slice(0, G * n);
  const sorted = kept
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.difficulty ?? 0) - (b.p.difficulty ?? 0) || a.i - b.i)
    .map((x) => x.p);
  const base: Problem[][] = Array.from({ length: G }, () => []);
  sorted.forEach((p, i) => {
    const stratum = Math.floor(i / G),
      j = i % G;
    base[stratum % 2 === 0 ? j : G - 1 - j]!.push(p);
  });
  const r = Math.max(1, Math.min(n, opts.rotations ?? n));
  const out: PlannedGroup[] = [];
  base.forEach((order, b) => {
    for (let j = 0; j < r; j++) {
      const off = (b + j) % n;
      out.push({ n, group: b * r + j, base: b, rotation: j, problems: [...order.slice(off), ...order.slice(0, off)] });
    }
  });
  return out;
}

/** Score one group's completion into its rows (steps 3-4 of the header). */
export function scoreGroup(
  g: PlannedGroup,
  c: Completion,
  ctx: { model: string; template: TemplateName; seed: number; budget: string; sample?: number },
): SweepRow[] {
  const base = {
    n: g.n,
    group: g.group,
    sample: ctx.sample ?? 0,
    model: ctx.model,
    template: ctx.template,
    seed: ctx.seed,
    budget: ctx.budget,
  };
  if (c.finishReason === "error") {
    return g.problems.map((p, i) => ({
      ...base,
      position: i + 1,
      problemId: p.id,
      difficulty: p.difficulty ?? null,
      correct: false,
      tokens: 0,
      truncated: false,
      answered: false,
      failed: true,
      groupTokens: 0,
      tokensEstimated: c.tokensEstimated,
      error: c.error ?? "unknown error",
    }));
  }
  const truncated = c.finishReason === "length";
  const s = scoreResponse(
    c.text,
    g.problems.map((p) => p.answer),
    { template: ctx.template, truncated },
  );
  const answers = extractAnswers(c.text, g.n, { template: ctx.template, truncated });
  const scale = s.totalTokens > 0 ? c.completionTokens / s.totalTokens : 0;
  return g.problems.map((p, i) => ({
    ...base,
    position: i + 1,
    problemId: p.id,
    difficulty: p.difficulty ?? null,
    correct: s.correct[i]!,
    tokens: s.totalTokens > 0 ? s.tokensPerProblem[i]! * scale : c.completionTokens / g.n,
    truncated,
    answered: answers[i] !== null,
    failed: false,
    groupTokens: c.completionTokens,
    tokensEstimated: c.tokensEstimated,
  }));
}
