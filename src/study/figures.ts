/**
 * The regime study's figures (issue 29, "Reporting"), one set per experiment, each a plain Plotly
 * {data, layout} built from the experiment's Judgement and rows, so tests read them without a
 * browser (report.ts renders and embeds them):
 *
 *   frontier        every arm at sampled N=1 at (tokens/problem, accuracy), 2-D 95% bars from the
 *                   Judgement's estimates; the linear penalties joined in order of tokens with
 *                   single as their lambda = 0 end (the line frontier.ts interpolates on); bcr's
 *                   distance to it at equal tokens in the title
 *   n-sweep         accuracy and tokens/problem against N, a pointwise band per arm
 *   loops           re-check loops per response per arm, sft included
 *   dose-response   accuracy and tokens/problem against the linear penalty's strength (log x),
 *                   bcr and single as horizontal references with their bands
 *
 * Greedy beside sampled everywhere (rigor.md, "Decoding"): a hollow marker of the arm's colour at
 * the sampled point's x. Every interval is the three-level bootstrap (SFT seed, RL seed, problem;
 * analysis/nested.ts): the Judgement's where it has one, nestedMeanCI on the rows for the sweep.
 * A figure whose rows are missing is not drawn: `skipped` says why, and the report says it.
 */
import { nestedFromRows, nestedMeanCI } from "../analysis/nested.js";
import { withinCap } from "../bcr/score.js";
import { CONTROL_COLOR, methodColor, withAlpha } from "../viz/colors.js";
import type { Figure, Layout, Trace } from "../viz/figures.js";
import type { Rules } from "./config.js";
import type { ArmSummary, Judgement } from "./judge.js";
import type { RowsArchive, StudyRow } from "./rows.js";
import { type Estimate, fmt, fmtEstimate } from "./verdict.js";

export const STUDY_FIGURES = ["frontier", "n-sweep", "loops", "dose-response"] as const;
export type StudyFigureName = (typeof STUDY_FIGURES)[number];

export interface StudyFigure {
  name: StudyFigureName;
  /** Title of the figure's page and the image's alt text. */
  title: string;
  /** What the marks are: the caption. */
  shows: string;
  /** The plot; null when it is skipped. */
  fig: Figure | null;
  /** Why the figure is not drawn (the rows it needs are missing); null when it is. */
  skipped: string | null;
  /** PNG size in pixels. */
  size: { width: number; height: number };
}

/** The linear penalty's strength of an arm label (linear@0.5 -> 0.5); null for any other arm. */
export function penaltyStrength(arm: string): number | null {
  const m = /^linear@(\d+(?:\.\d+)?(?:e-?\d+)?)$/.exec(arm);
  return m ? Number(m[1]) : null;
}

/** One order of arms in every figure and table: sft, single, its budget controls, bcr and its variants, penalties by strength, others by name. */
export function armOrder(arms: readonly string[]): string[] {
  const rank = (a: string) =>
    a === "sft"
      ? 0
      : a === "single"
        ? 1
        : a.startsWith("single@")
          ? 2
          : a === "bcr"
            ? 3
            : a.startsWith("bcr")
              ? 4
              : penaltyStrength(a) !== null
                ? 5
                : 6;
  return [...new Set(arms)].sort(
    (a, b) =>
      rank(a) - rank(b) || (penaltyStrength(a) ?? 0) - (penaltyStrength(b) ?? 0) || (a < b ? -1 : a > b ? 1 : 0),
  );
}

/**
 * Colour (methodColor: a family's hue, a penalty's strength as lightness, a variant a darker
 * shade), marker and dash of an arm. A variant (bcr-split beside bcr) also gets its own marker and
 * dash, so it stays tellable from its family where colours are hard to see.
 */
export function armStyle(arm: string): { color: string; symbol: string; dash: "solid" | "dash" | "dot" } {
  const color = methodColor(arm);
  if (arm === "bcr") return { color, symbol: "star", dash: "solid" };
  if (arm.startsWith("bcr")) return { color, symbol: "square", dash: "dash" };
  if (color === CONTROL_COLOR) return { color, symbol: "triangle-up", dash: "dot" };
  if (arm === "sft") return { color, symbol: "diamond", dash: "dot" };
  return { color, symbol: "circle", dash: "solid" };
}

