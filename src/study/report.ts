/**
 * The regime study's report (issue 29, "Reporting"): what `bcr study` writes beside
 * results/study.json once every experiment is judged.
 *
 *   results/study/findings.md          the findings table, one row per (experiment, claim): the
 *                                      claim, its verdict, the figure that decided it (the rule's
 *                                      numbers and the plot), the gate; a failed gate shows
 *                                      "gate failed" and no verdict. Markdown for the README.
 *   results/study/<id>/figures/        frontier, n-sweep, loops, dose-response (figures.ts) as
 *                                      <name>.html (the one shared plotly.js, viz/render.ts) and
 *                                      <name>.png (one headless Chromium, when there is one)
 *   results/study/report.html          the findings table first, then per experiment its
 *                                      question, the gate per SFT seed, the rules and the commit
 *                                      that fixed them, the verdicts, the arms (greedy beside
 *                                      sampled), the notes, and the figures: interactive where
 *                                      plotly.js loads (a browser, a trusted notebook), the PNG
 *                                      otherwise (an untrusted Jupyter viewer runs no script).
 *
 * The same inputs give the same bytes in findings.md and report.html: no time, no PNG bytes
 * inside (the page links the PNGs, so a renderer's last-bit differences stay in the PNGs).
 * Text is escaped with `$` included (MathJax hosts such as Jupyter), as in the reproduce report.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Log } from "../reproduce/layout.js";
import { esc } from "../reproduce/report.js";
import { writeFileAtomic } from "../util/fsx.js";
import type { Figure } from "../viz/figures.js";
import {
  copyPlotly,
  plotlyFallbackSrc,
  plotlyScriptTags,
  Renderer,
  scriptJson,
  writeFigureHtml,
} from "../viz/render.js";
import type { ClaimId, Experiment } from "./config.js";
import { armOrder, STUDY_FIGURES, type StudyFigure, type StudyFigureName, studyFigures } from "./figures.js";
import { gateFigure, type Judgement } from "./judge.js";
import type { RowsArchive } from "./rows.js";
import type { StudyOutput } from "./runner.js";
import { type Estimate, fmt } from "./verdict.js";

export interface StudyReportEntry {
  exp: Experiment;
  archive: RowsArchive;
  judgement: Judgement;
  /** The commit that fixed the rules the rows were run under (provenance.ts; null: never committed). */
  rulesCommit: string | null;
  /** Whether the config file differed from that commit. */
  rulesDirty: boolean;
}

export interface StudyReportOptions {
  /** Render PNGs (default true; needs Chromium, viz/render.ts). */
  png?: boolean;
  /** A smoke study (tiny models): both files open with "smoke test, not a result". */
  smoke?: boolean;
}

/** The plain name of each claim, as the findings table writes it. */
export const CLAIM_NAMES: Record<ClaimId, string> = {
  "1": "1. task-scaling law",
  "2": "2. free lunch at N=1",
  "3": "3. loops disappear",
  "4": "4. stability",
  frontier: "frontier: bcr vs linear penalty at equal tokens",
  sharing: "sharing",
};

/** The plot that decides each claim (null: the rule's numbers only). */
export const CLAIM_PLOT: Record<ClaimId, StudyFigureName | null> = {
  "1": "n-sweep",
  "2": "frontier",
  "3": "loops",
  "4": null,
  frontier: "frontier",
  sharing: null,
};

export const SMOKE_TEXT =
  "SMOKE TEST, NOT A RESULT: tiny models trained for a few steps; the verdicts only show that the study runs end to end.";

/** One row of the findings table. */
export interface FindingRow {
  experiment: string;
  claim: ClaimId;
  name: string;
  /** The verdict; null where the gate failed (nothing was judged). */
  verdict: string | null;
  /** The rule's deciding numbers; null where the gate failed. */
  figure: string | null;
  /** The plot that decided it, when it was drawn: <experiment>/figures/<plot>.png. */
  plot: StudyFigureName | null;
  gate: { passed: boolean; figure: string };
  /** Each kernel set's own verdict, where replicates under other kernel sets were judged (arithmetic.ts). */
  sides?: { kernels: string; verdict: string }[];
}

