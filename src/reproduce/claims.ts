/**
 * The verdicts on the paper's four claims, computed from measured numbers with explicit
 * thresholds (ClaimThresholds, defaults in src/reproduce/config.ts). Numbering follows
 * docs/reference (bcr.md): 1 task scaling, 2 free lunch, 3 loops, 4 stability. Each verdict is
 * "held", "partially", "not held", or "not tested" (a method it needs was not run).
 *
 * 1 task scaling (bcr vs single over the N-sweep under one fixed total budget)
 *     A: bcr tokens/problem is monotone non-increasing in N: t(N_{i+1}) <= t(N_i) + tol * t(N_1)
 *        for consecutive measured N (tol = monotoneTolerance, noise allowance);
 *     B: bcr's accuracy drop acc(1) - acc(M) is smaller than single's, M = the largest measured
 *        N <= scalingMaxN that both have.
 *     held: A and B; partially: one of them; not held: neither.
 * 2 free lunch (bcr vs single at N=1, problems paired, seeds averaged)
 *     A: token reduction 1 - tokens(bcr)/tokens(single) >= freeLunchMinReduction;
 *     B: accuracy(bcr) - accuracy(single) >= -freeLunchAccuracyMargin.
 *     held: A and B; partially: A without B, or B with a reduction whose CI lies above 0 (real
 *     but smaller than the threshold); not held: otherwise.
 * 3 loops (re-check loops per N=1 response, bcr vs the SFT model it started from)
 *     held: bcr's mean is below sft's and the CI of the difference lies below 0;
 *     partially: below, but the CI of the difference includes 0; not held: not below.
 * 4 stability (collapse = eval accuracy ends below collapseFraction of its start, per seed;
 *     a method collapsed when at least collapsedSeedShare of its seeds did)
 *     held: the strongest linear penalty collapsed and bcr did not; partially: only one of
 *     the two; not held: neither.
 */
import type { ClaimThresholdsSchema } from "./config.js";
import type { z } from "zod";

export type ClaimThresholds = z.infer<typeof ClaimThresholdsSchema>;
export type Verdict = "held" | "partially" | "not held" | "not tested";
export interface Estimate { mean: number; ci: [number, number] }

export interface ScalingCurve { ns: number[]; tokensPerProblem: number[]; accuracy: number[] }

export interface ClaimInputs {
  /** bcr vs single at N=1: reduction is a fraction (0.4 = 40% fewer tokens), accuracy difference a fraction. */
  freeLunch?: { tokenReduction: Estimate; accuracyDiff: Estimate; bcrTokens: number; singleTokens: number };
  scaling?: { bcr: ScalingCurve; single: ScalingCurve };
  loops?: { bcr: Estimate; sft: Estimate; diff: Estimate };
  stability?: {
    penalty: { method: string; collapsedSeeds: number; seeds: number } | null;
    bcr: { collapsedSeeds: number; seeds: number };
  };
}

