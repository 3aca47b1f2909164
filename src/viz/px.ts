import type { AxisName, Datum } from "plotly.js";
import type { TableLike } from "../analysis/tables.js";
import { columnsOf, compareValues, rowsOf } from "../frame/summarize.js";
import { methodColor, withAlpha } from "./colors.js";
import { type Axis, FEW_POINTS, type Figure, type Layout, metricLabel, type Trace } from "./figures.js";

export interface PxOptions {
  /** Column on the x axis. */
  x: string;
  /** Column on the y axis (numbers, or booleans counted as 0/1). */
  y: string;
  /** One trace per value of this column. */
  color?: string;
  /** One panel per value of this column, side by side. */
  facet_col?: string;
  /** Columns holding the lower and upper ends of each point's interval. */
  error_y?: readonly [string, string];
  /** EMA weight on the new point, in (0, 1] (see the header). */
  smooth?: number;
  /** Columns naming one series inside a colour group (seeds): each is smoothed alone, then averaged. */
  unit?: string | readonly string[];
  /** How several rows at one x are spread into a band: "minmax" (default), "sd" (mean +- 1 sd), "none". */
  spread?: "minmax" | "sd" | "none";
  title?: string;
  /** Fix the y axis to [0, 1]; default: on when y is named like a rate (accuracy, correct, *_rate). */
  rateAxis?: boolean;
  /** Axis and legend titles by column (default metricLabel of the column). */
  labels?: Readonly<Record<string, string>>;
  /** Merged into the layout last (any Plotly layout attribute). */
  layout?: Layout;
}

export interface BandOptions extends PxOptions {
  /** Column of each point's lower end (default "lo" when the table has it, else error_y[0]). */
  lo?: string;
  /** Column of each point's upper end (default "hi" when the table has it, else error_y[1]). */
  hi?: string;
}

/** Colours for groups of a column that is not a method (Plotly's own qualitative set). */
export const PALETTE: readonly string[] = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];

/** Whether a column name reads as a rate in [0, 1]: accuracy, correct, *_rate, eval/accuracy, ... */
export function isRateColumn(name: string): boolean {
  return /(^|[/_ .-])(accuracy|correct|rate|share|frac)$/i.test(name) || /^(accuracy|correct|rate)$/i.test(name);
}

/**
 * Exponential moving average, s_0 = y_0, s_t = alpha y_t + (1 - alpha) s_(t-1). A null (or
 * non-finite) value stays null and leaves the average where it was.
 */
export function ema(values: readonly (number | null)[], alpha: number): (number | null)[] {
  if (!(alpha > 0 && alpha <= 1)) throw new Error(`ema: alpha must be in (0, 1], got ${alpha}`);
  let s: number | null = null;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return null;
    s = s === null ? v : alpha * v + (1 - alpha) * s;
    return s;
  });
}

type Row = Record<string, unknown>;

/** Distinct values in order of first appearance. */
function distinct(rows: Row[], col: string | undefined): unknown[] {
  if (col === undefined) return [null];
  const seen = new Map<string, unknown>();
  for (const r of rows) {
    const k = JSON.stringify(r[col] ?? null);
    if (!seen.has(k)) seen.set(k, r[col] ?? null);
  }
  return [...seen.values()];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const num = (v: unknown): number | null =>
  typeof v === "boolean" ? Number(v) : typeof v === "number" && Number.isFinite(v) ? v : null;

function colorFor(col: string | undefined, value: unknown, index: number): string {
  if (col === undefined) return PALETTE[0]!;
  if (col === "method") return methodColor(String(value));
  return PALETTE[index % PALETTE.length]!;
}

/** One colour group in one panel, reduced to one point per x. */
interface Series {
  xs: Datum[];
  y: number[];
  /** The band or error interval per point, when there is one. */
  lo?: number[];
  hi?: number[];
}

/** Points of a group sorted by x: numbers ascending, other values in order of first appearance. */
function xOrder(rows: Row[], x: string): Datum[] {
  const xs = distinct(rows, x) as Datum[];
  return xs.every((v) => typeof v === "number") ? xs.sort((a, b) => compareValues(a, b)) : xs;
}

function spreadOf(values: number[], spread: "minmax" | "sd", mean: number): [number, number] {
  if (spread === "minmax") return [Math.min(...values), Math.max(...values)];
  const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, values.length - 1));
  return [mean - sd, mean + sd];
}

