/**
 * Task-scaling fits: a metric (tokens per problem, accuracy) as a function of N, the number of
 * problems packed into one context.
 *
 * Candidate forms (all fitted by weighted least squares, objective sum_i w_i (y_i - f(N_i))^2):
 *   power        y = a * N^(-b) + c        power law with offset, b in [1e-6, 20]
 *   loglinear    y = a + b * ln N          closed-form weighted OLS
 *   exponential  y = c + a * exp(-b * N)   saturating exponential: tends to c as N grows,
 *                                          b in [1e-6/max N, 50/min N]
 *   logistic     y = 1 / (1 + exp(-(a + b * ln N)))   bounded in (0, 1): for accuracies; a
 *                                          straight line in logit(y) vs ln N, started from
 *                                          that regression on clamped values, then LM
 *                                          (not in SCALING_FORMS: pass forms or form)
 *
 * Identifiability: a fit whose bootstrap interval of some parameter is wider than
 * MAX_REL_WIDTH times the estimate (or non-finite, or does not hold the estimate within one
 * width) says nothing about that parameter: `identifiable` is false and `unidentified` names
 * them, so tables print "not identifiable" instead of numbers (a = -21080 [-6.26e9, 1.17e10]).
 *
 * Nonlinear search. power and exponential are linear in (a, c) once b is fixed, so the starting
 * points come from the profile RSS(b) (a and c by exact weighted least squares) on a log grid of
 * b. The three best local minima of that grid seed ml-levenberg-marquardt (analytic Jacobian, b
 * bounded); the best of those polished fits (or the grid point itself, should LM not improve on
 * it) is the fit. Bootstrap refits use the same profile search refined by golden section, which
 * is the least-squares optimum up to its tolerance, without the LM polish (speed).
 *
 * Uncertainty: residual bootstrap (the design, i.e. the measured N values, is fixed). Weighted
 * residuals sqrt(w_i)(y_i - yhat_i) are centred, inflated by sqrt(n / (n - p)) and resampled with
 * replacement; y*_i = yhat_i + e*_i / sqrt(w_i); each resample is refitted. Parameter intervals
 * and the curve band are percentile intervals of the refits (level default 0.95), so `band(n)` is
 * a confidence band for the mean curve, not a prediction interval for a new measurement, and it
 * widens naturally when n lies outside the measured range (extrapolation).
 *
 * Information criteria use the Gaussian likelihood with the variance at its MLE RSS/n:
 *   -2 log L = n ln(2 pi) + n ln(RSS / n) + n - sum_i ln w_i
 *   k = p + 1 (the p curve parameters plus the variance)
 *   AIC = -2 log L + 2k,  BIC = -2 log L + k ln n,  AICc = AIC + 2k(k+1)/(n-k-1) (Infinity if n <= k+1)
 * R^2 = 1 - RSS / TSS with TSS around the weighted mean.
 */
import { levenbergMarquardt } from "ml-levenberg-marquardt";
import { Rng } from "../util/rng.js";
import { percentileInterval } from "./bootstrap.js";

export type ScalingForm = "power" | "loglinear" | "exponential" | "logistic";
/** The forms compareForms tries by default (unbounded: tokens per problem and the like). */
export const SCALING_FORMS: readonly ScalingForm[] = ["power", "loglinear", "exponential"];
/** Forms bounded in [0, 1], for accuracies. */
export const BOUNDED_FORMS: readonly ScalingForm[] = ["logistic"];
/** A parameter interval wider than this many times |estimate| counts as exploded. */
export const MAX_REL_WIDTH = 10;

/**
 * Parameters whose interval explodes (see the header): wider than MAX_REL_WIDTH * |estimate|,
 * not finite, or not holding the estimate within one interval width. Works on stored fits too.
 */