const errorOf = (e: Estimate, color: string) => ({
  type: "data" as const,
  symmetric: false,
  array: [e.ci[1] - e.mean],
  arrayminus: [e.mean - e.ci[0]],
  color,
  thickness: 1.5,
  width: 4,
});

const skip = (name: StudyFigureName, title: string, reason: string): StudyFigure => ({
  name,
  title,
  shows: "",
  fig: null,
  skipped: reason,
  size: { width: 900, height: 560 },
});

/**
 * An accuracy axis fitted to what is drawn on it (small differences stay visible): every y of
 * the traces on `yaxis`, bands and the ends of error bars included, with headroom on both sides.
 * An explicit range, because plotly's autorange clipped at 1 put a greedy marker at accuracy 1.0
 * on the frame's edge, half cut off.
 */
export function accuracyAxis(traces: readonly Trace[], yaxis = "y") {
  const [lo, hi] = yExtent(traces, yaxis) ?? [0, 1];
  // 6% of the span a side, at least 0.03: over 5% of the plot's height, more than a marker's radius.
  const pad = Math.max(0.03, 0.06 * (hi - lo));
  return { title: { text: "accuracy" }, range: [lo - pad, hi + pad] };
}

/**
 * An axis for counts drawn as bars from 0 (loops per response): from 0 to every y drawn, error
 * bars included, with 6% headroom on both sides, so a marker at 0 (a greedy arm with no re-checks)
 * sits inside the frame; plotly's rangemode "tozero" put it on the bottom edge, half cut off.
 */
export function countAxis(traces: readonly Trace[], title: string, yaxis = "y") {
  const [lo, hi] = yExtent(traces, yaxis) ?? [0, 1];
  const low = Math.min(0, lo);
  const pad = 0.06 * (hi - low || 1);
  return { title: { text: title }, range: [low - pad, hi + pad] };
}

/** The lowest and highest y drawn on `yaxis` (error bar ends included); null when nothing is. */
function yExtent(traces: readonly Trace[], yaxis: string): [number, number] | null {
  const ys: number[] = [];
  for (const t of traces) {
    if ((t.yaxis ?? "y") !== yaxis) continue;
    const err = t.error_y as { array?: number[]; arrayminus?: number[] } | undefined;
    for (const [i, y] of ((t.y ?? []) as unknown[]).entries()) {
      if (typeof y !== "number" || !Number.isFinite(y)) continue;
      ys.push(y, y + (err?.array?.[i] ?? 0), y - (err?.arrayminus?.[i] ?? err?.array?.[i] ?? 0));
    }
  }
  return ys.length ? [Math.min(...ys), Math.max(...ys)] : null;
}

const GATE_FAILED = "the gate failed: no RL arm was trained or evaluated";
const TOKENS = "tokens per problem";
const GREEDY_NOTE = "hollow: greedy (temperature 0) beside the sampled point";

/** The interpolated penalty at bcr's tokens (bcr's accuracy minus the frontier test's difference). */
function interpolatedPenalty(j: Judgement): { tokens: number; accuracy: number } | null {
  const bcr = j.arms.find((a) => a.arm === "bcr");
  if (!bcr || j.frontier.diff === null) return null;
  return { tokens: bcr.tokens.mean, accuracy: bcr.accuracy.mean - j.frontier.diff };
}