export interface Claim {
  id: "task_scaling" | "free_lunch" | "loops" | "stability";
  number: 1 | 2 | 3 | 4;
  title: string;
  paper: string;
  criterion: string;
  measurement: string;
  verdict: Verdict;
  /** The numbers the verdict rests on. */
  details: Record<string, unknown>;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const pts = (x: number) => `${(100 * x).toFixed(1)}`;
const ciPct = (e: Estimate) => `${pct(e.mean)} [${pct(e.ci[0])}, ${pct(e.ci[1])}]`;
const ciPts = (e: Estimate) => `${pts(e.mean)} points [${pts(e.ci[0])}, ${pts(e.ci[1])}]`;
const num = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
const ciNum = (e: Estimate, d = 2) => `${num(e.mean, d)} [${num(e.ci[0], d)}, ${num(e.ci[1], d)}]`;

const PAPER = {
  task_scaling: "As N grows at inference, tokens per problem fall monotonically while accuracy degrades far more gracefully than for baselines.",
  free_lunch: "A BCR-trained model answering one problem uses 15.8%-62.6% fewer tokens than its base with equal or better accuracy.",
  loops: "Redundant metacognitive loops (re-checking a step already done) disappear without any length supervision.",
  stability: "An explicit length penalty makes training collapse; the implicit budget of BCR does not.",
};

function from(count: number): Verdict {
  return count === 2 ? "held" : count === 1 ? "partially" : "not held";
}

export function isMonotoneNonIncreasing(values: number[], tolerance: number): boolean {
  const slack = tolerance * Math.abs(values[0] ?? 0);
  return values.every((v, i) => i === 0 || v <= values[i - 1]! + slack);
}

/** acc(1) - acc(M) with M the largest N <= maxN measured in both curves; null when impossible. */
export function accuracyDrop(a: ScalingCurve, b: ScalingCurve, maxN: number): { n: number; a: number; b: number } | null {
  const common = a.ns.filter((n) => n <= maxN && b.ns.includes(n));
  if (!common.includes(1) || common.length < 2) return null;
  const m = Math.max(...common);
  const at = (c: ScalingCurve, n: number) => c.accuracy[c.ns.indexOf(n)]!;
  return { n: m, a: at(a, 1) - at(a, m), b: at(b, 1) - at(b, m) };
}

export function taskScalingClaim(input: ClaimInputs["scaling"], t: ClaimThresholds): Claim {
  const base = {
    id: "task_scaling" as const, number: 1 as const, title: "Task-scaling law", paper: PAPER.task_scaling,
    criterion: `bcr tokens/problem non-increasing in N (tolerance ${pct(t.monotoneTolerance)} of the N=1 value) AND bcr's accuracy drop from N=1 to N=${t.scalingMaxN} smaller than single's`,
  };
  if (!input) return { ...base, verdict: "not tested", measurement: "bcr and single sweeps are both needed", details: {} };
  const sorted = (c: ScalingCurve) => {
    const idx = c.ns.map((_, i) => i).sort((i, j) => c.ns[i]! - c.ns[j]!);
    return { ns: idx.map((i) => c.ns[i]!), tokensPerProblem: idx.map((i) => c.tokensPerProblem[i]!), accuracy: idx.map((i) => c.accuracy[i]!) };
  };
  const bcr = sorted(input.bcr), single = sorted(input.single);
  const monotone = isMonotoneNonIncreasing(bcr.tokensPerProblem, t.monotoneTolerance);
  const drop = accuracyDrop(bcr, single, t.scalingMaxN);
  const graceful = drop !== null && drop.a < drop.b;
  const tokens = bcr.ns.map((n, i) => `${n}:${num(bcr.tokensPerProblem[i]!, 1)}`).join(" ");
  const measurement = `bcr tokens/problem by N ${tokens} (${monotone ? "non-increasing" : "not monotone"}); ` +
    (drop ? `accuracy drop N=1->${drop.n}: bcr ${pts(drop.a)} points, single ${pts(drop.b)} points` : "no common N range to compare accuracy drops");
  return {
    ...base, measurement, verdict: from(Number(monotone) + Number(graceful)),
    details: { monotone, graceful, drop, bcr, single },
  };
}

export function freeLunchClaim(input: ClaimInputs["freeLunch"], t: ClaimThresholds): Claim {
  const base = {
    id: "free_lunch" as const, number: 2 as const, title: "Free lunch at N=1", paper: PAPER.free_lunch,
    criterion: `bcr uses >= ${pct(t.freeLunchMinReduction)} fewer tokens per problem than single at N=1 AND its accuracy is no lower than single's minus ${pts(t.freeLunchAccuracyMargin)} points`,
  };
  if (!input) return { ...base, verdict: "not tested", measurement: "bcr and single N=1 evals are both needed", details: {} };
  const enough = input.tokenReduction.mean >= t.freeLunchMinReduction;
  const accOk = input.accuracyDiff.mean >= -t.freeLunchAccuracyMargin;
  const realReduction = input.tokenReduction.ci[0] > 0;
  const verdict: Verdict = enough && accOk ? "held" : enough || (accOk && realReduction) ? "partially" : "not held";
  return {
    ...base, verdict,
    measurement: `token reduction ${ciPct(input.tokenReduction)} (bcr ${num(input.bcrTokens, 1)} vs single ${num(input.singleTokens, 1)} tokens/problem); ` +
      `accuracy difference ${ciPts(input.accuracyDiff)}`,
    details: { enoughReduction: enough, accuracyOk: accOk, reductionCiAboveZero: realReduction, ...input },
  };
}

export function loopsClaim(input: ClaimInputs["loops"]): Claim {
  const base = {
    id: "loops" as const, number: 3 as const, title: "Self-regulated efficiency (loops)", paper: PAPER.loops,
    criterion: "bcr's re-check loops per N=1 response below the SFT model's, with the CI of the difference below 0 (partially: below, CI includes 0)",
  };
  if (!input) return { ...base, verdict: "not tested", measurement: "bcr and sft N=1 evals are both needed", details: {} };
  const below = input.bcr.mean < input.sft.mean;
  const significant = input.diff.ci[1] < 0;
  return {
    ...base, verdict: below ? (significant ? "held" : "partially") : "not held",
    measurement: `loops per response: bcr ${ciNum(input.bcr)}, sft ${ciNum(input.sft)}; difference ${ciNum(input.diff)}`,
    details: { below, significant, ...input },
  };
}

export function isCollapsed(m: { collapsedSeeds: number; seeds: number }, t: ClaimThresholds): boolean {
  return m.seeds > 0 && m.collapsedSeeds / m.seeds >= t.collapsedSeedShare;
}

export function stabilityClaim(input: ClaimInputs["stability"], t: ClaimThresholds): Claim {
  const base = {
    id: "stability" as const, number: 4 as const, title: "Training stability", paper: PAPER.stability,
    criterion: `the strongest linear penalty collapsed AND bcr did not (a method collapsed when >= ${pct(t.collapsedSeedShare)} of its seeds ended below ${pct(t.collapseFraction)} of their start eval accuracy)`,
  };
  if (!input || !input.penalty) return { ...base, verdict: "not tested", measurement: "a linear-penalty run and a bcr run are both needed", details: {} };
  const penaltyCollapsed = isCollapsed(input.penalty, t);
  const bcrCollapsed = isCollapsed(input.bcr, t);
  return {
    ...base, verdict: from(Number(penaltyCollapsed) + Number(!bcrCollapsed)),
    measurement: `${input.penalty.method}: ${input.penalty.collapsedSeeds}/${input.penalty.seeds} seeds collapsed (${penaltyCollapsed ? "collapsed" : "stable"}); ` +
      `bcr: ${input.bcr.collapsedSeeds}/${input.bcr.seeds} seeds collapsed (${bcrCollapsed ? "collapsed" : "stable"})`,
    details: { penaltyCollapsed, bcrCollapsed, ...input },
  };
}

/** All four claims, in the paper's order. */
export function evaluateClaims(input: ClaimInputs, t: ClaimThresholds): Claim[] {
  return [taskScalingClaim(input.scaling, t), freeLunchClaim(input.freeLunch, t), loopsClaim(input.loops), stabilityClaim(input.stability, t)];
}