export function unidentifiedParams(params: Record<string, number>, ci: Record<string, [number, number]>): string[] {
  return Object.entries(params)
    .filter(([name, v]) => {
      const iv = ci[name];
      if (!iv?.every(Number.isFinite)) return iv !== undefined && !iv.every(Number.isNaN); // no bootstrap at all: nothing to judge
      const width = iv[1] - iv[0];
      return width > MAX_REL_WIDTH * Math.abs(v) || v < iv[0] - width || v > iv[1] + width;
    })
    .map(([name]) => name);
}

export interface FitOptions {
  /** Functional form (default "power"). */
  form?: ScalingForm;
  /** Bootstrap resamples for intervals and band (default 1000; 0 disables: ci and band are NaN). */
  bootstrap?: number;
  /** Seed of the bootstrap stream (default 0). */
  seed?: number;
  /** Coverage of intervals and band (default 0.95). */
  level?: number;
  /** Per-point weights w_i > 0 (e.g. 1/variance); default all 1. */
  weights?: number[];
}

export interface ScalingFit {
  form: ScalingForm;
  params: Record<string, number>;
  ci: Record<string, [number, number]>;
  r2: number;
  aic: number;
  bic: number;
  aicc: number;
  rss: number;
  /** Number of points. */
  n: number;
  /** Parameters counted by the information criteria (curve parameters + 1 for the variance). */
  k: number;
  /** False when some parameter's interval explodes (unidentifiedParams): report "not identifiable". */
  identifiable: boolean;
  /** The parameters whose intervals explode. */
  unidentified: string[];
  /** Human-readable fitted formula, e.g. "y = 812.3*N^(-0.412) + 103.2". */
  formula: string;
  /** Bootstrap refits that succeeded (out of the requested resamples). */
  resamples: number;
  level: number;
  predict(n: number): number;
  band(n: number): [number, number];
}

type Vec = number[];

interface FormSpec {
  names: string[];
  f(p: Vec, n: number): number;
  grad(p: Vec, n: number): number[];
  formula(p: Vec): string;
}

const FORMS: Record<ScalingForm, FormSpec> = {
  power: {
    names: ["a", "b", "c"],
    f: ([a, b, c], n) => a! * n ** -b! + c!,
    grad: ([a, b], n) => {
      const g = n ** -b!;
      return [g, -a! * g * Math.log(n), 1];
    },
    formula: ([a, b, c]) => `y = ${fmt(a!)}*N^(-${fmt(b!)}) ${sign(c!)}`,
  },
  loglinear: {
    names: ["a", "b"],
    f: ([a, b], n) => a! + b! * Math.log(n),
    grad: (_p, n) => [1, Math.log(n)],
    formula: ([a, b]) => `y = ${fmt(a!)} ${b! < 0 ? "-" : "+"} ${fmt(Math.abs(b!))}*ln(N)`,
  },
  exponential: {
    names: ["a", "b", "c"],
    f: ([a, b, c], n) => c! + a! * Math.exp(-b! * n),
    grad: ([a, b], n) => {
      const g = Math.exp(-b! * n);
      return [g, -a! * n * g, 1];
    },
    formula: ([a, b, c]) => `y = ${fmt(c!)} ${a! < 0 ? "-" : "+"} ${fmt(Math.abs(a!))}*exp(-${fmt(b!)}*N)`,
  },
  logistic: {
    names: ["a", "b"],
    f: ([a, b], n) => 1 / (1 + Math.exp(-(a! + b! * Math.log(n)))),
    grad: ([a, b], n) => {
      const y = 1 / (1 + Math.exp(-(a! + b! * Math.log(n))));
      return [y * (1 - y), y * (1 - y) * Math.log(n)];
    },
    formula: ([a, b]) => `y = 1/(1 + exp(-(${fmt(a!)} ${b! < 0 ? "-" : "+"} ${fmt(Math.abs(b!))}*ln(N))))`,
  },
};

function fmt(x: number): string {
  return Number(x.toPrecision(4)).toString();
}
function sign(c: number): string {
  return `${c < 0 ? "-" : "+"} ${fmt(Math.abs(c))}`;
}

