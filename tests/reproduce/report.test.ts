/**
 * report.html reads like a results section: the eval design in the header, findings first (one
 * line per claim: verdict, numbers with intervals, the deciding figure), figures with captions
 * that say what to see, tables that do not wrap numbers, no raw JSON at the end, `$` escaped.
 * Built from synthetic evals and runs (no training, no rendering).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Run } from "../../src/analysis/stability.js";
import { analyze, FIT_FORMS, type FitSummary } from "../../src/reproduce/analysis.js";
import { ReproduceConfigSchema } from "../../src/reproduce/config.js";
import type { ModelEval, N1EvalRow } from "../../src/reproduce/eval.js";
import {
  esc,
  figures,
  findingLine,
  fitParamsHtml,
  flattenSettings,
  frontierAt,
  reportHtml,
  tables,
  truncationJump,
  type RunMeta,
} from "../../src/reproduce/report.js";
import { Rng } from "../../src/util/rng.js";

const P = 40;
const ids = Array.from({ length: P }, (_, i) => `p${String(i).padStart(3, "0")}`);
const NS = [1, 2, 4, 8];

/** One model: accuracy falling with N, truncation jumping at N=8, tokens per problem `tok(n)`. */
function model(method: string, seed: number | null, acc: number, tok: (n: number) => number, rng: Rng): ModelEval {
  const n1: N1EvalRow[] = ids.map((problemId) => ({
    problemId,
    correct: rng.next() < acc,
    tokens: Math.max(1, Math.round(tok(1) + 3 * rng.normal())),
    loops: 0,
    truncated: false,
  }));
  return {
    method,
    seed,
    checkpoint: "x",
    step: 40,
    n1,
    n1Greedy: n1.map((r) => ({ ...r })),
    sweep: NS.flatMap((n) =>
      ids.map((problemId, i) => ({
        n,
        group: Math.floor(i / n),
        position: (i % n) + 1,
        problemId,
        correct: rng.next() < acc * (n === 8 ? 0.4 : 1 - 0.05 * n),
        tokens: tok(n) + rng.normal(),
        truncated: n === 8 ? rng.next() < 0.7 : false,
        failed: false,
      })),
    ),
  };
}

function fakeRun(method: string, seed: number, lambda: number | null, end: number): Run {
  return {
    dir: "",
    name: `${method}-s${seed}`,
    config: {
      method,
      seed,
      kind: lambda === null ? method : "penalty",
      ...(lambda === null ? {} : { shaping: { name: "linear", params: { lambda } } }),
    },
    metrics: [0, 10, 20].map((step, i) => ({
      step,
      "eval/accuracy": 0.4 + (end - 0.4) * (i / 2),
      ...(lambda === null ? {} : { "grad/cos_acc_len": -0.05 * lambda }),
    })),
  };
}

const config = ReproduceConfigSchema.parse({
  seeds: [1, 2],
  analysis: { bootstrap: 50 },
  eval: { temperature: 1, samples: 4, greedy: true, ns: NS, sweepBudget: 160 },
});
const meta: RunMeta = {
  backend: "cpu",
  cores: 2,
  cpu: "test",
  wall: { data: 1, sft: 2, rl: 3, eval: 4, analysis: 0.5, report: 0, total: 10.5 },
  seeds: [1, 2],
};

function build() {
  const rng = new Rng(4);
  const evals = [
    model("sft", null, 0.4, (n) => 12 + n, rng),
    ...[1, 2].flatMap((s) => [
      model("single", s, 0.85, (n) => 28 - n, rng),
      model("bcr", s, 0.7, () => 21, rng), // flat in N: its log-linear slope is not identifiable
      model("linear@1", s, 0.6, (n) => 17 + n, rng),
      model("linear@5", s, 0.3, (n) => 7 + n, rng),
    ]),
  ];
  const runs = [1, 2].flatMap((s) => [
    fakeRun("bcr", s, null, 0.8),
    fakeRun("single", s, null, 0.85),
    fakeRun("linear@1", s, 1, 0.75),
    fakeRun("linear@5", s, 5, 0.3),
  ]);
  const analysis = analyze(evals, runs, config);
  const figs = figures(analysis, runs, config);
  const html = reportHtml({
    analysis,
    meta,
    tables: tables(analysis),
    figures: figs,
    pngs: {},
    notes: ["A GSM8K question: Tom has $5 and buys a $3 pen."],
    config,
    derived: { bcrBudget: 160, data: { meanEssentialTokens: 32.5 } },
  });
  return { analysis, figs, html };
}