/** Figure 1: the frontier at sampled N=1 (see the header). */
export function frontierFigure(id: string, j: Judgement): StudyFigure {
  const title = `Experiment ${id}: accuracy against tokens per problem at N=1`;
  if (j.arms.length === 0) return skip("frontier", title, GATE_FAILED);
  const arms = armOrder(j.arms.map((a) => a.arm)).map((a) => j.arms.find((x) => x.arm === a)!);
  const data: Trace[] = [];
  // The penalty's line beneath the points: single (lambda = 0) and every linear@, by tokens.
  const line = arms
    .filter((a) => a.arm === "single" || penaltyStrength(a.arm) !== null)
    .sort((a, b) => a.tokens.mean - b.tokens.mean);
  if (line.length >= 2)
    data.push({
      type: "scatter",
      mode: "lines",
      name: "linear penalty (single = lambda 0), joined by tokens",
      x: line.map((a) => a.tokens.mean),
      y: line.map((a) => a.accuracy.mean),
      line: { color: withAlpha(methodColor("linear"), 0.6), width: 2, dash: "dash" },
      hoverinfo: "name",
    });
  const pen = interpolatedPenalty(j);
  const bcr = arms.find((a) => a.arm === "bcr");
  if (pen && bcr)
    data.push({
      type: "scatter",
      mode: "lines+markers",
      name: `bcr minus the penalty at bcr's tokens: ${fmtEstimate({ mean: j.frontier.diff!, ci: j.frontier.ci! })}`,
      x: [pen.tokens, bcr.tokens.mean],
      y: [pen.accuracy, bcr.accuracy.mean],
      line: { color: "#57606a", width: 1.5, dash: "dot" },
      marker: { color: "#57606a", size: [10, 0], symbol: "x-thin-open" },
      hoverinfo: "name",
    });
  for (const a of arms) {
    const s = armStyle(a.arm);
    const isBcr = a.arm === "bcr";
    data.push({
      type: "scatter",
      mode: "markers",
      name: a.arm,
      legendgroup: a.arm,
      x: [a.tokens.mean],
      y: [a.accuracy.mean],
      text: [`${a.arm}: accuracy ${fmtEstimate(a.accuracy)}, ${TOKENS} ${fmtEstimate(a.tokens)}`],
      hoverinfo: "text",
      marker: {
        color: s.color,
        symbol: s.symbol,
        size: isBcr ? 18 : 11,
        line: { color: isBcr ? "#000000" : "#ffffff", width: isBcr ? 1.5 : 1 },
      },
      error_x: errorOf(a.tokens, s.color),
      error_y: errorOf(a.accuracy, s.color),
    });
  }
  const greedy = arms.filter((a) => a.greedyAccuracy !== null);
  if (greedy.length)
    data.push({
      type: "scatter",
      mode: "markers",
      name: "greedy accuracy (hollow, at the sampled tokens)",
      x: greedy.map((a) => a.tokens.mean),
      y: greedy.map((a) => a.greedyAccuracy!),
      text: greedy.map((a) => `${a.arm} greedy: accuracy ${fmt(a.greedyAccuracy!)}`),
      hoverinfo: "text",
      marker: {
        color: greedy.map((a) => armStyle(a.arm).color),
        symbol: greedy.map((a) => `${armStyle(a.arm).symbol}-open`),
        size: 12,
        line: { width: 2 },
      },
    });
  const frontierClaim = j.claims.find((c) => c.id === "frontier");
  const test =
    j.frontier.diff !== null && j.frontier.ci
      ? `bcr − penalty at equal tokens ${fmtEstimate({ mean: j.frontier.diff, ci: j.frontier.ci })} (${frontierClaim?.verdict ?? "no verdict"})`
      : frontierClaim
        ? `frontier test ${frontierClaim.verdict}`
        : "no frontier test in this experiment";
  return {
    name: "frontier",
    title,
    shows:
      `Every arm at sampled N=1: mean tokens per problem and accuracy with their 95% intervals (three-level bootstrap over SFT seed, RL seed and problem); bcr is the large star; ${GREEDY_NOTE}. ` +
      (line.length >= 2
        ? "The dashed line joins the linear penalties in order of tokens, single as their lambda = 0 end: the frontier the test interpolates on. "
        : "") +
      (pen ? "The dotted segment is bcr's distance to it at bcr's tokens per problem. " : "") +
      `Frontier test: ${test}.`,
    fig: {
      data,
      layout: {
        margin: { l: 70, r: 20, t: 70, b: 140 },
        title: { text: `${title}<br><sub>${test}</sub>` },
        legend: { orientation: "h", x: 0, y: -0.18, yanchor: "top" },
        xaxis: { title: { text: TOKENS } },
        yaxis: accuracyAxis(data),
        height: 620,
      },
    },
    skipped: null,
    size: { width: 900, height: 620 },
  };
}

/** Accuracy and tokens/problem of one arm at each N of the sweep. */
export interface SweepPoint {
  n: number;
  accuracy: Estimate;
  tokens: Estimate;
}