interface Data {
  x: Vec;
  y: Vec;
  w: Vec;
}

function rssOf(spec: FormSpec, p: Vec, d: Data): number {
  let s = 0;
  for (let i = 0; i < d.x.length; i++) {
    const r = d.y[i]! - spec.f(p, d.x[i]!);
    s += d.w[i]! * r * r;
  }
  return s;
}

/** Weighted least squares of y on [g, 1]: returns [slope, intercept, rss] (rss Infinity if singular). */
function linearFit(g: Vec, d: Data): [number, number, number] {
  let sw = 0,
    sg = 0,
    sy = 0;
  for (let i = 0; i < g.length; i++) {
    sw += d.w[i]!;
    sg += d.w[i]! * g[i]!;
    sy += d.w[i]! * d.y[i]!;
  }
  const gm = sg / sw,
    ym = sy / sw;
  let sgg = 0,
    sgy = 0;
  for (let i = 0; i < g.length; i++) {
    const dg = g[i]! - gm;
    sgg += d.w[i]! * dg * dg;
    sgy += d.w[i]! * dg * (d.y[i]! - ym);
  }
  // Relative tolerance: g nearly constant means the slope is not identified.
  if (!(sgg > 1e-12 * sw * Math.max(1e-300, gm * gm, 1e-24))) return [0, ym, Infinity];
  const slope = sgy / sgg;
  const intercept = ym - slope * gm;
  let rss = 0;
  for (let i = 0; i < g.length; i++) {
    const r = d.y[i]! - intercept - slope * g[i]!;
    rss += d.w[i]! * r * r;
  }
  return [slope, intercept, rss];
}

/** For power/exponential: basis g(b, n) whose coefficient is a, plus the bounds of b. */
function basisOf(form: "power" | "exponential", d: Data) {
  const nMin = Math.min(...d.x),
    nMax = Math.max(...d.x);
  if (form === "power") return { g: (b: number, n: number) => n ** -b, lo: 1e-6, hi: 20, gridLo: 1e-3, gridHi: 10 };
  return {
    g: (b: number, n: number) => Math.exp(-b * n),
    lo: 1e-6 / nMax,
    hi: 50 / nMin,
    gridLo: 0.01 / nMax,
    gridHi: 20 / nMin,
  };
}

function profile(form: "power" | "exponential", d: Data, b: number): { p: Vec; rss: number } {
  const { g } = basisOf(form, d);
  const [a, c, rss] = linearFit(
    d.x.map((n) => g(b, n)),
    d,
  );
  return { p: [a, b, c], rss };
}

/** Profile search over b: log grid, then golden section around each of the best local minima. */
function profileSearch(
  form: "power" | "exponential",
  d: Data,
  gridSize: number,
  starts: number,
): { p: Vec; rss: number }[] {
  const { gridLo, gridHi } = basisOf(form, d);
  const lbs: number[] = [];
  for (let i = 0; i < gridSize; i++)
    lbs.push(Math.log(gridLo) + (i / (gridSize - 1)) * (Math.log(gridHi) - Math.log(gridLo)));
  const vals = lbs.map((lb) => profile(form, d, Math.exp(lb)).rss);
  const minima: number[] = [];
  for (let i = 0; i < gridSize; i++) {
    const left = i === 0 ? Infinity : vals[i - 1]!;
    const right = i === gridSize - 1 ? Infinity : vals[i + 1]!;
    if (vals[i]! <= left && vals[i]! <= right && Number.isFinite(vals[i]!)) minima.push(i);
  }
  minima.sort((i, j) => vals[i]! - vals[j]!);
  const out: { p: Vec; rss: number }[] = [];
  for (const i of minima.slice(0, starts)) {
    // Golden-section search on ln b in the bracket around grid point i.
    let lo = lbs[Math.max(0, i - 1)]!,
      hi = lbs[Math.min(gridSize - 1, i + 1)]!;
    const phi = (Math.sqrt(5) - 1) / 2;
    const fOf = (lb: number) => profile(form, d, Math.exp(lb)).rss;
    let x1 = hi - phi * (hi - lo),
      x2 = lo + phi * (hi - lo);
    let f1 = fOf(x1),
      f2 = fOf(x2);
    for (let it = 0; it < 40 && hi - lo > 1e-7; it++) {
      if (f1 <= f2) {
        hi = x2;
        x2 = x1;
        f2 = f1;
        x1 = hi - phi * (hi - lo);
        f1 = fOf(x1);
      } else {
        lo = x1;
        x1 = x2;
        f1 = f2;
        x2 = lo + phi * (hi - lo);
        f2 = fOf(x2);
      }
    }
    const best = [
      profile(form, d, Math.exp(x1)),
      profile(form, d, Math.exp(x2)),
      profile(form, d, Math.exp(lbs[i]!)),
    ].sort((u, v) => u.rss - v.rss)[0]!;
    out.push(best);
  }
  return out;
}

