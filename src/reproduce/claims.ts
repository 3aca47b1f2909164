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
 * 2 free lunch (bcr vs single at N=1, problems paired; intervals as analysis.ci says)
 *     A: the token reduction 1 - tokens(bcr)/tokens(single) is shown to reach the threshold: the
 *        lower bound of its interval >= freeLunchMinReduction;
 *     B: non-inferiority: the lower bound of the accuracy difference's interval (bcr - single)
 *        >= -freeLunchNonInferiorityMargin (a margin fixed in the config before the run). A mean
 *        inside freeLunchAccuracyMargin is reported beside it but decides nothing: a mean of +0.3
 *        points with an interval of [-5.5, +6.0] does not show equal accuracy.
 *     held: A and B; partially: A without B, or B with a reduction whose interval lies above 0
 *     (real, not shown to reach the threshold); not held: otherwise.
 * 3 loops (re-check loops per N=1 response, bcr vs the SFT model it started from)
 *     held: bcr's mean is below sft's and the CI of the difference lies below 0;
 *     partially: below, but the CI of the difference includes 0; not held: not below.
 * 4 stability (collapse = eval accuracy ends below collapseFraction of its start, per seed;
 *     a method collapsed when at least collapsedSeedShare of its seeds did)
 *     judged on the linear penalties with lambda <= lambda* (src/rewards/lambda-star.ts): above
 *     lambda* a bare guess out-scores a correct answer, so a collapse there is the reward's
 *     optimum, not instability. With lambda* unknown, on the strongest linear penalty, and the
 *     measurement says that this does not separate the two.
 *     held: a judged penalty collapsed and bcr did not; partially: only one of the two; not
 *     held: neither; not tested: no linear penalty at or below lambda* was run.
 */
import type { ClaimThresholdsSchema } from "./config.js";
import type { z } from "zod";

export type ClaimThresholds = z.infer<typeof ClaimThresholdsSchema>;
export type Verdict = "held" | "partially" | "not held" | "not tested";
export interface Estimate {
  mean: number;
  ci: [number, number];
}

export interface ScalingCurve {
  ns: number[];
  tokensPerProblem: number[];
  accuracy: number[];
}

export interface ClaimInputs {
  /** bcr vs single at N=1: reduction is a fraction (0.4 = 40% fewer tokens), accuracy difference a fraction. */
  freeLunch?: { tokenReduction: Estimate; accuracyDiff: Estimate; bcrTokens: number; singleTokens: number };
  scaling?: { bcr: ScalingCurve; single: ScalingCurve };
  loops?: { bcr: Estimate; sft: Estimate; diff: Estimate };
  stability?: {
    /** The penalty judged when `linear` is absent (the strongest linear penalty). */
    penalty: PenaltyStability | null;
    bcr: { collapsedSeeds: number; seeds: number };
    /** Every linear-penalty method with its lambda: claim 4 is judged on those with lambda <= lambdaStar. */
    linear?: (PenaltyStability & { lambda: number })[];
    /** lambda* of the starting model, or null when it could not be computed (lambdaStarReason says why). */
    lambdaStar?: number | null;
    lambdaStarReason?: string;
  };
}

