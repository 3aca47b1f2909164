/**
 * The outputs in results/: claims.json, summary.json, tables/*.csv, figures/*.{png,html} (one
 * shared plotly.min.js, PNGs through one Renderer) and report.html, one self-contained page
 * (PNGs embedded as data URIs, each linking to its interactive figure).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Run } from "../analysis/stability.js";
import { stabilityRows } from "../analysis/stability.js";
import { toHtml, writeCsv, type Row } from "../analysis/tables.js";
import { writeFileAtomic, writeJsonAtomic } from "../util/fsx.js";
import {
  accuracyVsTokensFigure,
  doseResponseFigure,
  gradientFigure,
  lengthHistogramFigure,
  loopHistogramFigure,
  positionAccuracyFigure,
  taskScalingFigure,
  trainingCurvesFigure,
  type DosePoint,
  type Figure,
} from "../viz/figures.js";
import { copyPlotly, Renderer, writeFigureHtml } from "../viz/render.js";
import { fitSummaryText } from "../analysis/fit.js";
import { fitFromSummary, type Analysis, type MethodAnalysis, type N1Metrics } from "./analysis.js";
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

export function figures(analysis: Analysis, runs: Run[]): Record<string, { title: string; fig: Figure }> {
  const order = methodOrder(analysis);
  const ms = order.map((m) => analysis.methods[m]!);
  const best = (m: MethodAnalysis, k: "tokens_per_problem" | "accuracy") =>
    m.fits[k][0] ? fitFromSummary(m.fits[k][0]!) : undefined;
  const out: Record<string, { title: string; fig: Figure }> = {};
  const withSweep = ms.filter((m) => m.sweep.length > 0);
  if (withSweep.length) {
    out.task_scaling = {
      title: "Task scaling: tokens per problem and accuracy vs N (fixed total budget), best fit with 95% band",
      fig: taskScalingFigure(
        withSweep.map((m) => ({
          method: m.method,
          ns: m.sweep.map((p) => p.n),
          tokensPerProblem: m.sweep.map((p) => p.tokens_per_problem.mean),
          accuracy: m.sweep.map((p) => p.accuracy.mean),
          tokensFit: best(m, "tokens_per_problem"),
          accuracyFit: best(m, "accuracy"),
        })),
      ),
    };
  }
  out.accuracy_vs_tokens = {
    title: "Accuracy vs tokens per problem at N=1 (one point per seed; mean with 95% CI)",
    fig: accuracyVsTokensFigure(
      ms.flatMap((m) =>
        m.n1.accuracy.per_seed.map((acc, i) => ({
          method: m.method,
          seed: m.seeds[i] ?? 0,
          accuracy: acc,
          tokensPerProblem: m.n1.tokens_per_problem.per_seed[i]!,
        })),
      ),
    ),
  };
  if (runs.length) {
    out.training_reward_accuracy = {
      title: "reward/accuracy during RL",
      fig: trainingCurvesFigure(runs, "reward/accuracy", { smooth: 3 }),
    };
    out.training_length_mean = {
      title: "length/mean during RL",
      fig: trainingCurvesFigure(runs, "length/mean", { smooth: 3 }),
    };
    out.training_eval_accuracy = {
      title: "eval/accuracy (held-out, N=1) during RL",
      fig: trainingCurvesFigure(runs, "eval/accuracy"),
    };
    out.gradients = { title: "grad/cos_acc_len (penalty runs) and grad/norm during RL", fig: gradientFigure(runs) };
  }
  const pos = ms.filter((m) => m.positions.points.length > 0);
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
    };
  }
  const dose = doseResponsePoints(analysis);
  if (dose.length) {
    out.dose_response = {
      title:
        "Linear penalty: share of seeds collapsed and final eval accuracy against lambda, lambda* marked; gradient cosine below",
      fig: doseResponseFigure(dose, analysis.lambdaStar?.value ?? null),
    };
  }
  out.length_histogram = {
    title: "N=1 response length (tokens)",
    fig: lengthHistogramFigure(ms.map((m) => ({ method: m.method, values: m.samples.tokens }))),
  };
  out.loop_histogram = {
    title: "Re-check loops per N=1 response",
    fig: loopHistogramFigure(ms.map((m) => ({ method: m.method, values: m.samples.loops }))),
  };
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
  figs: Record<string, { title: string; fig: Figure }>,
  renderer: Renderer | null,
  log: (s: string) => void,
): Promise<{ png: string[]; error: string | null }> {
  copyPlotly(dir);
  const png: string[] = [];
  let error: string | null = null;
  for (const [name, { title, fig }] of Object.entries(figs)) {
    writeFigureHtml(path.join(dir, `${name}.html`), fig, { title });
    if (renderer && !error) {
      try {
        await renderer.writePng(path.join(dir, `${name}.png`), fig);
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

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const VERDICT_COLOR: Record<string, string> = {
  held: "#1a7f37",
  partially: "#9a6700",
  "not held": "#cf222e",
  "not tested": "#57606a",
};

function claimsTable(claims: Claim[]): string {
  const rows = claims
    .map(
      (c) =>
        `<tr><td>${c.number}. ${esc(c.title)}</td><td>${esc(c.paper)}</td><td>${esc(c.measurement)}</td>` +
        `<td class="verdict" style="color:${VERDICT_COLOR[c.verdict]}">${esc(c.verdict)}</td><td class="small">${esc(c.criterion)}</td></tr>`,
    )
    .join("\n");
  return `<table class="claims"><thead><tr><th>claim</th><th>the paper</th><th>our measurement (95% CI)</th><th>verdict</th><th>criterion (thresholds)</th></tr></thead>\n<tbody>${rows}</tbody></table>`;
}

function ciText(a: Analysis): string {
  return (a.ciMethod ?? "problems") === "hierarchical"
    ? "CIs: 95% hierarchical percentile bootstrap: seeds resampled, then test problems (one draw shared by every seed: all seeds answer the same problems); differences between methods paired on problems."
    : "CIs: 95% percentile bootstrap; N=1 numbers are averaged over seeds per test problem and bootstrapped over problems (seed-to-seed variance is not in these intervals; seeds_ci in claims.json has it).";
}

function lambdaStarText(a: Analysis): string {
  const s = a.lambdaStar;
  if (!s) return "";
  if (s.value === null)
    return `lambda* (the linear penalty above which a bare guess out-scores a correct answer): unknown, ${s.reason}.`;
  const c = s.correct!,
    g = s.guess!;
  return (
    `lambda* = ${s.value.toFixed(2)}: budget ${s.budget} x (${c.style ?? "traced"} accuracy ${c.accuracy.toFixed(3)} - guess accuracy ${g.accuracy.toFixed(3)}) / ` +
    `(${c.tokens.toFixed(1)} - ${g.tokens.toFixed(1)} tokens), from the SFT model's own sampled N=1 responses (${c.responses} ${c.style ?? "traced"}` +
    (g.source === "sampled"
      ? `, ${g.responses} answer-only; the guess accuracy is that of the problems it chose to guess on).`
      : `); the guess from the ladder: all ${g.responses} problems answered with the response forced to answer-only, greedy (the SFT model samples no answer-only responses; greedy makes the guess's accuracy an upper estimate, so lambda* a lower one).`)
  );
}

export interface ReportInput {
  analysis: Analysis;
  meta: RunMeta;
  tables: Record<string, Row[]>;
  figures: Record<string, { title: string; fig: Figure }>;
  /** PNG files by figure name (embedded), when rendered. */
  pngs: Record<string, Uint8Array>;
  notes: string[];
  config: unknown;
  derived: unknown;
  /** Quick mode: the page opens with a "smoke test, not a result" banner. */
  smokeTest?: boolean;
}