function lmPolish(form: "power" | "exponential", d: Data, start: Vec): { p: Vec; rss: number } {
  const spec = FORMS[form];
  const { lo, hi } = basisOf(form, d);
  const big = 1e300;
  try {
    const res = levenbergMarquardt({ x: d.x, y: d.y }, (p: number[]) => (n: number) => spec.f(p, n), {
      initialValues: start,
      weights: d.w.map(Math.sqrt), // the library minimises sum r_i^2 * weights_i^2
      minValues: [-big, lo, -big],
      maxValues: [big, hi, big],
      maxIterations: 200,
      errorTolerance: 0,
      improvementThreshold: 1e-3,
      damping: 1e-3,
      jacobianFunction: (p: number[]) => (n: number) => spec.grad(p, n),
    });
    const p = res.parameterValues;
    const rss = rssOf(spec, p, d);
    return { p, rss: Number.isFinite(rss) && p.every(Number.isFinite) ? rss : Infinity };
  } catch {
    return { p: start, rss: Infinity };
  }
}

/** logistic: the logit-linear regression on values clamped into (0, 1), then LM on the real objective. */
function logisticFit(d: Data): { p: Vec; rss: number } {
  const eps = 1e-3;
  const logit = d.y.map((y) =>
    Math.log(Math.min(1 - eps, Math.max(eps, y)) / (1 - Math.min(1 - eps, Math.max(eps, y)))),
  );
  const [b0, a0] = linearFit(d.x.map(Math.log), { ...d, y: logit });
  const spec = FORMS.logistic;
  const start = { p: [a0, Number.isFinite(b0) ? b0 : 0], rss: rssOf(spec, [a0, Number.isFinite(b0) ? b0 : 0], d) };
  try {
    const res = levenbergMarquardt({ x: d.x, y: d.y }, (p: number[]) => (n: number) => spec.f(p, n), {
      initialValues: start.p,
      weights: d.w.map(Math.sqrt),
      maxIterations: 200,
      errorTolerance: 0,
      improvementThreshold: 1e-3,
      damping: 1e-3,
      minValues: [-50, -50],
      maxValues: [50, 50],
      jacobianFunction: (p: number[]) => (n: number) => spec.grad(p, n),
    });
    const p = res.parameterValues;
    const rss = rssOf(spec, p, d);
    return Number.isFinite(rss) && rss < start.rss ? { p, rss } : start;
  } catch {
    return start;
  }
}

function fitOnce(form: ScalingForm, d: Data, polish: boolean): { p: Vec; rss: number } {
  if (form === "logistic") return logisticFit(d);
  if (form === "loglinear") {
    const [b, a, rss] = linearFit(d.x.map(Math.log), d);
    return { p: [a, b], rss };
  }
  const starts = profileSearch(form, d, polish ? 80 : 40, polish ? 3 : 1);
  const candidates = [...starts];
  if (polish) for (const s of starts) candidates.push(lmPolish(form, d, s.p));
  candidates.sort((u, v) => u.rss - v.rss);
  return candidates[0] ?? { p: FORMS[form].names.map(() => NaN), rss: Infinity };
}

