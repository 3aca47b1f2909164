/**
 * From per-model evals and RL run folders to the numbers the report states.
 *
 * Uncertainty conventions (every CI a 95% percentile bootstrap, src/analysis/bootstrap.ts):
 *   - per method at N=1 (accuracy, tokens per problem, loops per response): each test problem's
 *     value is averaged over the method's seeds, then `ci` bootstraps over problems; `seeds_ci`
 *     bootstraps over the per-seed means (degenerate with one seed);
 *   - differences between methods (free lunch, loops): paired over problems (the same test
 *     problems for every model), seeds averaged, bootstrapDiffCI; the token reduction is
 *     -diff / mean(single tokens), its CI the diff's CI scaled the same way;
 *   - sweep points: per problem averaged over seeds and rotations, bootstrapped over problems;
 *   - scaling fits: compareForms on the per-N means (residual bootstrap bands).
 */
import { bootstrapDiffCI, bootstrapMeanCI, type MeanCI } from "../analysis/bootstrap.js";
import { compareForms, fitScaling, SCALING_FORMS, unidentifiedParams, type ScalingFit } from "../analysis/fit.js";
import { stabilityTable, type MethodStability, type Run } from "../analysis/stability.js";
import type { ReproduceConfig } from "./config.js";
import { evaluateClaims, isCollapsed, type Claim, type ClaimInputs, type Estimate } from "./claims.js";
import type { ModelEval } from "./experiment.js";

export interface FitSummary {
  form: string; formula: string; params: Record<string, number>; ci: Record<string, [number, number]>;
  r2: number; aic: number; aicc: number; bic: number; resamples: number; level: number;
  /** Fitted curve and band on a log grid of N (for figures without refitting). */
  grid: { x: number[]; y: number[]; lo: number[]; hi: number[] };
}

export interface SweepPoint { n: number; accuracy: MeanCI; tokens_per_problem: MeanCI; truncation_rate: number; problems: number }

export interface MethodAnalysis {
  method: string;
  seeds: (number | null)[];
  n1: {
    accuracy: MeanCI & { seeds_ci: [number, number]; per_seed: number[] };
    tokens_per_problem: MeanCI & { seeds_ci: [number, number]; per_seed: number[] };
    loops_per_response: MeanCI & { seeds_ci: [number, number]; per_seed: number[] };
    truncation_rate: number;
    problems: number;
  };
  sweep: SweepPoint[];
  fits: { tokens_per_problem: FitSummary[]; accuracy: FitSummary[] };
  /** Accuracy by position at the largest N of the sweep, rows pooled over seeds. */
  positions: { n: number; points: { position: number; accuracy: number; ci: [number, number]; count: number }[] };
  /** Per N=1 response, all seeds pooled (histograms). */
  samples: { tokens: number[]; loops: number[] };
  stability: { collapsedSeeds: number; seeds: number; collapsed: boolean } | null;
}

export interface Comparison { a: string; b: string; tokenReduction: Estimate; accuracyDiff: Estimate; aTokens: number; bTokens: number; pValueTokens: number; pValueAccuracy: number }

