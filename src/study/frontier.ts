/**
 * The frontier test: is BCR more accurate than an explicit length penalty at the same
 * tokens/problem? A shorter, less accurate method is a length penalty until shown otherwise
 * (rigor.md), so BCR is placed on the penalty's (tokens/problem, accuracy) curve.
 *
 * Interpolation: among the penalty points, the nearest at or below bcr's tokens/problem and the
 * nearest at or above it bracket bcr; the penalty's accuracy at bcr's tokens is the straight line
 * between the two, in tokens:
 *   acc_pen(t) = acc_lo + (t - t_lo) / (t_hi - t_lo) * (acc_hi - acc_lo)
 * and the statistic is diff = acc_bcr - acc_pen(t_bcr). Worked: penalties at (20, 0.60) and
 * (30, 0.80), bcr at (25, 0.75): acc_pen = 0.70, diff = +0.05. When bcr's tokens lie outside every
 * bracket (shorter than the strongest penalty or longer than the weakest), there is nothing to
 * interpolate: not testable, "no bracketing strengths" (extrapolating a curve that bends is a guess).
 *
 * Interval: every arm comes with aligned bootstrap resamples of its tokens and accuracy (one joint
 * draw, src/analysis/nested.ts nestedJointResamples); diff is recomputed in every resample with the
 * bracketing pair chosen on the full-data points. The pair is fixed so that the statistic is one
 * smooth function of the resampled means (re-choosing the pair per resample would jump between
 * segments); where a resample moves bcr's tokens outside that pair, the same line is extended,
 * and `extrapolatedShare` says how often that happened.
 *
 * Verdict on "BCR beats an explicit penalty at equal length": held when the interval of diff lies
 * above 0, not held when it lies below 0, not decided when it straddles 0.
 */
import { percentileInterval } from "../analysis/bootstrap.js";
import { type Estimate, fmt, fmtEstimate, type RuleResult, type Sampled } from "./verdict.js";

export interface FrontierPoint {
  name: string;
  tokens: number;
  accuracy: number;
}

export interface Interpolation {
  lower: FrontierPoint;
  upper: FrontierPoint;
  /** Position of bcr between lower (0) and upper (1) in tokens. */
  weight: number;
  /** The penalty's accuracy interpolated at bcr's tokens/problem. */
  penaltyAccuracy: number;
  /** bcr's accuracy minus penaltyAccuracy. */
  diff: number;
}

export type Bracket = { ok: true; interpolation: Interpolation } | { ok: false; reason: string };

function checkPoint(p: FrontierPoint): void {
  if (!(Number.isFinite(p.tokens) && p.tokens > 0))
    throw new Error(`frontier: ${p.name} tokens must be positive, got ${p.tokens}`);
  if (!Number.isFinite(p.accuracy))
    throw new Error(`frontier: ${p.name} accuracy must be a finite number, got ${p.accuracy}`);
}

/** Straight line between lower and upper at tokens t (extended beyond them when t lies outside). */
function lineAt(lower: FrontierPoint, upper: FrontierPoint, t: number): { weight: number; accuracy: number } {
  const span = upper.tokens - lower.tokens;
  if (span === 0) return { weight: 0, accuracy: (lower.accuracy + upper.accuracy) / 2 };
  const weight = (t - lower.tokens) / span;
  return { weight, accuracy: lower.accuracy + weight * (upper.accuracy - lower.accuracy) };
}

/** The point-estimate interpolation (see the header), or why there is none. */
export function interpolateFrontier(bcr: FrontierPoint, penalties: readonly FrontierPoint[]): Bracket {
  checkPoint(bcr);
  penalties.forEach(checkPoint);
  const lows = penalties.filter((p) => p.tokens <= bcr.tokens);
  const highs = penalties.filter((p) => p.tokens >= bcr.tokens);
  if (lows.length === 0 || highs.length === 0) {
    const range = penalties.length
      ? ` (penalties span ${fmt(Math.min(...penalties.map((p) => p.tokens)))}-${fmt(Math.max(...penalties.map((p) => p.tokens)))} tokens/problem, bcr ${fmt(bcr.tokens)})`
      : " (no penalty points)";
    return { ok: false, reason: `no bracketing strengths${range}` };
  }
  const lower = lows.reduce((a, b) => (b.tokens > a.tokens ? b : a));
  const upper = highs.reduce((a, b) => (b.tokens < a.tokens ? b : a));
  const { weight, accuracy } = lineAt(lower, upper, bcr.tokens);
  return {
    ok: true,
    interpolation: { lower, upper, weight, penaltyAccuracy: accuracy, diff: bcr.accuracy - accuracy },
  };
}

