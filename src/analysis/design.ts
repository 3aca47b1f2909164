/**
 * Power before margin: the half-width of a method difference's 95% interval that a design
 * (SFT seeds x RL seeds per SFT seed x problems x samples per problem) will give, predicted from
 * the long rows of an earlier run. rigor.md: three seeds gave a 5-7 point half-width, so a 3-point
 * margin could never be shown; compute the reachable half-width first, then pre-register a margin.
 *
 * Model of one method's score (random effects, all independent, mean 0):
 *   y_ijpk = mu + s_i + r_ij + p_p + sp_ip + rp_ijp + e_ijpk
 * s: SFT seed i; r: RL seed j of SFT seed i; p: problem (shared by every model); sp: an SFT model's
 * own ease with a problem, kept by its RL runs; rp: one RL run's ease with a problem; e: sample k.
 * The grand mean of a balanced design (S, R, P, K) then has variance
 *   s/S + r/(S R) + p/P + sp/(S P) + rp/(S R P) + e/(S R P K).
 *
 * Estimation: the method of moments on the balanced ANOVA mean squares (expected mean squares of
 * this crossed-nested design), negative estimates set to 0:
 *   e = MS_E, rp = (MS_RP - MS_E)/K, sp = (MS_SP - MS_RP)/(R K), p = (MS_P - MS_SP)/(S R K),
 *   r = (MS_R - MS_RP)/(P K), s = (MS_S - MS_R - MS_SP + MS_RP)/(R P K).
 *
 * A difference a - b of two methods trained from the same SFT models and scored on the same
 * problems shares s, p and sp; r, rp and e are separate runs and samples. The shared levels enter
 * as the variance of the difference, var(a) + var(b) - 2 cov(a, b), with the cross-method
 * covariances from cross-products of the two methods' means (expectations in brackets):
 *   C_S = sum_i (A_i - A)(B_i - B)/(S-1)             [k_s + k_sp/P]
 *   C_P = sum_p (A_p - A)(B_p - B)/(P-1)             [k_p + k_sp/S]
 *   C_SP = sum_ip (A_ip - A_i - A_p + A)(B_ip ...)/((S-1)(P-1))   [k_sp]
 * The predicted half-width is z_level times the predicted standard deviation of the difference:
 * the width a correct interval would have. A percentile bootstrap over 3 SFT seeds is narrower
 * than that when the SFT level matters (nested.ts), so treat the prediction as the target, not as
 * what the bootstrap will print.
 *
 * What the rows must allow (errors say which): a balanced design (the same RL seed count under
 * every SFT seed, the same sample count in every cell, the same problems everywhere), at least 2
 * RL seeds per SFT seed and 2 problems. Decided edge cases, each reported in `notes`:
 *   - one SFT seed (an earlier run with one SFT model): the SFT component cannot be estimated;
 *     give `assumedSftVariance` (of the difference) or the call throws. sp is folded into p (its
 *     own share is not separable), which over-predicts: p/P' instead of sp/(S' P').
 *   - one sample per problem: e is folded into rp, which over-predicts a design with more samples.
 * The prediction is only as good as the components: the SFT one rests on S - 1 degrees of freedom,
 * the RL one on S (R - 1) (`degreesOfFreedom`), each uncertain by about sqrt(2 / df) of itself.
 * Measured (tests/analysis/design.test.ts, 20 synthetic earlier runs): from 16 SFT x 2 RL seeds the
 * predicted half-width ranged over 0.72-1.54 of the true one; from 40 x 3, over 0.84-1.18.
 */
import { mean } from "./bootstrap.js";
import { type Id, type LongRow, samplesFromRows } from "./nested.js";

export interface Design {
  sftSeeds: number;
  /** RL seeds per SFT seed. */
  rlSeeds: number;
  problems: number;
  /** Independent samples per problem. */
  samples: number;
}

/** Variance components of one method's score, or of a difference of two methods (see the header). */
export interface VarianceComponents {
  sft: number;
  rl: number;
  problem: number;
  sftProblem: number;
  rlProblem: number;
  sample: number;
}

export interface ComponentEstimate {
  components: VarianceComponents;
  /** The design the rows had. */
  counts: Design;
  /**
   * Degrees of freedom of the mean square each component rests on (S - 1 for the SFT one): a
   * variance from d degrees of freedom is uncertain by about sqrt(2 / d) of itself.
   */
  degreesOfFreedom: VarianceComponents;
  /** Folded or assumed components, one sentence each. */
  notes: string[];
}

