/**
 * Three-level (nested) percentile bootstrap for the regime study's design: several SFT seeds, a
 * few RL seeds trained from each SFT model, every model scored on the same test problems.
 * values[i][j][p] is the score of RL seed j of SFT seed i on problem p, its samples already
 * averaged inside the problem (`nestedFromRows` builds it from long rows).
 *
 * One resample, in this order (the order fixes how the seeded Rng stream is spent):
 *   1. problems: P indices with replacement, drawn once and shared by every seed and every arm
 *      (the "shared" design of hierarchical.ts: a hard problem is hard for every model, and one
 *      draw keeps that; it is also what pairs two methods on problems);
 *   2. SFT seeds: S indices with replacement, shared by every arm (methods trained from the same
 *      SFT model are paired on it);
 *   3. RL seeds: for each drawn SFT seed, R_i indices with replacement among that SFT seed's RL
 *      seeds, drawn afresh for every arm (two methods' RL runs are separate trainings) but shared
 *      by all metrics of one arm (tokens and accuracy of one run belong together);
 * and the statistic is the mean over drawn SFT seeds of the mean over drawn RL seeds of the mean
 * over the drawn problems. A level with a single unit is not drawn at all (there is nothing to
 * choose), so one SFT seed with one RL seed spends the Rng exactly as bootstrapMeanCI does and
 * gives its interval to the last bit. Conventions otherwise as in bootstrap.ts (resamples default
 * 1000, level 0.95, seed 0, type-7 percentile interval).
 *
 * Why three levels: the SFT model is a random draw too (changing arithmetic alone moved SFT
 * accuracy from 0.594 to 0.426, rigor.md). Treating every (SFT, RL) run as an independent seed
 * (the two-level code on flattened runs) counts two RL runs of one SFT model as two independent
 * draws of the SFT effect and under-covers when SFT seeds differ
 * (tests/analysis/nested-coverage.test.ts measures both).
 *
 * Honest limit: with 3 SFT seeds the percentile bootstrap under-covers whenever the SFT level
 * dominates. The resampled mean of 3 values puts 1/27 > 2.5% of its mass on "all three the
 * lowest", so the interval is about [min, max] of the three SFT means, which holds the true mean
 * with probability 1 - 2 (1/2)^3 = 0.75. Measured (tests/analysis/nested-coverage.test.ts, its
 * design run by hand over 2000 synthetic data sets): 0.74 there, 0.93 on a balanced design, 0.91
 * with 8 SFT seeds. More SFT seeds is the cure; no resampling trick makes 3 draws say more.
 */
import { Rng } from "../util/rng.js";
import { mean, percentileInterval, type BootstrapOptions, type DiffCI, type MeanCI } from "./bootstrap.js";

/** Scores indexed [sftSeed][rlSeed][problem]; every (sft, rl) cell holds the same problems in the same order. */
export type Nested = readonly (readonly (readonly number[])[])[];

export type Id = string | number;

/** One evaluated sample in long form, as eval rows are committed. */
export interface LongRow {
  sft_seed: Id;
  rl_seed: Id;
  problem: Id;
  sample: Id;
  value: number;
}

/** Raw samples per cell: samples[i][j][p] lists the values of every sample of problem p. */
export interface NestedSamples {
  /** Ids in the order of the array's levels (sorted, so two arms over the same ids line up). */
  sftSeeds: Id[];
  /** rlSeeds[i]: the RL seed ids under SFT seed i. */
  rlSeeds: Id[][];
  problems: Id[];
  samples: number[][][][];
}

export interface NestedValues extends Omit<NestedSamples, "samples"> {
  values: number[][][];
}

/** Numbers before strings, numbers by value, strings by code unit: an order that never depends on row order. */
export function compareIds(a: Id, b: Id): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "number") return -1;
  if (typeof b === "number") return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

const key = (...parts: Id[]) => JSON.stringify(parts);

/**
 * Group long rows into cells [sft][rl][problem] -> sample values. Every (sft, rl) cell must hold
 * the same problem set (the shared problem draw needs it): the error names the first cell that
 * misses problems and which. A repeated (sft, rl, problem, sample) or a non-finite value throws.
 */