/** Experiments in study.json's order, then any entry it does not list (yet). */
function experimentIds(entries: readonly StudyReportEntry[], output: StudyOutput): string[] {
  return [...new Set([...output.experiments.map((e) => e.id), ...entries.map((e) => e.exp.spec.id)])];
}

/**
 * The findings: one row per (experiment, claim), from this call's judgements where there is one
 * and from study.json otherwise (an experiment judged in an earlier call). `drawn` says which
 * plots exist per experiment (a claim whose plot was skipped names none).
 */
export function findingRows(
  entries: readonly StudyReportEntry[],
  output: StudyOutput,
  drawn: (id: string, plot: StudyFigureName) => boolean = () => true,
): FindingRow[] {
  return experimentIds(entries, output).flatMap((id) => {
    const entry = entries.find((e) => e.exp.spec.id === id);
    const prior = output.experiments.find((e) => e.id === id);
    const gate = entry
      ? { passed: entry.archive.meta.gatePassed, figure: gateFigure(entry.archive.meta.gate) }
      : { passed: prior!.gate.passed, figure: prior!.gate.figure };
    const claims = entry ? entry.judgement.claims : prior!.claims;
    const arithmetic = entry ? entry.judgement.arithmetic : prior!.arithmetic;
    return claims.map((c) => {
      const claim = c.id as ClaimId;
      // Judged unless every side's gate failed: a gate that failed here but passed under another
      // kernel set leaves the claim not decided, which is a verdict.
      const judged = c.verdict !== "gate failed";
      const plot = CLAIM_PLOT[claim] ?? null;
      return {
        ...(arithmetic
          ? {
              sides: arithmetic.map((s) => ({
                kernels: s.kernels,
                verdict: s.claims.find((x) => x.id === c.id)?.verdict ?? "not judged",
              })),
            }
          : {}),
        experiment: id,
        claim,
        name: CLAIM_NAMES[claim] ?? claim,
        verdict: judged ? c.verdict : null,
        figure: judged ? c.figure : null,
        plot: judged && plot && drawn(id, plot) ? plot : null,
        gate,
      };
    });
  });
}

const md = (s: string) => s.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\n/g, " ");

/** Whether every kernel set gave the same verdict (no sides: there was one kernel set). */
const sidesAgree = (r: FindingRow) => !r.sides || r.sides.every((s) => s.verdict === r.sides![0]!.verdict);

/** The kernel sets behind a verdict, in words: "(native (OpenBLAS Zen) and wasm agree)" or each side's verdict. */
function sidesText(r: FindingRow): string {
  if (!r.sides) return "";
  return sidesAgree(r)
    ? ` (${r.sides.map((s) => s.kernels).join(" and ")} agree)`
    : ` (${r.sides.map((s) => `${s.kernels}: ${s.verdict}`).join("; ")})`;
}

export const ACROSS_KERNELS_TEXT =
  "Where an experiment was also run under another kernel set (the study config's arithmeticReplicates), its verdict is the one every kernel set gives, and a verdict they disagree on is not decided; the decided-by column holds each kernel set's verdict and numbers.";

/**
 * The findings table as Markdown. Plot links are relative to `linkPrefix` (default: beside
 * results/study/findings.md; "results/study/" from the repository root, for the README).
 */