export interface Analysis {
  methods: Record<string, MethodAnalysis>;
  comparisons: Comparison[];
  loops: { a: string; b: string; diff: Estimate } | null;
  stability: MethodStability[];
  claims: Claim[];
  claimInputs: ClaimInputs;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Values per problem id averaged over the entries (seeds, rotations) that have it. */
function byProblem<T>(rows: T[], id: (r: T) => string, v: (r: T) => number): Map<string, number> {
  const acc = new Map<string, [number, number]>();
  for (const r of rows) {
    const k = id(r);
    const cur = acc.get(k) ?? [0, 0];
    acc.set(k, [cur[0] + v(r), cur[1] + 1]);
  }
  return new Map([...acc].map(([k, [s, c]]) => [k, s / c]));
}

function fitSummaries(ns: number[], ys: number[], config: ReproduceConfig): FitSummary[] {
  const ok = ns.map((n, i) => [n, ys[i]!] as const).filter(([, y]) => Number.isFinite(y));
  if (new Set(ok.map(([n]) => n)).size < 3) return [];
  const x = ok.map(([n]) => n), y = ok.map(([, v]) => v);
  const opts = { bootstrap: config.analysis.bootstrap, seed: config.analysis.seed };
  let fits: ScalingFit[];
  try {
    fits = compareForms(x, y, { ...opts, by: config.analysis.fitBy });
  } catch {
    // One form failing (degenerate data, e.g. constant accuracy) must not hide the others.
    fits = SCALING_FORMS.flatMap((form) => {
      try { return [fitScaling(x, y, { ...opts, form })]; } catch { return []; }
    }).sort((u, v) => u[config.analysis.fitBy] - v[config.analysis.fitBy]);
  }
  const lo = Math.min(...x), hi = Math.max(...x);
  const grid = Array.from({ length: 121 }, (_, i) => Math.exp(Math.log(lo) + (i / 120) * (Math.log(hi) - Math.log(lo))));
  return fits.map((f) => ({
    form: f.form, formula: f.formula, params: f.params, ci: f.ci, r2: f.r2, aic: f.aic, aicc: f.aicc, bic: f.bic,
    resamples: f.resamples, level: f.level,
    grid: { x: grid, y: grid.map((g) => f.predict(g)), lo: grid.map((g) => f.band(g)[0]), hi: grid.map((g) => f.band(g)[1]) },
  }));
}

/** Whether a stored fit's parameter intervals explode (fit.ts: unidentifiedParams). */
export function identifiability(s: Pick<FitSummary, "params" | "ci">): { identifiable: boolean; unidentified: string[] } {
  const unidentified = unidentifiedParams(s.params, s.ci);
  return { identifiable: unidentified.length === 0, unidentified };
}

/** A ScalingFit-shaped view of a stored fit (predict and band interpolate its grid). */
export function fitFromSummary(s: FitSummary): ScalingFit {
  const interp = (ys: number[]) => (n: number) => {
    const xs = s.grid.x;
    if (n <= xs[0]!) return ys[0]!;
    for (let i = 1; i < xs.length; i++) {
      if (n <= xs[i]!) {
        const t = (Math.log(n) - Math.log(xs[i - 1]!)) / (Math.log(xs[i]!) - Math.log(xs[i - 1]!));
        return ys[i - 1]! + t * (ys[i]! - ys[i - 1]!);
      }
    }
    return ys[ys.length - 1]!;
  };
  const y = interp(s.grid.y), lo = interp(s.grid.lo), hi = interp(s.grid.hi);
  return {
    form: s.form as ScalingFit["form"], params: s.params, ci: s.ci, r2: s.r2, aic: s.aic, bic: s.bic, aicc: s.aicc, rss: NaN,
    n: 0, k: 0, ...identifiability(s), formula: s.formula, resamples: s.resamples, level: s.level, predict: y, band: (n) => [lo(n), hi(n)],
  };
}

export function analyzeMethod(method: string, evals: ModelEval[], config: ReproduceConfig): MethodAnalysis {
  const bopts = { seed: config.analysis.seed, resamples: config.analysis.bootstrap };
  const ci = (xs: number[]): MeanCI => (xs.length ? bootstrapMeanCI(xs, bopts) : { mean: NaN, ci: [NaN, NaN] });
  const n1Rows = evals.flatMap((e) => e.n1);
  const metric = (v: (r: ModelEval["n1"][number]) => number) => {
    const perSeed = evals.map((e) => mean(e.n1.map(v)));
    return { ...ci([...byProblem(n1Rows, (r) => r.problemId, v).values()]), seeds_ci: ci(perSeed).ci, per_seed: perSeed };
  };
  const sweepRows = evals.flatMap((e) => e.sweep.filter((r) => !r.failed));
  const ns = [...new Set(sweepRows.map((r) => r.n))].sort((a, b) => a - b);
  const sweep: SweepPoint[] = ns.map((n) => {
    const rows = sweepRows.filter((r) => r.n === n);
    return {
      n,
      accuracy: ci([...byProblem(rows, (r) => r.problemId, (r) => Number(r.correct)).values()]),
      tokens_per_problem: ci([...byProblem(rows, (r) => r.problemId, (r) => r.tokens).values()]),
      truncation_rate: mean(rows.map((r) => Number(r.truncated))),
      problems: new Set(rows.map((r) => r.problemId)).size,
    };
  });
  const nMax = ns.length ? ns[ns.length - 1]! : 1;
  const atMax = sweepRows.filter((r) => r.n === nMax);
  const positions = Array.from({ length: nMax }, (_, k) => {
    const xs = atMax.filter((r) => r.position === k + 1).map((r) => Number(r.correct));
    const m = ci(xs);
    return { position: k + 1, accuracy: m.mean, ci: m.ci, count: xs.length };
  }).filter((p) => p.count > 0);
  return {
    method,
    seeds: evals.map((e) => e.seed),
    n1: {
      accuracy: metric((r) => Number(r.correct)),
      tokens_per_problem: metric((r) => r.tokens),
      loops_per_response: metric((r) => r.loops),
      truncation_rate: mean(n1Rows.map((r) => Number(r.truncated))),
      problems: new Set(n1Rows.map((r) => r.problemId)).size,
    },
    sweep,
    fits: {
      tokens_per_problem: fitSummaries(sweep.map((p) => p.n), sweep.map((p) => p.tokens_per_problem.mean), config),
      accuracy: fitSummaries(sweep.map((p) => p.n), sweep.map((p) => p.accuracy.mean), config),
    },
    positions: { n: nMax, points: positions },
    samples: { tokens: n1Rows.map((r) => r.tokens), loops: n1Rows.map((r) => r.loops) },
    stability: null,
  };
}

/** Paired per-problem values of two methods at N=1 (seeds averaged), over the problems both have. */
function paired(a: ModelEval[], b: ModelEval[], v: (r: ModelEval["n1"][number]) => number): [number[], number[]] {
  const pa = byProblem(a.flatMap((e) => e.n1), (r) => r.problemId, v);
  const pb = byProblem(b.flatMap((e) => e.n1), (r) => r.problemId, v);
  const ids = [...pa.keys()].filter((k) => pb.has(k)).sort();
  return [ids.map((k) => pa.get(k)!), ids.map((k) => pb.get(k)!)];
}

export function compareMethods(a: string, b: string, evals: Map<string, ModelEval[]>, config: ReproduceConfig): Comparison | null {
  const ea = evals.get(a), eb = evals.get(b);
  if (!ea || !eb) return null;
  const bopts = { seed: config.analysis.seed, resamples: config.analysis.bootstrap, paired: true };
  const [ta, tb] = paired(ea, eb, (r) => r.tokens);
  const [aa, ab] = paired(ea, eb, (r) => Number(r.correct));
  if (ta.length === 0) return null;
  const dt = bootstrapDiffCI(ta, tb, bopts);
  const da = bootstrapDiffCI(aa, ab, bopts);
  const mb = mean(tb);
  const scale = mb > 0 ? -1 / mb : NaN;
  return {
    a, b,
    tokenReduction: { mean: dt.diff * scale, ci: [dt.ci[1] * scale, dt.ci[0] * scale] },
    accuracyDiff: { mean: da.diff, ci: da.ci },
    aTokens: mean(ta), bTokens: mb, pValueTokens: dt.pValue, pValueAccuracy: da.pValue,
  };
}

/** The strongest linear penalty among the methods (largest lambda), or null. */
export function strongestLinear(runs: Run[]): string | null {
  let best: { method: string; lambda: number } | null = null;
  for (const r of runs) {
    const cfg = r.config as { method: string; kind?: string; shaping?: { name?: string; params?: Record<string, number> } };
    if (cfg.kind !== "penalty" || cfg.shaping?.name !== "linear") continue;
    const lambda = cfg.shaping.params?.lambda ?? 0;
    if (!best || lambda > best.lambda) best = { method: cfg.method, lambda };
  }
  return best?.method ?? null;
}

export function analyze(evals: ModelEval[], runs: Run[], config: ReproduceConfig): Analysis {
  const byMethod = new Map<string, ModelEval[]>();
  for (const e of evals) byMethod.set(e.method, [...(byMethod.get(e.method) ?? []), e]);
  const methods: Record<string, MethodAnalysis> = {};
  for (const [m, es] of byMethod) methods[m] = analyzeMethod(m, es, config);

  const t = config.claims;
  const stability = runs.length ? stabilityTable(runs, { fraction: t.collapseFraction, seed: config.analysis.seed, resamples: config.analysis.bootstrap }) : [];
  for (const s of stability) {
    const m = methods[s.method];
    if (m) m.stability = { collapsedSeeds: s.collapsed, seeds: s.total, collapsed: isCollapsed({ collapsedSeeds: s.collapsed, seeds: s.total }, t) };
  }

  const comparisons = [
    compareMethods("bcr", "single", byMethod, config),
    compareMethods("bcr", "sft", byMethod, config),
    compareMethods("single", "sft", byMethod, config),
  ].filter((c): c is Comparison => c !== null);

  let loops: Analysis["loops"] = null;
  if (byMethod.has("bcr") && byMethod.has("sft")) {
    const [la, lb] = paired(byMethod.get("bcr")!, byMethod.get("sft")!, (r) => r.loops);
    if (la.length) {
      const d = bootstrapDiffCI(la, lb, { seed: config.analysis.seed, resamples: config.analysis.bootstrap, paired: true });
      loops = { a: "bcr", b: "sft", diff: { mean: d.diff, ci: d.ci } };
    }
  }

  const inputs: ClaimInputs = {};
  const fl = comparisons.find((c) => c.a === "bcr" && c.b === "single");
  if (fl) inputs.freeLunch = { tokenReduction: fl.tokenReduction, accuracyDiff: fl.accuracyDiff, bcrTokens: fl.aTokens, singleTokens: fl.bTokens };
  const curve = (m: MethodAnalysis) => ({ ns: m.sweep.map((p) => p.n), tokensPerProblem: m.sweep.map((p) => p.tokens_per_problem.mean), accuracy: m.sweep.map((p) => p.accuracy.mean) });
  if (methods.bcr && methods.single && methods.bcr.sweep.length && methods.single.sweep.length) {
    inputs.scaling = { bcr: curve(methods.bcr), single: curve(methods.single) };
  }
  if (loops && methods.bcr && methods.sft) {
    const pick = (e: MeanCI): Estimate => ({ mean: e.mean, ci: e.ci });
    inputs.loops = { bcr: pick(methods.bcr.n1.loops_per_response), sft: pick(methods.sft.n1.loops_per_response), diff: loops.diff };
  }
  const lin = strongestLinear(runs);
  const bcrStab = stability.find((s) => s.method === "bcr");
  const linStab = lin ? stability.find((s) => s.method === lin) : undefined;
  if (bcrStab) {
    inputs.stability = {
      penalty: linStab ? { method: linStab.method, collapsedSeeds: linStab.collapsed, seeds: linStab.total } : null,
      bcr: { collapsedSeeds: bcrStab.collapsed, seeds: bcrStab.total },
    };
  }
  return { methods, comparisons, loops, stability, claims: evaluateClaims(inputs, t), claimInputs: inputs };
}
