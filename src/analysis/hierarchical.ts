/**
 * Hierarchical (two-level) percentile bootstrap for numbers that vary over RL seeds AND test
 * problems: values[s][p] is seed s's score on problem p. One resample draws S seeds with
 * replacement, then problems, and takes the mean over the drawn seeds of each seed's mean over
 * the drawn problems. Conventions (resamples, level, seeded Rng, type-7 percentile interval) are
 * those of bootstrap.ts.
 *
 * Why: bootstrapping problems after averaging seeds leaves out seed-to-seed variance (single's
 * tokens/problem per seed were 44.5, 53.1, 46.4), so its intervals are too narrow whenever seeds
 * differ; the seeds-only interval leaves out the problems.
 *
 * How the problems are drawn (`problems`):
 *   - "shared" (default): one draw of problem indices per resample, used for every drawn seed.
 *     Right when every seed is scored on the same test problems (this project): a hard problem is
 *     hard for every seed, and drawing it once keeps that. Needs a rectangular matrix (the same
 *     problems, in the same order, for every seed). It is also what keeps two methods paired on
 *     problems in hierarchicalDiffCI.
 *   - "within-seed": a fresh draw of problems for every drawn seed (nested design: each seed has
 *     its own problems). With shared problems this understates the between-problem variance by
 *     the number of seeds (tests/analysis/hierarchical.test.ts measures it), so use it only when
 *     the problems really differ per seed.
 */
import { Rng } from "../util/rng.js";
import { mean, percentileInterval, type BootstrapOptions, type DiffCI, type MeanCI } from "./bootstrap.js";

export type ProblemDraw = "shared" | "within-seed";

export interface HierarchicalOptions extends BootstrapOptions {
  /** How problems are resampled under each drawn seed (default "shared", see the header). */
  problems?: ProblemDraw;
}

function resolve(opts: HierarchicalOptions | undefined) {
  const seed = opts?.seed ?? 0;
  const resamples = opts?.resamples ?? 1000;
  const level = opts?.level ?? 0.95;
  const problems = opts?.problems ?? "shared";
  if (!Number.isInteger(resamples) || resamples < 1)
    throw new Error(`hierarchical bootstrap: resamples must be a positive integer, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new Error(`hierarchical bootstrap: level must be in (0, 1), got ${level}`);
  if (problems !== "shared" && problems !== "within-seed")
    throw new Error(`hierarchical bootstrap: problems must be "shared" or "within-seed", got ${String(problems)}`);
  return { seed, resamples, level, problems };
}

function check(values: readonly (readonly number[])[], what: string, rectangular: boolean): void {
  if (values.length === 0) throw new Error(`${what}: no seeds`);
  values.forEach((row, s) => {
    if (row.length === 0) throw new Error(`${what}: seed ${s} has no problems`);
    const bad = row.findIndex((v) => typeof v !== "number" || !Number.isFinite(v));
    if (bad >= 0) throw new Error(`${what}: seed ${s}, problem ${bad} is not a finite number (${row[bad]})`);
    if (rectangular && row.length !== values[0]!.length) {
      throw new Error(
        `${what}: seed ${s} has ${row.length} problems, seed 0 has ${values[0]!.length}; shared problem draws need the same problems for every seed`,
      );
    }
  });
}

/** The point estimate: the mean over seeds of each seed's mean over its problems. */
export function meanOfSeedMeans(values: readonly (readonly number[])[]): number {
  return mean(values.map((row) => mean(row)));
}

function drawIndices(rng: Rng, n: number): Int32Array {
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = Math.floor(rng.next() * n);
  return idx;
}

/** One resample of the mean of seed means, seeds drawn first, then problems. */
function drawMean(values: readonly (readonly number[])[], rng: Rng, shared: Int32Array | null): number {
  const S = values.length;
  let total = 0;
  for (let k = 0; k < S; k++) {
    const row = values[Math.floor(rng.next() * S)]!;
    const idx = shared ?? drawIndices(rng, row.length);
    let s = 0;
    for (let j = 0; j < idx.length; j++) s += row[idx[j]!]!;
    total += s / idx.length;
  }
  return total / S;
}

/** The bootstrap distribution of the mean of seed means (exposed for tests and figures). */
export function hierarchicalResamples(values: readonly (readonly number[])[], opts?: HierarchicalOptions): number[] {
  const { seed, resamples, problems } = resolve(opts);
  check(values, "hierarchicalResamples", problems === "shared");
  const rng = new Rng(seed);
  const out = new Array<number>(resamples);
  for (let b = 0; b < resamples; b++) {
    const shared = problems === "shared" ? drawIndices(rng, values[0]!.length) : null;
    out[b] = drawMean(values, rng, shared);
  }
  return out;
}

/** Mean of seed means with a hierarchical percentile bootstrap interval. */
export function hierarchicalMeanCI(values: readonly (readonly number[])[], opts?: HierarchicalOptions): MeanCI {
  const { level } = resolve(opts);
  return { mean: meanOfSeedMeans(values), ci: percentileInterval(hierarchicalResamples(values, opts), level) };
}

/**
 * Difference of two methods' means of seed means, a - b, with a hierarchical interval. a[s][p]
 * and b[s][p] must hold the same problems in the same order (paired on problems); the two methods'
 * seeds are separate training runs, so they are drawn independently (their counts may differ,
 * e.g. a deterministic SFT model has one). Problems are drawn once per resample and shared by
 * every seed of both methods (the "shared" draw; a "within-seed" draw would unpair them).
 */
export function hierarchicalDiffCI(
  a: readonly (readonly number[])[],
  b: readonly (readonly number[])[],
  opts?: BootstrapOptions,
): DiffCI {
  const { seed, resamples, level } = resolve(opts);
  check(a, "hierarchicalDiffCI (a)", true);
  check(b, "hierarchicalDiffCI (b)", true);
  if (a[0]!.length !== b[0]!.length)
    throw new Error(
      `hierarchicalDiffCI: a has ${a[0]!.length} problems per seed, b has ${b[0]!.length}; both must hold the same problems`,
    );
  const rng = new Rng(seed);
  const stats = new Array<number>(resamples);
  for (let r = 0; r < resamples; r++) {
    const shared = drawIndices(rng, a[0]!.length);
    stats[r] = drawMean(a, rng, shared) - drawMean(b, rng, shared);
  }
  const le = stats.filter((d) => d <= 0).length / resamples;
  const ge = stats.filter((d) => d >= 0).length / resamples;
  return {
    diff: meanOfSeedMeans(a) - meanOfSeedMeans(b),
    ci: percentileInterval(stats, level),
    pValue: Math.min(1, 2 * Math.min(le, ge)),
    paired: true,
  };
}