export interface SweepEstimates {
  arms: { arm: string; points: SweepPoint[] }[];
  ns: number[];
  /** Problems kept: those present at every N in every arm (a pack of N keeps floor(P/N) * N). */
  problems: number;
  budget: number;
}

/**
 * Per arm and N, the three-level bootstrap mean and interval of accuracy and tokens/problem over
 * the sweep rows, on the problems present at every N in every arm (as judge.ts's claim 1 keeps
 * them). bcr-split is scored by its own rule, as the sharing claim scores it: an answer counts
 * only if its tokens fit floor(sweep budget / N). Null when there are no sweep rows.
 */
export function sweepEstimates(
  archive: RowsArchive,
  rules: Pick<Rules, "seed" | "bootstrap" | "level">,
): SweepEstimates | null {
  const sweep = archive.rows.filter((r) => r.set === "sweep");
  if (sweep.length === 0) return null;
  const opts = { seed: rules.seed, resamples: rules.bootstrap, level: rules.level };
  const arms = armOrder(sweep.map((r) => r.arm));
  const ns = [...new Set(sweep.map((r) => r.n))].sort((a, b) => a - b);
  const cells = new Map<string, StudyRow[]>();
  for (const r of sweep) {
    const k = `${r.arm}|${r.n}`;
    const l = cells.get(k);
    if (l) l.push(r);
    else cells.set(k, [r]);
  }
  const sets = [...cells.values()].map((rs) => new Set(rs.map((r) => r.problem)));
  const keep = new Set([...sets[0]!].filter((p) => sets.every((s) => s.has(p))));
  if (keep.size === 0) throw new Error("no problem is present at every N in every arm");
  const budget = archive.meta.budgets.sweep;
  const nested = (rs: StudyRow[], value: (r: StudyRow) => number) =>
    nestedFromRows(
      rs.map((r) => ({ sft_seed: r.sft, rl_seed: r.rl, problem: r.problem, sample: r.sample, value: value(r) })),
    ).values;
  return {
    ns,
    problems: keep.size,
    budget,
    arms: arms.map((arm) => ({
      arm,
      points: ns.flatMap((n) => {
        const rs = (cells.get(`${arm}|${n}`) ?? []).filter((r) => keep.has(r.problem));
        if (rs.length === 0) return [];
        const cap = Math.max(1, Math.floor(budget / n));
        const correct =
          arm === "bcr-split"
            ? (r: StudyRow) => (r.correct && withinCap(r.tokens, cap) ? 1 : 0)
            : (r: StudyRow) => r.correct;
        return [
          {
            n,
            accuracy: nestedMeanCI(nested(rs, correct), opts),
            tokens: nestedMeanCI(
              nested(rs, (r) => r.tokens),
              opts,
            ),
          },
        ];
      }),
    })),
  };
}

/** A band from lo to hi along xs as one closed, filled polygon (drawn beneath its line). */
function bandTrace(xs: number[], lo: number[], hi: number[], color: string, extra: Trace): Trace {
  return {
    type: "scatter",
    mode: "lines",
    x: [...xs, ...[...xs].reverse(), xs[0]!],
    y: [...hi, ...[...lo].reverse(), hi[0]!],
    fill: "toself",
    fillcolor: withAlpha(color, 0.18),
    line: { color: withAlpha(color, 0), width: 0 },
    hoverinfo: "skip",
    showlegend: false,
    ...extra,
  };
}