export function findingsMarkdown(
  rows: readonly FindingRow[],
  opts: { linkPrefix?: string; smoke?: boolean } = {},
): string {
  const prefix = opts.linkPrefix ?? "";
  const lines = [
    ...(opts.smoke ? [`**${SMOKE_TEXT}**`, ""] : []),
    "| experiment | claim | verdict | decided by | gate |",
    "|---|---|---|---|---|",
    ...rows.map((r) => {
      const decided =
        r.figure === null
          ? "not judged"
          : `${md(r.figure)}${r.plot ? ` ([${r.plot}.png](${prefix}${r.experiment}/figures/${r.plot}.png))` : ""}`;
      return `| ${r.experiment} | ${md(r.name)} | ${r.verdict === null ? "gate failed" : `**${r.verdict}**${md(sidesText(r))}`} | ${decided} | ${r.gate.passed ? "passed" : "**failed**"}: ${md(r.gate.figure)} |`;
    }),
    "",
    "Verdicts by the pre-registered rules of configs/study/<id>.json, re-judged from results/study/<id>/rows.jsonl.gz by `bcr study --rejudge`; intervals are 95%, three-level bootstrap over SFT seed, RL seed and problem. An experiment whose gate failed on a majority of its SFT seeds is not judged.",
    ...(rows.some((r) => r.sides) ? ["", ACROSS_KERNELS_TEXT] : []),
    "",
  ];
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------
// report.html

const VERDICT_COLOR: Record<string, string> = {
  held: "#1a7f37",
  partially: "#9a6700",
  "not held": "#cf222e",
  "not decided": "#8250df",
  "not testable": "#57606a",
  "gate failed": "#6e7781",
};

const badge = (v: string) => `<span class="badge" style="background:${VERDICT_COLOR[v] ?? "#57606a"}">${esc(v)}</span>`;
const num = (text: string) => `<td class="num">${esc(text)}</td>`;
const ciCell = (e: Estimate | null, d = 3) =>
  e && Number.isFinite(e.mean)
    ? `<td class="num">${esc(e.mean.toFixed(d))} <span class="ci">[${esc(e.ci[0].toFixed(d))}, ${esc(e.ci[1].toFixed(d))}]</span></td>`
    : num("–");

function htmlTable(head: string[], rows: string[], cls = ""): string {
  return (
    `<table${cls ? ` class="${cls}"` : ""}><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead>\n` +
    `<tbody>\n${rows.join("\n")}\n</tbody></table>`
  );
}

const figId = (id: string, name: string) => `fig-${id}-${name}`;

function findingsTable(rows: readonly FindingRow[]): string {
  return htmlTable(
    ["experiment", "claim", "verdict", "decided by", "gate"],
    rows.map(
      (r) =>
        `<tr><td><a href="#exp-${esc(r.experiment)}">${esc(r.experiment)}</a></td><td>${esc(r.name)}</td>` +
        `<td>${badge(r.verdict ?? "gate failed")}${r.sides && r.verdict !== null ? `<br><span class="small">${esc(sidesText(r).trim())}</span>` : ""}</td>` +
        `<td>${r.figure === null ? '<span class="small">not judged</span>' : esc(r.figure)}${r.plot ? ` <a href="#${figId(r.experiment, r.plot)}">(${esc(r.plot)})</a>` : ""}</td>` +
        `<td>${r.gate.passed ? "passed" : "<b>failed</b>"}: ${esc(r.gate.figure)}</td></tr>`,
    ),
    "findings",
  );
}

/** The experiment file as the report names it (relative to the working folder when given absolute). */
const fileName = (file: string) => (path.isAbsolute(file) ? path.relative(process.cwd(), file) : file);

function experimentSection(e: StudyReportEntry, figures: readonly StudyFigure[], pngs: ReadonlySet<string>): string {
  const { spec, base } = e.exp;
  const { meta } = e.archive;
  const j = e.judgement;
  const id = spec.id;
  const file = fileName(e.exp.file);
  const rules = e.rulesCommit
    ? `Rules fixed in <code>${esc(file)}</code> at commit <code>${esc(e.rulesCommit)}</code>.` +
      (e.rulesDirty
        ? ` <span class="warn">The file was modified since that commit: the rules below are not the committed ones.</span>`
        : "")
    : `<span class="warn">Rules in <code>${esc(file)}</code>, NOT COMMITTED: they were not fixed in the repository before this run.</span>`;
  const rulesRows = Object.entries(spec.rules).map(
    ([k, v]) => `<tr><td class="key">${esc(k)}</td><td>${esc(typeof v === "string" ? v : JSON.stringify(v))}</td></tr>`,
  );
  if (spec.pilot) rulesRows.push(`<tr><td class="key">pilot</td><td>${esc(spec.pilot)}</td></tr>`);
  const gateRows = meta.gate.flatMap((g) =>
    g.gates.map(
      (x) =>
        `<tr>${num(String(g.sft))}<td>${esc(x.metric)}</td>${num(fmt(x.measured))}${num(`${x.direction} ${fmt(x.threshold)}`)}<td>${x.passed ? "yes" : "<b>no</b>"}</td><td>${esc(x.how)}</td></tr>`,
    ),
  );
  const passed = meta.gate.filter((g) => g.passed).length;
  const drawn = new Set(figures.filter((f) => f.fig).map((f) => f.name));
  const verdicts = j.claims
    .map((c) => {
      const plot = CLAIM_PLOT[c.id];
      const link = plot && drawn.has(plot) ? ` <a href="#${figId(id, plot)}">(${esc(plot)})</a>` : "";
      return `<li>${badge(c.verdict)} <b>${esc(CLAIM_NAMES[c.id] ?? c.id)}.</b> ${esc(c.figure)}${c.verdict === "gate failed" ? "" : link}</li>`;
    })
    .join("\n");
  const across = j.arithmetic ? acrossKernelSetsSection(j) : "";
  const arms = armOrder(j.arms.map((a) => a.arm)).map((a) => j.arms.find((x) => x.arm === a)!);
  const armTable = arms.length
    ? htmlTable(
        ["arm", "accuracy", "tokens/problem", "loops/response", "greedy accuracy"],
        arms.map(
          (a) =>
            `<tr><td class="method">${esc(a.arm)}</td>${ciCell(a.accuracy)}${ciCell(a.tokens, 1)}${ciCell(a.loops, 2)}${num(a.greedyAccuracy === null ? "–" : a.greedyAccuracy.toFixed(3))}</tr>`,
        ),
      )
    : '<p class="instead">No arm was evaluated: the gate failed, so no RL ran.</p>';
  const reasons = new Set(figures.map((f) => f.skipped));
  const allSkipped = figures.length > 0 && figures.every((f) => !f.fig) && reasons.size === 1;
  const figs = allSkipped
    ? `<div class="instead">No figure drawn: ${esc(figures[0]!.skipped ?? "")}.</div>`
    : figures
        .map((f, k) => {
          const fid = figId(id, f.name);
          if (!f.fig)
            return `<figure id="${fid}"><div class="instead">${esc(f.title)}: not drawn, ${esc(f.skipped ?? "")}.</div></figure>`;
          const page = `${id}/figures/${f.name}.html`;
          const fallback = pngs.has(`${id}/${f.name}`)
            ? `<a href="${page}"><img src="${id}/figures/${f.name}.png" alt="${esc(f.title)}" width="${f.size.width}"></a>`
            : `<p class="small">(no PNG rendered: <a href="${page}">interactive figure</a>)</p>`;
          return (
            `<figure id="${fid}"><div class="plot" id="plot-${fid}" data-height="${f.size.height}">${fallback}</div>` +
            `<figcaption><b>Figure ${id}.${k + 1}.</b> ${esc(f.shows)} <a href="${page}">Interactive page</a>.</figcaption></figure>`
          );
        })
        .join("\n");
  return `<h2 id="exp-${esc(id)}">Experiment ${esc(id)}</h2>
<p class="question">${esc(spec.question)}</p>
<h3>Verdicts</h3>
<ul class="verdicts">
${verdicts}
</ul>
${across}<h3>Gate</h3>
<div class="scroll">${htmlTable(["SFT seed", "metric", "measured", "threshold", "passed", "how"], gateRows)}</div>
<p>Gate <b>${meta.gatePassed ? "passed" : "failed"}</b> on ${passed} of ${meta.gate.length} SFT seeds (a majority must pass; a failed gate leaves every claim unjudged).</p>
<h3>Rules</h3>
<p>${rules}</p>
<details><summary>The pre-registered rules</summary><div class="scroll">${htmlTable(["rule", "value"], rulesRows, "settings")}</div></details>
<p class="small">Design: SFT seeds ${esc(spec.sftSeeds.join(", "))}; RL seeds ${esc(spec.rlSeeds.join(", "))} on each; ${meta.test.problems} test problems (the split has ${meta.test.available}); ${base.eval.samples} samples per problem at temperature ${esc(String(base.eval.temperature))}${base.eval.greedy ? ", greedy beside them" : ", no greedy eval"}; N=1 budget ${meta.budgets.n1}, sweep budget ${meta.budgets.sweep}. Intervals: three-level bootstrap (SFT seed, RL seed, problem), ${spec.rules.bootstrap} resamples, level ${spec.rules.level}.</p>
<h3>Arms at N=1</h3>
<p class="small">Sampled N=1: means with ${Math.round(100 * spec.rules.level)}% intervals; greedy accuracy is the mean over the greedy responses (one per problem and model).</p>
<div class="scroll">${armTable}</div>
${j.notes.length ? `<h3>Notes</h3>\n<ul>${j.notes.map((n) => `<li>${esc(n)}</li>`).join("\n")}</ul>` : ""}
<h3>Figures</h3>
${figs}`;
}

/** The "Across kernel sets" part of an experiment's section: each kernel set's gate and verdicts, and the verdict that stands. */
function acrossKernelSetsSection(j: Judgement): string {
  const sides = j.arithmetic!;
  const passed = sides.filter((s) => s.gate.passed).length;
  const gateRow =
    `<tr><td>gate</td>${sides.map((s) => `<td>${s.gate.passed ? "passed" : "<b>failed</b>"}</td>`).join("")}` +
    `<td>${passed === sides.length ? "passed" : passed === 0 ? "<b>failed</b>" : "<b>differs</b>: every claim not decided"}</td></tr>`;
  const claimRows = j.claims.map(
    (c) =>
      `<tr><td>${esc(CLAIM_NAMES[c.id] ?? c.id)}</td>${sides
        .map((s) => `<td>${badge(s.claims.find((x) => x.id === c.id)?.verdict ?? "not judged")}</td>`)
        .join("")}<td>${badge(c.verdict)}</td></tr>`,
  );
  return `<h3>Across kernel sets</h3>
<p>The same config run again under another kernel set: the verdict that stands is the one every kernel set gives; one they disagree on is not decided. Rows: ${sides.map((s) => `<code>${esc(s.rows)}</code> (${esc(s.kernels)})`).join(", ")}.</p>
<div class="scroll">${htmlTable(["claim", ...sides.map((s) => s.kernels), "across kernel sets"], [gateRow, ...claimRows])}</div>
`;
}

const STYLE = `
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 1.5em auto; padding: 0 1em; color: #1f2328; box-sizing: border-box; line-height: 1.45; }
h1 { font-size: 1.7em; margin: 0 0 0.2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #d0d7de; padding-bottom: 0.2em; }
h3 { font-size: 1.05em; margin: 1.3em 0 0.3em; }
.meta { color: #57606a; margin: 0 0 0.8em; font-size: 0.9em; }
.question { font-size: 1.02em; background: #f6f8fa; border-left: 4px solid #0969da; padding: 0.5em 0.9em; }
.badge { display: inline-block; color: #fff; border-radius: 4px; padding: 0 6px; font-size: 0.85em; font-weight: 600; white-space: nowrap; }
.smoke, .warn { color: #9a6700; background: #fff8c5; border: 1px solid #d4a72c; padding: 2px 6px; border-radius: 6px; font-weight: 600; }
.smoke { display: block; padding: 8px 12px; }
ul.verdicts li { margin: 0.35em 0; }
.scroll { max-width: 100%; overflow-x: auto; }
table { border-collapse: collapse; margin: 0.3em 0 0.4em; font-size: 0.86em; }
th, td { border: 1px solid #d0d7de; padding: 3px 7px; vertical-align: top; }
th { background: #f6f8fa; text-align: left; font-weight: 600; }
td.num { white-space: nowrap; text-align: right; font-variant-numeric: tabular-nums; }
td.method { font-weight: 600; white-space: nowrap; }
table.settings td.key { font-family: ui-monospace, monospace; white-space: nowrap; }
.ci { color: #57606a; font-size: 0.9em; }
.small { font-size: 0.85em; color: #57606a; }
figure { margin: 1.4em 0; } figure img { max-width: 100%; border: 1px solid #d0d7de; display: block; }
figcaption { font-size: 0.92em; margin-top: 0.4em; max-width: 1100px; }
.instead { border: 1px dashed #afb8c1; border-radius: 6px; padding: 1.2em; color: #57606a; text-align: center; }
details { margin: 0.4em 0; } summary { cursor: pointer; font-weight: 600; }
footer { margin: 2em 0 1em; color: #57606a; font-size: 0.85em; border-top: 1px solid #d0d7de; padding-top: 0.6em; }
`;

export interface StudyReportInput {
  entries: readonly StudyReportEntry[];
  figures: Readonly<Record<string, readonly StudyFigure[]>>;
  output: StudyOutput;
  /** "<id>/<figure>" of every PNG written. */
  pngs: ReadonlySet<string>;
  /** Lines about how the report was made (PNG rendering unavailable, ...). */
  notes: readonly string[];
  /** Where plotly.js is looked for, relative to the page: the shared copy first, then fallbacks. */
  plotly: { src: string; fallbacks: string[] };
  smoke?: boolean;
}

/** report.html as a string (see the header); a pure function of its input. */
export function studyReportHtml(r: StudyReportInput): string {
  const drawn = (id: string, plot: StudyFigureName) => r.figures[id]?.some((f) => f.name === plot && f.fig) ?? false;
  const rows = findingRows(r.entries, r.output, drawn);
  const sections = experimentIds(r.entries, r.output).map((id) => {
    const e = r.entries.find((x) => x.exp.spec.id === id);
    if (e) return experimentSection(e, r.figures[id] ?? [], r.pngs);
    return `<h2 id="exp-${esc(id)}">Experiment ${esc(id)}</h2>\n<p class="instead">Judged in an earlier call (its verdicts above are from study.json); its section is written when the report is built with its rows (results/study/${esc(id)}/rows.jsonl.gz).</p>`;
  });
  const figs: Record<string, Figure> = {};
  for (const [id, fs_] of Object.entries(r.figures))
    for (const f of fs_) if (f.fig) figs[`plot-${figId(id, f.name)}`] = f.fig;
  const wall = r.output.wall_s.total;
  const peak = peakText(r.output.experiments);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>BCR regime study report</title>
<style>${STYLE}</style>
</head>
<body class="tex2jax_ignore mathjax_ignore">
<h1>Batched Contextual Reinforcement: the regime study</h1>
<p class="meta">Experiments ${esc(experimentIds(r.entries, r.output).join(", "))}${wall !== undefined ? ` · wall time ${esc(wall.toFixed(0))} s${peak ? ` ${esc(peak)}` : ""}` : ""} · per-sample rows in results/study/&lt;id&gt;/rows.jsonl.gz</p>
${r.smoke ? `<p class="smoke">${esc(SMOKE_TEXT)}</p>` : ""}
<h2 id="findings">Findings</h2>
<div class="scroll">${findingsTable(rows)}</div>
<p class="small">One row per claim of each experiment: the verdict by the pre-registered rule, the numbers that decided it (95% intervals, three-level bootstrap over SFT seed, RL seed and problem) and the plot, and the experiment's gate. An experiment whose gate failed on a majority of its SFT seeds is not judged ("gate failed", no verdict). Greedy decoding is reported beside sampled in every arm table and figure.</p>
${r.notes.length ? `<ul class="small">${r.notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>` : ""}
${sections.join("\n")}
<footer>Made by <code>bcr study</code>. <code>bcr study --rejudge</code> re-judges every verdict from the committed rows and rebuilds this page; each figure has its own interactive page in results/study/&lt;id&gt;/figures/.</footer>
${plotlyScriptTags(r.plotly.src, r.plotly.fallbacks)}
<script>
(function () {
  if (typeof Plotly === "undefined") return;
  var figures = ${scriptJson(figs)};
  Object.keys(figures).forEach(function (id) {
    var el = document.getElementById(id);
    if (!el) return;
    var fig = figures[id];
    el.innerHTML = "";
    el.style.height = (fig.layout.height || Number(el.getAttribute("data-height")) || 560) + "px";
    Plotly.newPlot(el, fig.data, fig.layout, { responsive: true });
  });
})();
</script>
</body>
</html>
`;
}

/** Writes findings.md, every experiment's figures and report.html under <out>/study (see the header). */
export async function writeStudyReport(
  out: string,
  entries: StudyReportEntry[],
  output: StudyOutput,
  log: Log,
  opts: StudyReportOptions = {},
): Promise<void> {
  const dir = path.join(out, "study");
  fs.mkdirSync(dir, { recursive: true });
  const figures: Record<string, StudyFigure[]> = {};
  for (const e of entries)
    figures[e.exp.spec.id] = studyFigures(e.exp.spec.id, e.judgement, e.archive, e.exp.spec.rules);

  const notes: string[] = [];
  let renderer: Renderer | null = null;
  if (opts.png ?? true) {
    if (Renderer.available()) renderer = new Renderer();
    else {
      const why = "PNG figures were not rendered: Chromium not found (install Debian's chromium or set BCR_CHROMIUM)";
      notes.push(`${why}.`);
      log(`[study] report: ${why}; writing the interactive pages only`);
    }
  }
  const pngs = new Set<string>();
  let renderError: string | null = null;
  try {
    for (const [id, figs] of Object.entries(figures)) {
      const figDir = path.join(dir, id, "figures");
      if (figs.some((f) => f.fig)) fs.mkdirSync(figDir, { recursive: true });
      for (const f of figs) {
        // A figure skipped now, or not rendered now, leaves no file of an earlier report behind.
        for (const ext of [".png", ".html"]) fs.rmSync(path.join(figDir, `${f.name}${ext}`), { force: true });
        if (!f.fig) {
          log(`[study] report: ${id} ${f.name} not drawn: ${f.skipped}`);
          continue;
        }
        writeFigureHtml(path.join(figDir, `${f.name}.html`), f.fig, { title: f.title });
        if (!renderer || renderError) continue;
        try {
          await renderer.writePng(path.join(figDir, `${f.name}.png`), f.fig, f.size);
          pngs.add(`${id}/${f.name}`);
        } catch (err) {
          renderError = (err as Error).message.split("\n")[0]!;
          log(`[study] report: PNG rendering failed (${renderError}); writing the interactive pages only`);
        }
      }
    }
  } finally {
    await renderer?.close();
  }
  if (renderError) notes.push(`PNG rendering failed: ${renderError}.`);

  const drawn = (id: string, plot: StudyFigureName) => figures[id]?.some((f) => f.name === plot && f.fig) ?? false;
  writeFileAtomic(
    path.join(dir, "findings.md"),
    findingsMarkdown(findingRows(entries, output, drawn), { smoke: opts.smoke }),
  );
  copyPlotly(dir);
  writeFileAtomic(
    path.join(dir, "report.html"),
    studyReportHtml({
      entries,
      figures,
      output,
      pngs,
      notes,
      plotly: { src: "plotly.min.js", fallbacks: [plotlyFallbackSrc(dir)] },
      smoke: opts.smoke,
    }),
  );
  log(
    `[study] report: ${path.join(dir, "report.html")}, ${path.join(dir, "findings.md")}, ${pngs.size} PNG figures (${STUDY_FIGURES.join(", ")} per experiment)`,
  );
}

/**
 * "(the machine's sgemm peak 86-93 GFLOP/s on 2 threads)": what the machine's sgemm peak read
 * around the experiments that recorded it (rows meta.sgemm_peak); "" where none did. A record
 * beside the wall time (the figure MFUs are shares of), not its explanation (eta.ts).
 */
export function peakText(
  experiments: readonly { sgemm_peak?: { threads: number; start: number; end: number } }[],
): string {
  const peaks = experiments.flatMap((e) => (e.sgemm_peak ? [e.sgemm_peak] : []));
  if (!peaks.length) return "";
  const g = peaks.flatMap((p) => [p.start, p.end]);
  const lo = Math.min(...g).toFixed(0),
    hi = Math.max(...g).toFixed(0);
  const threads = [...new Set(peaks.map((p) => p.threads))].join(" or ");
  const partial =
    peaks.length < experiments.length ? `, recorded for ${peaks.length} of ${experiments.length} experiments` : "";
  return `(the machine's sgemm peak ${lo === hi ? lo : `${lo}-${hi}`} GFLOP/s on ${threads} threads${partial})`;
}