export function samplesFromRows(rows: readonly LongRow[]): NestedSamples {
  if (rows.length === 0) throw new Error("samplesFromRows: no rows");
  const seen = new Set<string>();
  const rlOf = new Map<string, { id: Id; rls: Map<string, { id: Id; problems: Map<string, number[]> }> }>();
  const problemIds = new Map<string, Id>();
  rows.forEach((r, n) => {
    if (typeof r.value !== "number" || !Number.isFinite(r.value))
      throw new Error(
        `samplesFromRows: row ${n} (sft ${r.sft_seed}, rl ${r.rl_seed}, problem ${r.problem}) value is not a finite number (${r.value})`,
      );
    const k = key(r.sft_seed, r.rl_seed, r.problem, r.sample);
    if (seen.has(k))
      throw new Error(
        `samplesFromRows: row ${n} repeats sft ${r.sft_seed}, rl ${r.rl_seed}, problem ${r.problem}, sample ${r.sample}`,
      );
    seen.add(k);
    const sk = key(r.sft_seed);
    const sft = rlOf.get(sk) ?? { id: r.sft_seed, rls: new Map() };
    rlOf.set(sk, sft);
    const rk = key(r.rl_seed);
    const rl = sft.rls.get(rk) ?? { id: r.rl_seed, problems: new Map() };
    sft.rls.set(rk, rl);
    const pk = key(r.problem);
    problemIds.set(pk, r.problem);
    const list = rl.problems.get(pk) ?? [];
    list.push(r.value);
    rl.problems.set(pk, list);
  });
  const problems = [...problemIds.values()].sort(compareIds);
  const sfts = [...rlOf.values()].sort((a, b) => compareIds(a.id, b.id));
  const samples: number[][][][] = [];
  const rlSeeds: Id[][] = [];
  for (const sft of sfts) {
    const rls = [...sft.rls.values()].sort((a, b) => compareIds(a.id, b.id));
    rlSeeds.push(rls.map((r) => r.id));
    samples.push(
      rls.map((rl) => {
        const missing = problems.filter((p) => !rl.problems.has(key(p)));
        if (missing.length)
          throw new Error(
            `samplesFromRows: cell (sft ${sft.id}, rl ${rl.id}) has ${rl.problems.size} of the ${problems.length} problems; ` +
              `missing ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ` and ${missing.length - 5} more` : ""}: ` +
              "every (sft, rl) cell needs the same problem set",
          );
        return problems.map((p) => rl.problems.get(key(p))!);
      }),
    );
  }
  return { sftSeeds: sfts.map((s) => s.id), rlSeeds, problems, samples };
}

/** values[i][j][p] from long rows: samples averaged inside each problem (see samplesFromRows for the checks). */
export function nestedFromRows(rows: readonly LongRow[]): NestedValues {
  const { samples, ...ids } = samplesFromRows(rows);
  return { ...ids, values: samples.map((sft) => sft.map((rl) => rl.map((xs) => mean(xs)))) };
}

