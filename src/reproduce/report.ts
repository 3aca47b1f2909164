/**
 * The outputs in the config's out folder (the default run's: docs/history/ladder/): claims.json,
 * summary.json, tables/*.csv, figures/*.{png,html} (one shared plotly.min.js, PNGs through one
 * Renderer) and report.html, one self-contained page (PNGs embedded as data URIs, each linking
 * to its interactive figure).
 *
 * report.html reads like a paper's results section:
 *   - header: the run, and the evaluation design (temperature, eval.samples independent draws per
 *     problem each with its own seed, greedy beside it, the sweep's budget, the intervals, AICc);
 *   - findings first: one line per claim, its verdict, the numbers it rests on with their 95%
 *     intervals, and a link to the figure that decides it;
 *   - figures, numbered, each captioned with what it shows and what to see in it (numbers from the
 *     analysis, not fixed text); where there is nothing to plot (no re-check in any response) the
 *     page says so instead of showing an empty plot;
 *   - tables that fit a 1280 px page (numbers and their intervals never wrap; the N-sweep one
 *     column per N; fits with per-parameter intervals, "not identifiable" where an interval
 *     explodes), the CSVs keeping every column;
 *   - notes, then the derived settings and the resolved config as collapsible key/value tables;
 *     no raw JSON. All text is escaped, `$` included (MathJax hosts such as Jupyter).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Run } from "../analysis/stability.js";
import { stabilityRows } from "../analysis/stability.js";
import { writeCsv, type Row } from "../analysis/tables.js";
import { writeFileAtomic, writeJsonAtomic } from "../util/fsx.js";
import {
  accuracyVsTokensFigure,
  doseResponseFigure,
  gradientFigure,
  lengthHistogramFigure,
  loopCountsFigure,
  positionAccuracyFigure,
  taskScalingFigure,
  trainingCurvesFigure,
  NO_LOOPS_TEXT,
  type DosePoint,
  type Figure,
} from "../viz/figures.js";
import { copyPlotly, Renderer, writeFigureHtml } from "../viz/render.js";
import { fitSummaryText } from "../analysis/fit.js";
import {
  fitFromSummary,
  identifiability,
  type Analysis,
  type FitSummary,
  type MethodAnalysis,
  type N1Metrics,
  type SweepPoint,
} from "./analysis.js";
import type { Claim } from "./claims.js";

export interface RunMeta {
  backend: string;
  cores: number;
  cpu: string;
  /** Seconds per stage and in total. */
  wall: Record<string, number> & { total: number };
  seeds: number[];
}

/** Method order in tables and figures: sft, single, bcr, then the rest as configured. */
export function methodOrder(analysis: Analysis): string[] {
  const ms = Object.keys(analysis.methods);
  const first = ["sft", "single", "bcr"].filter((m) => ms.includes(m));
  return [...first, ...ms.filter((m) => !first.includes(m))];
}

const est = (e: { mean: number; ci: [number, number] }) => ({ mean: e.mean, ci: e.ci });

/** Why a method has no greedy numbers (claims.json says so rather than leaving a gap). */
export const GREEDY_MISSING = "no greedy N=1 eval rows (eval.greedy was off for this run)";

function greedyJson(g: N1Metrics) {
  return {
    accuracy: est(g.accuracy),
    tokens_per_problem: est(g.tokens_per_problem),
    loops_per_response: est(g.loops_per_response),
    truncation_rate: g.truncation_rate,
    problems: g.problems,
  };
}

