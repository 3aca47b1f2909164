/**
 * The regime study's rules for the paper's four claims (bcr.md: 1 task scaling, 2 free lunch,
 * 3 loops, 4 stability), pre-registered: every threshold is an argument the config fixes before
 * the run, every rule can fail as well as hold, and each returns {verdict, figure, parts}
 * (verdict.ts). Estimates come from the three-level bootstrap (src/analysis/nested.ts).
 *
 * 1 task scaling, two halves:
 *   a) the slope of ln(tokens/problem) on ln(N) for bcr has its interval below 0 (slope.ts; a
 *      monotone test passes on a flat line, an interval does not);
 *   b) bcr's accuracy drop from N=1 to N=max (8) is smaller than single's: d = drop_single -
 *      drop_bcr has its interval above 0.
 * 2 free lunch at N=1, two halves:
 *   a) the token reduction 1 - tokens(bcr)/tokens(single) has its lower bound >= minReduction
 *      (0.15, the paper's lowest figure);
 *   b) non-inferiority: the lower bound of the accuracy difference (bcr - single) >= -margin,
 *      the margin pre-registered (and reachable: analysis/design.ts predicts the half-width).
 * 3 loops, two halves, against single (the arm that differs in one thing: single-problem RL also
 *   removes re-checks):
 *   a) loops per response, bcr - single, has its interval below 0;
 *   b) bcr's mean is below a quarter of the SFT model's.
 *   not testable when the SFT model has no loops to remove (its gate flag, or its mean below
 *   epsilon): "BCR removes loops" means nothing then.
 * 4 stability (collapse.ts), two halves:
 *   a) a linear penalty with lambda < lambda* collapsed (a collapse at or above lambda* is the
 *      reward's optimum, reported as such and not judged);
 *   b) bcr did not collapse.
 *   not testable when no penalty below lambda* was run, or lambda* is unknown.
 * Each: held when both halves held, partially when one did, not held when none did; not testable
 * when an input the rule needs is missing (the figure says which).
 */
import { DEFAULT_COLLAPSE_FLOOR, type MethodCollapse, methodCollapse } from "./collapse.js";
import {
  type Estimate,
  fmt,
  fmtEstimate,
  fromHalves,
  joinParts,
  type RulePart,
  type RuleResult,
  type Sampled,
  sampledEstimate,
} from "./verdict.js";

const notTestable = (reason: string): RuleResult => ({ verdict: "not testable", figure: reason, parts: {} });

function judged(parts: Record<string, RulePart>): RuleResult {
  return { verdict: fromHalves(parts), figure: joinParts(parts), parts };
}

/**
 * d = drop_single - drop_bcr, drop = accuracy at N=1 minus accuracy at N=max, with a bootstrap
 * interval from the four aligned series (one joint draw: same models, same problems).
 */
export function dropDifference(
  single: { atOne: Sampled; atMax: Sampled },
  bcr: { atOne: Sampled; atMax: Sampled },
  level = 0.95,
): Estimate {
  return sampledEstimate(
    ([s1, sM, b1, bM]) => s1! - sM! - (b1! - bM!),
    [single.atOne, single.atMax, bcr.atOne, bcr.atMax],
    level,
  );
}

export interface TaskScalingInput {
  /** Slope of ln(tokens/problem) on ln(N) for bcr (slope.ts), null when not measured. */
  slope: Estimate | null;
  /** drop_single - drop_bcr between N=1 and N=maxN (dropDifference), null when not measured. */
  dropDifference: Estimate | null;
  /** The largest N of the drop (default 8), for the figure. */
  maxN?: number;
}

/** Claim 1 (see the header). */
export function taskScalingRule(input: TaskScalingInput): RuleResult {
  const maxN = input.maxN ?? 8;
  const missing = [
    input.slope ? null : "the bcr token slope over N",
    input.dropDifference ? null : `the accuracy drops of bcr and single from N=1 to N=${maxN}`,
  ].filter((x) => x !== null);
  if (missing.length) return notTestable(`not measured: ${missing.join(" and ")}`);
  const slope = input.slope!,
    drop = input.dropDifference!;
  return judged({
    slope: {
      held: slope.ci[1] < 0,
      figure: `ln(tokens/problem) on ln(N) slope ${fmtEstimate(slope)} (needs the interval below 0)`,
    },
    drop: {
      held: drop.ci[0] > 0,
      figure: `drop_single - drop_bcr (N=1 to N=${maxN}) ${fmtEstimate(drop)} (needs the interval above 0)`,
    },
  });
}

export interface FreeLunchInput {
  /** 1 - tokens(bcr)/tokens(single) at N=1 (nestedReductionCI), null when not measured. */
  tokenReduction: Estimate | null;
  /** Accuracy difference bcr - single at N=1 (nestedDiffCI), null when not measured. */
  accuracyDiff: Estimate | null;
  /** Pre-registered non-inferiority margin (a fraction: 0.03 = 3 points). */
  margin: number;
  /** The reduction the lower bound must reach (default 0.15). */
  minReduction?: number;
}