function validate(ns: number[], values: number[], form: ScalingForm, weights?: number[]): Data {
  if (!(form in FORMS))
    throw new Error(`fitScaling: unknown form '${form}' (expected one of ${SCALING_FORMS.join(", ")})`);
  if (!Array.isArray(ns) || !Array.isArray(values)) throw new Error("fitScaling: ns and values must be arrays");
  if (ns.length !== values.length)
    throw new Error(`fitScaling: ns has ${ns.length} entries but values has ${values.length}`);
  ns.forEach((n, i) => {
    if (typeof n !== "number" || !Number.isFinite(n) || n <= 0)
      throw new Error(`fitScaling: ns[${i}] must be a finite number > 0, got ${n}`);
  });
  values.forEach((v, i) => {
    if (typeof v !== "number" || !Number.isFinite(v))
      throw new Error(`fitScaling: values[${i}] is not a finite number (${v})`);
  });
  const p = FORMS[form].names.length;
  if (ns.length < p + 1) {
    throw new Error(
      `fitScaling: the ${form} form has ${p} parameters and needs at least ${p + 1} points (parameters + 1 for the noise variance), got ${ns.length}`,
    );
  }
  const distinct = new Set(ns).size;
  if (distinct < p)
    throw new Error(`fitScaling: the ${form} form needs at least ${p} distinct N values, got ${distinct}`);
  let w: Vec;
  if (weights === undefined) w = ns.map(() => 1);
  else {
    if (weights.length !== ns.length)
      throw new Error(`fitScaling: weights has ${weights.length} entries but ns has ${ns.length}`);
    weights.forEach((x, i) => {
      if (typeof x !== "number" || !Number.isFinite(x) || x <= 0)
        throw new Error(`fitScaling: weights[${i}] must be a finite number > 0, got ${x}`);
    });
    w = weights.slice();
  }
  return { x: ns.slice(), y: values.slice(), w };
}

/**
 * A fit as a table reads it: the formula and each parameter with its interval, or "not
 * identifiable" and which intervals explode (numbers that mean nothing are not printed).
 */
export function fitSummaryText(fit: {
  formula: string;
  params: Record<string, number>;
  ci: Record<string, [number, number]>;
}): { formula: string; params: string } {
  const bad = unidentifiedParams(fit.params, fit.ci);
  if (bad.length) return { formula: "not identifiable", params: `intervals of ${bad.join(", ")} explode` };
  const num = (x: number, d: number) => (Number.isFinite(x) ? String(Number(x.toPrecision(d))) : "?");
  return {
    formula: fit.formula,
    params: Object.entries(fit.params)
      .map(([k, v]) => `${k}=${num(v, 4)} [${(fit.ci[k] ?? [NaN, NaN]).map((x) => num(x, 3)).join(", ")}]`)
      .join("; "),
  };
}