/** Figure 2: the N-sweep, accuracy (left) and tokens/problem (right) against N, a band per arm. */
export function nSweepFigure(id: string, j: Judgement, sweep: SweepEstimates | null): StudyFigure {
  const title = `Experiment ${id}: accuracy and tokens per problem against N`;
  if (j.arms.length === 0 && !sweep) return skip("n-sweep", title, GATE_FAILED);
  if (!sweep) return skip("n-sweep", title, "no sweep rows (the experiment evaluates N=1 only)");
  if (sweep.ns.length < 2) return skip("n-sweep", title, `the sweep has one N only (N=${sweep.ns.join(", ")})`);
  const data: Trace[] = [];
  for (const { arm, points } of sweep.arms) {
    if (points.length === 0) continue;
    const s = armStyle(arm);
    const xs = points.map((p) => p.n);
    for (const [k, metric] of (["accuracy", "tokens"] as const).entries()) {
      const axes = k === 0 ? {} : { xaxis: "x2" as const, yaxis: "y2" as const };
      const es = points.map((p) => p[metric]);
      data.push(
        bandTrace(
          xs,
          es.map((e) => e.ci[0]),
          es.map((e) => e.ci[1]),
          s.color,
          { legendgroup: arm, name: `${arm} (band)`, ...axes },
        ),
      );
      data.push({
        type: "scatter",
        mode: "lines+markers",
        name: arm,
        legendgroup: arm,
        showlegend: k === 0,
        x: xs,
        y: es.map((e) => e.mean),
        text: points.map(
          (p) => `${arm} N=${p.n}: ${metric === "accuracy" ? "accuracy" : TOKENS} ${fmtEstimate(p[metric])}`,
        ),
        hoverinfo: "text",
        line: { color: s.color, width: 2, dash: s.dash },
        marker: { color: s.color, symbol: s.symbol, size: 8 },
        ...axes,
      });
    }
  }
  const greedy = armOrder(sweep.arms.map((a) => a.arm))
    .map((arm) => j.arms.find((a) => a.arm === arm))
    .filter((a): a is ArmSummary => a !== undefined && a.greedyAccuracy !== null);
  if (greedy.length)
    data.push({
      type: "scatter",
      mode: "markers",
      name: "greedy accuracy at N=1 (hollow; N=1 budget)",
      x: greedy.map(() => 1),
      y: greedy.map((a) => a.greedyAccuracy!),
      text: greedy.map((a) => `${a.arm} greedy at N=1: accuracy ${fmt(a.greedyAccuracy!)}`),
      hoverinfo: "text",
      marker: {
        color: greedy.map((a) => armStyle(a.arm).color),
        symbol: greedy.map((a) => `${armStyle(a.arm).symbol}-open`),
        size: 12,
        line: { width: 2 },
      },
    });
  const nAxis = { type: "log" as const, tickvals: sweep.ns, title: { text: "N (problems per context, log scale)" } };
  const split = sweep.arms.some((a) => a.arm === "bcr-split");
  return {
    name: "n-sweep",
    title,
    shows:
      `Packs of N problems under one budget of ${sweep.budget} tokens, ${sweep.problems} problems present at every N in every arm: mean accuracy (left) and tokens per problem (right) with a pointwise 95% band (three-level bootstrap over SFT seed, RL seed and problem). ` +
      (split
        ? "bcr-split is scored by its own rule: an answer counts only within its cap of floor(budget / N) tokens. "
        : "") +
      (greedy.length
        ? "Hollow: greedy accuracy at N=1 (the N=1 eval, its own budget). "
        : "No greedy rows: the sweep is sampled only."),
    fig: {
      data,
      layout: {
        margin: { l: 70, r: 20, t: 60, b: 130 },
        title: { text: title },
        legend: { orientation: "h", x: 0, y: -0.22, yanchor: "top" },
        xaxis: { ...nAxis, domain: [0, 0.46], anchor: "y" },
        yaxis: { ...accuracyAxis(data), anchor: "x" },
        xaxis2: { ...nAxis, domain: [0.56, 1], anchor: "y2" },
        yaxis2: { title: { text: TOKENS }, rangemode: "tozero", anchor: "x2" },
        height: 520,
      },
    },
    skipped: null,
    size: { width: 1100, height: 520 },
  };
}