/** claims.json: the contract shape (backend, cores, wall_s, seeds, methods) plus the verdicts. */
export function buildClaimsJson(analysis: Analysis, meta: RunMeta): Record<string, unknown> {
  const methods: Record<string, unknown> = {};
  for (const m of methodOrder(analysis)) {
    const a = analysis.methods[m]!;
    methods[m] = {
      n1: {
        accuracy: { ...est(a.n1.accuracy), seeds_ci: a.n1.accuracy.seeds_ci, per_seed: a.n1.accuracy.per_seed },
        tokens_per_problem: {
          ...est(a.n1.tokens_per_problem),
          seeds_ci: a.n1.tokens_per_problem.seeds_ci,
          per_seed: a.n1.tokens_per_problem.per_seed,
        },
        problems: a.n1.problems,
        greedy: a.n1.greedy ? greedyJson(a.n1.greedy) : null,
        ...(a.n1.greedy ? {} : { greedy_missing: GREEDY_MISSING }),
      },
      sweep: a.sweep.map((p) => ({
        n: p.n,
        accuracy: p.accuracy.mean,
        tokens_per_problem: p.tokens_per_problem.mean,
        accuracy_ci: p.accuracy.ci,
        tokens_per_problem_ci: p.tokens_per_problem.ci,
        truncation_rate: p.truncation_rate,
      })),
      loops_per_response: a.n1.loops_per_response.mean,
      loops_per_response_ci: a.n1.loops_per_response.ci,
      collapsed: a.stability ? a.stability.collapsed : null,
      collapsed_seeds: a.stability ? `${a.stability.collapsedSeeds}/${a.stability.seeds}` : null,
      seeds: a.seeds,
    };
  }
  const star = analysis.lambdaStar;
  return {
    backend: meta.backend,
    cores: meta.cores,
    wall_s: meta.wall.total,
    seeds: meta.seeds,
    ci_method: analysis.ciMethod ?? "problems",
    // JSON has no Infinity: a guess that is never shorter than the trace gives a string.
    lambda_star: star ? (star.value === null || Number.isFinite(star.value) ? star.value : "Infinity") : null,
    lambda_star_detail: star ?? { value: null, reason: "analysis made before lambda* existed" },
    methods,
    comparisons: analysis.comparisons,
    claims: analysis.claims.map((c) => ({
      id: c.id,
      number: c.number,
      title: c.title,
      verdict: c.verdict,
      criterion: c.criterion,
      measurement: c.measurement,
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// Tables

const f = (x: number, d = 3) => (Number.isFinite(x) ? Number(x.toFixed(d)) : null);

export function tables(analysis: Analysis): Record<string, Row[]> {
  const order = methodOrder(analysis);
  const n1 = order.map((m) => {
    const a = analysis.methods[m]!.n1;
    return {
      method: m,
      seeds: analysis.methods[m]!.seeds.filter((s) => s !== null).length || 0,
      problems: a.problems,
      accuracy: f(a.accuracy.mean),
      accuracy_lo: f(a.accuracy.ci[0]),
      accuracy_hi: f(a.accuracy.ci[1]),
      tokens_per_problem: f(a.tokens_per_problem.mean, 1),
      tokens_lo: f(a.tokens_per_problem.ci[0], 1),
      tokens_hi: f(a.tokens_per_problem.ci[1], 1),
      loops_per_response: f(a.loops_per_response.mean),
      loops_lo: f(a.loops_per_response.ci[0]),
      loops_hi: f(a.loops_per_response.ci[1]),
      truncation_rate: f(a.truncation_rate),
      greedy_accuracy: a.greedy ? f(a.greedy.accuracy.mean) : null,
      greedy_tokens_per_problem: a.greedy ? f(a.greedy.tokens_per_problem.mean, 1) : null,
      greedy_loops_per_response: a.greedy ? f(a.greedy.loops_per_response.mean) : null,
      collapsed: analysis.methods[m]!.stability
        ? `${analysis.methods[m]!.stability!.collapsedSeeds}/${analysis.methods[m]!.stability!.seeds}`
        : "",
    };
  });
  const sweep = order.flatMap((m) =>
    analysis.methods[m]!.sweep.map((p) => ({
      method: m,
      n: p.n,
      accuracy: f(p.accuracy.mean),
      accuracy_lo: f(p.accuracy.ci[0]),
      accuracy_hi: f(p.accuracy.ci[1]),
      tokens_per_problem: f(p.tokens_per_problem.mean, 1),
      tokens_lo: f(p.tokens_per_problem.ci[0], 1),
      tokens_hi: f(p.tokens_per_problem.ci[1], 1),
      truncation_rate: f(p.truncation_rate),
      problems: p.problems,
    })),
  );
  const fits = order.flatMap((m) =>
    (["tokens_per_problem", "accuracy"] as const).flatMap((metric) =>
      analysis.methods[m]!.fits[metric].map((fit, rank) => {
        // Numbers whose intervals explode are not results: fitSummaryText says so instead of printing them.
        const text = fitSummaryText(fit);
        return {
          method: m,
          metric,
          rank: rank + 1,
          form: fit.form,
          formula: text.formula,
          r2: f(fit.r2),
          aicc: f(fit.aicc, 2),
          aic: f(fit.aic, 2),
          params: text.params,
        };
      }),
    ),
  );
  const comparisons = analysis.comparisons.map((c) => ({
    comparison: `${c.a} vs ${c.b}`,
    tokens_a: f(c.aTokens, 1),
    tokens_b: f(c.bTokens, 1),
    token_reduction: f(c.tokenReduction.mean),
    reduction_lo: f(c.tokenReduction.ci[0]),
    reduction_hi: f(c.tokenReduction.ci[1]),
    accuracy_diff: f(c.accuracyDiff.mean),
    accuracy_diff_lo: f(c.accuracyDiff.ci[0]),
    accuracy_diff_hi: f(c.accuracyDiff.ci[1]),
    p_tokens: f(c.pValueTokens),
    p_accuracy: f(c.pValueAccuracy),
  }));
  const claims = analysis.claims.map((c) => ({
    claim: c.number,
    id: c.id,
    verdict: c.verdict,
    measurement: c.measurement,
    criterion: c.criterion,
  }));
  // The ladder: is each shorter trace form a real accuracy-for-length trade-off for the SFT model?
  const ladder = (analysis.ladder ?? []).map((r) => ({
    form: r.form,
    how: r.how,
    responses: r.responses,
    accuracy: f(r.accuracy),
    tokens_per_problem: f(r.tokensPerProblem, 1),
    steps_right: f(r.stepsRight), // NaN (null once stored as JSON) where no steps were written: f gives null
  }));
  return {
    n1,
    sweep,
    fits,
    stability: stabilityRows(analysis.stability),
    free_lunch: comparisons,
    claims,
    ...(ladder.length ? { ladder } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Figures

/** One figure of the report: the plot, what it shows and what to see in it. */
export interface ReportFigure {
  /** Title of the figure's own HTML page (and alt text). */
  title: string;
  fig: Figure;
  /** What the figure shows: marks, axes, intervals (the caption's first part). */
  shows?: string;
  /** What to see in it, in numbers (the caption's second part). */
  see?: string;
  /** The claim this figure decides: the findings point to it. */
  claim?: Claim["id"];
  /** PNG size in pixels (the renderer's default, 900 x 560, when absent). */
  size?: { width: number; height: number };
  /** Said in the report instead of the image (nothing to plot, e.g. no re-check anywhere). */
  instead?: string;
}

/** The parts of the resolved config the report states (everything optional: old or partial configs). */
interface ReportConfig {
  name?: string;
  seeds?: number[];
  eval?: {
    problems?: number;
    n1Budget?: number;
    temperature?: number;
    samples?: number;
    ns?: number[];
    sweepBudget?: number;
    rotations?: number;
    greedy?: boolean;
  };
  rl?: { steps?: number; singleBudget?: number; bcr?: { budget?: number } };
  analysis?: { bootstrap?: number; fitBy?: "aic" | "aicc" | "bic"; ci?: string };
}
const cfgOf = (config: unknown): ReportConfig => (config && typeof config === "object" ? config : {}) as ReportConfig;

/** The criterion's name as written: AICc, AIC, BIC. */
export function criterionName(by: string | undefined): string {
  return by === "aic" ? "AIC" : by === "bic" ? "BIC" : "AICc";
}

// Number formats of the report's prose and tables.
const fx = (x: number | null | undefined, d = 3) =>
  x !== null && x !== undefined && Number.isFinite(x) ? x.toFixed(d) : "–";
const pc = (x: number | null | undefined, d = 1) =>
  x !== null && x !== undefined && Number.isFinite(x) ? `${(100 * x).toFixed(d)}%` : "–";
const ciOf = (e: { mean: number; ci: [number, number] }, d = 3) =>
  `${fx(e.mean, d)} [${fx(e.ci[0], d)}, ${fx(e.ci[1], d)}]`;
const pcCi = (e: { mean: number; ci: [number, number] }) => `${pc(e.mean)} [${pc(e.ci[0])}, ${pc(e.ci[1])}]`;
/** Three significant digits, no exponent for the magnitudes the fits have. */
const sig = (x: number) => (Number.isFinite(x) ? String(Number(x.toPrecision(3))) : "–");
const list = (xs: string[]) => (xs.length <= 1 ? xs.join("") : `${xs.slice(0, -1).join(", ")} and ${xs.at(-1)}`);

const isPenalty = (m: string) => /^linear@/.test(m);
/** Marker shapes for methods that share a hue (the penalty family). */
const SYMBOLS = ["circle", "square", "diamond", "triangle-up", "x", "star", "cross", "pentagon"];

/** Where the share of responses cut by the budget jumps most between consecutive N (all methods). */
export function truncationJump(
  analysis: Analysis,
  only?: string[],
): { from: number; to: number; before: number; after: [number, number] } | null {
  const ms = Object.values(analysis.methods).filter((m) => m.sweep.length > 1 && (!only || only.includes(m.method)));
  const ns = [...new Set(ms.flatMap((m) => m.sweep.map((p) => p.n)))].sort((a, b) => a - b);
  let best: { from: number; to: number; before: number; after: [number, number]; rise: number } | null = null;
  for (let i = 1; i < ns.length; i++) {
    const at = (n: number) => ms.flatMap((m) => m.sweep.filter((p) => p.n === n).map((p) => p.truncation_rate));
    const a = at(ns[i - 1]!),
      b = at(ns[i]!);
    if (!a.length || !b.length) continue;
    const before = Math.max(...a);
    const rise = b.reduce((s, x) => s + x, 0) / b.length - a.reduce((s, x) => s + x, 0) / a.length;
    if (!best || rise > best.rise)
      best = { from: ns[i - 1]!, to: ns[i]!, before, after: [Math.min(...b), Math.max(...b)], rise };
  }
  return best && best.rise > 0.05 ? { from: best.from, to: best.to, before: best.before, after: best.after } : null;
}

function scalingSeries(m: MethodAnalysis) {
  const best = (k: "tokens_per_problem" | "accuracy") => (m.fits[k][0] ? fitFromSummary(m.fits[k][0]!) : undefined);
  return {
    method: m.method,
    ns: m.sweep.map((p) => p.n),
    tokensPerProblem: m.sweep.map((p) => p.tokens_per_problem.mean),
    accuracy: m.sweep.map((p) => p.accuracy.mean),
    tokensCi: m.sweep.map((p) => p.tokens_per_problem.ci),
    accuracyCi: m.sweep.map((p) => p.accuracy.ci),
    truncationRate: m.sweep.map((p) => p.truncation_rate),
    tokensFit: best("tokens_per_problem"),
    accuracyFit: best("accuracy"),
  };
}

function taskScalingSee(analysis: Analysis, budget: number | undefined, shown: string[]): string {
  const out: string[] = [];
  const bcr = analysis.methods.bcr;
  const claim = analysis.claims.find((c) => c.id === "task_scaling");
  if (bcr && bcr.sweep.length > 1) {
    const first = bcr.sweep[0]!,
      last = bcr.sweep.at(-1)!;
    const monotone = claim?.details.monotone;
    out.push(
      `bcr's tokens per problem ${monotone === false ? "do not fall steadily" : monotone ? "fall" : "change"} with N: ` +
        `${ciOf(first.tokens_per_problem, 1)} at N=${first.n}, ${ciOf(last.tokens_per_problem, 1)} at N=${last.n}.`,
    );
  }
  const jump = truncationJump(analysis, shown);
  if (jump) {
    const acc = (m: MethodAnalysis, n: number) => m.sweep.find((p) => p.n === n)?.accuracy.mean ?? NaN;
    const falls = shown.map((m) => analysis.methods[m]!).every((m) => acc(m, jump.to) < acc(m, jump.from));
    out.push(
      `The share of responses cut by the ${budget ? `${budget}-token ` : ""}budget (middle) jumps between N=${jump.from} and N=${jump.to}: ` +
        `at most ${pc(jump.before)} at N=${jump.from}, ${pc(jump.after[0])} to ${pc(jump.after[1])} by method at N=${jump.to}` +
        (falls
          ? `, and every method's accuracy (right) falls with it: beyond N=${jump.from} accuracy measures the budget as much as the method.`
          : "."),
    );
  }
  const drop = claim?.details.drop as { n: number; a: number; b: number } | null | undefined;
  if (drop)
    out.push(
      `Accuracy drop from N=1 to N=${drop.n}: bcr ${(100 * drop.a).toFixed(1)} points, single ${(100 * drop.b).toFixed(1)} points.`,
    );
  out.push(
    "Curves are drawn over the measured N only; a dotted curve is a best fit whose parameters are not identifiable (Table 4).",
  );
  return out.join(" ");
}

function penaltiesSee(ms: MethodAnalysis[]): string {
  const ends = ms.filter((m) => m.sweep.length > 1);
  if (!ends.length) return "";
  const span = (m: MethodAnalysis, f: (p: SweepPoint) => number, d: number) =>
    `${m.method} ${fx(f(m.sweep[0]!), d)} → ${fx(f(m.sweep.at(-1)!), d)}`;
  const n0 = ends[0]!.sweep[0]!.n,
    n1 = ends[0]!.sweep.at(-1)!.n;
  return (
    `From N=${n0} to N=${n1}, tokens per problem: ${ends.map((m) => span(m, (p) => p.tokens_per_problem.mean, 1)).join(", ")}; ` +
    `accuracy: ${ends.map((m) => span(m, (p) => p.accuracy.mean, 2)).join(", ")}; ` +
    `share cut by the budget at N=${n1}: ${ends.map((m) => `${m.method} ${pc(m.sweep.at(-1)!.truncation_rate, 0)}`).join(", ")}.`
  );
}

function accuracyVsTokensSee(analysis: Analysis, frontier: string[]): string {
  const ms = analysis.methods;
  const at = (m: string) =>
    `${fx(ms[m]!.n1.tokens_per_problem.mean, 1)} tokens, accuracy ${fx(ms[m]!.n1.accuracy.mean)}`;
  const out: string[] = [];
  if (ms.bcr && ms.single) {
    const fewer = ms.bcr.n1.tokens_per_problem.mean < ms.single.n1.tokens_per_problem.mean;
    const better = ms.bcr.n1.accuracy.mean >= ms.single.n1.accuracy.mean;
    out.push(
      `bcr (${at("bcr")}) sits ${fewer ? "left of" : "right of"} and ${better ? "above" : "below"} single (${at("single")}): ` +
        `${fewer ? "fewer" : "more"} tokens, ${better ? "no less" : "lower"} accuracy.`,
    );
  }
  if (ms.bcr && frontier.length >= 2) {
    // The nearest other method in (tokens, accuracy), each axis scaled by its spread over methods.
    const others = Object.values(ms).filter((m) => m.method !== "bcr" && Number.isFinite(m.n1.accuracy.mean));
    const all = Object.values(ms);
    const spread = (f: (m: MethodAnalysis) => number) => Math.max(...all.map(f)) - Math.min(...all.map(f)) || 1;
    const st = spread((m) => m.n1.tokens_per_problem.mean),
      sa = spread((m) => m.n1.accuracy.mean);
    const d = (m: MethodAnalysis) =>
      Math.hypot(
        (m.n1.tokens_per_problem.mean - ms.bcr!.n1.tokens_per_problem.mean) / st,
        (m.n1.accuracy.mean - ms.bcr!.n1.accuracy.mean) / sa,
      );
    const near = others.sort((a, b) => d(a) - d(b))[0];
    const line = frontierAt(
      frontier.map((m) => ({ x: ms[m]!.n1.tokens_per_problem.mean, y: ms[m]!.n1.accuracy.mean })),
      ms.bcr.n1.tokens_per_problem.mean,
    );
    const acc = ms.bcr.n1.accuracy;
    const where =
      line === null
        ? "outside the range the line spans"
        : acc.ci[0] > line
          ? `above the line (its interval ${ciOf(acc)} clears the line's ${fx(line)} at that length): more accuracy than a penalty buys at that length`
          : acc.ci[1] < line
            ? `below the line (its interval ${ciOf(acc)} lies under the line's ${fx(line)}): less accuracy than a penalty keeps at that length`
            : `on the line within its interval (${ciOf(acc)} holds the line's ${fx(line)}): the same trade a length penalty makes`;
    out.push(
      "The dashed line joins single and its linear length penalties: the accuracy an explicit penalty gives up for length. " +
        (near ? `bcr lands next to ${near.method} (${at(near.method)}), ` : "bcr lies ") +
        `${where}. A free lunch would put bcr above the line.`,
    );
  }
  return out.join(" ");
}

/** The frontier (points joined in order of x) at x, by linear interpolation; null outside its span. */
export function frontierAt(points: { x: number; y: number }[], x: number): number | null {
  const ps = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
  for (let i = 1; i < ps.length; i++) {
    const a = ps[i - 1]!,
      b = ps[i]!;
    if (x >= a.x && x <= b.x) return b.x === a.x ? (a.y + b.y) / 2 : a.y + ((x - a.x) / (b.x - a.x)) * (b.y - a.y);
  }
  return null;
}

function loopsText(analysis: Analysis): { instead?: string; see: string } {
  const ms = Object.values(analysis.methods);
  const total = ms.reduce((s, m) => s + m.samples.loops.length, 0);
  const withLoops = ms.filter((m) => m.samples.loops.some((v) => v > 0));
  const verdict = analysis.claims.find((c) => c.id === "loops")?.verdict;
  if (withLoops.length === 0)
    return {
      instead: `${NO_LOOPS_TEXT[0]!.toUpperCase()}${NO_LOOPS_TEXT.slice(1)}: all ${total.toLocaleString("en-US")} sampled N=1 responses of ${ms.length} models have 0 re-check loops.`,
      see: analysis.methods.sft
        ? `The SFT model wrote no re-check either, so there is no loop for RL to remove: claim 3 is not decided by this run${
            verdict ? ` (its verdict, '${verdict}', comes from that, not from bcr looping more)` : ""
          }.`
        : "No model re-checks a step in this run.",
    };
  const share = (m: MethodAnalysis) =>
    m.samples.loops.filter((v) => v > 0).length / Math.max(1, m.samples.loops.length);
  const none = ms.filter((m) => !withLoops.includes(m)).map((m) => m.method);
  return {
    see:
      `Responses with at least one re-check: ${withLoops.map((m) => `${m.method} ${pc(share(m))}`).join(", ")}` +
      (none.length ? `; none at all for ${list(none)} (left out of the plot).` : "."),
  };
}

function doseSee(analysis: Analysis, dose: DosePoint[]): string {
  if (!dose.length) return "";
  const ps = [...dose].sort((a, b) => a.lambda - b.lambda);
  const out: string[] = [];
  const collapsed = ps.filter((p) => p.collapsedShare > 0);
  out.push(
    collapsed.length
      ? `Seeds collapsed at ${collapsed.map((p) => `λ=${p.lambda} (${pc(p.collapsedShare, 0)})`).join(", ")}.`
      : "No seed collapsed at any strength (the red line stays at 0).",
  );
  const acc = ps.filter((p) => p.finalAccuracy);
  if (acc.length >= 2)
    out.push(
      `Final held-out accuracy goes from ${ciOf(acc[0]!.finalAccuracy!, 2)} at λ=${acc[0]!.lambda} to ${ciOf(acc.at(-1)!.finalAccuracy!, 2)} at λ=${acc.at(-1)!.lambda}` +
        (collapsed.length ? "." : ": a stronger penalty costs accuracy step by step, without a collapse."),
    );
  const cos = ps.filter((p) => p.meanCosAccLen !== null);
  if (cos.length >= 2)
    out.push(
      `The mean cosine between the accuracy and length gradients goes from ${fx(cos[0]!.meanCosAccLen, 2)} at λ=${cos[0]!.lambda} ` +
        `to ${fx(cos.at(-1)!.meanCosAccLen, 2)} at λ=${cos.at(-1)!.lambda} (bottom panel; below 0 the two terms pull apart).`,
    );
  const star = analysis.lambdaStar?.value;
  if (typeof star === "number" && Number.isFinite(star))
    out.push(
      `Above λ* = ${star.toFixed(2)} (dashed) a bare guess out-scores a correct answer; claim 4 is judged below it.`,
    );
  return out.join(" ");
}

function positionSee(analysis: Analysis, n: number): string {
  const m = analysis.methods.bcr ?? Object.values(analysis.methods).find((x) => x.positions.points.length);
  const pts = m?.positions.points ?? [];
  if (pts.length < 2) return "";
  const first = pts[0]!,
    last = pts.at(-1)!;
  const lower = last.ci[1] < first.ci[0],
    higher = last.ci[0] > first.ci[1];
  return (
    `${m!.method} at N=${n}: position ${first.position} ${ciOf({ mean: first.accuracy, ci: first.ci })}, position ${last.position} ${ciOf({ mean: last.accuracy, ci: last.ci })}` +
    (lower
      ? "; the last problem in the context is answered less often than the first: the shared budget runs out before it."
      : higher
        ? "; the last problem is answered more often than the first."
        : "; the intervals of the first and last positions overlap.")
  );
}

function lengthSee(analysis: Analysis): string {
  const med = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
  };
  const ms = ["sft", "single", "bcr"].filter((m) => analysis.methods[m]?.samples.tokens.length);
  if (!ms.length) return "";
  return `Median response length: ${ms.map((m) => `${m} ${fx(med(analysis.methods[m]!.samples.tokens), 0)} tokens`).join(", ")}.`;
}

export function figures(analysis: Analysis, runs: Run[], config?: unknown): Record<string, ReportFigure> {
  const cfg = cfgOf(config);
  const order = methodOrder(analysis);
  const ms = order.map((m) => analysis.methods[m]!);
  const out: Record<string, ReportFigure> = {};
  const withSweep = ms.filter((m) => m.sweep.length > 0);
  const by = criterionName(cfg.analysis?.fitBy);
  const budget = cfg.eval?.sweepBudget;
  const scalingShows = (what: string) =>
    `${what} against N, the number of problems packed into one context under one fixed total budget${budget ? ` of ${budget} tokens` : ""}. ` +
    `Left: tokens per problem; middle: share of responses cut by the budget; right: accuracy. Points: means with 95% intervals; ` +
    `curves: the ${by}-best form with its 95% bootstrap band.`;
  const main = withSweep.filter((m) => !isPenalty(m.method));
  const penalties = withSweep.filter((m) => isPenalty(m.method));
  if (main.length) {
    out.task_scaling = {
      title: "Task scaling: tokens per problem, truncation and accuracy vs N under a fixed total budget",
      fig: taskScalingFigure(main.map(scalingSeries), {
        title: "Task scaling under a fixed total budget",
      }),
      shows: scalingShows(list(main.map((m) => m.method))),
      see: taskScalingSee(
        analysis,
        budget,
        main.map((m) => m.method),
      ),
      claim: "task_scaling",
      size: { width: 1150, height: 560 },
    };
  }
  if (penalties.length) {
    const ref = withSweep.filter((m) => m.method === "bcr");
    out.task_scaling_penalties = {
      title: "Task scaling of the length-penalty runs (bcr for reference)",
      // One hue for the whole family: a marker shape per strength tells them apart.
      fig: taskScalingFigure(
        [...ref, ...penalties].map((m, i) => ({ ...scalingSeries(m), symbol: SYMBOLS[i % SYMBOLS.length] })),
        { title: "Task scaling of the linear length penalties (bcr for reference)" },
      ),
      shows: scalingShows(`The linear length penalties (${list(penalties.map((m) => m.method))}) and bcr`),
      see: penaltiesSee([...ref, ...penalties]),
      size: { width: 1150, height: 560 },
    };
  }
  const frontier = ["single", ...order.filter(isPenalty)].filter((m) => analysis.methods[m]);
  out.accuracy_vs_tokens = {
    title: "Accuracy vs tokens per problem at N=1 (means with 95% intervals; faint: seeds)",
    fig: accuracyVsTokensFigure(
      ms.flatMap((m) =>
        m.n1.accuracy.per_seed.map((acc, i) => ({
          method: m.method,
          seed: m.seeds[i] ?? 0,
          accuracy: acc,
          tokensPerProblem: m.n1.tokens_per_problem.per_seed[i]!,
        })),
      ),
      {
        title: "Accuracy vs tokens per problem at N=1",
        means: Object.fromEntries(
          ms.map((m) => [m.method, { accuracy: m.n1.accuracy, tokens: m.n1.tokens_per_problem }]),
        ),
        frontier: frontier.length >= 2 ? { methods: frontier, name: "single and its length penalties" } : undefined,
        labels: true,
      },
    ),
    shows:
      "Each model's accuracy against its tokens per problem at N=1 (one problem per context, a generous budget). " +
      "Diamonds: means over seeds and test problems with 95% intervals on both axes; faint dots: single seeds.",
    see: accuracyVsTokensSee(analysis, frontier),
    claim: "free_lunch",
    size: { width: 1000, height: 600 },
  };
  const loops = loopsText(analysis);
  out.loop_histogram = {
    title: "Re-check loops per N=1 response",
    fig: loopCountsFigure(ms.map((m) => ({ method: m.method, values: m.samples.loops }))),
    shows: loops.instead
      ? "Re-check loops (re-doing a step already done) per sampled N=1 response: nothing to plot."
      : "Sampled N=1 responses by their number of re-check loops (re-doing a step already done), share of each method's responses on a log axis; the number on a bar counts responses.",
    see: loops.see,
    claim: "loops",
    ...(loops.instead ? { instead: loops.instead } : {}),
  };
  const dose = doseResponsePoints(analysis);
  const bcrFinal = analysis.stability.find((s) => s.method === "bcr")?.finalAccuracy;
  if (dose.length) {
    out.dose_response = {
      title: "Linear penalty: share of seeds collapsed and final eval accuracy against lambda, lambda* marked",
      fig: doseResponseFigure(dose, analysis.lambdaStar?.value ?? null, {
        reference: bcrFinal ? { method: "bcr", accuracy: bcrFinal.mean } : undefined,
      }),
      shows:
        "The linear length penalty's strength λ (log axis) against the share of its seeds that collapsed (red) and the final held-out accuracy " +
        `with its 95% interval over seeds (blue)${bcrFinal ? ", bcr's final accuracy dotted for reference" : ""}; bottom: the mean cosine between the accuracy and length gradients.`,
      see: doseSee(analysis, dose),
      claim: "stability",
      size: { width: 1000, height: 600 },
    };
  }
  if (runs.length) {
    out.training_eval_accuracy = {
      title: "eval/accuracy (held-out, N=1) during RL",
      fig: trainingCurvesFigure(runs, "eval/accuracy"),
      shows: "Held-out accuracy at N=1 during RL, one line per seed.",
      see: "A collapse would be a line falling below half its start and staying there.",
      size: { width: 1000, height: 560 },
    };
  }
  // Position and length: the main methods (the length penalties would bury them; the tables have those).
  const mainMs = ms.some((m) => !isPenalty(m.method)) ? ms.filter((m) => !isPenalty(m.method)) : ms;
  const pos = mainMs.filter((m) => m.positions.points.length > 0);
  if (pos.length) {
    const n = pos[0]!.positions.n;
    out.position_accuracy = {
      title: `Accuracy by position in the context at N=${n}`,
      fig: positionAccuracyFigure(
        pos.flatMap((m) =>
          m.positions.points.map((p) => ({ method: m.method, position: p.position, accuracy: p.accuracy, ci: p.ci })),
        ),
        { n },
      ),
      shows: `Accuracy by the position of a problem in a context of N=${n} problems (1 = first), with 95% intervals, for ${list(pos.map((m) => m.method))}.`,
      see: positionSee(analysis, n),
      size: { width: 1000, height: 560 },
    };
  }
  out.length_histogram = {
    title: "N=1 response length (tokens)",
    fig: lengthHistogramFigure(mainMs.map((m) => ({ method: m.method, values: m.samples.tokens }))),
    shows: `Length of each sampled N=1 response in tokens, share of responses per bin, for ${list(mainMs.map((m) => m.method))}.`,
    see: lengthSee(analysis),
    size: { width: 1000, height: 560 },
  };
  if (runs.length) {
    out.training_reward_accuracy = {
      title: "reward/accuracy during RL",
      fig: trainingCurvesFigure(runs, "reward/accuracy", { smooth: 3 }),
      shows: "Accuracy of the responses sampled for training, moving average of 3 logged steps, one line per seed.",
      size: { width: 1000, height: 560 },
    };
    out.training_length_mean = {
      title: "length/mean during RL",
      fig: trainingCurvesFigure(runs, "length/mean", { smooth: 3 }),
      shows: "Mean length of the sampled responses during RL (moving average of 3), one line per seed.",
      size: { width: 1000, height: 560 },
    };
    out.gradients = {
      title: "grad/cos_acc_len (penalty runs) and grad/norm during RL",
      fig: gradientFigure(runs),
      shows:
        "Top: cosine between the gradients of the accuracy and the length terms (penalty runs only); bottom: gradient norm.",
      size: { width: 1000, height: 560 },
    };
  }
  return out;
}

/** One dose-response point per linear-penalty method that has stability numbers. */
export function doseResponsePoints(analysis: Analysis): DosePoint[] {
  const linear = analysis.claimInputs.stability?.linear ?? [];
  return linear.flatMap(({ method, lambda }) => {
    const s = analysis.stability.find((x) => x.method === method);
    return s && s.total > 0
      ? [
          {
            lambda,
            collapsedShare: s.collapsed / s.total,
            finalAccuracy: s.finalAccuracy,
            meanCosAccLen: s.meanCosAccLen,
          },
        ]
      : [];
  });
}

/** Writes figures/<name>.html (+ .png when a renderer is given); returns the PNG names written. */
export async function writeFigures(
  dir: string,
  figs: Record<string, { title: string; fig: Figure; size?: { width: number; height: number } }>,
  renderer: Renderer | null,
  log: (s: string) => void,
): Promise<{ png: string[]; error: string | null }> {
  copyPlotly(dir);
  const png: string[] = [];
  let error: string | null = null;
  for (const [name, { title, fig, size }] of Object.entries(figs)) {
    writeFigureHtml(path.join(dir, `${name}.html`), fig, { title });
    if (renderer && !error) {
      try {
        await renderer.writePng(path.join(dir, `${name}.png`), fig, size);
        png.push(name);
      } catch (e) {
        error = (e as Error).message.split("\n")[0]!;
        log(`[reproduce] report: PNG rendering failed (${error}); writing interactive HTML only`);
      }
    }
  }
  return { png, error };
}

// ---------------------------------------------------------------------------------------------
// report.html

/**
 * Text as HTML: the five markup characters, and `$` (a GSM8K question's "$5 and $3" must not
 * become MathJax math where the page is shown inside Jupyter or another MathJax host).
 */
export function esc(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/\$/g, "&#36;");
}

const VERDICT_COLOR: Record<string, string> = {
  held: "#1a7f37",
  partially: "#9a6700",
  "not held": "#cf222e",
  "not tested": "#57606a",
};

const badge = (v: string) => `<span class="badge" style="background:${VERDICT_COLOR[v] ?? "#57606a"}">${esc(v)}</span>`;

/** A number (or a number with its interval) in a cell that never wraps. */
const num = (text: string) => `<td class="num">${esc(text)}</td>`;
const numCi = (mean: string, ci?: string) =>
  `<td class="num">${esc(mean)}${ci ? ` <span class="ci">${esc(ci)}</span>` : ""}</td>`;
const cell = (text: string, cls = "") => `<td${cls ? ` class="${cls}"` : ""}>${esc(text)}</td>`;
const ciCell = (e: { mean: number; ci: [number, number] } | null | undefined, d = 3) =>
  e && Number.isFinite(e.mean) ? numCi(fx(e.mean, d), `[${fx(e.ci[0], d)}, ${fx(e.ci[1], d)}]`) : num("–");

function htmlTable(head: string[], rows: string[], cls = ""): string {
  return (
    `<table${cls ? ` class="${cls}"` : ""}><thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead>\n` +
    `<tbody>\n${rows.join("\n")}\n</tbody></table>`
  );
}

/** One line per claim: the verdict, the result in numbers with its interval, and the figure that decides it. */
export function findingLine(c: Claim, a: Analysis, config?: unknown): string {
  const d = c.details as Record<string, unknown>;
  if (c.verdict === "not tested") return c.measurement;
  switch (c.id) {
    case "task_scaling": {
      const bcr = a.methods.bcr?.sweep ?? [];
      const drop = d.drop as { n: number; a: number; b: number } | null | undefined;
      const parts: string[] = [];
      if (bcr.length > 1)
        parts.push(
          `bcr's tokens per problem ${d.monotone ? "fall" : "do not fall steadily"} with N ` +
            `(${ciOf(bcr[0]!.tokens_per_problem, 1)} at N=${bcr[0]!.n}, ${ciOf(bcr.at(-1)!.tokens_per_problem, 1)} at N=${bcr.at(-1)!.n})`,
        );
      if (drop)
        parts.push(
          `its accuracy falls ${d.graceful ? "less" : "no less"} than single's from N=1 to N=${drop.n} ` +
            `(${(100 * drop.a).toFixed(1)} vs ${(100 * drop.b).toFixed(1)} points)`,
        );
      const jump = truncationJump(a, ["bcr", "single"]);
      const tail = jump
        ? `; but from N=${jump.to} on the budget cuts ${pc(jump.after[0], 0)}–${pc(jump.after[1], 0)} of their responses (at most ${pc(jump.before, 0)} at N=${jump.from})`
        : "";
      return parts.length ? `${parts.join("; ")}${tail}.` : c.measurement;
    }
    case "free_lunch": {
      const tr = d.tokenReduction as { mean: number; ci: [number, number] } | undefined;
      const ad = d.accuracyDiff as { mean: number; ci: [number, number] } | undefined;
      if (!tr || !ad) return c.measurement;
      const margin = d.nonInferiorityMargin as number | undefined;
      const required = (cfgOf(config) as { claims?: { freeLunchMinReduction?: number } }).claims?.freeLunchMinReduction;
      return (
        `bcr uses ${pcCi(tr)} fewer tokens per problem than single at N=1 (${fx(d.bcrTokens as number, 1)} vs ${fx(d.singleTokens as number, 1)}; ` +
        `${d.enoughReduction ? "the lower bound reaches" : "the lower bound is short of"} the required ${required === undefined ? "reduction" : pc(required, 0)}), ` +
        `and its accuracy is ${accuracyDiffText(ad)}` +
        (margin !== undefined
          ? ` (${d.nonInferior ? "non-inferior" : "non-inferiority not shown"} at a ${(100 * margin).toFixed(1)}-point margin).`
          : ".")
      );
    }
    case "loops": {
      const bcr = d.bcr as { mean: number; ci: [number, number] } | undefined;
      const sft = d.sft as { mean: number; ci: [number, number] } | undefined;
      const diff = d.diff as { mean: number; ci: [number, number] } | undefined;
      if (!bcr || !sft || !diff) return c.measurement;
      const none = [bcr, sft].every((e) => e.mean === 0 && e.ci[0] === 0 && e.ci[1] === 0);
      if (none)
        return `No re-checks to remove: neither bcr nor the SFT model wrote a re-check loop in any N=1 response (0.00 per response [0.00, 0.00] each).`;
      return `bcr writes ${ciOf(bcr, 2)} re-check loops per N=1 response, the SFT model ${ciOf(sft, 2)}; difference ${ciOf(diff, 2)}.`;
    }
    case "stability": {
      type P = { method: string; lambda?: number; collapsedSeeds: number; seeds: number };
      const judged = (d.judged as P[] | undefined) ?? [];
      const above = (d.above as P[] | undefined) ?? [];
      const bcr = d.bcr as { collapsedSeeds: number; seeds: number } | undefined;
      const star = d.lambdaStar as number | null | undefined;
      if (!judged.length || !bcr || typeof star !== "number") return c.measurement;
      const seeds = (p: { collapsedSeeds: number; seeds: number }) => `${p.collapsedSeeds}/${p.seeds}`;
      const lam = (ps: P[]) => ps.map((p) => `λ=${p.lambda ?? "?"} ${seeds(p)}`).join(", ");
      const bcrFinal = a.stability.find((s) => s.method === "bcr")?.finalAccuracy;
      const sorted = [...judged].sort((x, y) => (x.lambda ?? 0) - (y.lambda ?? 0));
      const none = judged.every((p) => p.collapsedSeeds === 0);
      return (
        (none
          ? `No seed collapsed under a linear penalty at or below λ* = ${star.toFixed(2)} (${lam(sorted)} seeds collapsed)`
          : `Seeds collapsed under the linear penalties at or below λ* = ${star.toFixed(2)}: ${lam(sorted)}`) +
        (above.length ? `; above λ*, not judged: ${lam(above)}` : "") +
        `; bcr: ${seeds(bcr)}` +
        (bcrFinal ? `, ending at ${ciOf(bcrFinal, 2)} held-out accuracy.` : ".")
      );
    }
  }
  return c.measurement;
}

/** An accuracy difference in points, said as lower or higher: "17.8 points lower [7.8, 27.7]". */
function accuracyDiffText(e: { mean: number; ci: [number, number] }): string {
  const p = (x: number) => (100 * Math.abs(x)).toFixed(1);
  if (e.mean < 0)
    return `${p(e.mean)} points lower [${p(e.ci[1])}, ${p(e.ci[0])}]${e.ci[1] > 0 ? " (the interval reaches above 0)" : ""}`;
  return `${p(e.mean)} points higher [${(100 * e.ci[0]).toFixed(1)}, ${(100 * e.ci[1]).toFixed(1)}]`;
}

function ciText(a: Analysis): string {
  return (a.ciMethod ?? "problems") === "hierarchical"
    ? "95% hierarchical percentile bootstrap: seeds resampled, then test problems (all seeds answer the same problems); differences between methods paired on problems."
    : "95% percentile bootstrap over test problems, each problem's value averaged over seeds (seed-to-seed variance is not in these intervals; seeds_ci in claims.json has it); differences paired on problems.";
}

function lambdaStarText(a: Analysis): string {
  const s = a.lambdaStar;
  if (!s) return "";
  if (s.value === null)
    return `λ* (the linear penalty above which a bare guess out-scores a correct answer): unknown, ${s.reason}.`;
  const c = s.correct!,
    g = s.guess!;
  return (
    `λ* = ${s.value.toFixed(2)}: budget ${s.budget} × (${c.style ?? "traced"} accuracy ${c.accuracy.toFixed(3)} − guess accuracy ${g.accuracy.toFixed(3)}) / ` +
    `(${c.tokens.toFixed(1)} − ${g.tokens.toFixed(1)} tokens), from the SFT model's own sampled N=1 responses (${c.responses} ${c.style ?? "traced"}` +
    (g.source === "sampled"
      ? `, ${g.responses} answer-only; the guess accuracy is that of the problems it chose to guess on).`
      : `); the guess from the ladder: all ${g.responses} problems answered with the response forced to answer-only, greedy (the SFT model samples no answer-only responses; greedy makes the guess's accuracy an upper estimate, so λ* a lower one).`)
  );
}

/** The evaluation design, one [label, text] line per part, from the resolved config. */
export function evalDesign(config: unknown, a: Analysis, meta: RunMeta): [string, string][] {
  const c = cfgOf(config);
  const e = c.eval ?? {};
  const S = e.samples ?? 1;
  const problems =
    e.problems ??
    Math.max(0, ...Object.values(a.methods).map((m) => (Number.isFinite(m.n1.problems) ? m.n1.problems : 0)));
  const ns = e.ns ?? [];
  const rot = e.rotations ?? 1;
  const lines: [string, string][] = [
    [
      "N=1",
      `the same ${problems} held-out test problems for every model${e.n1Budget ? `, budget ${e.n1Budget} tokens` : ""}; ` +
        `temperature ${e.temperature ?? "?"}, eval.samples = ${S} independent draws per problem, each request with its own seed ` +
        `(a problem's draws averaged within the problem); ` +
        (e.greedy
          ? "greedy decoding (temperature 0, one response per problem) beside it."
          : "no greedy decoding in this run (eval.greedy off)."),
    ],
  ];
  if (ns.length)
    lines.push([
      "N-sweep",
      `N = ${ns.join(", ")} problems packed into one context under one fixed total budget${e.sweepBudget ? ` of ${e.sweepBudget} tokens` : ""}; ` +
        `the same temperature and ${S} draw${S === 1 ? "" : "s"} per group, ${rot} rotation${rot === 1 ? "" : "s"} of the problems' order.`,
    ]);
  lines.push(["Intervals", `${ciText(a)} Scaling fits ranked by ${criterionName(c.analysis?.fitBy)}.`]);
  if (meta.seeds.length)
    lines.push([
      "RL",
      `every method trained once per seed (${meta.seeds.join(", ")})${c.rl?.steps ? `, ${c.rl.steps} steps` : ""}, all from one SFT model.`,
    ]);
  return lines;
}

const FORM_TEMPLATE: Record<string, string> = {
  power: "a·N^(−b) + c",
  loglinear: "a + b·ln N",
  exponential: "c + a·exp(−b·N)",
  logistic: "1 / (1 + exp(−(a + b·ln N)))",
};

/** A fit's parameters with their intervals; one whose interval explodes reads "not identifiable". */
export function fitParamsHtml(fit: FitSummary): string {
  const bad = new Set(identifiability(fit).unidentified);
  return Object.entries(fit.params)
    .map(([k, v]) => {
      if (bad.has(k)) return `<span class="p">${esc(k)}: <i>not identifiable</i></span>`;
      const iv = fit.ci[k];
      return `<span class="p">${esc(k)} = ${esc(sig(v))}${iv ? ` <span class="ci">[${esc(sig(iv[0]))}, ${esc(sig(iv[1]))}]</span>` : ""}</span>`;
    })
    .join(" ");
}

function fitsTable(a: Analysis, by: "aic" | "aicc" | "bic"): string {
  const rows = methodOrder(a).flatMap((m) =>
    (["tokens_per_problem", "accuracy"] as const).flatMap((metric) => {
      const fits = a.methods[m]!.fits[metric];
      if (!fits.length) return [];
      const best = fits[0]!;
      const runner = fits[1];
      const others = fits
        .slice(1)
        .map((f) => `${f.form} +${fx(f[by] - best[by], 1)}`)
        .join(", ");
      return [
        `<tr>${cell(m)}${cell(metric === "accuracy" ? "accuracy" : "tokens/problem")}${cell(best.form)}` +
          `<td class="formula">${esc(FORM_TEMPLATE[best.form] ?? best.form)}</td><td class="params">${fitParamsHtml(best)}</td>` +
          `${num(fx(best.r2, 2))}${num(runner ? `+${fx(runner[by] - best[by], 1)}` : "–")}${cell(others, "small")}</tr>`,
      ];
    }),
  );
  const name = criterionName(by);
  return htmlTable(
    [
      "method",
      "metric",
      `best form (${name})`,
      "form",
      "parameters (95% interval)",
      "R²",
      `Δ${name} to the next`,
      `other forms (Δ${name})`,
    ],
    rows,
  );
}

function n1Table(a: Analysis): string {
  const rows = methodOrder(a).map((m) => {
    const x = a.methods[m]!;
    const n = x.n1;
    const g = n.greedy;
    return (
      `<tr>${cell(m)}${num(String(x.seeds.filter((s) => s !== null).length || "–"))}${num(String(n.problems))}` +
      `${ciCell(n.accuracy)}${ciCell(n.tokens_per_problem, 1)}${ciCell(n.loops_per_response, 2)}${num(pc(n.truncation_rate))}` +
      `${g ? ciCell(g.accuracy) : num("–")}${g ? num(fx(g.tokens_per_problem.mean, 1)) : num("–")}` +
      `${num(x.stability ? `${x.stability.collapsedSeeds}/${x.stability.seeds}` : "–")}</tr>`
    );
  });
  return htmlTable(
    [
      "method",
      "seeds",
      "problems",
      "accuracy",
      "tokens/problem",
      "loops/response",
      "cut by budget",
      "greedy accuracy",
      "greedy tokens",
      "seeds collapsed",
    ],
    rows,
  );
}

function comparisonsTable(a: Analysis): string {
  const rows = a.comparisons.map(
    (c) =>
      `<tr>${cell(`${c.a} vs ${c.b}`)}${num(`${fx(c.aTokens, 1)} vs ${fx(c.bTokens, 1)}`)}` +
      `${numCi(pc(c.tokenReduction.mean), `[${pc(c.tokenReduction.ci[0])}, ${pc(c.tokenReduction.ci[1])}]`)}` +
      `${numCi((100 * c.accuracyDiff.mean).toFixed(1), `[${(100 * c.accuracyDiff.ci[0]).toFixed(1)}, ${(100 * c.accuracyDiff.ci[1]).toFixed(1)}]`)}` +
      `${num(fx(c.pValueTokens))}${num(fx(c.pValueAccuracy))}</tr>`,
  );
  return htmlTable(
    [
      "comparison (a vs b)",
      "tokens/problem",
      "token reduction, 1 − a/b",
      "accuracy difference a − b (points)",
      "p (tokens)",
      "p (accuracy)",
    ],
    rows,
  );
}

/** The N-sweep as one row per method and metric, one column per N: it fits the page at any method count. */
function sweepTable(a: Analysis): string {
  const ms = methodOrder(a).filter((m) => a.methods[m]!.sweep.length);
  const ns = [...new Set(ms.flatMap((m) => a.methods[m]!.sweep.map((p) => p.n)))].sort((x, y) => x - y);
  const rows = ms.flatMap((m) => {
    const sw = a.methods[m]!.sweep;
    const at = (n: number) => sw.find((p) => p.n === n);
    const line = (label: string, f: (p: SweepPoint) => string, first: boolean) =>
      `<tr${first ? ' class="group"' : ""}>${first ? `<td rowspan="3" class="method">${esc(m)}</td>` : ""}${cell(label, "small")}` +
      ns
        .map((n) => {
          const p = at(n);
          return p ? f(p) : num("–");
        })
        .join("") +
      "</tr>";
    return [
      line("accuracy", (p) => ciCell(p.accuracy), true),
      line("tokens/problem", (p) => ciCell(p.tokens_per_problem, 1), false),
      line("cut by budget", (p) => num(pc(p.truncation_rate)), false),
    ];
  });
  return htmlTable(["method", "", ...ns.map((n) => `N=${n}`)], rows, "sweep");
}

function stabilityTable(a: Analysis): string {
  const rows = a.stability.map(
    (s) =>
      `<tr>${cell(s.method)}${num(String(s.total))}${ciCell(s.startAccuracy, 2)}${ciCell(s.finalAccuracy, 2)}` +
      `${num(fx(s.minAccuracy, 2))}${num(`${s.collapsed}/${s.total}`)}${num(fx(s.meanCosAccLen, 2))}${num(pc(s.negativeCosShare, 0))}` +
      `${num(pc(s.meanNegCorrectFrac))}${num(`${fx(s.gradNormMedian, 2)} / ${fx(s.gradNormMax, 2)}`)}</tr>`,
  );
  return htmlTable(
    [
      "method",
      "seeds",
      "start accuracy",
      "final accuracy",
      "lowest",
      "collapsed",
      "cos(acc, len)",
      "steps with cos &lt; 0",
      "correct, negative advantage",
      "grad norm median / max",
    ],
    rows,
  );
}

function ladderTable(a: Analysis): string {
  const rows = (a.ladder ?? []).map(
    (r) =>
      `<tr>${cell(r.form)}${cell(r.how)}${num(String(r.responses))}${num(fx(r.accuracy))}${num(fx(r.tokensPerProblem, 1))}${num(fx(r.stepsRight, 2))}</tr>`,
  );
  return htmlTable(["form", "how", "responses", "accuracy", "tokens/problem", "steps right"], rows);
}

function criteriaTable(claims: Claim[]): string {
  const rows = claims.map(
    (c) =>
      `<tr><td>${c.number}. ${esc(c.title)}</td><td>${esc(c.paper)}</td><td class="small">${esc(c.criterion)}</td>` +
      `<td class="small">${esc(c.measurement)}</td><td>${badge(c.verdict)}</td></tr>`,
  );
  return htmlTable(
    ["claim", "the paper says", "criterion (thresholds)", "our measurement (95% intervals)", "verdict"],
    rows,
  );
}

/** Nested settings as dotted keys and readable values (arrays of scalars on one line). */
export function flattenSettings(value: unknown, prefix = ""): [string, string][] {
  if (value === null || value === undefined) return prefix ? [[prefix, String(value)]] : [];
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== "object")) return [[prefix, value.join(", ")]];
    return value.flatMap((v, i) => flattenSettings(v, `${prefix}[${i}]`));
  }
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    if (!entries.length) return prefix ? [[prefix, "{}"]] : [];
    return entries.flatMap(([k, v]) => flattenSettings(v, prefix ? `${prefix}.${k}` : k));
  }
  return [
    [
      prefix,
      typeof value === "number" && !Number.isInteger(value) ? String(Number(value.toPrecision(6))) : String(value),
    ],
  ];
}

function settingsTable(value: unknown): string {
  const rows = flattenSettings(value).map(([k, v]) => `<tr><td class="key">${esc(k)}</td><td>${esc(v)}</td></tr>`);
  return htmlTable(["setting", "value"], rows, "settings");
}

export interface ReportInput {
  analysis: Analysis;
  meta: RunMeta;
  tables: Record<string, Row[]>;
  figures: Record<string, ReportFigure>;
  /** PNG files by figure name (embedded), when rendered. */
  pngs: Record<string, Uint8Array>;
  notes: string[];
  config: unknown;
  derived: unknown;
  /** Quick mode: the page opens with a "smoke test, not a result" banner. */
  smokeTest?: boolean;
}

const STYLE = `
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 1.5em auto; padding: 0 1em; color: #1f2328; box-sizing: border-box; line-height: 1.45; }
h1 { font-size: 1.7em; margin: 0 0 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #d0d7de; padding-bottom: 0.2em; }
h3 { font-size: 1.05em; margin: 1.4em 0 0.3em; }
.meta { color: #57606a; margin: 0 0 0.8em; font-size: 0.9em; }
.design { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 0.5em 0.9em; font-size: 0.88em; margin: 0.5em 0 0.6em; }
.design ul { margin: 0.2em 0 0; padding-left: 1.2em; } .design li { margin: 0.1em 0; }
ol.findings { padding-left: 1.4em; margin: 0.4em 0; } ol.findings li { margin: 0.35em 0; }
.badge { display: inline-block; color: #fff; border-radius: 4px; padding: 0 6px; font-size: 0.85em; font-weight: 600; white-space: nowrap; }
.smoke { color: #9a6700; background: #fff8c5; border: 1px solid #d4a72c; padding: 8px 12px; border-radius: 6px; font-weight: 600; }
.scroll { max-width: 100%; overflow-x: auto; }
table { border-collapse: collapse; margin: 0.3em 0 0.4em; font-size: 0.86em; }
th, td { border: 1px solid #d0d7de; padding: 3px 7px; vertical-align: top; }
th { background: #f6f8fa; text-align: left; font-weight: 600; }
td { overflow-wrap: normal; word-break: normal; }
td.num { white-space: nowrap; text-align: right; font-variant-numeric: tabular-nums; }
td.method { font-weight: 600; vertical-align: middle; }
tr.group td { border-top: 2px solid #afb8c1; }
.ci { color: #57606a; font-size: 0.9em; }
td.params .p { white-space: nowrap; margin-right: 0.8em; display: inline-block; }
td.formula { white-space: nowrap; font-family: ui-monospace, monospace; font-size: 0.95em; }
table.settings td.key { font-family: ui-monospace, monospace; white-space: nowrap; }
.small { font-size: 0.85em; color: #57606a; }
figure { margin: 1.4em 0; } figure img { max-width: 100%; border: 1px solid #d0d7de; display: block; }
figcaption { font-size: 0.92em; margin-top: 0.4em; max-width: 1100px; }
.instead { border: 1px dashed #afb8c1; border-radius: 6px; padding: 1.2em; color: #57606a; font-size: 1.05em; text-align: center; }
.tcap { font-size: 0.92em; margin: 0.2em 0; max-width: 1100px; }
details { margin: 0.6em 0; } summary { cursor: pointer; font-weight: 600; }
footer { margin: 2em 0 1em; color: #57606a; font-size: 0.85em; border-top: 1px solid #d0d7de; padding-top: 0.6em; }
`;

export function reportHtml(r: ReportInput): string {
  const { meta, analysis: a } = r;
  const cfg = cfgOf(r.config);
  const by = cfg.analysis?.fitBy ?? "aicc";
  // Figures numbered in order; findings point to the one that decides each claim.
  const figNames = Object.keys(r.figures);
  const figNo = (name: string) => figNames.indexOf(name) + 1;
  const deciding = (c: Claim) => figNames.find((n) => r.figures[n]!.claim === c.id);
  const findings = a.claims
    .map((c) => {
      const f = deciding(c);
      return (
        `<li>${badge(c.verdict)} <b>${esc(c.title)}.</b> ${esc(findingLine(c, a, r.config))}` +
        (f ? ` <a href="#fig-${f}">Figure ${figNo(f)}</a>` : "") +
        "</li>"
      );
    })
    .join("\n");
  const figs = figNames
    .map((name) => {
      const f = r.figures[name]!;
      const png = r.pngs[name];
      const body = f.instead
        ? `<div class="instead">${esc(f.instead)}</div>`
        : png
          ? `<a href="figures/${name}.html"><img src="data:image/png;base64,${Buffer.from(png).toString("base64")}" alt="${esc(f.title)}"${f.size ? ` width="${f.size.width}"` : ""}></a>`
          : `<p class="small">(no PNG rendered: <a href="figures/${name}.html">interactive figure</a>)</p>`;
      const caption =
        `<b>Figure ${figNo(name)}.</b> ${esc(f.shows ?? f.title)} <a href="figures/${name}.html">Interactive</a>.` +
        (f.see ? `<br><b>What to see:</b> ${esc(f.see)}` : "");
      return `<figure id="fig-${name}">${body}<figcaption>${caption}</figcaption></figure>`;
    })
    .join("\n");
  let tableNo = 0;
  const tbl = (id: string, caption: string, html: string, csv?: string) => {
    tableNo++;
    return (
      `<h3 id="table-${id}">Table ${tableNo}. ${esc(caption)}</h3>\n<div class="scroll">${html}</div>` +
      (csv ? `\n<p class="small">CSV with every column: <a href="tables/${csv}.csv">tables/${csv}.csv</a></p>` : "")
    );
  };
  const wall = Object.entries(meta.wall)
    .filter(([k, v]) => k !== "total" && v >= 0.05)
    .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
    .join(", ");
  const tablesHtml = [
    tbl(
      "n1",
      "N=1 evaluation per method: means with 95% intervals; loops = re-check loops per response; cut by budget = share of responses truncated.",
      n1Table(a),
      "n1",
    ),
    a.comparisons.length
      ? tbl(
          "free_lunch",
          "Paired comparisons at N=1 (same test problems): token reduction 1 − tokens(a)/tokens(b) and accuracy difference, with 95% intervals.",
          comparisonsTable(a),
          "free_lunch",
        )
      : "",
    Object.values(a.methods).some((m) => m.sweep.length)
      ? tbl(
          "sweep",
          "N-sweep under one fixed total budget per context: accuracy and tokens per problem with 95% intervals, and the share of responses cut by the budget.",
          sweepTable(a),
          "sweep",
        )
      : "",
    Object.values(a.methods).some((m) => m.fits.tokens_per_problem.length || m.fits.accuracy.length)
      ? tbl(
          "fits",
          `Task-scaling fits: the ${criterionName(by)}-best form per method and metric (the one drawn in the figures), its parameters with 95% bootstrap intervals, and how far behind the other forms are. A parameter whose interval explodes is not identifiable from these six points and is not given a number.`,
          fitsTable(a, by),
          "fits",
        )
      : "",
    a.stability.length
      ? tbl(
          "stability",
          "Training stability per method: held-out accuracy at the start and the end of RL (95% intervals over seeds), seeds collapsed (ending below half their start), and the gradient diagnostics of the penalty runs.",
          stabilityTable(a),
          "stability",
        )
      : "",
    a.ladder?.length
      ? tbl(
          "ladder",
          "Compression ladder: the SFT model at N=1, greedy, its response forced into each trace form, then unforced responses by the form they chose.",
          ladderTable(a),
          "ladder",
        )
      : "",
    tbl(
      "claims",
      "The four claims: what the paper says, the criterion each verdict applies, and the full measurement.",
      criteriaTable(a.claims),
      "claims",
    ),
  ]
    .filter(Boolean)
    .join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>BCR reproduction report</title>
<style>${STYLE}</style>
</head>
<body class="tex2jax_ignore mathjax_ignore">
<h1>Batched Contextual Reinforcement: reproduction report</h1>
<p class="meta">Run <b>${esc(cfg.name ?? "reproduce")}</b> · backend ${esc(meta.backend)}, ${meta.cores} cores (${esc(meta.cpu)}) · RL seeds ${esc(meta.seeds.join(", ") || "none")} · wall time ${esc(meta.wall.total.toFixed(0))} s (${esc(wall)})</p>
${r.smokeTest ? `<p class="smoke">SMOKE TEST, NOT A RESULT: quick mode trains tiny models for a few steps. The numbers and verdicts below show that the pipeline runs end to end; they say nothing about the method.</p>` : ""}
<div class="design"><b>Evaluation design</b><ul>${evalDesign(r.config, a, meta)
    .map(([k, v]) => `<li><b>${esc(k)}:</b> ${esc(v)}</li>`)
    .join("")}</ul></div>
<h2 id="findings">Findings: the four claims</h2>
<ol class="findings">
${findings}
</ol>
<p class="small">Verdicts are computed by src/reproduce/claims.ts from the numbers below with the thresholds in <a href="#table-claims">the last table</a> (config section <code>claims</code>); "partially": one of the two conditions holds. ${esc(lambdaStarText(a))}</p>
<h2 id="figures">Results</h2>
${figs}
<h2 id="tables">Tables</h2>
${tablesHtml}
<h2 id="notes">Notes</h2>
<ul>${r.notes.map((n) => `<li>${esc(n)}</li>`).join("\n")}</ul>
<h2 id="settings">Settings</h2>
<details><summary>Derived settings and data statistics</summary>
<div class="scroll">${settingsTable(r.derived)}</div>
</details>
<details><summary>Resolved configuration (every field, after extends, --set and defaults)</summary>
<div class="scroll">${settingsTable(r.config)}</div>
</details>
<footer>Made by <code>bcr reproduce</code>. Without the runs folder, <code>bcr reproduce --only analysis,report</code> rebuilds this page and re-judges every claim from <code>eval-rows.jsonl.gz</code> beside it; claims.json and summary.json hold the numbers as JSON, tables/ as CSV.</footer>
</body>
</html>
`;
}

export interface WriteOutputsInput {
  outDir: string;
  analysis: Analysis;
  runs: Run[];
  meta: RunMeta;
  png: boolean;
  config: unknown;
  derived: unknown;
  summaryExtra: Record<string, unknown>;
  notes: string[];
  log: (s: string) => void;
  smokeTest?: boolean;
}

/** Writes everything under the out folder; returns the files written. */
export async function writeOutputs(i: WriteOutputsInput): Promise<string[]> {
  const { outDir, analysis } = i;
  const tbls = tables(analysis);
  for (const [name, rows] of Object.entries(tbls))
    if (rows.length) writeCsv(path.join(outDir, "tables", `${name}.csv`), rows);
  const figs = figures(analysis, i.runs, i.config);
  const figDir = path.join(outDir, "figures");
  let renderer: Renderer | null = null;
  const notes = [...i.notes];
  if (i.png) {
    if (Renderer.available()) renderer = new Renderer();
    else
      notes.push("PNG figures were not rendered: Chromium not found (install Debian's chromium or set BCR_CHROMIUM).");
  }
  let rendered: { png: string[]; error: string | null };
  try {
    rendered = await writeFigures(figDir, figs, renderer, i.log);
  } finally {
    await renderer?.close();
  }
  if (rendered.error) notes.push(`PNG rendering failed: ${rendered.error}`);
  const pngs: Record<string, Uint8Array> = {};
  for (const name of rendered.png) pngs[name] = fs.readFileSync(path.join(figDir, `${name}.png`));

  const claims = buildClaimsJson(analysis, i.meta);
  writeJsonAtomic(path.join(outDir, "claims.json"), claims);
  writeJsonAtomic(path.join(outDir, "summary.json"), {
    ...i.summaryExtra,
    backend: i.meta.backend,
    cores: i.meta.cores,
    cpu: i.meta.cpu,
    wall_s: i.meta.wall,
    seeds: i.meta.seeds,
    claims: analysis.claims,
    headline: {
      free_lunch: analysis.comparisons,
      loops: analysis.loops,
      n1: Object.fromEntries(
        methodOrder(analysis).map((m) => [
          m,
          {
            accuracy: analysis.methods[m]!.n1.accuracy,
            tokens_per_problem: analysis.methods[m]!.n1.tokens_per_problem,
            loops_per_response: analysis.methods[m]!.n1.loops_per_response,
          },
        ]),
      ),
      best_fits: Object.fromEntries(
        methodOrder(analysis).map((m) => [
          m,
          {
            tokens_per_problem: analysis.methods[m]!.fits.tokens_per_problem[0]
              ? { ...analysis.methods[m]!.fits.tokens_per_problem[0]!, grid: undefined }
              : null,
            accuracy: analysis.methods[m]!.fits.accuracy[0]
              ? { ...analysis.methods[m]!.fits.accuracy[0]!, grid: undefined }
              : null,
          },
        ]),
      ),
      stability: analysis.stability,
    },
    figures: {
      html: Object.keys(figs).map((n) => `figures/${n}.html`),
      png: rendered.png.map((n) => `figures/${n}.png`),
      png_error: rendered.error,
    },
    derived: i.derived,
    notes,
    config: i.config,
  });
  writeFileAtomic(
    path.join(outDir, "report.html"),
    reportHtml({
      analysis,
      meta: i.meta,
      tables: tbls,
      figures: figs,
      pngs,
      notes,
      config: i.config,
      derived: i.derived,
      smokeTest: i.smokeTest,
    }),
  );
  return ["claims.json", "summary.json", "report.html"].map((f) => path.join(outDir, f));
}