/** An arm with its tokens/problem and accuracy, each a point with aligned resamples. */
export interface SampledArm {
  name: string;
  tokens: Sampled;
  accuracy: Sampled;
}

export interface FrontierResult extends RuleResult {
  interpolation: Interpolation | null;
  diff: Estimate | null;
  /** Share of resamples in which bcr's tokens fell outside the bracketing pair (the line was extended). */
  extrapolatedShare: number | null;
}

const pointOf = (a: SampledArm): FrontierPoint => ({
  name: a.name,
  tokens: a.tokens.point,
  accuracy: a.accuracy.point,
});

function intervalOf(s: Sampled, level: number): Estimate {
  return { mean: s.point, ci: percentileInterval(s.resamples, level) };
}

/** The frontier test with its bootstrap interval (see the header). */
export function frontierTest(bcr: SampledArm, penalties: readonly SampledArm[], level = 0.95): FrontierResult {
  const B = bcr.tokens.resamples.length;
  const names = [bcr, ...penalties].map((a) => a.name);
  const twice = names.find((n, k) => names.indexOf(n) !== k);
  if (twice !== undefined) throw new Error(`frontierTest: arm name ${twice} is used twice; names identify the arms`);
  for (const a of [bcr, ...penalties])
    for (const [what, s] of [
      ["tokens", a.tokens],
      ["accuracy", a.accuracy],
    ] as const)
      if (s.resamples.length !== B)
        throw new Error(
          `frontierTest: ${a.name} ${what} has ${s.resamples.length} resamples, bcr tokens ${B}; arms must come from one joint draw`,
        );
  const arm = (a: SampledArm) =>
    `${a.name} (${fmtEstimate(intervalOf(a.tokens, level))} tokens, acc ${fmtEstimate(intervalOf(a.accuracy, level))})`;
  const bracket = interpolateFrontier(pointOf(bcr), penalties.map(pointOf));
  if (!bracket.ok)
    return {
      verdict: "not testable",
      figure: `${bracket.reason}; bcr ${arm(bcr)}`,
      parts: {},
      interpolation: null,
      diff: null,
      extrapolatedShare: null,
    };
  const it = bracket.interpolation;
  const lo = penalties.find((p) => p.name === it.lower.name)!;
  const hi = penalties.find((p) => p.name === it.upper.name)!;
  const stats = new Array<number>(B);
  let outside = 0;
  for (let r = 0; r < B; r++) {
    const pl = { name: lo.name, tokens: lo.tokens.resamples[r]!, accuracy: lo.accuracy.resamples[r]! };
    const ph = { name: hi.name, tokens: hi.tokens.resamples[r]!, accuracy: hi.accuracy.resamples[r]! };
    const t = bcr.tokens.resamples[r]!;
    if (t < Math.min(pl.tokens, ph.tokens) || t > Math.max(pl.tokens, ph.tokens)) outside++;
    stats[r] = bcr.accuracy.resamples[r]! - lineAt(pl, ph, t).accuracy;
  }
  const diff: Estimate = { mean: it.diff, ci: percentileInterval(stats, level) };
  const verdict = diff.ci[0] > 0 ? "held" : diff.ci[1] < 0 ? "not held" : "not decided";
  const extrapolatedShare = B > 0 ? outside / B : 0;
  const pair = lo === hi ? arm(lo) : `${arm(lo)} and ${arm(hi)}`;
  return {
    verdict,
    figure:
      `bcr accuracy minus the penalty's at bcr's tokens/problem ${fmtEstimate(diff)} ` +
      `(penalty accuracy ${fmt(it.penaltyAccuracy)} interpolated between ${pair}; bcr ${arm(bcr)}; ` +
      `line extended in ${fmt(100 * extrapolatedShare)}% of resamples)`,
    parts: {},
    interpolation: it,
    diff,
    extrapolatedShare,
  };
}
