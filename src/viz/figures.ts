/**
 * Plotly figure builders. Each returns a plain `{data, layout}` object (JSON-serialisable) that
 * `figureToHtml` or `Renderer.png` turn into a page or an image. Colors come from `methodColor`,
 * so a method has the same color in every figure; traces of one method share a legendgroup.
 */
import { bootstrapMeanCI, type BootstrapOptions } from "../analysis/bootstrap.js";
import type { ScalingFit } from "../analysis/fit.js";
import { metricCurve, type Run } from "../analysis/stability.js";
import { methodColor, withAlpha } from "./colors.js";
import type { TaskScalingSeries } from "../eval/sweep.js";
import type { AxisName, ErrorBar as ErrorBarType, LayoutAxis, Layout as PlotlyLayout, PlotData } from "plotly.js";

/**
 * Plotly's own types (@types/plotly.js): a trace is any trace attribute set, a layout any layout,
 * so every Plotly option type-checks. The builders below use a small part of them.
 */
export type Trace = Partial<PlotData>;
export type ErrorBar = Partial<ErrorBarType>;
export type Axis = Partial<LayoutAxis>;
export type Layout = Partial<PlotlyLayout>;
export interface Figure {
  data: Trace[];
  layout: Layout;
}

const BASE: Partial<Layout> = { margin: { l: 70, r: 20, t: 60, b: 60 }, legend: { orientation: "v" } };
/** Many methods: the legend goes under the plot, in rows, so no entry is cut off. */
const LEGEND_BELOW: Partial<Layout> = {
  margin: { l: 70, r: 20, t: 60, b: 120 },
  legend: { orientation: "h", x: 0, y: -0.2, yanchor: "top" },
};

/**
 * Axis and title text for the stable metric names: a reader sees "tokens per problem
 * (held-out)", the key (`eval/tokens_per_problem`) stays in tables, files and hover text.
 */
export const METRIC_LABELS: Readonly<Record<string, string>> = {
  "eval/accuracy": "accuracy (held-out)",
  "eval/tokens_per_problem": "tokens per problem (held-out)",
  "eval/loops_per_response": "re-check loops per response (held-out)",
  "eval/truncation_rate": "share of responses cut by the budget (held-out)",
  "reward/accuracy": "reward: accuracy of sampled responses",
  "reward/total": "reward (total)",
  "reward/length": "reward: length term",
  "length/mean": "response length (tokens, sampled)",
  "length/tokens_per_problem": "tokens per problem (sampled)",
  "length/truncation_rate": "share of responses cut by the budget (sampled)",
  "length/loops_per_response": "re-check loops per response (sampled)",
  "grad/cos_acc_len": "cosine of accuracy and length gradients",
  "grad/norm": "gradient norm",
  "adv/neg_correct_frac": "share of correct responses with a negative advantage",
  "train/loss": "training loss",
  "eval/loss": "held-out loss",
  "loss/policy": "policy loss",
};

/** The readable name of a metric key (the key itself when there is none). */
export function metricLabel(key: string): string {
  return METRIC_LABELS[key] ?? key;
}

/** Tick positions for a log N axis: the measured N values (and the extrapolation end). */
function nTicks(ns: number[], extra?: number): number[] {
  return [...new Set([...ns, ...(extra ? [extra] : [])])].sort((a, b) => a - b);
}