export interface DesignHalfWidth {
  halfWidth: number;
  /** Predicted standard deviation of the difference. */
  sd: number;
  level: number;
  design: Design;
  /** Components of the difference a - b. */
  components: VarianceComponents;
  /** Each component's share of the predicted variance under `design`, summing to 1. */
  shares: VarianceComponents;
  notes: string[];
  figure: string;
}

const LEVELS: (keyof VarianceComponents)[] = ["sft", "rl", "problem", "sftProblem", "rlProblem", "sample"];

/** How much one unit of each component adds to the variance of the grand mean under a design. */
function divisors(d: Design): VarianceComponents {
  const { sftSeeds: S, rlSeeds: R, problems: P, samples: K } = d;
  return { sft: S, rl: S * R, problem: P, sftProblem: S * P, rlProblem: S * R * P, sample: S * R * P * K };
}

/** Variance of the grand mean (or of a difference, given its components) under a design. */
export function predictedVariance(c: VarianceComponents, d: Design): number {
  for (const [k, v] of Object.entries(d))
    if (!(Number.isInteger(v) && v >= 1))
      throw new Error(`predictedVariance: design.${k} must be an integer >= 1, got ${v}`);
  const div = divisors(d);
  return LEVELS.reduce((t, k) => t + c[k] / div[k], 0);
}

/**
 * Standard normal quantile (Acklam's rational approximation, relative error below 1.2e-9): the
 * z of a two-sided interval at `level` is normalQuantile((1 + level) / 2).
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`normalQuantile: p must be in (0, 1), got ${p}`);
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo || p > 1 - lo) {
    const q = Math.sqrt(-2 * Math.log(p < lo ? p : 1 - p));
    const x =
      (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
    return p < lo ? x : -x;
  }
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/** The predicted half-width z * sd of an interval at `level` (default 0.95). */
export function predictedHalfWidth(c: VarianceComponents, d: Design, level = 0.95): number {
  if (!(level > 0 && level < 1)) throw new Error(`predictedHalfWidth: level must be in (0, 1), got ${level}`);
  return normalQuantile((1 + level) / 2) * Math.sqrt(predictedVariance(c, d));
}

/** The means one method's rows reduce to, with the ids they are indexed by. */
interface Summary {
  sftSeeds: Id[];
  problems: Id[];
  counts: Design;
  grand: number;
  bySft: number[];
  byProblem: number[];
  /** bySftProblem[i][p]: SFT seed i's mean on problem p over its RL seeds and samples. */
  bySftProblem: number[][];
  meanSquares: { S: number; R: number; P: number; SP: number; RP: number; E: number };
}

function summarize(rows: readonly LongRow[], what: string): Summary {
  const { sftSeeds, rlSeeds, problems, samples } = samplesFromRows(rows);
  const S = sftSeeds.length,
    R = rlSeeds[0]!.length,
    P = problems.length,
    K = samples[0]![0]![0]!.length;
  rlSeeds.forEach((rls, i) => {
    if (rls.length !== R)
      throw new Error(
        `${what}: SFT seed ${sftSeeds[i]} has ${rls.length} RL seeds, SFT seed ${sftSeeds[0]} has ${R}; the estimate needs a balanced design`,
      );
    samples[i]!.forEach((cell, j) =>
      cell.forEach((xs, p) => {
        if (xs.length !== K)
          throw new Error(
            `${what}: (sft ${sftSeeds[i]}, rl ${rls[j]}, problem ${problems[p]}) has ${xs.length} samples, others ${K}; the estimate needs the same count everywhere`,
          );
      }),
    );
  });
  if (R < 2) throw new Error(`${what}: the RL-seed component needs at least 2 RL seeds per SFT seed, got ${R}`);
  if (P < 2) throw new Error(`${what}: the problem component needs at least 2 problems, got ${P}`);
  const cell = samples.map((sft) => sft.map((rl) => rl.map((xs) => mean(xs))));
  const bySftRl = cell.map((sft) => sft.map((rl) => mean(rl)));
  const bySft = bySftRl.map((rls) => mean(rls));
  const bySftProblem = cell.map((sft) => problems.map((_, p) => mean(sft.map((rl) => rl[p]!))));
  const byProblem = problems.map((_, p) => mean(bySftProblem.map((sp) => sp[p]!)));
  const grand = mean(bySft);
  let ssS = 0,
    ssR = 0,
    ssP = 0,
    ssSP = 0,
    ssRP = 0,
    ssE = 0;
  for (let i = 0; i < S; i++) {
    ssS += (bySft[i]! - grand) ** 2;
    for (let j = 0; j < R; j++) {
      ssR += (bySftRl[i]![j]! - bySft[i]!) ** 2;
      for (let p = 0; p < P; p++) {
        ssRP += (cell[i]![j]![p]! - bySftRl[i]![j]! - bySftProblem[i]![p]! + bySft[i]!) ** 2;
        for (const x of samples[i]![j]![p]!) ssE += (x - cell[i]![j]![p]!) ** 2;
      }
    }
    for (let p = 0; p < P; p++) ssSP += (bySftProblem[i]![p]! - bySft[i]! - byProblem[p]! + grand) ** 2;
  }
  for (let p = 0; p < P; p++) ssP += (byProblem[p]! - grand) ** 2;
  const meanSquares = {
    S: S > 1 ? (R * P * K * ssS) / (S - 1) : Number.NaN,
    R: (P * K * ssR) / (S * (R - 1)),
    P: (S * R * K * ssP) / (P - 1),
    SP: S > 1 ? (R * K * ssSP) / ((S - 1) * (P - 1)) : Number.NaN,
    RP: (K * ssRP) / (S * (R - 1) * (P - 1)),
    E: K > 1 ? ssE / (S * R * P * (K - 1)) : Number.NaN,
  };
  return {
    sftSeeds,
    problems,
    counts: { sftSeeds: S, rlSeeds: R, problems: P, samples: K },
    grand,
    bySft,
    byProblem,
    bySftProblem,
    meanSquares,
  };
}

