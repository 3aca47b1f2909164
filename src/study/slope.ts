/**
 * The task-scaling slope: least-squares slope of ln(tokens per problem) on ln(N). A power law
 * t = c N^b has slope b; tokens/problem that fall with N give b < 0. Claim 1 tests the slope's
 * interval, not the sign of successive differences: a monotone test passes on a flat line
 * (rigor.md), an interval below 0 does not.
 */
import { type Estimate, type Sampled, sampledEstimate } from "./verdict.js";

/** Ordinary least-squares slope of ln(values) on ln(ns). Needs 2+ distinct N and positive values. */
export function logLogSlope(ns: readonly number[], values: readonly number[]): number {
  if (ns.length !== values.length)
    throw new Error(`logLogSlope: ${ns.length} N values but ${values.length} measurements`);
  ns.forEach((n, i) => {
    if (!(Number.isFinite(n) && n > 0)) throw new Error(`logLogSlope: N must be positive, got ${n} at ${i}`);
  });
  if (new Set(ns).size < 2) throw new Error("logLogSlope: needs at least two distinct N");
  const x = ns.map(Math.log);
  const y = values.map((v) => Math.log(v));
  const mx = x.reduce((a, b) => a + b, 0) / x.length;
  const my = y.reduce((a, b) => a + b, 0) / y.length;
  let sxy = 0,
    sxx = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
  }
  return sxy / sxx;
}

/**
 * The slope with a bootstrap interval: tokens[k] is the tokens/problem at ns[k] with its aligned
 * resamples (one joint draw over every N, so the models drawn in resample r are the same at every
 * N); the slope is refitted in every resample. A resample with a non-positive value gives a
 * non-finite slope and is dropped.
 */
export function slopeEstimate(ns: readonly number[], tokens: readonly Sampled[], level = 0.95): Estimate {
  if (ns.length !== tokens.length) throw new Error(`slopeEstimate: ${ns.length} N values but ${tokens.length} series`);
  tokens.forEach((t, k) => {
    if (!(t.point > 0)) throw new Error(`slopeEstimate: tokens/problem at N=${ns[k]} must be positive, got ${t.point}`);
  });
  return sampledEstimate((xs) => logLogSlope(ns, xs), tokens, level);
}