const built = build();

test("report header: the eval design (temperature, eval.samples independent draws each with its own seed, greedy beside it)", () => {
  const { html } = built;
  const header = html.slice(0, html.indexOf('id="findings"'));
  assert.match(
    header,
    /temperature 1, eval\.samples = 4 independent draws per problem, each request with its own seed/,
  );
  assert.match(header, /greedy decoding \(temperature 0, one response per problem\) beside it/);
  assert.match(header, /N = 1, 2, 4, 8 problems packed into one context under one fixed total budget of 160 tokens/);
  assert.match(header, /Scaling fits ranked by AICc/);
});

test("report: findings first, one line per claim with its verdict and the figure that decides it", () => {
  const { html, analysis, figs } = built;
  const findings = html.indexOf('id="findings"');
  assert.ok(findings > 0 && findings < html.indexOf("<figure") && findings < html.indexOf('id="tables"'));
  assert.match(html, /The four claims/);
  const list = html.slice(findings, html.indexOf("</ol>", findings));
  assert.equal(list.match(/<li>/g)?.length, 4);
  for (const c of analysis.claims) assert.ok(list.includes(`>${c.verdict}</span>`), c.verdict);
  // each claim links the figure that decides it, by its number in the page
  const names = Object.keys(figs);
  for (const [id, fig] of [
    ["task_scaling", "task_scaling"],
    ["free_lunch", "accuracy_vs_tokens"],
    ["loops", "loop_histogram"],
    ["stability", "dose_response"],
  ] as const) {
    assert.equal(figs[fig]!.claim, id);
    assert.ok(list.includes(`<a href="#fig-${fig}">Figure ${names.indexOf(fig) + 1}</a>`), fig);
  }
  // numbers with intervals in the lines
  const free = findingLine(analysis.claims.find((c) => c.id === "free_lunch")!, analysis);
  assert.match(free, /fewer tokens per problem than single at N=1/);
  assert.match(free, /\d+\.\d% \[-?\d+\.\d%, -?\d+\.\d%\]/);
  const loops = findingLine(analysis.claims.find((c) => c.id === "loops")!, analysis);
  assert.match(loops, /neither bcr nor the SFT model wrote a re-check loop/);
});

test("report figures: captions say what to see; the truncation jump is shown and named; no loops is said, not plotted", () => {
  const { html, figs, analysis } = built;
  const ts = figs.task_scaling!;
  assert.ok(
    ts.fig.data.some((t) => t.xaxis === "x3"),
    "truncation panel beside tokens per problem",
  );
  assert.deepEqual(truncationJump(analysis)?.from, 4);
  assert.deepEqual(truncationJump(analysis)?.to, 8);
  assert.match(ts.see!, /jumps between N=4 and N=8/);
  assert.ok(!ts.fig.data.some((t) => /linear@/.test(String(t.name))), "the penalties have their own figure");
  assert.ok(figs.task_scaling_penalties!.fig.data.some((t) => t.name === "linear@5"));
  // the fitted curves stay within the measured N
  for (const t of ts.fig.data.filter((t) => t.mode === "lines" && t.xaxis !== "x3"))
    assert.ok((t.x as number[]).every((x) => x >= 1 - 1e-9 && x <= 8 + 1e-9));
  const loop = figs.loop_histogram!;
  assert.match(loop.instead!, /^No re-checks in any response/);
  assert.equal(loop.fig.data.length, 0);
  const fig = html.slice(html.indexOf('<figure id="fig-loop_histogram">'));
  assert.ok(fig.indexOf('<div class="instead">No re-checks in any response') >= 0);
  assert.ok(fig.indexOf("<img") === -1 || fig.indexOf("<img") > fig.indexOf("</figure>"));
  assert.equal((html.match(/<b>What to see:<\/b>/g) ?? []).length >= 5, true);
  assert.match(figs.dose_response!.see!, /No seed collapsed/);
  assert.ok(figs.dose_response!.fig.data.some((t) => t.name?.startsWith("bcr (no length penalty)")));
});