function degreesOfFreedom({ sftSeeds: S, rlSeeds: R, problems: P, samples: K }: Design): VarianceComponents {
  return {
    sft: S - 1,
    rl: S * (R - 1),
    problem: P - 1,
    sftProblem: (S - 1) * (P - 1),
    rlProblem: S * (R - 1) * (P - 1),
    sample: S * R * P * (K - 1),
  };
}

/** Components from one summary (the header's formulas, with the folds for S = 1 and K = 1). */
function componentsOf(m: Summary): ComponentEstimate {
  const { sftSeeds: S, rlSeeds: R, problems: P, samples: K } = m.counts;
  const degrees = degreesOfFreedom(m.counts);
  const ms = m.meanSquares;
  const pos = (x: number) => Math.max(0, x);
  const notes: string[] = [];
  const sample = K > 1 ? ms.E : 0;
  const rlProblem = K > 1 ? pos((ms.RP - ms.E) / K) : pos(ms.RP);
  if (K === 1) notes.push("one sample per problem: sample noise is folded into the RL x problem component");
  const rl = pos((ms.R - ms.RP) / (P * K));
  if (S === 1) {
    notes.push("one SFT seed: the SFT x problem component is folded into the problem component");
    return {
      components: { sft: 0, rl, problem: pos((ms.P - ms.RP) / (R * K)), sftProblem: 0, rlProblem, sample },
      counts: m.counts,
      degreesOfFreedom: degrees,
      notes,
    };
  }
  return {
    components: {
      sft: pos((ms.S - ms.R - ms.SP + ms.RP) / (R * P * K)),
      rl,
      problem: pos((ms.P - ms.SP) / (S * R * K)),
      sftProblem: pos((ms.SP - ms.RP) / (R * K)),
      rlProblem,
      sample,
    },
    counts: m.counts,
    degreesOfFreedom: degrees,
    notes,
  };
}

/** One method's variance components from its long rows (see the header for model and estimator). */
export function varianceComponents(rows: readonly LongRow[]): ComponentEstimate {
  return componentsOf(summarize(rows, "varianceComponents"));
}

const sameIds = (x: Id[], y: Id[]) => x.length === y.length && x.every((v, i) => v === y[i]);

/**
 * Components of the difference a - b: shared levels (SFT, problem, SFT x problem) as
 * var(a) + var(b) - 2 cov(a, b), separate ones (RL, RL x problem, sample) as var(a) + var(b).
 * a and b must hold the same SFT seed ids and problem ids. With one SFT seed the SFT component is
 * `assumedSftVariance` (required then), the shared SFT x problem part folded into the problem one.
 */