function resolve(opts: BootstrapOptions | undefined): Required<BootstrapOptions> {
  const seed = opts?.seed ?? 0;
  const resamples = opts?.resamples ?? 1000;
  const level = opts?.level ?? 0.95;
  if (!Number.isInteger(resamples) || resamples < 1)
    throw new Error(`nested bootstrap: resamples must be a positive integer, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new Error(`nested bootstrap: level must be in (0, 1), got ${level}`);
  return { seed, resamples, level };
}

/** Shape checks: non-empty levels, finite numbers, the same problem count in every cell. */
function check(values: Nested, what: string): void {
  if (values.length === 0) throw new Error(`${what}: no SFT seeds`);
  const P = values[0]?.[0]?.length ?? 0;
  values.forEach((sft, i) => {
    if (sft.length === 0) throw new Error(`${what}: SFT seed ${i} has no RL seeds`);
    sft.forEach((row, j) => {
      if (row.length === 0) throw new Error(`${what}: cell (sft ${i}, rl ${j}) has no problems`);
      if (row.length !== P)
        throw new Error(
          `${what}: cell (sft ${i}, rl ${j}) has ${row.length} problems, cell (0, 0) has ${P}; shared problem draws need the same problems everywhere`,
        );
      const bad = row.findIndex((v) => typeof v !== "number" || !Number.isFinite(v));
      if (bad >= 0)
        throw new Error(`${what}: cell (sft ${i}, rl ${j}), problem ${bad} is not a finite number (${row[bad]})`);
    });
  });
}

/** The point estimate: mean over SFT seeds of the mean over their RL seeds of the mean over problems. */
export function nestedMean(values: Nested): number {
  return mean(values.map((sft) => mean(sft.map((row) => mean(row)))));
}

/** n indices in [0, n) with replacement; a single unit is not drawn (see the header). */
function draw(rng: Rng, n: number): Int32Array {
  const idx = new Int32Array(n);
  if (n > 1) for (let i = 0; i < n; i++) idx[i] = Math.floor(rng.next() * n);
  return idx;
}

/** Arms by name, each with its metrics by name; all metrics of an arm share one [sft][rl] shape. */
export type NestedArms = Readonly<Record<string, Readonly<Record<string, Nested>>>>;

/**
 * Aligned bootstrap distributions of every arm's every metric: entry [arm][metric][r] is the
 * mean of means in resample r. Problems and SFT seeds are drawn once per resample and shared by
 * all arms (same SFT count and problem count required); RL seeds are drawn per arm and shared by
 * that arm's metrics (see the header). Any statistic of several means (a difference, a ratio, a
 * slope over N, a frontier interpolation) computed index by index over these arrays is then a
 * bootstrap of that statistic.
 */
export function nestedJointResamples(
  arms: NestedArms,
  opts?: BootstrapOptions,
): Record<string, Record<string, number[]>> {
  const { seed, resamples } = resolve(opts);
  const armNames = Object.keys(arms);
  if (armNames.length === 0) throw new Error("nestedJointResamples: no arms");
  let S = -1,
    P = -1;
  const shapes: number[][] = [];
  for (const a of armNames) {
    const metrics = Object.keys(arms[a]!);
    if (metrics.length === 0) throw new Error(`nestedJointResamples: arm ${a} has no metrics`);
    const first = arms[a]![metrics[0]!]!;
    for (const m of metrics) {
      const v = arms[a]![m]!;
      check(v, `nestedJointResamples (${a}/${m})`);
      if (S < 0) {
        S = v.length;
        P = v[0]![0]!.length;
      }
      if (v.length !== S)
        throw new Error(
          `nestedJointResamples: ${a}/${m} has ${v.length} SFT seeds, others ${S}; arms paired on SFT seeds need the same ones`,
        );
      if (v[0]![0]!.length !== P)
        throw new Error(
          `nestedJointResamples: ${a}/${m} has ${v[0]![0]!.length} problems, others ${P}; every arm must hold the same problems`,
        );
      v.forEach((sft, i) => {
        if (sft.length !== first[i]!.length)
          throw new Error(
            `nestedJointResamples: ${a}/${m} has ${sft.length} RL seeds under SFT seed ${i}, ${a}/${metrics[0]} has ${first[i]!.length}; metrics of one arm come from the same runs`,
          );
      });
    }
    shapes.push(first.map((sft) => sft.length));
  }
  const out: Record<string, Record<string, number[]>> = {};
  for (const a of armNames) {
    out[a] = {};
    for (const m of Object.keys(arms[a]!)) out[a][m] = new Array<number>(resamples);
  }
  const rng = new Rng(seed);
  for (let r = 0; r < resamples; r++) {
    const problems = draw(rng, P);
    const sfts = draw(rng, S);
    armNames.forEach((a, ai) => {
      const rlDraws = Array.from(sfts, (i) => draw(rng, shapes[ai]![i]!));
      for (const m of Object.keys(arms[a]!)) {
        const v = arms[a]![m]!;
        let total = 0;
        for (let k = 0; k < S; k++) {
          const sft = v[sfts[k]!]!;
          const rls = rlDraws[k]!;
          let sftTotal = 0;
          for (let q = 0; q < rls.length; q++) {
            const row = sft[rls[q]!]!;
            let s = 0;
            for (let t = 0; t < P; t++) s += row[problems[t]!]!;
            sftTotal += s / P;
          }
          total += sftTotal / rls.length;
        }
        out[a]![m]![r] = total / S;
      }
    });
  }
  return out;
}

/** The bootstrap distribution of one array's mean of means (exposed for tests and figures). */
export function nestedResamples(values: Nested, opts?: BootstrapOptions): number[] {
  return nestedJointResamples({ x: { x: values } }, opts).x!.x!;
}

/** Mean of means with a three-level percentile bootstrap interval. */
export function nestedMeanCI(values: Nested, opts?: BootstrapOptions): MeanCI {
  const { level } = resolve(opts);
  check(values, "nestedMeanCI");
  return { mean: nestedMean(values), ci: percentileInterval(nestedResamples(values, opts), level) };
}

/** The two arms' aligned resamples, a and b paired on SFT seeds and problems. */
function pairedResamples(a: Nested, b: Nested, opts: BootstrapOptions | undefined, what: string) {
  check(a, `${what} (a)`);
  check(b, `${what} (b)`);
  if (a.length !== b.length)
    throw new Error(
      `${what}: a has ${a.length} SFT seeds, b has ${b.length}; the methods share SFT models, so the same SFT seeds are needed`,
    );
  if (a[0]![0]!.length !== b[0]![0]!.length)
    throw new Error(
      `${what}: a has ${a[0]![0]!.length} problems, b has ${b[0]![0]!.length}; both must hold the same problems`,
    );
  const r = nestedJointResamples({ a: { x: a }, b: { x: b } }, opts);
  return { a: r.a!.x!, b: r.b!.x! };
}

/**
 * Difference of two methods' means of means, a - b. Both were trained from the same SFT models
 * (a[i] and b[i] descend from SFT seed i) and scored on the same problems in the same order: a
 * resample draws SFT seeds once and uses each drawn one for both methods, draws the problems once
 * for both, and draws RL seeds independently per method. An SFT model scored without RL can be
 * an arm of one "RL seed" per SFT seed ([S][1][P]).
 */
export function nestedDiffCI(a: Nested, b: Nested, opts?: BootstrapOptions): DiffCI {
  const { level, resamples } = resolve(opts);
  const r = pairedResamples(a, b, opts, "nestedDiffCI");
  const stats = r.a.map((x, k) => x - r.b[k]!);
  const le = stats.filter((d) => d <= 0).length / resamples;
  const ge = stats.filter((d) => d >= 0).length / resamples;
  return {
    diff: nestedMean(a) - nestedMean(b),
    ci: percentileInterval(stats, level),
    pValue: Math.min(1, 2 * Math.min(le, ge)),
    paired: true,
  };
}

/**
 * Relative reduction 1 - mean(a) / mean(b) (token reduction of a against b: 0.4 = 40% fewer),
 * with the same paired draws as nestedDiffCI. The ratio is taken inside every resample, so the
 * interval is a bootstrap of the ratio itself, not a ratio of two intervals. `mean` holds the
 * plug-in ratio of the full-data means (the field name is MeanCI's, so the rules take it as is).
 * A resample whose b mean is 0 gives a non-finite ratio and is dropped by percentileInterval.
 */
export function nestedReductionCI(a: Nested, b: Nested, opts?: BootstrapOptions): MeanCI {
  const { level } = resolve(opts);
  const r = pairedResamples(a, b, opts, "nestedReductionCI");
  const mb = nestedMean(b);
  if (mb === 0) throw new Error("nestedReductionCI: mean(b) is 0, the reduction is undefined");
  return {
    mean: 1 - nestedMean(a) / mb,
    ci: percentileInterval(
      r.a.map((x, k) => 1 - x / r.b[k]!),
      level,
    ),
  };
}