export interface PenaltyStability {
  method: string;
  collapsedSeeds: number;
  seeds: number;
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
  task_scaling:
    "As N grows at inference, tokens per problem fall monotonically while accuracy degrades far more gracefully than for baselines.",
  free_lunch:
    "A BCR-trained model answering one problem uses 15.8%-62.6% fewer tokens than its base with equal or better accuracy.",
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
export function accuracyDrop(
  a: ScalingCurve,
  b: ScalingCurve,
  maxN: number,
): { n: number; a: number; b: number } | null {
  const common = a.ns.filter((n) => n <= maxN && b.ns.includes(n));
  if (!common.includes(1) || common.length < 2) return null;
  const m = Math.max(...common);
  const at = (c: ScalingCurve, n: number) => c.accuracy[c.ns.indexOf(n)]!;
  return { n: m, a: at(a, 1) - at(a, m), b: at(b, 1) - at(b, m) };
}

export function taskScalingClaim(input: ClaimInputs["scaling"], t: ClaimThresholds): Claim {
  const base = {
    id: "task_scaling" as const,
    number: 1 as const,
    title: "Task-scaling law",
    paper: PAPER.task_scaling,
    criterion: `bcr tokens/problem non-increasing in N (tolerance ${pct(t.monotoneTolerance)} of the N=1 value) AND bcr's accuracy drop from N=1 to N=${t.scalingMaxN} smaller than single's`,
  };
  if (!input)
    return { ...base, verdict: "not tested", measurement: "bcr and single sweeps are both needed", details: {} };
  const sorted = (c: ScalingCurve) => {
    const idx = c.ns.map((_, i) => i).sort((i, j) => c.ns[i]! - c.ns[j]!);
    return {
      ns: idx.map((i) => c.ns[i]!),
      tokensPerProblem: idx.map((i) => c.tokensPerProblem[i]!),
      accuracy: idx.map((i) => c.accuracy[i]!),
    };
  };
  const bcr = sorted(input.bcr),
    single = sorted(input.single);
  const monotone = isMonotoneNonIncreasing(bcr.tokensPerProblem, t.monotoneTolerance);
  const drop = accuracyDrop(bcr, single, t.scalingMaxN);
  const graceful = drop !== null && drop.a < drop.b;
  const tokens = bcr.ns.map((n, i) => `${n}:${num(bcr.tokensPerProblem[i]!, 1)}`).join(" ");
  const measurement =
    `bcr tokens/problem by N ${tokens} (${monotone ? "non-increasing" : "not monotone"}); ` +
    (drop
      ? `accuracy drop N=1->${drop.n}: bcr ${pts(drop.a)} points, single ${pts(drop.b)} points`
      : "no common N range to compare accuracy drops");
  return {
    ...base,
    measurement,
    verdict: from(Number(monotone) + Number(graceful)),
    details: { monotone, graceful, drop, bcr, single },
  };
}

export function freeLunchClaim(input: ClaimInputs["freeLunch"], t: ClaimThresholds): Claim {
  const base = {
    id: "free_lunch" as const,
    number: 2 as const,
    title: "Free lunch at N=1",
    paper: PAPER.free_lunch,
    criterion:
      `the lower bound of the interval of bcr's token reduction against single at N=1 is >= ${pct(t.freeLunchMinReduction)} ` +
      `AND bcr is non-inferior in accuracy: the lower bound of the accuracy difference's interval (bcr - single) is >= -${pts(t.freeLunchNonInferiorityMargin)} points (margin fixed in the config before the run)`,
  };
  if (!input)
    return { ...base, verdict: "not tested", measurement: "bcr and single N=1 evals are both needed", details: {} };
  const enough = input.tokenReduction.ci[0] >= t.freeLunchMinReduction;
  const nonInferior = input.accuracyDiff.ci[0] >= -t.freeLunchNonInferiorityMargin;
  const meanWithinMargin = input.accuracyDiff.mean >= -t.freeLunchAccuracyMargin;
  const realReduction = input.tokenReduction.ci[0] > 0;
  const verdict: Verdict =
    enough && nonInferior ? "held" : enough || (nonInferior && realReduction) ? "partially" : "not held";
  return {
    ...base,
    verdict,
    measurement:
      `token reduction ${ciPct(input.tokenReduction)} (bcr ${num(input.bcrTokens, 1)} vs single ${num(input.singleTokens, 1)} tokens/problem; ` +
      `${enough ? "lower bound at or above" : "lower bound below"} ${pct(t.freeLunchMinReduction)}); ` +
      `accuracy difference ${ciPts(input.accuracyDiff)} (${nonInferior ? "non-inferior" : "non-inferiority not shown"} at a ${pts(t.freeLunchNonInferiorityMargin)}-point margin)`,
    details: {
      enoughReduction: enough,
      nonInferior,
      nonInferiorityMargin: t.freeLunchNonInferiorityMargin,
      meanWithinMargin,
      meanMargin: t.freeLunchAccuracyMargin,
      reductionCiAboveZero: realReduction,
      ...input,
    },
  };
}

export function loopsClaim(input: ClaimInputs["loops"]): Claim {
  const base = {
    id: "loops" as const,
    number: 3 as const,
    title: "Self-regulated efficiency (loops)",
    paper: PAPER.loops,
    criterion:
      "bcr's re-check loops per N=1 response below the SFT model's, with the CI of the difference below 0 (partially: below, CI includes 0)",
  };
  if (!input)
    return { ...base, verdict: "not tested", measurement: "bcr and sft N=1 evals are both needed", details: {} };
  const below = input.bcr.mean < input.sft.mean;
  const significant = input.diff.ci[1] < 0;
  return {
    ...base,
    verdict: below ? (significant ? "held" : "partially") : "not held",
    measurement: `loops per response: bcr ${ciNum(input.bcr)}, sft ${ciNum(input.sft)}; difference ${ciNum(input.diff)}`,
    details: { below, significant, ...input },
  };
}

export function isCollapsed(m: { collapsedSeeds: number; seeds: number }, t: ClaimThresholds): boolean {
  return m.seeds > 0 && m.collapsedSeeds / m.seeds >= t.collapsedSeedShare;
}

export function stabilityClaim(input: ClaimInputs["stability"], t: ClaimThresholds): Claim {
  const known = typeof input?.lambdaStar === "number";
  const star = known ? input!.lambdaStar! : null;
  const base = {
    id: "stability" as const,
    number: 4 as const,
    title: "Training stability",
    paper: PAPER.stability,
    criterion:
      `a linear penalty with lambda <= lambda* (the strength above which a bare guess out-scores a correct answer${star !== null ? `, here ${num(star)}` : ""}) collapsed AND bcr did not ` +
      `(a method collapsed when >= ${pct(t.collapsedSeedShare)} of its seeds ended below ${pct(t.collapseFraction)} of their start eval accuracy)`,
  };
  if (!input)
    return {
      ...base,
      verdict: "not tested",
      measurement: "a linear-penalty run and a bcr run are both needed",
      details: {},
    };
  const bcrCollapsed = isCollapsed(input.bcr, t);
  const bcrText = `bcr: ${input.bcr.collapsedSeeds}/${input.bcr.seeds} seeds collapsed (${bcrCollapsed ? "collapsed" : "stable"})`;
  const linear = [...(input.linear ?? [])].sort((a, b) => b.lambda - a.lambda);
  const seedsText = (p: PenaltyStability) =>
    `${p.method}: ${p.collapsedSeeds}/${p.seeds} seeds collapsed (${isCollapsed(p, t) ? "collapsed" : "stable"})`;
  if (linear.length && star !== null) {
    const judged = linear.filter((p) => p.lambda <= star + 1e-12);
    const above = linear.filter((p) => p.lambda > star + 1e-12);
    const aboveText = above.length
      ? `; not judged, above lambda* where collapse is the reward's optimum: ${above.map(seedsText).join(", ")}`
      : "";
    if (!judged.length) {
      return {
        ...base,
        verdict: "not tested",
        measurement: `lambda* = ${num(star)}: no linear penalty at or below it was run${aboveText}; ${bcrText}`,
        details: { lambdaStar: star, judged: [], above, bcrCollapsed, ...input },
      };
    }
    const collapsed = judged.filter((p) => isCollapsed(p, t));
    return {
      ...base,
      verdict: from(Number(collapsed.length > 0) + Number(!bcrCollapsed)),
      measurement:
        `lambda* = ${num(star)}; judged: ${judged.map(seedsText).join(", ")}` +
        `${collapsed.length ? "" : " (no linear penalty at or below lambda* collapsed)"}${aboveText}; ${bcrText}`,
      details: { lambdaStar: star, judged, above, penaltyCollapsed: collapsed.length > 0, bcrCollapsed, ...input },
    };
  }
  const penalty = input.penalty ?? linear[0] ?? null;
  if (!penalty)
    return {
      ...base,
      verdict: "not tested",
      measurement: "a linear-penalty run and a bcr run are both needed",
      details: {},
    };
  const penaltyCollapsed = isCollapsed(penalty, t);
  const unknown = `lambda* unknown (${input.lambdaStarReason ?? "not computed"}), so a collapse here is not separated from the reward's optimum`;
  return {
    ...base,
    verdict: from(Number(penaltyCollapsed) + Number(!bcrCollapsed)),
    measurement: `${seedsText(penalty)}; ${bcrText}; ${unknown}`,
    details: { penaltyCollapsed, bcrCollapsed, lambdaStar: null, ...input, penalty },
  };
}

/** All four claims, in the paper's order. */
export function evaluateClaims(input: ClaimInputs, t: ClaimThresholds): Claim[] {
  return [
    taskScalingClaim(input.scaling, t),
    freeLunchClaim(input.freeLunch, t),
    loopsClaim(input.loops),
    stabilityClaim(input.stability, t),
  ];
}