export function differenceComponents(
  a: readonly LongRow[],
  b: readonly LongRow[],
  opts?: { assumedSftVariance?: number },
): ComponentEstimate {
  const ma = summarize(a, "differenceComponents (a)");
  const mb = summarize(b, "differenceComponents (b)");
  if (!sameIds(ma.sftSeeds, mb.sftSeeds))
    throw new Error(
      `differenceComponents: a has SFT seeds ${ma.sftSeeds.join(", ")}, b has ${mb.sftSeeds.join(", ")}; the methods must share SFT models`,
    );
  if (!sameIds(ma.problems, mb.problems))
    throw new Error(
      `differenceComponents: a has ${ma.problems.length} problems, b has ${mb.problems.length} (or other ids); both must be scored on the same problems`,
    );
  const ca = componentsOf(ma),
    cb = componentsOf(mb);
  const S = ma.counts.sftSeeds,
    P = ma.counts.problems;
  const cross = (x: number[], y: number[], mx: number, my: number) =>
    x.reduce((t, v, k) => t + (v - mx) * (y[k]! - my), 0) / (x.length - 1);
  const notes = [...new Set([...ca.notes, ...cb.notes])];
  const sum = (k: keyof VarianceComponents) => ca.components[k] + cb.components[k];
  const pos = (x: number) => Math.max(0, x);
  const cP = cross(ma.byProblem, mb.byProblem, ma.grand, mb.grand);
  let sft: number, sftProblem: number, problem: number;
  if (S === 1) {
    const assumed = opts?.assumedSftVariance;
    if (!(typeof assumed === "number" && Number.isFinite(assumed) && assumed >= 0))
      throw new Error(
        "differenceComponents: the rows have one SFT seed, so the SFT component of the difference cannot be estimated; give assumedSftVariance",
      );
    notes.push(`one SFT seed: the SFT component of the difference is assumed (${assumed}), not estimated`);
    sft = assumed;
    sftProblem = 0;
    problem = pos(sum("problem") - 2 * cP);
  } else {
    let ssSP = 0;
    for (let i = 0; i < S; i++)
      for (let p = 0; p < P; p++)
        ssSP +=
          (ma.bySftProblem[i]![p]! - ma.bySft[i]! - ma.byProblem[p]! + ma.grand) *
          (mb.bySftProblem[i]![p]! - mb.bySft[i]! - mb.byProblem[p]! + mb.grand);
    const kSP = ssSP / ((S - 1) * (P - 1));
    const kS = cross(ma.bySft, mb.bySft, ma.grand, mb.grand) - kSP / P;
    const kP = cP - kSP / S;
    sft = pos(sum("sft") - 2 * kS);
    sftProblem = pos(sum("sftProblem") - 2 * kSP);
    problem = pos(sum("problem") - 2 * kP);
  }
  return {
    components: {
      sft,
      rl: sum("rl"),
      problem,
      sftProblem,
      rlProblem: sum("rlProblem"),
      sample: sum("sample"),
    },
    counts: ma.counts,
    degreesOfFreedom: ca.degreesOfFreedom,
    notes,
  };
}

/**
 * The predicted half-width of the interval of a - b under `design`, from an earlier run's rows of
 * the two methods (see the header). `figure` is one line for a pre-registration note.
 */
export function designHalfWidth(
  a: readonly LongRow[],
  b: readonly LongRow[],
  design: Design,
  opts?: { level?: number; assumedSftVariance?: number },
): DesignHalfWidth {
  const level = opts?.level ?? 0.95;
  const est = differenceComponents(a, b, opts);
  const variance = predictedVariance(est.components, design);
  const div = divisors(design);
  const shares = Object.fromEntries(
    LEVELS.map((k) => [k, variance > 0 ? est.components[k] / div[k] / variance : 0]),
  ) as unknown as VarianceComponents;
  const halfWidth = predictedHalfWidth(est.components, design, level);
  const d = design;
  const c = est.counts;
  const share = LEVELS.map((k) => `${k} ${(100 * shares[k]).toFixed(0)}%`).join(", ");
  return {
    halfWidth,
    sd: Math.sqrt(variance),
    level,
    design,
    components: est.components,
    shares,
    notes: est.notes,
    figure:
      `predicted ${(100 * level).toFixed(0)}% half-width of the difference ${halfWidth.toPrecision(3)} ` +
      `for ${d.sftSeeds} SFT x ${d.rlSeeds} RL seeds x ${d.problems} problems x ${d.samples} samples ` +
      `(from ${c.sftSeeds} x ${c.rlSeeds} x ${c.problems} x ${c.samples}; variance shares: ${share})` +
      (est.notes.length ? `; ${est.notes.join("; ")}` : ""),
  };
}