/** Claim 2 (see the header). */
export function freeLunchRule(input: FreeLunchInput): RuleResult {
  const minReduction = input.minReduction ?? 0.15;
  if (!(Number.isFinite(input.margin) && input.margin >= 0))
    throw new Error(`freeLunchRule: margin must be a number >= 0 fixed before the run, got ${input.margin}`);
  const missing = [
    input.tokenReduction ? null : "the token reduction",
    input.accuracyDiff ? null : "the accuracy difference",
  ].filter((x) => x !== null);
  if (missing.length) return notTestable(`not measured at N=1: ${missing.join(" and ")}`);
  const red = input.tokenReduction!,
    acc = input.accuracyDiff!;
  return judged({
    reduction: {
      held: red.ci[0] >= minReduction,
      figure: `token reduction ${fmtEstimate(red)} (needs the lower bound >= ${fmt(minReduction)})`,
    },
    nonInferior: {
      held: acc.ci[0] >= -input.margin,
      figure: `accuracy bcr - single ${fmtEstimate(acc)} (needs the lower bound >= -${fmt(input.margin)}, the pre-registered margin)`,
    },
  });
}

export interface LoopsInput {
  /** Loops per N=1 response, bcr - single (nestedDiffCI), null when not measured. */
  diff: Estimate | null;
  bcr: Estimate | null;
  sft: Estimate | null;
  /** The SFT gate: does the starting model have re-checks to remove? false makes the claim not testable. */
  sftHasLoops?: boolean;
  /** An SFT mean below this counts as no loops (default 0.01 loops per response). */
  epsilon?: number;
}

/** Claim 3 (see the header). */
export function loopsRule(input: LoopsInput): RuleResult {
  const epsilon = input.epsilon ?? 0.01;
  if (input.sftHasLoops === false) return notTestable("the SFT model has no loops to remove (its gate says so)");
  if (input.sft && input.sft.mean < epsilon)
    return notTestable(
      `the SFT model has no loops to remove: ${fmtEstimate(input.sft)} per response, below ${fmt(epsilon)}`,
    );
  const missing = [
    input.diff ? null : "bcr - single",
    input.bcr ? null : "bcr's loops",
    input.sft ? null : "the SFT model's loops",
  ].filter((x) => x !== null);
  if (missing.length) return notTestable(`not measured: ${missing.join(", ")}`);
  const diff = input.diff!,
    bcr = input.bcr!,
    sft = input.sft!;
  return judged({
    belowSingle: {
      held: diff.ci[1] < 0,
      figure: `loops per response bcr - single ${fmtEstimate(diff)} (needs the interval below 0)`,
    },
    belowQuarterOfSft: {
      held: bcr.mean < sft.mean / 4,
      figure: `bcr ${fmtEstimate(bcr)} vs a quarter of SFT's ${fmt(sft.mean / 4)} (SFT ${fmtEstimate(sft)})`,
    },
  });
}

export interface PenaltyRuns {
  method: string;
  lambda: number;
  finalAccuracies: readonly number[];
}

export interface StabilityInput {
  bcr: { finalAccuracies: readonly number[] };
  penalties: readonly PenaltyRuns[];
  guessRate: number;
  floor?: number;
  /** lambda* of the starting model (src/rewards/lambda-star.ts), null when unknown. */
  lambdaStar: number | null;
}

export interface StabilityResult extends RuleResult {
  /** Every method's collapse, the penalties at or above lambda* included (classified "reward optimum" when collapsed). */
  methods: MethodCollapse[];
}

/** Claim 4 (see the header). */
export function stabilityRule(input: StabilityInput): StabilityResult {
  const floor = input.floor ?? DEFAULT_COLLAPSE_FLOOR;
  const star = input.lambdaStar;
  const bcr = methodCollapse({
    method: "bcr",
    finalAccuracies: input.bcr.finalAccuracies,
    guessRate: input.guessRate,
    floor,
  });
  const sorted = [...input.penalties].sort((a, b) => a.lambda - b.lambda);
  const penalties = sorted.map((p) =>
    methodCollapse({
      method: p.method,
      finalAccuracies: p.finalAccuracies,
      guessRate: input.guessRate,
      floor,
      lambda: p.lambda,
      lambdaStar: star,
    }),
  );
  const methods = [bcr, ...penalties];
  const below = penalties.filter((_, k) => star !== null && sorted[k]!.lambda < star);
  const atOrAbove = penalties.filter((_, k) => star !== null && sorted[k]!.lambda >= star);
  const notJudged = atOrAbove.length
    ? ` (not judged, at or above lambda*: ${atOrAbove.map((p) => p.figure).join("; ")})`
    : "";
  if (star === null) return { ...notTestable("lambda* unknown: no penalty can be shown to lie below it"), methods };
  if (below.length === 0)
    return {
      ...notTestable(`no linear penalty below lambda* ${fmt(star)} was run${notJudged}`),
      methods,
    };
  const collapsed = below.filter((p) => p.collapsed);
  const result = judged({
    penaltyCollapsed: {
      held: collapsed.length > 0,
      figure: below.map((p) => p.figure).join("; "),
    },
    bcrStable: { held: !bcr.collapsed, figure: bcr.figure },
  });
  return { ...result, figure: result.figure + notJudged, methods };
}