/**
 * A group's rows as one series: per x, the mean over units (or over rows) with its spread, or the
 * row's own interval columns when given; smoothed when asked.
 */
function reduce(rows: Row[], o: PxOptions, what: string, interval?: readonly [string, string]): Series {
  const xs = xOrder(rows, o.x);
  if (interval) {
    const y: number[] = [],
      lo: number[] = [],
      hi: number[] = [];
    const kept: Datum[] = [];
    for (const xv of xs) {
      const at = rows.filter((r) => same(r[o.x], xv));
      if (at.length > 1)
        throw new Error(
          `${what}: ${at.length} rows at ${o.x}=${JSON.stringify(xv)} in one colour group; interval columns need one row per point (summarize first, or add the column that tells them apart as color or facet_col)`,
        );
      const [yv, l, h] = [num(at[0]![o.y]), num(at[0]![interval[0]]), num(at[0]![interval[1]])];
      if (yv === null || l === null || h === null) continue;
      kept.push(xv);
      y.push(yv);
      lo.push(l);
      hi.push(h);
    }
    if (o.smooth === undefined) return { xs: kept, y, lo, hi };
    const s = (v: number[]) => ema(v, o.smooth!) as number[];
    return { xs: kept, y: s(y), lo: s(lo), hi: s(hi) };
  }
  // Values per unit and x (every row its own unit when none is named), smoothed per unit.
  const unitCols = o.unit === undefined ? [] : typeof o.unit === "string" ? [o.unit] : [...o.unit];
  const units = new Map<string, Row[]>();
  for (const r of rows) {
    const k = JSON.stringify(unitCols.map((c) => r[c] ?? null));
    units.set(k, [...(units.get(k) ?? []), r]);
  }
  const perX = new Map<string, number[]>(xs.map((xv) => [JSON.stringify(xv), []]));
  if (unitCols.length) {
    for (const unitRows of units.values()) {
      const ux = xOrder(unitRows, o.x);
      const uy = ux.map((xv) => {
        const vs = unitRows
          .filter((r) => same(r[o.x], xv))
          .map((r) => num(r[o.y]))
          .filter((v): v is number => v !== null);
        return vs.length ? vs.reduce((a, b) => a + b, 0) / vs.length : null;
      });
      const sy = o.smooth === undefined ? uy : ema(uy, o.smooth);
      ux.forEach((xv, i) => {
        if (sy[i] !== null) perX.get(JSON.stringify(xv))!.push(sy[i]!);
      });
    }
  } else {
    for (const r of rows) {
      const v = num(r[o.y]);
      if (v !== null) perX.get(JSON.stringify(r[o.x] ?? null))!.push(v);
    }
  }
  const kept = xs.filter((xv) => perX.get(JSON.stringify(xv))!.length > 0);
  const values = kept.map((xv) => perX.get(JSON.stringify(xv))!);
  let y = values.map((vs) => vs.reduce((a, b) => a + b, 0) / vs.length);
  if (!unitCols.length && o.smooth !== undefined) y = ema(y, o.smooth) as number[];
  const spread = o.spread ?? "minmax";
  if (spread === "none" || values.every((vs) => vs.length < 2)) return { xs: kept, y };
  const ends = values.map((vs, i) => spreadOf(vs, spread, y[i]!));
  return { xs: kept, y, lo: ends.map((e) => e[0]), hi: ends.map((e) => e[1]) };
}

interface Panel {
  value: unknown;
  xaxis: AxisName;
  yaxis: AxisName;
  domain: [number, number];
}

