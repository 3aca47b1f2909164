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
 *   - scaling fits: compareForms on the per-N means (residual bootstrap bands), over FIT_FORMS
 *     (accuracy adds the bounded logistic form), ranked by analysis.fitBy (default AICc: with six
 *     N values a three-parameter form needs 30 points less than a two-parameter one at equal
 *     RSS); the grid of each fit spans the measured N only, so no figure extrapolates.
 * With analysis.ci "hierarchical" every one of these intervals (ci, sweep points, differences)
 * resamples seeds and then problems instead (src/analysis/hierarchical.ts), over the problems
 * every seed has; `seeds_ci` stays the seeds-only interval.
 *
 * lambda* (src/rewards/lambda-star.ts) is computed from the SFT model's own N=1 responses, by the
 * trace style each was written in (ModelEval n1 rows' `style`): a bare guess = its answer-only
 * responses, each traced form (essential, terse, ...) = its responses in that style (accuracy and
 * mean tokens of each), the budget = rl.singleBudget (the penalty runs' maxLength). lambda* is the
 * largest of the per-form thresholds: only above it does a guess out-score every traced form.
 */
import { bootstrapDiffCI, bootstrapMeanCI, type DiffCI, type MeanCI } from "../analysis/bootstrap.js";
import { hierarchicalDiffCI, hierarchicalMeanCI } from "../analysis/hierarchical.js";
import { lambdaStar, type AnswerForm } from "../rewards/lambda-star.js";
import {
  BOUNDED_FORMS,
  compareForms,
  fitScaling,
  SCALING_FORMS,
  unidentifiedParams,
  type ScalingFit,
  type ScalingForm,
} from "../analysis/fit.js";
import { stabilityTable, type MethodStability, type Run } from "../analysis/stability.js";
import type { LadderRow } from "../diagnostics/ladder.js";
import type { ReproduceConfig } from "./config.js";
import { evaluateClaims, isCollapsed, type Claim, type ClaimInputs, type Estimate } from "./claims.js";
import type { ModelEval } from "./eval.js";

export interface FitSummary {
  form: string;
  formula: string;
  params: Record<string, number>;
  ci: Record<string, [number, number]>;
  r2: number;
  aic: number;
  aicc: number;
  bic: number;
  resamples: number;
  level: number;
  /** Fitted curve and band on a log grid of N (for figures without refitting). */
  grid: { x: number[]; y: number[]; lo: number[]; hi: number[] };
}

export interface SweepPoint {
  n: number;
  accuracy: MeanCI;
  tokens_per_problem: MeanCI;
  truncation_rate: number;
  problems: number;
}

export type SeededCI = MeanCI & { seeds_ci: [number, number]; per_seed: number[] };

export interface N1Metrics {
  accuracy: SeededCI;
  tokens_per_problem: SeededCI;
  loops_per_response: SeededCI;
  truncation_rate: number;
  problems: number;
}

export interface MethodAnalysis {
  method: string;
  seeds: (number | null)[];
  n1: N1Metrics & {
    /** The same numbers under greedy decoding (eval.greedy), or null when no greedy rows exist. */
    greedy: N1Metrics | null;
  };
  sweep: SweepPoint[];
  fits: { tokens_per_problem: FitSummary[]; accuracy: FitSummary[] };
  /** Accuracy by position at the largest N of the sweep, rows pooled over seeds. */
  positions: { n: number; points: { position: number; accuracy: number; ci: [number, number]; count: number }[] };
  /** Per N=1 response, all seeds pooled (histograms). */
  samples: { tokens: number[]; loops: number[] };
  stability: { collapsedSeeds: number; seeds: number; collapsed: boolean } | null;
}

export interface Comparison {
  a: string;
  b: string;
  tokenReduction: Estimate;
  accuracyDiff: Estimate;
  aTokens: number;
  bTokens: number;
  pValueTokens: number;
  pValueAccuracy: number;
}

export interface LambdaStar {
  /** null when the inputs are missing; `reason` says which. */
  value: number | null;
  reason?: string;
  budget: number;
  /** The traced form that sets lambda* (the one a guess overtakes last), with its style. */
  correct: (AnswerForm & { responses: number; style?: string }) | null;
  /** source: "sampled" (the answer-only responses among the sampled N=1 ones) or "ladder-forced". */
  guess: (AnswerForm & { responses: number; source: "sampled" | "ladder-forced" }) | null;
}

export interface Analysis {
  /** How the intervals were computed (analysis.ci). */
  ciMethod: "problems" | "hierarchical";
  lambdaStar: LambdaStar;
  /** The SFT model's compression ladder (ModelEval.ladder), null when the run has none. */
  ladder: LadderRow[] | null;
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

type N1Row = ModelEval["n1"][number];

/**
 * Per-seed values on the problems every group has: one row per group (seed), one column per
 * problem id (sorted), a problem's entries within a group (rotations) averaged.
 */
function seedMatrix<T>(
  groups: T[][],
  id: (r: T) => string,
  v: (r: T) => number,
  only?: Set<string>,
): { ids: string[]; values: number[][] } {
  const maps = groups.map((g) => byProblem(g, id, v));
  const ids = [...(maps[0]?.keys() ?? [])].filter((k) => maps.every((m) => m.has(k)) && (!only || only.has(k))).sort();
  return { ids, values: maps.map((m) => ids.map((k) => m.get(k)!)) };
}

/** Mean and interval of a per-problem quantity over groups (seeds), by analysis.ci. */
function intervalOf<T>(groups: T[][], id: (r: T) => string, v: (r: T) => number, config: ReproduceConfig): MeanCI {
  const bopts = { seed: config.analysis.seed, resamples: config.analysis.bootstrap };
  if (config.analysis.ci === "hierarchical") {
    const { values } = seedMatrix(
      groups.filter((g) => g.length > 0),
      id,
      v,
    );
    return values.length && values[0]!.length ? hierarchicalMeanCI(values, bopts) : { mean: NaN, ci: [NaN, NaN] };
  }
  const xs = [...byProblem(groups.flat(), id, v).values()];
  return xs.length ? bootstrapMeanCI(xs, bopts) : { mean: NaN, ci: [NaN, NaN] };
}

function n1Metrics(perSeed: N1Row[][], config: ReproduceConfig): N1Metrics {
  const bopts = { seed: config.analysis.seed, resamples: config.analysis.bootstrap };
  const ci = (xs: number[]): MeanCI => (xs.length ? bootstrapMeanCI(xs, bopts) : { mean: NaN, ci: [NaN, NaN] });
  const rows = perSeed.flat();
  const metric = (v: (r: N1Row) => number): SeededCI => {
    const seedMeans = perSeed.map((rs) => mean(rs.map(v)));
    return { ...intervalOf(perSeed, (r) => r.problemId, v, config), seeds_ci: ci(seedMeans).ci, per_seed: seedMeans };
  };
  return {
    accuracy: metric((r) => Number(r.correct)),
    tokens_per_problem: metric((r) => r.tokens),
    loops_per_response: metric((r) => r.loops),
    truncation_rate: mean(rows.map((r) => Number(r.truncated))),
    problems: new Set(rows.map((r) => r.problemId)).size,
  };
}

/**
 * The candidate forms of each task-scaling metric, ranked by one rule (analysis.fitBy, AICc by
 * default) in the report and wherever else these fits are made (notebook 03): tokens per problem
 * by the unbounded forms, accuracy by those and the bounded logistic form.
 */
export const FIT_FORMS: Readonly<Record<"tokens_per_problem" | "accuracy", readonly ScalingForm[]>> = {
  tokens_per_problem: SCALING_FORMS,
  accuracy: [...BOUNDED_FORMS, ...SCALING_FORMS],
};

function fitSummaries(
  ns: number[],
  ys: number[],
  config: ReproduceConfig,
  forms: readonly ScalingForm[] = SCALING_FORMS,
): FitSummary[] {
  const ok = ns.map((n, i) => [n, ys[i]!] as const).filter(([, y]) => Number.isFinite(y));
  if (new Set(ok.map(([n]) => n)).size < 3) return [];
  const x = ok.map(([n]) => n),
    y = ok.map(([, v]) => v);
  const opts = { bootstrap: config.analysis.bootstrap, seed: config.analysis.seed };
  let fits: ScalingFit[];
  try {
    fits = compareForms(x, y, { ...opts, forms: [...forms], by: config.analysis.fitBy });
  } catch {
    // One form failing (degenerate data, e.g. constant accuracy) must not hide the others.
    fits = forms
      .flatMap((form) => {
        try {
          return [fitScaling(x, y, { ...opts, form })];
        } catch {
          return [];
        }
      })
      .sort((u, v) => u[config.analysis.fitBy] - v[config.analysis.fitBy]);
  }
  const lo = Math.min(...x),
    hi = Math.max(...x);
  const grid = Array.from({ length: 121 }, (_, i) =>
    Math.exp(Math.log(lo) + (i / 120) * (Math.log(hi) - Math.log(lo))),
  );
  return fits.map((f) => ({
    form: f.form,
    formula: f.formula,
    params: f.params,
    ci: f.ci,
    r2: f.r2,
    aic: f.aic,
    aicc: f.aicc,
    bic: f.bic,
    resamples: f.resamples,
    level: f.level,
    grid: {
      x: grid,
      y: grid.map((g) => f.predict(g)),
      lo: grid.map((g) => f.band(g)[0]),
      hi: grid.map((g) => f.band(g)[1]),
    },
  }));
}

/** Whether a stored fit's parameter intervals explode (fit.ts: unidentifiedParams). */
export function identifiability(s: Pick<FitSummary, "params" | "ci">): {
  identifiable: boolean;
  unidentified: string[];
} {
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
  const y = interp(s.grid.y),
    lo = interp(s.grid.lo),
    hi = interp(s.grid.hi);
  return {
    form: s.form as ScalingFit["form"],
    params: s.params,
    ci: s.ci,
    r2: s.r2,
    aic: s.aic,
    bic: s.bic,
    aicc: s.aicc,
    rss: NaN,
    n: 0,
    k: 0,
    ...identifiability(s),
    formula: s.formula,
    resamples: s.resamples,
    level: s.level,
    predict: y,
    band: (n) => [lo(n), hi(n)],
  };
}

export function analyzeMethod(method: string, evals: ModelEval[], config: ReproduceConfig): MethodAnalysis {
  const bopts = { seed: config.analysis.seed, resamples: config.analysis.bootstrap };
  const ci = (xs: number[]): MeanCI => (xs.length ? bootstrapMeanCI(xs, bopts) : { mean: NaN, ci: [NaN, NaN] });
  const n1Rows = evals.flatMap((e) => e.n1);
  const greedy =
    evals.length > 0 && evals.every((e) => e.n1Greedy && e.n1Greedy.length > 0)
      ? n1Metrics(
          evals.map((e) => e.n1Greedy!),
          config,
        )
      : null;
  const sweepRows = evals.flatMap((e) => e.sweep.filter((r) => !r.failed));
  const ns = [...new Set(sweepRows.map((r) => r.n))].sort((a, b) => a - b);
  const sweep: SweepPoint[] = ns.map((n) => {
    const rows = sweepRows.filter((r) => r.n === n);
    const perSeed = evals.map((e) => e.sweep.filter((r) => !r.failed && r.n === n));
    return {
      n,
      accuracy: intervalOf(
        perSeed,
        (r) => r.problemId,
        (r) => Number(r.correct),
        config,
      ),
      tokens_per_problem: intervalOf(
        perSeed,
        (r) => r.problemId,
        (r) => r.tokens,
        config,
      ),
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
      ...n1Metrics(
        evals.map((e) => e.n1),
        config,
      ),
      greedy,
    },
    sweep,
    fits: {
      tokens_per_problem: fitSummaries(
        sweep.map((p) => p.n),
        sweep.map((p) => p.tokens_per_problem.mean),
        config,
        FIT_FORMS.tokens_per_problem,
      ),
      accuracy: fitSummaries(
        sweep.map((p) => p.n),
        sweep.map((p) => p.accuracy.mean),
        config,
        FIT_FORMS.accuracy,
      ),
    },
    positions: { n: nMax, points: positions },
    samples: { tokens: n1Rows.map((r) => r.tokens), loops: n1Rows.map((r) => r.loops) },
    stability: null,
  };
}

/** Paired per-problem values of two methods at N=1 (seeds averaged), over the problems both have. */
function paired(a: ModelEval[], b: ModelEval[], v: (r: ModelEval["n1"][number]) => number): [number[], number[]] {
  const pa = byProblem(
    a.flatMap((e) => e.n1),
    (r) => r.problemId,
    v,
  );
  const pb = byProblem(
    b.flatMap((e) => e.n1),
    (r) => r.problemId,
    v,
  );
  const ids = [...pa.keys()].filter((k) => pb.has(k)).sort();
  return [ids.map((k) => pa.get(k)!), ids.map((k) => pb.get(k)!)];
}

/**
 * Difference a - b of a per-problem quantity at N=1, paired on problems, by analysis.ci; with its
 * mean of b (over the problems used). null when the two share no problem.
 */
function diffOf(
  ea: ModelEval[],
  eb: ModelEval[],
  v: (r: N1Row) => number,
  config: ReproduceConfig,
): { d: DiffCI; meanA: number; meanB: number } | null {
  const bopts = { seed: config.analysis.seed, resamples: config.analysis.bootstrap, paired: true };
  if (config.analysis.ci === "hierarchical") {
    const common = seedMatrix(
      [...ea, ...eb].map((e) => e.n1),
      (r) => r.problemId,
      () => 0,
    ).ids;
    if (common.length === 0) return null;
    const only = new Set(common);
    const ma = seedMatrix(
      ea.map((e) => e.n1),
      (r) => r.problemId,
      v,
      only,
    ).values;
    const mb = seedMatrix(
      eb.map((e) => e.n1),
      (r) => r.problemId,
      v,
      only,
    ).values;
    const d = hierarchicalDiffCI(ma, mb, bopts);
    return { d, meanA: mean(ma.map(mean)), meanB: mean(mb.map(mean)) };
  }
  const [xa, xb] = paired(ea, eb, v);
  if (xa.length === 0) return null;
  return { d: bootstrapDiffCI(xa, xb, bopts), meanA: mean(xa), meanB: mean(xb) };
}

export function compareMethods(
  a: string,
  b: string,
  evals: Map<string, ModelEval[]>,
  config: ReproduceConfig,
): Comparison | null {
  const ea = evals.get(a),
    eb = evals.get(b);
  if (!ea || !eb) return null;
  const tok = diffOf(ea, eb, (r) => r.tokens, config);
  const acc = diffOf(ea, eb, (r) => Number(r.correct), config);
  if (!tok || !acc) return null;
  const dt = tok.d,
    da = acc.d;
  const mb = tok.meanB;
  const scale = mb > 0 ? -1 / mb : NaN;
  return {
    a,
    b,
    tokenReduction: { mean: dt.diff * scale, ci: [dt.ci[1] * scale, dt.ci[0] * scale] },
    accuracyDiff: { mean: da.diff, ci: da.ci },
    aTokens: tok.meanA,
    bTokens: mb,
    pValueTokens: dt.pValue,
    pValueAccuracy: da.pValue,
  };
}

/** Every linear-penalty method among the runs with its lambda, strongest first. */
export function linearPenalties(runs: Run[]): { method: string; lambda: number }[] {
  const out = new Map<string, number>();
  for (const r of runs) {
    const cfg = r.config as {
      method: string;
      kind?: string;
      shaping?: { name?: string; params?: Record<string, number> };
    };
    if (cfg.kind !== "penalty" || cfg.shaping?.name !== "linear") continue;
    out.set(cfg.method, cfg.shaping.params?.lambda ?? 0);
  }
  return [...out].map(([method, lambda]) => ({ method, lambda })).sort((a, b) => b.lambda - a.lambda);
}

/** The strongest linear penalty among the methods (largest lambda), or null. */
export function strongestLinear(runs: Run[]): string | null {
  return linearPenalties(runs)[0]?.method ?? null;
}

/** Fewest responses of a form for its mean to enter lambda*. */
export const LAMBDA_STAR_MIN_RESPONSES = 5;

/**
 * lambda* of the starting (SFT) model from its sampled N=1 responses, by the style each was
 * written in. A guess = its answer-only responses; every other style with enough responses is a
 * traced form with its own accuracy and mean tokens, and lambda* = the largest of
 * lambdaStar(form, guess): a guess out-scores every traced form only above it (with a ladder, the
 * terse form stays ahead of a guess longer than the essential one). The guess's accuracy is that of
 * the problems the model chose to guess on (likely the easier ones), an estimate of what a policy
 * that always guesses would score, not a measurement of it.
 *
 * A model trained without answer-only examples (the ladder mix) samples too few guesses for that
 * estimate. Then the guess comes from the ladder's forced answer-only row: every problem answered
 * with the response started as `1:A`, greedy. That is what a policy that always guesses scores on
 * the whole eval set; greedy decoding makes it an upper estimate of a sampled guess's accuracy, so
 * lambda* is lower (fewer penalties judged as below it) than a sampled guess would make it.
 */
export function sftLambdaStar(sft: ModelEval[] | undefined, budget: number): LambdaStar {
  const none = (reason: string): LambdaStar => ({ value: null, reason, budget, correct: null, guess: null });
  if (!sft || sft.length === 0) return none("no SFT eval");
  const rows = sft.flatMap((e) => e.n1);
  if (rows.some((r) => r.style === undefined))
    return none("the SFT eval rows carry no trace style (evaluated before styles were recorded); rerun the eval stage");
  const form = (rs: N1Row[]) => ({
    accuracy: mean(rs.map((r) => Number(r.correct))),
    tokens: mean(rs.map((r) => r.tokens)),
    responses: rs.length,
  });
  const guesses = rows.filter((r) => r.style === "shortcut");
  const forced = sft.find((e) => e.ladder)?.ladder?.find((r) => r.form === "shortcut" && r.how === "forced");
  let guess: NonNullable<LambdaStar["guess"]>;
  if (guesses.length >= LAMBDA_STAR_MIN_RESPONSES) guess = { ...form(guesses), source: "sampled" };
  else if (forced && forced.responses >= LAMBDA_STAR_MIN_RESPONSES)
    guess = {
      accuracy: forced.accuracy,
      tokens: forced.tokensPerProblem,
      responses: forced.responses,
      source: "ladder-forced",
    };
  else
    return none(
      `the SFT model wrote ${guesses.length} answer-only N=1 responses (fewer than ${LAMBDA_STAR_MIN_RESPONSES}) and the run has no forced answer-only ladder row`,
    );
  const styles = [...new Set(rows.map((r) => r.style!))].filter((st) => st !== "shortcut").sort();
  const forms = styles
    .map((style) => ({ style, ...form(rows.filter((r) => r.style === style)) }))
    .filter((f) => f.responses >= LAMBDA_STAR_MIN_RESPONSES);
  if (forms.length === 0)
    return none(`the SFT model wrote no traced style ${LAMBDA_STAR_MIN_RESPONSES} or more times at N=1`);
  const scored = forms.map((f) => ({ f, value: lambdaStar(f, guess, budget) })).sort((a, b) => b.value - a.value);
  return { value: scored[0]!.value, budget, correct: scored[0]!.f, guess };
}

export function analyze(evals: ModelEval[], runs: Run[], config: ReproduceConfig): Analysis {
  const byMethod = new Map<string, ModelEval[]>();
  for (const e of evals) byMethod.set(e.method, [...(byMethod.get(e.method) ?? []), e]);
  const methods: Record<string, MethodAnalysis> = {};
  for (const [m, es] of byMethod) methods[m] = analyzeMethod(m, es, config);

  const t = config.claims;
  const stability = runs.length
    ? stabilityTable(runs, {
        fraction: t.collapseFraction,
        seed: config.analysis.seed,
        resamples: config.analysis.bootstrap,
      })
    : [];
  for (const s of stability) {
    const m = methods[s.method];
    if (m)
      m.stability = {
        collapsedSeeds: s.collapsed,
        seeds: s.total,
        collapsed: isCollapsed({ collapsedSeeds: s.collapsed, seeds: s.total }, t),
      };
  }

  // bcr against single at its own per-problem budget (single@b<k>): a shared budget vs a small one.
  const matched = [...byMethod.keys()].filter((m) => /^single@b\d+$/.test(m)).sort();
  const comparisons = [
    compareMethods("bcr", "single", byMethod, config),
    ...matched.map((m) => compareMethods("bcr", m, byMethod, config)),
    compareMethods("bcr", "sft", byMethod, config),
    compareMethods("single", "sft", byMethod, config),
  ].filter((c): c is Comparison => c !== null);

  let loops: Analysis["loops"] = null;
  if (byMethod.has("bcr") && byMethod.has("sft")) {
    const l = diffOf(byMethod.get("bcr")!, byMethod.get("sft")!, (r) => r.loops, config);
    if (l) loops = { a: "bcr", b: "sft", diff: { mean: l.d.diff, ci: l.d.ci } };
  }

  const inputs: ClaimInputs = {};
  const fl = comparisons.find((c) => c.a === "bcr" && c.b === "single");
  if (fl)
    inputs.freeLunch = {
      tokenReduction: fl.tokenReduction,
      accuracyDiff: fl.accuracyDiff,
      bcrTokens: fl.aTokens,
      singleTokens: fl.bTokens,
    };
  const curve = (m: MethodAnalysis) => ({
    ns: m.sweep.map((p) => p.n),
    tokensPerProblem: m.sweep.map((p) => p.tokens_per_problem.mean),
    accuracy: m.sweep.map((p) => p.accuracy.mean),
  });
  if (methods.bcr && methods.single && methods.bcr.sweep.length && methods.single.sweep.length) {
    inputs.scaling = { bcr: curve(methods.bcr), single: curve(methods.single) };
  }
  if (loops && methods.bcr && methods.sft) {
    const pick = (e: MeanCI): Estimate => ({ mean: e.mean, ci: e.ci });
    inputs.loops = {
      bcr: pick(methods.bcr.n1.loops_per_response),
      sft: pick(methods.sft.n1.loops_per_response),
      diff: loops.diff,
    };
  }
  const star = sftLambdaStar(byMethod.get("sft"), config.rl.singleBudget);
  const lin = strongestLinear(runs);
  const bcrStab = stability.find((s) => s.method === "bcr");
  const linStab = lin ? stability.find((s) => s.method === lin) : undefined;
  if (bcrStab) {
    const linear = linearPenalties(runs).flatMap(({ method, lambda }) => {
      const st = stability.find((s) => s.method === method);
      return st ? [{ method, lambda, collapsedSeeds: st.collapsed, seeds: st.total }] : [];
    });
    inputs.stability = {
      penalty: linStab ? { method: linStab.method, collapsedSeeds: linStab.collapsed, seeds: linStab.total } : null,
      bcr: { collapsedSeeds: bcrStab.collapsed, seeds: bcrStab.total },
      linear,
      lambdaStar: star.value,
      ...(star.reason ? { lambdaStarReason: star.reason } : {}),
    };
  }
  return {
    ciMethod: config.analysis.ci,
    lambdaStar: star,
    ladder: byMethod.get("sft")?.find((e) => e.ladder)?.ladder ?? null,
    methods,
    comparisons,
    loops,
    stability,
    claims: evaluateClaims(inputs, t),
    claimInputs: inputs,
  };
}