test("report tables: numbers never wrap, intervals in the same cell, the sweep one column per N", () => {
  const { html } = built;
  assert.doesNotMatch(html, /overflow-wrap: anywhere/);
  assert.match(html, /td\.num \{ white-space: nowrap;/);
  assert.match(html, /<td class="num">0\.\d{3} <span class="ci">\[0\.\d{3}, 0\.\d{3}\]<\/span><\/td>/);
  const sweep = html.slice(
    html.indexOf('id="table-sweep"'),
    html.indexOf("</table>", html.indexOf('id="table-sweep"')),
  );
  for (const n of NS) assert.ok(sweep.includes(`<th>N=${n}</th>`), `N=${n}`);
  assert.ok(sweep.includes("cut by budget"));
  const stability = html.slice(html.indexOf('id="table-stability"'));
  assert.ok(stability.indexOf("grad norm median / max") > 0);
});

test("report fits: one rule (AICc, analysis.fitBy) over FIT_FORMS; a parameter whose interval explodes reads 'not identifiable'", () => {
  const { analysis, html } = built;
  assert.deepEqual(FIT_FORMS.accuracy, ["logistic", "power", "loglinear", "exponential"]);
  for (const m of Object.values(analysis.methods))
    for (const k of ["tokens_per_problem", "accuracy"] as const) {
      const aicc = m.fits[k].map((f) => f.aicc);
      assert.deepEqual(
        aicc,
        [...aicc].sort((a, b) => a - b),
        `${m.method} ${k} ranked by AICc`,
      );
      assert.ok(m.fits[k].every((f) => FIT_FORMS[k].includes(f.form as never)));
    }
  assert.ok(analysis.methods.bcr!.fits.accuracy.some((f) => f.form === "logistic"));
  assert.match(html, /best form \(AICc\)/);
  const shaky: FitSummary = {
    ...analysis.methods.bcr!.fits.tokens_per_problem[0]!,
    form: "power",
    params: { a: 10, b: 0.5, c: 3 },
    ci: { a: [8, 12], b: [-40, 90], c: [2, 4] },
  };
  const cell = fitParamsHtml(shaky);
  assert.match(cell, /b: <i>not identifiable<\/i>/);
  assert.doesNotMatch(cell, /0\.5|-40|90/);
  assert.match(cell, /a = 10 <span class="ci">\[8, 12\]<\/span>/);
});

test("report end: no raw JSON, settings as collapsible tables, the footer last; text escaped, `$` included", () => {
  const { html } = built;
  assert.doesNotMatch(html, /<pre>/);
  assert.doesNotMatch(html, /\{"/);
  const body = html.slice(0, html.lastIndexOf("</body>")).trimEnd();
  assert.ok(body.endsWith("</footer>"));
  assert.match(html, /<details><summary>Resolved configuration/);
  assert.match(html, /<td class="key">eval\.samples<\/td><td>4<\/td>/);
  assert.match(html, /<td class="key">data\.meanEssentialTokens<\/td><td>32\.5<\/td>/);
  assert.ok(html.includes("Tom has &#36;5 and buys a &#36;3 pen."));
  assert.ok(!html.includes("$5"));
  assert.match(html, /<body class="tex2jax_ignore mathjax_ignore">/);
  assert.equal(esc(`<a href="x">$1 & $2</a>`), "&lt;a href=&quot;x&quot;&gt;&#36;1 &amp; &#36;2&lt;/a&gt;");
  assert.deepEqual(flattenSettings({ a: { b: [1, 2], c: null }, d: [{ e: 1 }] }), [
    ["a.b", "1, 2"],
    ["a.c", "null"],
    ["d[0].e", "1"],
  ]);
});

test("frontierAt: linear interpolation along the points in order of x; null outside them", () => {
  const pts = [
    { x: 30, y: 0.9 },
    { x: 10, y: 0.5 },
    { x: 20, y: 0.7 },
  ];
  assert.ok(Math.abs(frontierAt(pts, 15)! - 0.6) < 1e-12);
  assert.ok(Math.abs(frontierAt(pts, 25)! - 0.8) < 1e-12);
  assert.equal(frontierAt(pts, 5), null);
  assert.equal(frontierAt(pts, 31), null);
});
