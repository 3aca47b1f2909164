/**
 * Percentile bootstrap helpers. Every headline number in the project is reported with one of
 * these intervals, so they share one convention:
 *   - resample with replacement (B resamples, default 1000) using a seeded `Rng` (default seed 0),
 *   - the interval is the (1-level)/2 and (1+level)/2 quantiles of the resampled statistic
 *     (linear interpolation between order statistics, "type 7"), level default 0.95.
 * With a single value the interval is degenerate ([v, v]): there is no spread to resample.
 */
import { Rng } from "../util/rng.js";

export interface BootstrapOptions {
  /** Seed of the resampling stream (default 0), so a report is reproducible. */
  seed?: number;
  /** Number of resamples (default 1000). */
  resamples?: number;
  /** Coverage of the interval (default 0.95). */
  level?: number;
}

export interface MeanCI {
  mean: number;
  ci: [number, number];
}

export interface DiffCI {
  /** mean(a) - mean(b). */
  diff: number;
  ci: [number, number];
  /** Approximate two-sided p-value: 2 * min(share of resampled diffs <= 0, share >= 0), at most 1. */
  pValue: number;
  paired: boolean;
}

function resolve(opts: BootstrapOptions | undefined): Required<BootstrapOptions> {
  const seed = opts?.seed ?? 0;
  const resamples = opts?.resamples ?? 1000;
  const level = opts?.level ?? 0.95;
  if (!Number.isInteger(resamples) || resamples < 1)
    throw new Error(`bootstrap: resamples must be a positive integer, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new Error(`bootstrap: level must be in (0, 1), got ${level}`);
  return { seed, resamples, level };
}

function checkFinite(values: readonly number[], what: string): void {
  if (values.length === 0) throw new Error(`${what}: no values`);
  const bad = values.findIndex((v) => typeof v !== "number" || !Number.isFinite(v));
  if (bad >= 0) throw new Error(`${what}: value ${bad} is not a finite number (${values[bad]})`);
}

export function mean(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** Quantile q in [0,1] of an ascending-sorted array, linear interpolation between order statistics. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

export function quantile(values: readonly number[], q: number): number {
  return quantileSorted(
    values.slice().sort((a, b) => a - b),
    q,
  );
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Central percentile interval of samples (non-finite samples are dropped). */
export function percentileInterval(samples: readonly number[], level = 0.95): [number, number] {
  const s = samples.filter(Number.isFinite).sort((a, b) => a - b);
  const alpha = (1 - level) / 2;
  return [quantileSorted(s, alpha), quantileSorted(s, 1 - alpha)];
}

/** Percentile bootstrap of any statistic of one sample. */
export function bootstrapCI(
  values: readonly number[],
  statistic: (xs: number[]) => number,
  opts?: BootstrapOptions,
): { estimate: number; ci: [number, number] } {
  checkFinite(values, "bootstrapCI");
  const { seed, resamples, level } = resolve(opts);
  const estimate = statistic(values.slice());
  if (values.length === 1) return { estimate, ci: [estimate, estimate] };
  const rng = new Rng(seed);
  const n = values.length;
  const stats = new Array<number>(resamples);
  const buf = new Array<number>(n);
  for (let b = 0; b < resamples; b++) {
    for (let i = 0; i < n; i++) buf[i] = values[Math.floor(rng.next() * n)]!;
    stats[b] = statistic(buf);
  }
  return { estimate, ci: percentileInterval(stats, level) };
}

/** Mean with a percentile bootstrap interval. */
export function bootstrapMeanCI(values: readonly number[], opts?: BootstrapOptions): MeanCI {
  const { estimate, ci } = bootstrapCI(values, mean, opts);
  return { mean: estimate, ci };
}

/**
 * Difference of means mean(a) - mean(b) with a percentile bootstrap interval.
 * paired (default: true when the lengths match and `paired` is not given as false): a and b are
 * matched (same seeds / same problems), so index i is resampled jointly and the statistic is the
 * mean of the differences. Unpaired: a and b are resampled independently.
 */
export function bootstrapDiffCI(
  a: readonly number[],
  b: readonly number[],
  opts?: BootstrapOptions & { paired?: boolean },
): DiffCI {
  checkFinite(a, "bootstrapDiffCI (a)");
  checkFinite(b, "bootstrapDiffCI (b)");
  const paired = opts?.paired ?? a.length === b.length;
  if (paired && a.length !== b.length) {
    throw new Error(`bootstrapDiffCI: paired samples need equal lengths, got ${a.length} and ${b.length}`);
  }
  const { seed, resamples, level } = resolve(opts);
  const rng = new Rng(seed);
  const diff = mean(a) - mean(b);
  const stats = new Array<number>(resamples);
  for (let r = 0; r < resamples; r++) {
    if (paired) {
      let s = 0;
      for (let i = 0; i < a.length; i++) {
        const j = Math.floor(rng.next() * a.length);
        s += a[j]! - b[j]!;
      }
      stats[r] = s / a.length;
    } else {
      let sa = 0,
        sb = 0;
      for (let i = 0; i < a.length; i++) sa += a[Math.floor(rng.next() * a.length)]!;
      for (let i = 0; i < b.length; i++) sb += b[Math.floor(rng.next() * b.length)]!;
      stats[r] = sa / a.length - sb / b.length;
    }
  }
  const le = stats.filter((d) => d <= 0).length / resamples;
  const ge = stats.filter((d) => d >= 0).length / resamples;
  return { diff, ci: percentileInterval(stats, level), pValue: Math.min(1, 2 * Math.min(le, ge)), paired };
}