function linspace(lo: number, hi: number, k: number, log: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < k; i++) {
    const t = i / (k - 1);
    out.push(
      i === 0
        ? lo
        : i === k - 1
          ? hi
          : log
            ? Math.exp(Math.log(lo) + t * (Math.log(hi) - Math.log(lo)))
            : lo + t * (hi - lo),
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Task scaling

export interface ScalingSeries {
  method: string;
  /** Measured N and values (one point per N, or per N and seed). */
  ns: number[];
  values: number[];
  /** Optional CI half-widths per point: [lo, hi] of each value. */
  ci?: [number, number][];
  /** A fit of these points (fitScaling); drawn as a curve with its band. */
  fit?: ScalingFit;
  /** Marker symbol of the points (Plotly's names; default a circle): tells apart methods of one hue. */
  symbol?: string;
}

/** The natural range of a metric, where it has one (fits are drawn clipped to it). */
export function metricBounds(metric: string): [number, number] | undefined {
  if (/accuracy|_rate$|_frac$|share/.test(metric)) return [0, 1];
  if (/tokens|length|loops/.test(metric)) return [0, Infinity];
  return undefined;
}

export interface ScalingFigureOptions {
  /** Axis title of the metric (e.g. "eval/tokens_per_problem"). */
  metric: string;
  title?: string;
  /**
   * Draw the fitted curve and band up to this N, default the largest measured N: a fit is only
   * evidence where it was measured, so extrapolation has to be asked for.
   */
  extrapolateTo?: number;
  /** Log-scale N axis (default true: N is usually 1, 2, 4, 8, ...). */
  logX?: boolean;
  /** Subplot axes suffix ("" for x/y, "2" for x2/y2), used by taskScalingFigure. */
  axes?: string;
  /** Legend entries (default true). */
  showlegend?: boolean;
}

/** Traces of one metric vs N: measured points, fitted curve, and its bootstrap band. */
export function scalingTraces(series: ScalingSeries[], opts: ScalingFigureOptions): Trace[] {
  const logX = opts.logX ?? true;
  const ax = opts.axes ?? "";
  const axes = ax ? { xaxis: `x${ax}`, yaxis: `y${ax}` } : {};
  const showlegend = opts.showlegend ?? true;
  const [yMin, yMax] = metricBounds(opts.metric) ?? [-Infinity, Infinity];
  const clip = (y: number) => Math.min(yMax, Math.max(yMin, y));
  const data: Trace[] = [];
  for (const s of series) {
    const color = methodColor(s.method);
    // A fit whose parameters are not identifiable is drawn as a thin dotted line without a band.
    const identified = s.fit?.identifiable !== false;
    if (s.fit) {
      const lo = Math.min(...s.ns),
        hi = Math.max(opts.extrapolateTo ?? 0, ...s.ns);
      const xs = linspace(lo, hi, 60, logX);
      const bands = xs.map((x) => s.fit!.band(x).map(clip) as [number, number]);
      if (identified && bands.every(([a, b]) => Number.isFinite(a) && Number.isFinite(b))) {
        data.push({
          type: "scatter",
          mode: "lines",
          name: `${s.method} ${Math.round(100 * s.fit.level)}% band`,
          x: [...xs, ...xs.slice().reverse()],
          y: [...bands.map((b) => b[1]), ...bands.map((b) => b[0]).reverse()],
          fill: "toself",
          fillcolor: withAlpha(color, 0.2),
          line: { color: withAlpha(color, 0), width: 0 },
          legendgroup: s.method,
          showlegend: false,
          hoverinfo: "skip",
          ...axes,
        });
      }
      data.push({
        type: "scatter",
        mode: "lines",
        name: `${s.method} fit (${s.fit.form}${identified ? "" : ", not identifiable"})`,
        x: xs,
        y: xs.map((x) => clip(s.fit!.predict(x))),
        line: { color, width: identified ? 2 : 1, ...(identified ? {} : { dash: "dot" }) },
        legendgroup: s.method,
        showlegend: false,
        text: xs.map(() =>
          identified
            ? s.fit!.formula
            : `${s.fit!.form}: not identifiable (intervals of ${s.fit!.unidentified.join(", ")} explode)`,
        ),
        ...axes,
      });
    }
    // Without a fitted curve, a thin line joins the measured points so each method reads as a series.
    const pts: Trace = {
      type: "scatter",
      mode: s.fit ? "markers" : "lines+markers",
      name: s.method,
      x: s.ns,
      y: s.values,
      marker: { color, size: 8, ...(s.symbol ? { symbol: s.symbol } : {}) },
      ...(s.fit ? {} : { line: { color, width: 1 } }),
      legendgroup: s.method,
      showlegend,
      ...axes,
    };
    if (s.ci) {
      pts.error_y = {
        type: "data",
        symmetric: false,
        array: s.ci.map((c, i) => c[1] - s.values[i]!),
        arrayminus: s.ci.map((c, i) => s.values[i]! - c[0]),
        color,
      };
    }
    data.push(pts);
  }
  return data;
}

/** One metric vs N for several methods, with fitted curves and bands. */
export function scalingFigure(series: ScalingSeries[], opts: ScalingFigureOptions): Figure {
  const logX = opts.logX ?? true;
  return {
    data: scalingTraces(series, { ...opts, axes: "" }),
    layout: {
      ...BASE,
      ...(series.length > 6 ? LEGEND_BELOW : {}),
      title: { text: opts.title ?? `${metricLabel(opts.metric)} vs N` },
      xaxis: {
        title: { text: "N (problems per context)" },
        type: logX ? "log" : "linear",
        ...(logX
          ? {
              tickvals: nTicks(
                series.flatMap((s) => s.ns),
                opts.extrapolateTo,
              ),
            }
          : {}),
      },
      yaxis: {
        title: { text: metricLabel(opts.metric) },
        ...(metricBounds(opts.metric)?.[1] === 1 ? { range: [0, 1.02] } : {}),
      },
    },
  };
}

/** A method's sweep with, optionally, the share of responses cut by the budget at each N. */
export type TaskScalingInput = TaskScalingSeries & { truncationRate?: number[]; symbol?: string };

/**
 * Claim 1: tokens per problem (left) and accuracy (right) vs N, side by side. When a series has
 * truncation rates, a third panel beside tokens per problem shows the share of responses cut by
 * the budget (x3/y3, between the two): a fall in tokens or accuracy at the N where that share
 * jumps is the budget speaking, not the method.
 */
export function taskScalingFigure(
  series: TaskScalingInput[],
  opts?: { title?: string; extrapolateTo?: number; logX?: boolean },
): Figure {
  const logX = opts?.logX ?? true;
  const common = { extrapolateTo: opts?.extrapolateTo, logX };
  const left = scalingTraces(
    series.map((s) => ({
      method: s.method,
      ns: s.ns,
      values: s.tokensPerProblem,
      fit: s.tokensFit,
      ci: s.tokensCi,
      symbol: s.symbol,
    })),
    { ...common, metric: "eval/tokens_per_problem", axes: "" },
  );
  const right = scalingTraces(
    series.map((s) => ({
      method: s.method,
      ns: s.ns,
      values: s.accuracy,
      fit: s.accuracyFit,
      ci: s.accuracyCi,
      symbol: s.symbol,
    })),
    { ...common, metric: "eval/accuracy", axes: "2", showlegend: false },
  );
  const withTruncation = series.filter((s) => s.truncationRate?.length === s.ns.length);
  const middle = withTruncation.length
    ? scalingTraces(
        withTruncation.map((s) => ({ method: s.method, ns: s.ns, values: s.truncationRate!, symbol: s.symbol })),
        { ...common, metric: "eval/truncation_rate", axes: "3", showlegend: false },
      )
    : [];
  const xType = logX ? "log" : "linear";
  const ticks = logX
    ? {
        tickvals: nTicks(
          series.flatMap((s) => s.ns),
          opts?.extrapolateTo,
        ),
      }
    : {};
  const nAxis = (domain: [number, number], anchor: AxisName): Axis => ({
    title: { text: "N (problems per context)" },
    type: xType,
    domain,
    anchor,
    ...ticks,
  });
  const three = middle.length > 0;
  const layout: Layout = {
    ...BASE,
    ...(series.length > 6 || three ? LEGEND_BELOW : {}),
    title: { text: opts?.title ?? "Task scaling: tokens per problem and accuracy vs N" },
    xaxis: nAxis(three ? [0, 0.28] : [0, 0.45], "y"),
    yaxis: { title: { text: metricLabel("eval/tokens_per_problem") }, anchor: "x", rangemode: "tozero" },
    xaxis2: nAxis(three ? [0.72, 1] : [0.55, 1], "y2"),
    yaxis2: { title: { text: metricLabel("eval/accuracy") }, anchor: "x2", range: [0, 1.02] },
  };
  if (three) {
    const axes = layout as Record<string, Axis>; // numbered axes beyond 2
    axes.xaxis3 = nAxis([0.36, 0.64], "y3");
    axes.yaxis3 = { title: { text: "share cut by the budget" }, anchor: "x3", range: [0, 1.02] };
  }
  return { data: [...left, ...middle, ...right], layout };
}

// ---------------------------------------------------------------------------------------------
// Claim 2: accuracy vs tokens at N=1

export interface SeedPoint {
  method: string;
  seed: number;
  accuracy: number;
  tokensPerProblem: number;
}

export interface AccuracyVsTokensOptions extends BootstrapOptions {
  title?: string;
  /**
   * Each method's mean and 95% interval on both axes, as computed elsewhere (the report passes the
   * analysis's hierarchical intervals, so the figure shows the numbers its tables state). A method
   * absent here gets a bootstrap over its seed points.
   */
  means?: Record<
    string,
    { accuracy: { mean: number; ci: [number, number] }; tokens: { mean: number; ci: [number, number] } }
  >;
  /** Methods whose means are joined, in order of tokens, by a dashed line (a trade-off curve). */
  frontier?: { methods: string[]; name: string };
  /** Write each method's name beside its mean marker (default false). */
  labels?: boolean;
}

/** One faint point per seed plus the per-method mean with CI error bars on both axes. */
export function accuracyVsTokensFigure(points: SeedPoint[], opts?: AccuracyVsTokensOptions): Figure {
  const methods = [...new Set(points.map((p) => p.method))];
  // Per method its seed points and its mean; drawn first-listed last, so the methods that lead
  // the list (sft, single, bcr) lie on top where means overlap; legendrank keeps the legend's order.
  const perMethod: Trace[][] = [];
  const means = new Map<string, { x: number; y: number }>();
  for (const [rank, m] of methods.entries()) {
    const pts = points.filter((p) => p.method === m);
    const color = methodColor(m);
    const data: Trace[] = [];
    perMethod.push(data);
    data.push({
      type: "scatter",
      mode: "markers",
      name: `${m} (seeds)`,
      x: pts.map((p) => p.tokensPerProblem),
      y: pts.map((p) => p.accuracy),
      text: pts.map((p) => `${m} seed ${p.seed}`),
      marker: { color, size: 7, opacity: 0.45 },
      legendgroup: m,
      showlegend: false,
    });
    const given = opts?.means?.[m];
    const acc =
      given?.accuracy ??
      bootstrapMeanCI(
        pts.map((p) => p.accuracy),
        opts,
      );
    const tok =
      given?.tokens ??
      bootstrapMeanCI(
        pts.map((p) => p.tokensPerProblem),
        opts,
      );
    means.set(m, { x: tok.mean, y: acc.mean });
    data.push({
      type: "scatter",
      mode: "markers",
      name: m,
      x: [tok.mean],
      y: [acc.mean],
      legendgroup: m,
      legendrank: 1000 + rank,
      marker: { color, size: 13, symbol: "diamond", line: { color: "#222", width: 1 } },
      error_x: {
        type: "data",
        symmetric: false,
        array: [tok.ci[1] - tok.mean],
        arrayminus: [tok.mean - tok.ci[0]],
        color,
      },
      error_y: {
        type: "data",
        symmetric: false,
        array: [acc.ci[1] - acc.mean],
        arrayminus: [acc.mean - acc.ci[0]],
        color,
      },
    });
  }
  const data = perMethod.reverse().flat();
  const curve = (opts?.frontier?.methods ?? [])
    .flatMap((m) => (means.has(m) ? [means.get(m)!] : []))
    .sort((a, b) => a.x - b.x);
  if (curve.length >= 2) {
    // Beneath the markers, so it never hides one.
    data.unshift({
      type: "scatter",
      mode: "lines",
      name: opts!.frontier!.name,
      x: curve.map((p) => p.x),
      y: curve.map((p) => p.y),
      line: { color: "#8c959f", width: 1.5, dash: "dash" },
      hoverinfo: "name",
    });
  }
  return {
    data,
    layout: {
      ...BASE,
      title: { text: opts?.title ?? "Accuracy vs tokens per problem at N=1 (mean with 95% CI; faint: seeds)" },
      xaxis: { title: { text: metricLabel("eval/tokens_per_problem") }, rangemode: "tozero" },
      yaxis: { title: { text: metricLabel("eval/accuracy") }, range: [0, 1.02] },
      ...(opts?.labels ? { annotations: meanLabels(means) } : {}),
    },
  };
}

/**
 * A label per mean marker, off to one side on a short leader line, clear of the error bars (which
 * run horizontally and vertically from the marker). Two means close together (within 6% of the
 * axes' spans) get their labels on opposite sides: the left one up-left, the right one down-right.
 */
function meanLabels(means: Map<string, { x: number; y: number }>): NonNullable<Layout["annotations"]> {
  const pts = [...means].filter(([, p]) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xs = pts.map(([, p]) => p.x);
  const spanX = Math.max(1e-9, Math.max(...xs, 0)),
    spanY = 1;
  const close = (a: { x: number; y: number }, b: { x: number; y: number }) =>
    Math.abs(a.x - b.x) / spanX < 0.06 && Math.abs(a.y - b.y) / spanY < 0.06;
  return pts.map(([m, p], i) => {
    const partner = pts.find(([, q], j) => j !== i && close(p, q));
    const left = partner ? p.x < partner[1].x || (p.x === partner[1].x && i < pts.indexOf(partner)) : false;
    const [ax, ay] = partner ? (left ? [-42, -30] : [42, 30]) : [38, -26];
    return {
      x: p.x,
      y: p.y,
      text: m,
      showarrow: true,
      arrowhead: 0,
      arrowwidth: 1,
      arrowcolor: "#8c959f",
      ax,
      ay,
      font: { size: 12, color: "#1f2328" },
      bgcolor: "rgba(255,255,255,0.85)",
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Training curves

export interface RunCurve {
  method: string;
  seed: number | string;
  steps: number[];
  values: number[];
}

function runCurves(runs: (Run | RunCurve)[], metric: string): RunCurve[] {
  return runs.map((r) => {
    if ("steps" in r) return r;
    const c = metricCurve(r, metric);
    return { method: r.config.method, seed: r.config.seed, steps: c.steps, values: c.values };
  });
}

/** Trailing moving average over `window` points (1 = none). */
export function smooth(values: number[], window: number): number[] {
  if (window <= 1) return values.slice();
  const out: number[] = [];
  let s = 0;
  for (let i = 0; i < values.length; i++) {
    s += values[i]!;
    if (i >= window) s -= values[i - window]!;
    out.push(s / Math.min(i + 1, window));
  }
  return out;
}

/** Curves with at most this many points are drawn with markers too (a short run is a few dots). */
export const FEW_POINTS = 12;

/**
 * One line per curve, sorted by method and seed; the first curve of a method whose name is in
 * `legend` carries the legend entry (one per method).
 */
function curveTraces(
  curves: RunCurve[],
  axes: { xaxis?: string; yaxis?: string },
  legend: ReadonlySet<string>,
  window: number,
): Trace[] {
  const seen = new Set<string>();
  const sorted = curves
    .slice()
    .sort((a, b) => a.method.localeCompare(b.method) || String(a.seed).localeCompare(String(b.seed)));
  return sorted.map((c) => {
    const first = !seen.has(c.method);
    seen.add(c.method);
    const color = methodColor(c.method);
    return {
      type: "scatter",
      mode: c.steps.length <= FEW_POINTS ? "lines+markers" : "lines",
      name: c.method,
      x: c.steps,
      y: smooth(c.values, window),
      line: { color, width: 1.5 },
      ...(c.steps.length <= FEW_POINTS ? { marker: { color, size: 6 } } : {}),
      opacity: 0.85,
      legendgroup: c.method,
      showlegend: legend.has(c.method) && first,
      text: c.steps.map(() => `${c.method} seed ${c.seed}`),
      ...axes,
    };
  });
}

const methodsOf = (curves: RunCurve[]): Set<string> => new Set(curves.map((c) => c.method));

/** Any metric vs step, one line per run, colored and legend-grouped by method. */
export function trainingCurvesFigure(
  runs: (Run | RunCurve)[],
  metric: string,
  opts?: { title?: string; smooth?: number },
): Figure {
  return {
    data: ((curves) => curveTraces(curves, {}, methodsOf(curves), opts?.smooth ?? 1))(runCurves(runs, metric)),
    layout: {
      ...BASE,
      title: { text: opts?.title ?? `${metricLabel(metric)} during training (one line per seed)` },
      xaxis: { title: { text: "step" } },
      yaxis: { title: { text: metricLabel(metric) } },
    },
  };
}

/**
 * Claim 4 diagnostics: grad/cos_acc_len (top, zero line dashed) and grad/norm (bottom) vs step.
 * Only shaped runs log a cosine; runs without one are drawn in the norm panel only, and their
 * legend entry comes from there, so every method is in the legend once.
 */
export function gradientFigure(
  runs: (Run | RunCurve)[],
  opts?: { title?: string; smooth?: number; logNorm?: boolean },
): Figure {
  const w = opts?.smooth ?? 1;
  const asRuns = runs.filter((r): r is Run => !("steps" in r));
  if (asRuns.length !== runs.length)
    throw new Error("gradientFigure: needs Run objects (it reads two metrics per run)");
  const cos = runCurves(asRuns, "grad/cos_acc_len").filter((c) => c.steps.length > 0);
  const norm = runCurves(asRuns, "grad/norm").filter((c) => c.steps.length > 0);
  const withCos = methodsOf(cos);
  return {
    data: [
      ...curveTraces(cos, { xaxis: "x", yaxis: "y" }, withCos, w),
      ...curveTraces(
        norm,
        { xaxis: "x2", yaxis: "y2" },
        new Set([...methodsOf(norm)].filter((m) => !withCos.has(m))),
        w,
      ),
    ],
    layout: {
      ...BASE,
      title: { text: opts?.title ?? "Gradients of the accuracy and length terms during training" },
      xaxis: { title: { text: "step" }, domain: [0, 1], anchor: "y", matches: "x2" },
      yaxis: { title: { text: "cos(acc, len) gradients" }, domain: [0.55, 1], anchor: "x", range: [-1.05, 1.05] },
      xaxis2: { title: { text: "step" }, domain: [0, 1], anchor: "y2" },
      yaxis2: {
        title: { text: metricLabel("grad/norm") },
        domain: [0, 0.42],
        anchor: "x2",
        type: opts?.logNorm ? "log" : "linear",
      },
      shapes: [
        {
          type: "line",
          xref: "x domain",
          yref: "y",
          x0: 0,
          x1: 1,
          y0: 0,
          y1: 0,
          line: { color: "#666", width: 1, dash: "dash" },
        },
      ],
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Position in context, histograms

export interface PositionPoint {
  method: string;
  position: number;
  accuracy: number;
  ci?: [number, number];
}

/** Accuracy by position k of a problem in the packed context (1 = first), one line per method. */
export function positionAccuracyFigure(points: PositionPoint[], opts?: { title?: string; n?: number }): Figure {
  const methods = [...new Set(points.map((p) => p.method))];
  const data: Trace[] = methods.map((m) => {
    const pts = points.filter((p) => p.method === m).sort((a, b) => a.position - b.position);
    const color = methodColor(m);
    const t: Trace = {
      type: "scatter",
      mode: "lines+markers",
      name: m,
      x: pts.map((p) => p.position),
      y: pts.map((p) => p.accuracy),
      line: { color },
      marker: { color, size: 8 },
      legendgroup: m,
    };
    if (pts.every((p) => p.ci)) {
      t.error_y = {
        type: "data",
        symmetric: false,
        array: pts.map((p) => p.ci![1] - p.accuracy),
        arrayminus: pts.map((p) => p.accuracy - p.ci![0]),
        color,
      };
    }
    return t;
  });
  return {
    data,
    layout: {
      ...BASE,
      title: { text: opts?.title ?? `Accuracy by position in the context${opts?.n ? ` (N=${opts.n})` : ""}` },
      xaxis: { title: { text: "position of the problem in the context" }, dtick: 1 },
      yaxis: { title: { text: "accuracy" }, range: [0, 1.02] },
    },
  };
}

export interface Sample {
  method: string;
  values: number[];
}

/** Shares of `values` in bins of width `size` starting at `start`: [left edges, shares]. */
export function binShares(values: number[], start: number, size: number, bins: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) {
    const k = Math.floor((v - start) / size);
    if (k >= 0 && k < bins) counts[k]! += 1;
  }
  return counts.map((c) => (values.length ? c / values.length : 0));
}

/**
 * Histograms per method as step outlines on shared bins (probability normalised so methods
 * with more samples compare): overlaid filled bars blend into one color and hide each other,
 * outlines keep every method visible.
 */
export function histogramFigure(
  samples: Sample[],
  opts: { metric: string; title?: string; binSize?: number; integer?: boolean },
): Figure {
  const all = samples.flatMap((s) => s.values).filter(Number.isFinite);
  const lo = all.length ? Math.min(...all) : 0,
    hi = all.length ? Math.max(...all) : 1;
  const size = opts.binSize ?? (opts.integer ? 1 : Math.max(1e-9, (hi - lo) / 30));
  const start = opts.integer ? Math.floor(lo) - 0.5 : Math.floor(lo / size) * size;
  const bins = Math.max(1, Math.floor((hi - start) / size) + 1);
  const edges = Array.from({ length: bins + 1 }, (_, k) => start + k * size);
  const data: Trace[] = samples.map((s) => {
    const shares = binShares(s.values.filter(Number.isFinite), start, size, bins);
    // "hv" steps: each bin's share from its left edge to its right edge, closed to 0 at both ends.
    return {
      type: "scatter",
      mode: "lines",
      name: s.method,
      // The last step drops back to 0 at the right edge.
      x: [edges[0]!, ...edges, edges.at(-1)!],
      y: [0, ...shares, shares.at(-1) ?? 0, 0],
      line: { color: methodColor(s.method), width: 2, shape: "hv" },
      legendgroup: s.method,
    };
  });
  return {
    data,
    layout: {
      ...BASE,
      ...(samples.length > 6 ? LEGEND_BELOW : {}),
      title: { text: opts.title ?? `Distribution of ${opts.metric}` },
      xaxis: { title: { text: opts.metric } },
      yaxis: { title: { text: "share of responses" }, rangemode: "tozero" },
    },
  };
}

/** Histogram of response length in tokens. */
export function lengthHistogramFigure(samples: Sample[], opts?: { title?: string; binSize?: number }): Figure {
  return histogramFigure(samples, { metric: "response length (tokens)", title: opts?.title, binSize: opts?.binSize });
}

/** What the loop histogram says when no response of any method re-checks a step. */
export const NO_LOOPS_TEXT = "no re-checks in any response";

/**
 * Histogram of metacognitive loop counts per response (integer bins). A method none of whose
 * responses re-checks a step is one outline at 0 that hides the others there: it is left out
 * and named in a note under the title; with no re-check anywhere the figure has no traces, only
 * NO_LOOPS_TEXT (an empty plot would say nothing).
 */
export function loopHistogramFigure(samples: Sample[], opts?: { title?: string }): Figure {
  const withLoops = samples.filter((s) => s.values.some((v) => Number.isFinite(v) && v > 0));
  const without = samples.filter((s) => !withLoops.includes(s) && s.values.length > 0).map((s) => s.method);
  const title = opts?.title ?? "Redundant loops per response";
  const note = (text: string, y: number, size: number): Layout["annotations"] => [
    { text, xref: "paper", yref: "paper", x: 0.5, y, showarrow: false, font: { size, color: "#57606a" } },
  ];
  if (withLoops.length === 0) {
    return {
      data: [],
      layout: {
        ...BASE,
        title: { text: title },
        xaxis: { visible: false },
        yaxis: { visible: false },
        annotations: note(
          `${NO_LOOPS_TEXT}${samples.length ? ` (${samples.map((s) => s.method).join(", ")})` : ""}`,
          0.5,
          16,
        ),
      },
    };
  }
  const fig = histogramFigure(withLoops, { metric: "loops per response", title, integer: true });
  if (without.length) fig.layout.annotations = note(`no re-checks in any response of ${without.join(", ")}`, 1.04, 12);
  return fig;
}

/**
 * Responses by number of re-check loops, one bar per method and count, on a log share axis: a
 * rare loop (0.3% of responses) is a visible bar beside the 99.7% with none, where a linear axis
 * draws one box at 0. Methods with no loop at all are named in a note, not drawn; with no loop
 * anywhere the figure says NO_LOOPS_TEXT and has no traces.
 */
export function loopCountsFigure(samples: Sample[], opts?: { title?: string }): Figure {
  const withLoops = samples.filter((s) => s.values.some((v) => Number.isFinite(v) && v > 0));
  if (withLoops.length === 0) return loopHistogramFigure(samples, opts);
  const without = samples.filter((s) => !withLoops.includes(s) && s.values.length > 0).map((s) => s.method);
  const max = Math.max(...withLoops.flatMap((s) => s.values.filter(Number.isFinite)));
  const ks = Array.from({ length: Math.floor(max) + 1 }, (_, k) => k);
  const data: Trace[] = withLoops.map((s) => {
    const vals = s.values.filter(Number.isFinite);
    const counts = ks.map((k) => vals.filter((v) => Math.round(v) === k).length);
    return {
      type: "bar",
      name: s.method,
      x: ks,
      // A zero share has no place on a log axis: no bar.
      y: counts.map((c) => (c > 0 ? c / vals.length : null)) as number[],
      text: counts.map((c) => (c > 0 ? String(c) : "")),
      textposition: "outside",
      hovertemplate: `${s.method}: %{text} responses with %{x} re-checks (%{y:.2%})<extra></extra>`,
      marker: { color: methodColor(s.method) },
      legendgroup: s.method,
    };
  });
  return {
    data,
    layout: {
      ...BASE,
      barmode: "group",
      title: { text: opts?.title ?? "Responses by number of re-check loops" },
      xaxis: { title: { text: "re-check loops in the response" }, dtick: 1 },
      yaxis: { title: { text: "share of responses (log scale)" }, type: "log" },
      ...(without.length
        ? {
            annotations: [
              {
                text: `no re-checks in any response of ${without.join(", ")}`,
                xref: "paper",
                yref: "paper",
                x: 0.5,
                y: 1.04,
                showarrow: false,
                font: { size: 12, color: "#57606a" },
              },
            ],
          }
        : {}),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Dose-response of the linear penalty

export interface DosePoint {
  lambda: number;
  /** Share of seeds that collapsed. */
  collapsedShare: number;
  /** Final eval accuracy, mean over seeds with its interval (null when not logged). */
  finalAccuracy: { mean: number; ci: [number, number] } | null;
  /** Mean grad/cos_acc_len over logged steps and seeds (null when not logged). */
  meanCosAccLen: number | null;
}

/**
 * Collapse against the linear penalty's strength, lambda* marked: above lambda* a bare guess
 * out-scores a correct answer, so a collapse there is the reward's optimum (rigor.md). Top: share
 * of seeds collapsed and final eval accuracy; bottom: the accuracy/length gradient cosine.
 */
export function doseResponseFigure(
  points: DosePoint[],
  lambdaStar: number | null,
  opts?: {
    title?: string;
    /** A method without the penalty (bcr) whose final accuracy is drawn across the top panel, dotted, in its colour. */
    reference?: { method: string; accuracy: number };
  },
): Figure {
  const ps = [...points].sort((a, b) => a.lambda - b.lambda);
  const x = ps.map((p) => p.lambda);
  const withAcc = ps.filter((p) => p.finalAccuracy !== null);
  const withCos = ps.filter((p) => p.meanCosAccLen !== null);
  const data: Trace[] = [
    {
      type: "scatter",
      mode: "lines+markers",
      name: "share of seeds collapsed",
      x,
      y: ps.map((p) => p.collapsedShare),
      line: { color: "#cf222e" },
      marker: { size: 9 },
    },
    {
      type: "scatter",
      mode: "lines+markers",
      name: "final held-out accuracy (95% CI)",
      x: withAcc.map((p) => p.lambda),
      y: withAcc.map((p) => p.finalAccuracy!.mean),
      line: { color: "#0969da" },
      marker: { size: 9 },
      error_y: {
        type: "data",
        symmetric: false,
        array: withAcc.map((p) => p.finalAccuracy!.ci[1] - p.finalAccuracy!.mean),
        arrayminus: withAcc.map((p) => p.finalAccuracy!.mean - p.finalAccuracy!.ci[0]),
      },
    },
    {
      type: "scatter",
      mode: "lines+markers",
      name: "mean cosine of the accuracy and length gradients",
      x: withCos.map((p) => p.lambda),
      y: withCos.map((p) => p.meanCosAccLen!),
      xaxis: "x2",
      yaxis: "y2",
      line: { color: "#8250df" },
      marker: { size: 8 },
    },
  ];
  const star = lambdaStar !== null && Number.isFinite(lambdaStar) && lambdaStar > 0;
  // lambda* as a trace (not a layout shape): data coordinates on the log axis, and a legend entry.
  if (star) {
    data.push({
      type: "scatter",
      mode: "lines",
      name: `lambda* = ${lambdaStar!.toFixed(2)}: above it a guess out-scores a correct answer`,
      x: [lambdaStar!, lambdaStar!],
      y: [0, 1],
      line: { color: "#57606a", dash: "dash", width: 1.5 },
      hoverinfo: "name",
    });
  }
  // An explicit range (log10 units) with room on both sides: autorange put a lambda* beyond the
  // last strength on the plot's edge, where the dashed line hid under the axis frame.
  const span = star ? [...x, lambdaStar!] : x;
  const range = span.length ? [Math.log10(Math.min(...span)) - 0.15, Math.log10(Math.max(...span)) + 0.15] : undefined;
  const ref = opts?.reference;
  if (ref && range && Number.isFinite(ref.accuracy)) {
    data.push({
      type: "scatter",
      mode: "lines",
      name: `${ref.method} (no length penalty): final accuracy ${ref.accuracy.toFixed(2)}`,
      x: [10 ** range[0]!, 10 ** range[1]!],
      y: [ref.accuracy, ref.accuracy],
      line: { color: methodColor(ref.method), dash: "dot", width: 2 },
      hoverinfo: "name",
    });
  }
  return {
    data,
    layout: {
      ...BASE,
      // The legend under the panels: on the right it took half the width from them.
      ...LEGEND_BELOW,
      height: 560,
      title: {
        text:
          opts?.title ??
          `Linear penalty dose-response${star ? ` (lambda* = ${lambdaStar!.toFixed(2)})` : " (lambda* unknown)"}`,
      },
      xaxis: { type: "log", anchor: "y", tickvals: x, domain: [0, 1], ...(range ? { range } : {}) },
      yaxis: {
        title: { text: "share collapsed · final accuracy" },
        range: [-0.02, 1.05],
        domain: [0.45, 1],
        anchor: "x",
      },
      xaxis2: { title: { text: "lambda" }, type: "log", matches: "x", anchor: "y2", tickvals: x },
      yaxis2: { title: { text: "cos(acc, len) gradients" }, range: [-1.05, 1.05], domain: [0, 0.35], anchor: "x2" },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// One run while it trains

/** The panels of a live training view: what RL is judged by while it runs. */
export const LIVE_METRICS: readonly string[] = [
  "reward/accuracy",
  "eval/accuracy",
  "length/tokens_per_problem",
  "grad/cos_acc_len",
];

/** What an empty live panel says: the run never logged its metric (so far). */
export function liveEmptyPanelText(metric: string): string {
  return metric === "grad/cos_acc_len"
    ? "no gradient-conflict metric for this run"
    : `no ${metricLabel(metric)} logged yet`;
}

/** An axis title broken into lines of about `width` characters (a panel is shorter than a long label). */
function wrapTitle(text: string, width = 26): string {
  const lines: string[] = [];
  for (const word of text.split(" ")) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 1 + word.length <= width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines.join("<br>");
}

/**
 * Up to four metrics of one run vs step, one panel each (2 x 2), from its metric records. Rates
 * (accuracy, shares) on [0, 1], counts from 0, the gradient cosine on [-1, 1]; axis titles wrapped
 * and given room (automargin); a panel without a point says so in words instead of empty axes.
 */
export function liveCurvesFigure(
  records: Record<string, unknown>[],
  opts?: { metrics?: readonly string[]; title?: string; method?: string },
): Figure {
  const metrics = (opts?.metrics ?? LIVE_METRICS).slice(0, 4);
  const color = methodColor(opts?.method ?? "bcr");
  const layout: Layout = {
    ...BASE,
    showlegend: false,
    title: { text: opts?.title ?? "training" },
    margin: { l: 90, r: 20, t: 60, b: 60 },
  };
  const annotations: NonNullable<Layout["annotations"]> = [];
  const data: Trace[] = [];
  metrics.forEach((m, i) => {
    const k = i === 0 ? "" : String(i + 1);
    const col = i % 2,
      row = Math.floor(i / 2);
    const rows = metrics.length > 2 ? 2 : 1;
    const pts = records.filter((r) => typeof r[m] === "number" && Number.isFinite(r[m]) && typeof r.step === "number");
    data.push({
      type: "scatter",
      mode: pts.length <= FEW_POINTS ? "lines+markers" : "lines",
      name: m,
      x: pts.map((r) => r.step as number),
      y: pts.map((r) => r[m] as number),
      line: { color, width: 1.5 },
      marker: { color, size: 5 },
      cliponaxis: false, // a point on a bound (accuracy 1) is drawn whole
      xaxis: `x${k}`,
      yaxis: `y${k}`,
    });
    // Columns with a gap wide enough for the right panel's tick labels and wrapped title.
    const x0 = col === 0 ? 0 : 0.58,
      x1 = col === 0 ? 0.42 : 1,
      y0 = rows === 2 ? (row === 0 ? 0.6 : 0) : 0,
      y1 = rows === 2 ? (row === 0 ? 1 : 0.4) : 1;
    const bounds = metricBounds(m);
    const empty = pts.length === 0;
    const hidden = empty ? { showticklabels: false, showgrid: false, zeroline: false } : {};
    const axes = layout as Record<string, Axis>; // numbered axes: xaxis2, yaxis2, ...
    axes[`xaxis${k}`] = {
      title: { text: row === rows - 1 && !empty ? "step" : "" },
      domain: [x0, x1],
      anchor: `y${k}` as AxisName,
      automargin: true,
      ...hidden,
    };
    axes[`yaxis${k}`] = {
      title: { text: empty ? "" : wrapTitle(metricLabel(m)) }, // an empty panel's note names it
      domain: [y0, y1],
      anchor: `x${k}` as AxisName,
      automargin: true,
      ...(m === "grad/cos_acc_len"
        ? { range: [-1.05, 1.05] }
        : bounds?.[1] === 1
          ? { range: [0, 1] }
          : bounds?.[0] === 0
            ? { rangemode: "tozero" as const }
            : {}),
      ...hidden,
    };
    if (empty)
      annotations.push({
        text: liveEmptyPanelText(m),
        xref: "paper",
        yref: "paper",
        x: (x0 + x1) / 2,
        y: (y0 + y1) / 2,
        xanchor: "center",
        yanchor: "middle",
        showarrow: false,
        font: { size: 12, color: "#57606a" },
      });
  });
  if (annotations.length) layout.annotations = annotations;
  return { data, layout };
}