function panels(rows: Row[], facet: string | undefined): Panel[] {
  const values = distinct(rows, facet);
  const gap = 0.04;
  const w = (1 - gap * (values.length - 1)) / values.length;
  return values.map((value, i) => ({
    value,
    xaxis: (i === 0 ? "x" : `x${i + 1}`) as AxisName,
    yaxis: (i === 0 ? "y" : `y${i + 1}`) as AxisName,
    domain: [i * (w + gap), i * (w + gap) + w],
  }));
}

type Kind = "line" | "scatter" | "bar" | "band";

function build(kind: Kind, data: TableLike, o: BandOptions): Figure {
  const rows = rowsOf(data);
  const columns = columnsOf(data, rows);
  let interval = o.error_y;
  if (kind === "band") {
    const lo = o.lo ?? o.error_y?.[0] ?? (columns.has("lo") ? "lo" : undefined);
    const hi = o.hi ?? o.error_y?.[1] ?? (columns.has("hi") ? "hi" : undefined);
    if ((lo === undefined) !== (hi === undefined)) throw new Error("band: give both lo and hi columns, or neither");
    interval = lo !== undefined ? [lo, hi!] : undefined;
  }
  const unitCols = o.unit === undefined ? [] : typeof o.unit === "string" ? [o.unit] : [...o.unit];
  for (const c of [o.x, o.y, o.color, o.facet_col, ...(interval ?? []), ...unitCols])
    if (c !== undefined && !columns.has(c))
      throw new Error(`${kind}: no column "${c}" (columns: ${[...columns].join(", ") || "none: the table is empty"})`);
  const label = (c: string) => o.labels?.[c] ?? metricLabel(c);
  const rate = o.rateAxis ?? isRateColumn(o.y);
  const colors = distinct(rows, o.color);
  const facets = panels(rows, o.facet_col);
  const traces: Trace[] = [];
  const inLegend = new Set<string>();
  for (const p of facets) {
    const inPanel = o.facet_col === undefined ? rows : rows.filter((r) => same(r[o.facet_col!], p.value));
    colors.forEach((cv, ci) => {
      const group = o.color === undefined ? inPanel : inPanel.filter((r) => same(r[o.color!], cv));
      if (group.length === 0) return;
      const color = colorFor(o.color, cv, ci);
      const name = o.color === undefined ? label(o.y) : String(cv);
      const first = !inLegend.has(name);
      inLegend.add(name);
      const common = {
        name,
        legendgroup: name,
        xaxis: p.xaxis,
        yaxis: p.yaxis,
        ...(rate ? { cliponaxis: false } : {}),
      };
      if (kind === "scatter") {
        traces.push(scatterTrace(group, o, interval, color, common, first));
        return;
      }
      const s = reduce(group, o, kind, interval);
      if (kind === "bar") {
        traces.push({
          type: "bar",
          x: s.xs,
          y: s.y,
          marker: { color },
          showlegend: first,
          ...common,
          ...errorBars(s, color),
        });
        return;
      }
      const banded = s.lo !== undefined && (kind === "band" || interval === undefined);
      if (kind === "band" && !banded)
        throw new Error(
          `band: no interval for ${name}: give lo and hi columns (summarize gives them), or rows with several values at one x (seeds)`,
        );
      if (banded) traces.push(bandPolygon(s, color, { ...common, name: `${name} (band)` }));
      traces.push({
        type: "scatter",
        mode: s.xs.length <= FEW_POINTS ? "lines+markers" : "lines",
        x: s.xs,
        y: s.y,
        line: { color, width: 2 },
        marker: { color, size: 6 },
        showlegend: first,
        ...common,
        ...(banded ? {} : errorBars(s, color)),
      });
    });
  }
  return { data: traces, layout: layoutFor(o, facets, label, rate, kind) };
}