/** Fit one form to (N, value) points, with bootstrap intervals on parameters and curve. */
export function fitScaling(ns: number[], values: number[], opts?: FitOptions): ScalingFit {
  const form = opts?.form ?? "power";
  const d = validate(ns, values, form, opts?.weights);
  const B = opts?.bootstrap ?? 1000;
  const level = opts?.level ?? 0.95;
  if (!Number.isInteger(B) || B < 0) throw new Error(`fitScaling: bootstrap must be a non-negative integer, got ${B}`);
  if (!(level > 0 && level < 1)) throw new Error(`fitScaling: level must be in (0, 1), got ${level}`);
  const spec = FORMS[form];
  const n = d.x.length;
  const pCount = spec.names.length;
  const k = pCount + 1;

  const best = fitOnce(form, d, true);
  if (!Number.isFinite(best.rss)) throw new Error(`fitScaling: the ${form} fit failed (degenerate data?)`);
  const p = best.p;
  const rss = best.rss;
  const sw = d.w.reduce((s, x) => s + x, 0);
  const ym = d.w.reduce((s, x, i) => s + x * d.y[i]!, 0) / sw;
  const tss = d.w.reduce((s, x, i) => s + x * (d.y[i]! - ym) ** 2, 0);
  const r2 = tss > 0 ? 1 - rss / tss : rss === 0 ? 1 : NaN;
  const m2ll =
    n * Math.log(2 * Math.PI) +
    n * Math.log(Math.max(rss, Number.MIN_VALUE) / n) +
    n -
    d.w.reduce((s, x) => s + Math.log(x), 0);
  const aic = m2ll + 2 * k;
  const bic = m2ll + k * Math.log(n);
  const aicc = n - k - 1 > 0 ? aic + (2 * k * (k + 1)) / (n - k - 1) : Infinity;

  // Residual bootstrap.
  const yhat = d.x.map((x) => spec.f(p, x));
  const e = d.x.map((_, i) => Math.sqrt(d.w[i]!) * (d.y[i]! - yhat[i]!));
  const em = e.reduce((s, x) => s + x, 0) / n;
  const inflate = Math.sqrt(n / Math.max(1, n - pCount));
  const ec = e.map((x) => (x - em) * inflate);
  const rng = new Rng(opts?.seed ?? 0);
  const boot: Vec[] = [];
  for (let b = 0; b < B; b++) {
    const y = d.x.map((_, i) => yhat[i]! + ec[Math.floor(rng.next() * n)]! / Math.sqrt(d.w[i]!));
    const r = fitOnce(form, { x: d.x, y, w: d.w }, false);
    if (Number.isFinite(r.rss) && r.p.every(Number.isFinite)) boot.push(r.p);
  }

  const params: Record<string, number> = {};
  const ci: Record<string, [number, number]> = {};
  spec.names.forEach((name, j) => {
    params[name] = p[j]!;
    ci[name] =
      boot.length > 0
        ? percentileInterval(
            boot.map((q) => q[j]!),
            level,
          )
        : [NaN, NaN];
  });
  const predict = (x: number) => spec.f(p, x);
  const band = (x: number): [number, number] =>
    boot.length > 0
      ? percentileInterval(
          boot.map((q) => spec.f(q, x)),
          level,
        )
      : [NaN, NaN];
  const unidentified = unidentifiedParams(params, ci);
  return {
    form,
    params,
    ci,
    r2,
    aic,
    bic,
    aicc,
    rss,
    n,
    k,
    identifiable: unidentified.length === 0,
    unidentified,
    formula: spec.formula(p),
    resamples: boot.length,
    level,
    predict,
    band,
  };
}

/**
 * Fit every candidate form (those with enough points) and return the fits sorted best-first by
 * the chosen criterion (default "aic"; "aicc" is the better choice with very few points).
 */
export function compareForms(
  ns: number[],
  values: number[],
  opts?: Omit<FitOptions, "form"> & { forms?: ScalingForm[]; by?: "aic" | "aicc" | "bic" },
): ScalingFit[] {
  const forms = opts?.forms ?? [...SCALING_FORMS];
  const by = opts?.by ?? "aic";
  // Forms needing more points (or more distinct N) than given are skipped; bad input throws.
  const distinct = Array.isArray(ns) ? new Set(ns).size : 0;
  const usable = forms.filter((f) => {
    const p = FORMS[f]?.names.length ?? 0;
    return p > 0 && ns.length >= p + 1 && distinct >= p;
  });
  if (usable.length === 0) fitScaling(ns, values, { ...opts, form: forms[0] }); // throws the specific error
  const fits = usable.map((form) => fitScaling(ns, values, { ...opts, form }));
  return fits.sort((u, v) => u[by] - v[by]);
}