/** Figure 3: re-check loops per response per arm (sampled N=1), greedy beside each bar. */
export function loopsFigure(id: string, j: Judgement, archive: RowsArchive): StudyFigure {
  const title = `Experiment ${id}: re-check loops per response at N=1`;
  if (j.arms.length === 0) return skip("loops", title, GATE_FAILED);
  const arms = armOrder(j.arms.map((a) => a.arm))
    .map((a) => j.arms.find((x) => x.arm === a)!)
    .filter((a) => a.loops !== null);
  if (arms.length === 0) return skip("loops", title, "no loop counts in the N=1 rows");
  const greedyLoops = (arm: string) => {
    const g = archive.rows.filter((r) => r.set === "greedy" && r.arm === arm && r.loops !== null);
    return g.length ? g.reduce((s, r) => s + r.loops!, 0) / g.length : null;
  };
  const greedy = arms.map((a) => ({ arm: a.arm, loops: greedyLoops(a.arm) }));
  if (arms.every((a) => a.loops!.mean === 0 && a.loops!.ci[1] === 0) && greedy.every((g) => !g.loops))
    return skip("loops", title, `no re-checks in any response (${arms.map((a) => a.arm).join(", ")})`);
  const data: Trace[] = arms.map((a) => ({
    type: "bar",
    name: a.arm,
    legendgroup: a.arm,
    x: [a.arm],
    y: [a.loops!.mean],
    hovertext: [`${a.arm}: ${fmtEstimate(a.loops!)} loops per response`],
    hoverinfo: "text",
    marker: { color: armStyle(a.arm).color },
    error_y: errorOf(a.loops!, "#24292f"),
  }));
  const g = greedy.filter((x) => x.loops !== null);
  if (g.length)
    data.push({
      type: "scatter",
      mode: "markers",
      name: "greedy (hollow)",
      x: g.map((x) => x.arm),
      y: g.map((x) => x.loops!),
      text: g.map((x) => `${x.arm} greedy: ${fmt(x.loops!)} loops per response`),
      hoverinfo: "text",
      marker: { color: "#24292f", symbol: "diamond-open", size: 13, line: { width: 2 } },
    });
  return {
    name: "loops",
    title,
    shows: `Re-check loops per sampled N=1 response, mean with its 95% interval (three-level bootstrap), the SFT model beside the RL arms; ${g.length ? "hollow diamond: greedy, the mean over its responses" : "no greedy rows"}.`,
    fig: {
      data,
      layout: {
        margin: { l: 70, r: 20, t: 60, b: 80 },
        title: { text: title },
        showlegend: false,
        xaxis: { title: { text: "arm" }, type: "category" },
        yaxis: countAxis(data, "re-check loops per response"),
      },
    },
    skipped: null,
    size: { width: 900, height: 500 },
  };
}