function scatterTrace(
  rows: Row[],
  o: PxOptions,
  interval: readonly [string, string] | undefined,
  color: string,
  common: Trace,
  first: boolean,
): Trace {
  const kept = rows.filter((r) => num(r[o.y]) !== null);
  const y = kept.map((r) => num(r[o.y])!);
  const s: Series = { xs: kept.map((r) => (r[o.x] ?? null) as Datum), y };
  if (interval) {
    s.lo = kept.map((r, i) => num(r[interval[0]]) ?? y[i]!);
    s.hi = kept.map((r, i) => num(r[interval[1]]) ?? y[i]!);
  }
  return {
    type: "scatter",
    mode: "markers",
    x: s.xs,
    y: s.y,
    marker: { color, size: 7 },
    showlegend: first,
    ...common,
    ...errorBars(s, color),
  };
}

/** Error bars from a series' interval (none without one). */
function errorBars(s: Series, color: string): Trace {
  if (!s.lo || !s.hi) return {};
  return {
    error_y: {
      type: "data",
      symmetric: false,
      array: s.hi.map((h, i) => h - s.y[i]!),
      arrayminus: s.lo.map((l, i) => s.y[i]! - l),
      color,
      thickness: 1.5,
      width: 4,
    },
  };
}

/**
 * The band as one closed polygon: along the upper ends left to right, back along the lower ends
 * right to left, and to the first point again, filled; drawn before its line so it lies beneath.
 */
function bandPolygon(s: Series, color: string, common: Trace): Trace {
  const back = [...s.xs].reverse();
  return {
    type: "scatter",
    mode: "lines",
    x: [...s.xs, ...back, s.xs[0]!],
    y: [...s.hi!, ...[...s.lo!].reverse(), s.hi![0]!],
    fill: "toself",
    fillcolor: withAlpha(color, 0.2),
    line: { color: withAlpha(color, 0), width: 0 },
    hoverinfo: "skip",
    showlegend: false,
    ...common,
  };
}

function layoutFor(o: PxOptions, facets: Panel[], label: (c: string) => string, rate: boolean, kind: Kind): Layout {
  const layout: Layout = {
    margin: { l: 70, r: 20, t: o.facet_col ? 80 : 60, b: 60 },
    legend: o.color ? { title: { text: label(o.color) } } : {},
    showlegend: o.color !== undefined,
    ...(o.title ? { title: { text: o.title } } : {}),
    ...(kind === "bar" ? { barmode: "group" as const } : {}),
  };
  const axes = layout as Record<string, Axis>; // numbered axes: xaxis2, yaxis2, ...
  facets.forEach((p, i) => {
    const k = i === 0 ? "" : String(i + 1);
    axes[`xaxis${k}`] = {
      title: { text: label(o.x) },
      domain: p.domain,
      anchor: p.yaxis,
      automargin: true,
    };
    axes[`yaxis${k}`] = {
      anchor: p.xaxis,
      automargin: true,
      ...(i === 0 ? { title: { text: label(o.y) } } : { matches: "y" as AxisName, showticklabels: false }),
      ...(rate ? { range: [0, 1] } : {}),
    };
  });
  if (o.facet_col)
    layout.annotations = facets.map((p) => ({
      text: `${o.facet_col} = ${String(p.value)}`,
      x: (p.domain[0] + p.domain[1]) / 2,
      y: 1,
      xref: "paper",
      yref: "paper",
      xanchor: "center",
      yanchor: "bottom",
      showarrow: false,
    }));
  return { ...layout, ...o.layout };
}

/** Lines, one per colour group; several rows at one x (seeds) become their mean with a band. */
export function line(data: TableLike, opts: PxOptions): Figure {
  return build("line", data, opts);
}

/** Points as they are, one trace per colour group, with error bars from `error_y`. */
export function scatter(data: TableLike, opts: PxOptions): Figure {
  return build("scatter", data, opts);
}

/** Bars grouped side by side, one trace per colour group; several rows at one x become their mean with an error bar. */
export function bar(data: TableLike, opts: PxOptions): Figure {
  return build("bar", data, opts);
}

/** A mean line with a filled band from `lo` to `hi` (or the spread of several rows at one x), per colour group. */
export function band(data: TableLike, opts: BandOptions): Figure {
  return build("band", data, opts);
}