export function reportHtml(r: ReportInput): string {
  const { meta } = r;
  const table = (name: string, caption: string) =>
    r.tables[name]?.length
      ? `<h3>${esc(caption)}</h3>\n<div class="scroll">${toHtml(r.tables[name]!)}</div>\n<p class="small">CSV: <a href="tables/${name}.csv">tables/${name}.csv</a></p>`
      : "";
  const figs = Object.entries(r.figures)
    .map(([name, { title }]) => {
      const png = r.pngs[name];
      const img = png
        ? `<a href="figures/${name}.html"><img src="data:image/png;base64,${Buffer.from(png).toString("base64")}" alt="${esc(title)}"></a>`
        : `<p class="small">(no PNG rendered)</p>`;
      return `<figure>${img}<figcaption>${esc(title)} &mdash; <a href="figures/${name}.html">interactive</a></figcaption></figure>`;
    })
    .join("\n");
  const wall = Object.entries(meta.wall)
    .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
    .join(", ");
  return `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>BCR reproduction report</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #1f2328; box-sizing: border-box; }
.scroll { max-width: 100%; overflow-x: auto; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
td { overflow-wrap: anywhere; }
.smoke { color: #9a6700; background: #fff8c5; border: 1px solid #d4a72c; padding: 8px 12px; border-radius: 6px; font-weight: 600; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; vertical-align: top; }
th { background: #f6f8fa; }
td.verdict { font-weight: bold; white-space: nowrap; }
.small { font-size: 0.85em; color: #57606a; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #d0d7de; }
pre { background: #f6f8fa; padding: 1em; overflow: auto; font-size: 0.8em; }
</style>
</head>
<body>
<h1>Batched Contextual Reinforcement: reproduction report</h1>
${r.smokeTest ? `<p class="smoke">SMOKE TEST, NOT A RESULT: quick mode trains tiny models for a few steps. The numbers and verdicts below show that the pipeline runs end to end; they say nothing about the method.</p>` : ""}
<p>Backend <b>${esc(meta.backend)}</b>, ${meta.cores} cores (${esc(meta.cpu)}), RL seeds ${meta.seeds.join(", ")}. Wall time: ${esc(wall)}.</p>
<h2>The four claims</h2>
${claimsTable(r.analysis.claims)}
<p class="small">Verdicts are computed by src/reproduce/claims.ts from the numbers below with the thresholds shown (config section <code>claims</code>).
"partially": one of the two conditions holds. ${esc(ciText(r.analysis))} ${esc(lambdaStarText(r.analysis))}</p>
<h2>Results</h2>
${table("ladder", "Compression ladder: the SFT model at N=1, greedy, its response forced into each trace form, then unforced responses by the form they chose")}
${table("n1", `N=1 evaluation per method (sampling temperature ${(r.config as { eval?: { temperature?: number } }).eval?.temperature ?? "?"}, ${(r.config as { eval?: { samples?: number } }).eval?.samples ?? 1} independent draws per problem, each request with its own seed; intervals average a problem's draws within the problem; generous budget)`)}
${table("free_lunch", "Free lunch: paired comparisons at N=1 (token_reduction = 1 - tokens_a / tokens_b)")}
${table("sweep", "N-sweep under a fixed total budget")}
${table("fits", "Task-scaling fits (ranked by the configured criterion)")}
${table("stability", "Training stability (collapse per seed)")}
<h2>Figures</h2>
${figs}
<h2>Notes</h2>
<ul>${r.notes.map((n) => `<li>${esc(n)}</li>`).join("\n")}</ul>
<h2>Derived settings and configuration</h2>
<pre>${esc(JSON.stringify(r.derived, null, 2))}</pre>
<pre>${esc(JSON.stringify(r.config, null, 2))}</pre>
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

/** Writes everything under results/; returns the files written. */
export async function writeOutputs(i: WriteOutputsInput): Promise<string[]> {
  const { outDir, analysis } = i;
  const tbls = tables(analysis);
  for (const [name, rows] of Object.entries(tbls))
    if (rows.length) writeCsv(path.join(outDir, "tables", `${name}.csv`), rows);
  const figs = figures(analysis, i.runs);
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