/** Figure 4: accuracy and tokens/problem against the linear penalty's strength, bcr and single as references. */
export function doseResponseFigure(id: string, j: Judgement): StudyFigure {
  const title = `Experiment ${id}: linear penalty dose-response at N=1`;
  if (j.arms.length === 0) return skip("dose-response", title, GATE_FAILED);
  const pens = j.arms
    .filter((a) => (penaltyStrength(a.arm) ?? 0) > 0)
    .sort((a, b) => penaltyStrength(a.arm)! - penaltyStrength(b.arm)!);
  if (pens.length === 0) return skip("dose-response", title, "no linear penalty arms in this experiment");
  const lambdas = pens.map((a) => penaltyStrength(a.arm)!);
  const range: [number, number] = [Math.log10(lambdas[0]!) - 0.3, Math.log10(lambdas.at(-1)!) + 0.3];
  const ends = [10 ** range[0], 10 ** range[1]];
  const data: Trace[] = [];
  const refs = ["bcr", "single"].flatMap((r) => j.arms.filter((a) => a.arm === r));
  for (const [k, metric] of (["accuracy", "tokens"] as const).entries()) {
    const axes = k === 0 ? {} : { xaxis: "x2" as const, yaxis: "y2" as const };
    for (const r of refs) {
      const s = armStyle(r.arm);
      const e = r[metric];
      data.push(bandTrace(ends, [e.ci[0], e.ci[0]], [e.ci[1], e.ci[1]], s.color, { legendgroup: r.arm, ...axes }));
      data.push({
        type: "scatter",
        mode: "lines",
        name: `${r.arm} (no length penalty)`,
        legendgroup: r.arm,
        showlegend: k === 0,
        x: ends,
        y: [e.mean, e.mean],
        text: [0, 1].map(() => `${r.arm}: ${metric === "accuracy" ? "accuracy" : TOKENS} ${fmtEstimate(e)}`),
        hoverinfo: "text",
        line: { color: s.color, width: 2, dash: "dash" },
        ...axes,
      });
      if (metric === "accuracy" && r.greedyAccuracy !== null)
        data.push({
          type: "scatter",
          mode: "lines",
          name: `${r.arm} greedy`,
          legendgroup: r.arm,
          showlegend: false,
          x: ends,
          y: [r.greedyAccuracy, r.greedyAccuracy],
          text: [0, 1].map(() => `${r.arm} greedy: accuracy ${fmt(r.greedyAccuracy!)}`),
          hoverinfo: "text",
          line: { color: s.color, width: 1, dash: "dot" },
        });
    }
    data.push({
      type: "scatter",
      mode: "lines+markers",
      name: "linear penalty",
      legendgroup: "linear",
      showlegend: k === 0,
      x: lambdas,
      y: pens.map((a) => a[metric].mean),
      text: pens.map((a) => `${a.arm}: ${metric === "accuracy" ? "accuracy" : TOKENS} ${fmtEstimate(a[metric])}`),
      hoverinfo: "text",
      line: { color: methodColor("linear"), width: 2 },
      marker: { color: pens.map((a) => methodColor(a.arm)), size: 11, line: { color: "#ffffff", width: 1 } },
      error_y: {
        type: "data",
        symmetric: false,
        array: pens.map((a) => a[metric].ci[1] - a[metric].mean),
        arrayminus: pens.map((a) => a[metric].mean - a[metric].ci[0]),
        color: methodColor("linear"),
        thickness: 1.5,
        width: 4,
      },
      ...axes,
    });
  }
  const greedy = pens.filter((a) => a.greedyAccuracy !== null);
  if (greedy.length)
    data.push({
      type: "scatter",
      mode: "markers",
      name: "greedy accuracy (hollow; dotted for the references)",
      x: greedy.map((a) => penaltyStrength(a.arm)!),
      y: greedy.map((a) => a.greedyAccuracy!),
      text: greedy.map((a) => `${a.arm} greedy: accuracy ${fmt(a.greedyAccuracy!)}`),
      hoverinfo: "text",
      marker: { color: greedy.map((a) => methodColor(a.arm)), symbol: "circle-open", size: 13, line: { width: 2 } },
    });
  const lambdaAxis = {
    type: "log" as const,
    tickvals: lambdas,
    range,
    title: { text: "lambda (linear penalty strength, log scale)" },
  };
  const layout: Layout = {
    margin: { l: 70, r: 20, t: 60, b: 130 },
    title: { text: title },
    legend: { orientation: "h", x: 0, y: -0.22, yanchor: "top" },
    xaxis: { ...lambdaAxis, domain: [0, 0.46], anchor: "y" },
    yaxis: { ...accuracyAxis(data), anchor: "x" },
    xaxis2: { ...lambdaAxis, domain: [0.56, 1], anchor: "y2" },
    yaxis2: { title: { text: TOKENS }, anchor: "x2" },
    height: 520,
  };
  return {
    name: "dose-response",
    title,
    shows:
      `The linear penalty's arms at sampled N=1 against their strength: accuracy (left) and tokens per problem (right), means with 95% intervals (three-level bootstrap); ${refs.map((r) => r.arm).join(" and ") || "no reference arm"} as dashed horizontal lines with their bands (single is the penalty at lambda = 0). ` +
      (greedy.length || refs.some((r) => r.greedyAccuracy !== null)
        ? "Greedy accuracy: hollow markers for the penalties, dotted lines for the references."
        : "No greedy rows."),
    fig: { data, layout },
    skipped: null,
    size: { width: 1100, height: 520 },
  };
}

/** Every figure of one experiment, in report order (skipped ones included, with their reason). */
export function studyFigures(
  id: string,
  j: Judgement,
  archive: RowsArchive,
  rules: Pick<Rules, "seed" | "bootstrap" | "level">,
): StudyFigure[] {
  let sweep: SweepEstimates | null = null;
  let sweepError: string | null = null;
  try {
    sweep = archive.meta.gatePassed ? sweepEstimates(archive, rules) : null;
  } catch (e) {
    sweepError = (e as Error).message;
  }
  return [
    frontierFigure(id, j),
    sweepError
      ? skip(
          "n-sweep",
          `Experiment ${id}: accuracy and tokens per problem against N`,
          `sweep rows not usable: ${sweepError}`,
        )
      : nSweepFigure(id, j, sweep),
    loopsFigure(id, j, archive),
    doseResponseFigure(id, j),
  ];
}
