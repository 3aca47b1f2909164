// The study's report on hand-made rows: the findings table (a row per claim, "gate failed" and no
// verdict where the gate failed), the figures at the Judgement's estimates and intervals, figures
// skipped with a reason where rows are missing, and report.html byte-identical on two calls.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { nestedFromRows, nestedMeanCI } from "../../src/analysis/nested.js";
import { type Experiment, loadExperiment, RulesSchema } from "../../src/study/config.js";
import {
  countAxis,
  doseResponseFigure,
  frontierFigure,
  loopsFigure,
  nSweepFigure,
  studyFigures,
  sweepEstimates,
} from "../../src/study/figures.js";
import { judgeExperiment } from "../../src/study/judge.js";
import {
  findingRows,
  findingsMarkdown,
  peakText,
  type StudyReportEntry,
  writeStudyReport,
} from "../../src/study/report.js";
import type { RowsArchive, RowsMeta, StudyRow } from "../../src/study/rows.js";
import type { StudyOutput } from "../../src/study/runner.js";
import { fmtEstimate } from "../../src/study/verdict.js";
import type { Trace } from "../../src/viz/figures.js";
import { Renderer } from "../../src/viz/render.js";
import { deriveSeed } from "../../src/util/rng.js";
import { handMadeMeta } from "./fixtures.js";

const rules = RulesSchema.parse({ nonInferiorityMargin: 0.05, marginSource: "test", bootstrap: 200 });
const SFT = [1, 2, 3],
  RL = [1, 2],
  SAMPLES = [0, 1];
const problems = Array.from({ length: 24 }, (_, i) => ({ id: `p${i}`, level: 5 + (i % 4) }));
const bernoulli = (p: number, ...parts: (string | number)[]) => Number(deriveSeed(...parts) / 2 ** 53 < p);

/** Each arm: accuracy, tokens/problem and loops per response at N=1 (sampled). */
const ARMS: Record<string, { acc: number; tokens: number; loops: number }> = {
  sft: { acc: 0.6, tokens: 45, loops: 1.5 },
  single: { acc: 0.85, tokens: 40, loops: 0.8 },
  bcr: { acc: 0.84, tokens: 31, loops: 0.1 },
  "linear@0.5": { acc: 0.82, tokens: 34, loops: 0.5 },
  "linear@2": { acc: 0.7, tokens: 27, loops: 0.2 },
};

function rowsOf(arm: string, set: StudyRow["set"], n: number): StudyRow[] {
  const a = ARMS[arm]!;
  const rls: (number | "-")[] = arm === "sft" ? ["-"] : RL;
  const samples = set === "greedy" ? [0] : SAMPLES;
  return SFT.flatMap((sft) =>
    rls.flatMap((rl) =>
      problems.flatMap((p, i) =>
        samples.map((sample) => {
          const u = deriveSeed(arm, set, n, p.id, sft, String(rl), sample) / 2 ** 53;
          return {
            arm,
            sft,
            rl,
            set,
            n,
            group: Math.floor(i / n),
            pos: (i % n) + 1,
            problem: p.id,
            level: p.level,
            sample,
            correct: bernoulli(
              set === "greedy" ? a.acc + 0.05 : a.acc - 0.02 * (n - 1),
              arm,
              set,
              n,
              p.id,
              sft,
              rl,
              sample,
            ),
            truncated: 0,
            tokens: Math.round((a.tokens / Math.sqrt(n) + 8 * (u - 0.5) + sft) * 100) / 100,
            loops: set === "sweep" ? null : Math.floor(a.loops + u),
          };
        }),
      ),
    ),
  );
}

const meta = (over: Partial<RowsMeta> = {}): RowsMeta => handMadeMeta(SFT, problems.length, over);

const arms = Object.keys(ARMS);
const fullRows = [
  ...arms.flatMap((a) => [...rowsOf(a, "n1", 1), ...rowsOf(a, "greedy", 1)]),
  ...arms.flatMap((a) => [1, 2, 4].flatMap((n) => rowsOf(a, "sweep", n))),
];

function experiment(id: string, claims: Experiment["spec"]["claims"]): Experiment {
  const e = loadExperiment("configs/study/quick-A.json");
  return { ...e, spec: { ...e.spec, id, question: `Question of ${id} ($5 and <b>)?`, claims, rules } };
}

function entry(id: string, claims: Experiment["spec"]["claims"], archive: RowsArchive): StudyReportEntry {
  const exp = experiment(id, claims);
  return {
    exp,
    archive,
    judgement: judgeExperiment(archive, exp.spec),
    rulesCommit: "0123abc",
    rulesDirty: id === "N",
  };
}

function outputOf(entries: StudyReportEntry[]): StudyOutput {
  return {
    wall_s: { total: 12.5 },
    experiments: entries.map((e) => ({
      id: e.exp.spec.id,
      sft_seeds: SFT,
      rl_seeds: RL,
      eval_samples: 2,
      gate: { passed: e.archive.meta.gatePassed, figure: "g", threshold: 0.5 },
      rules_commit: e.rulesCommit,
      claims: e.judgement.claims,
      frontier: e.judgement.frontier,
    })),
  };
}

const T = entry("T", ["2", "3", "frontier"], { meta: meta(), rows: fullRows });
const G = entry("G", ["1"], {
  meta: meta({
    id: "G",
    gatePassed: false,
    gate: SFT.map((sft) => ({
      sft,
      passed: sft === 1,
      gates: [
        {
          metric: "recheck_share",
          measured: sft === 1 ? 0.6 : 0.2,
          threshold: 0.5,
          direction: ">=",
          passed: sft === 1,
          how: "test",
        },
      ],
    })),
  }),
  rows: [],
});
// No penalty arms and no sweep rows: B-like, N=1 only.
const N = entry("N", ["2"], {
  meta: meta({ id: "N" }),
  rows: ["sft", "single", "bcr"].flatMap((a) => [...rowsOf(a, "n1", 1), ...rowsOf(a, "greedy", 1)]),
});

const cells = (line: string) =>
  line
    .split(/(?<!\\)\|/)
    .slice(1, -1)
    .map((c) => c.trim());

test("findings: one row per (experiment, claim) with its verdict and gate; a failed gate shows gate failed and no verdict", () => {
  const rows = findingRows([T, G], outputOf([T, G]));
  assert.deepEqual(
    rows.map((r) => `${r.experiment}:${r.claim}`),
    ["T:2", "T:3", "T:frontier", "G:1"],
  );
  const md = findingsMarkdown(rows).split("\n");
  const table = md.filter((l) => l.startsWith("| ") && !l.startsWith("| experiment"));
  assert.equal(table.length, 4);
  for (const [k, c] of T.judgement.claims.entries()) {
    const [exp, claim, verdict, decided, gate] = cells(table[k]!);
    assert.equal(exp, "T");
    assert.match(claim!, c.id === "frontier" ? /^frontier: bcr vs linear penalty/ : new RegExp(`^${c.id}\\. `));
    assert.equal(verdict, `**${c.verdict}**`);
    assert.ok(decided!.startsWith(c.figure.replace(/\|/g, "\\|")), decided);
    assert.match(gate!, /^passed: recheck_share 0\.6 \/ 0\.6 \/ 0\.6 \(needs >= 0\.5\)/);
  }
  assert.match(table[0]!, /\[frontier\.png\]\(T\/figures\/frontier\.png\)/);
  assert.match(table[1]!, /\[loops\.png\]\(T\/figures\/loops\.png\)/);
  const [exp, claim, verdict, decided, gate] = cells(table[3]!);
  assert.deepEqual([exp, claim, verdict, decided], ["G", "1. task-scaling law", "gate failed", "not judged"]);
  assert.match(gate!, /^\*\*failed\*\*: recheck_share 0\.6 \/ 0\.2 \/ 0\.2 .*passed on 1 of 3/);
  assert.doesNotMatch(table[3]!, /\b(held|partially|not testable|not decided)\b/);
  // An experiment only in study.json (judged in an earlier call) keeps its rows there.
  const prior = outputOf([T, G]);
  const only = findingRows([T], prior);
  assert.deepEqual(
    only.map((r) => `${r.experiment}:${r.verdict}`),
    [...T.judgement.claims.map((c) => `T:${c.verdict}`), "G:null"],
  );
  assert.match(
    findingsMarkdown(only, { linkPrefix: "results/study/" }),
    /\(results\/study\/T\/figures\/frontier\.png\)/,
  );
});

const named = (data: Trace[], name: string) => {
  const t = data.find((d) => d.name === name);
  assert.ok(t, `no trace named ${name}: ${data.map((d) => d.name).join(", ")}`);
  return t!;
};
const bars = (t: Trace, axis: "error_x" | "error_y") => {
  const e = t[axis] as { array: number[]; arrayminus: number[] };
  return { plus: e.array, minus: e.arrayminus };
};
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} != ${b}`);

test("frontier: each arm at the Judgement's estimates with its 2-D interval, greedy beside it, the penalty line through single", () => {
  const j = T.judgement;
  const f = frontierFigure("T", j);
  assert.equal(f.skipped, null);
  const data = f.fig!.data;
  for (const a of j.arms) {
    const t = named(data, a.arm);
    assert.deepEqual([t.x, t.y], [[a.tokens.mean], [a.accuracy.mean]]);
    const ex = bars(t, "error_x"),
      ey = bars(t, "error_y");
    close(a.tokens.mean + ex.plus[0]!, a.tokens.ci[1]);
    close(a.tokens.mean - ex.minus[0]!, a.tokens.ci[0]);
    close(a.accuracy.mean + ey.plus[0]!, a.accuracy.ci[1]);
    close(a.accuracy.mean - ey.minus[0]!, a.accuracy.ci[0]);
    assert.notEqual(a.accuracy.ci[0], a.accuracy.ci[1]);
  }
  const greedy = data.find((d) => String(d.name).startsWith("greedy"))!;
  const at = (arm: string) => (greedy.x as number[]).indexOf(j.arms.find((a) => a.arm === arm)!.tokens.mean);
  for (const a of j.arms) assert.equal((greedy.y as number[])[at(a.arm)], a.greedyAccuracy);
  assert.ok((greedy.marker!.symbol as string[]).every((s) => s.endsWith("-open")));
  const line = named(data, "linear penalty (single = lambda 0), joined by tokens");
  const pts = j.arms.filter((a) => ["single", "linear@0.5", "linear@2"].includes(a.arm));
  assert.deepEqual(
    line.x,
    pts.map((a) => a.tokens.mean).sort((a, b) => a - b),
  );
  assert.ok(j.frontier.diff !== null && j.frontier.ci !== null);
  assert.ok(
    String(f.fig!.layout.title!.text).includes(fmtEstimate({ mean: j.frontier.diff!, ci: j.frontier.ci! })),
    String(f.fig!.layout.title!.text),
  );
});

test("loops and dose-response at the Judgement's estimates; the N-sweep from the three-level bootstrap on the rows", () => {
  const j = T.judgement;
  const loops = loopsFigure("T", j, T.archive).fig!.data;
  for (const a of j.arms) {
    const t = named(loops, a.arm);
    assert.deepEqual(t.y, [a.loops!.mean]);
    close(a.loops!.mean + bars(t, "error_y").plus[0]!, a.loops!.ci[1]);
  }
  const dose = doseResponseFigure("T", j).fig!;
  const pens = j.arms.filter((a) => a.arm.startsWith("linear@"));
  const [acc, tok] = dose.data.filter((d) => d.name === "linear penalty");
  assert.deepEqual(acc!.x, [0.5, 2]);
  assert.deepEqual(
    acc!.y,
    pens.map((a) => a.accuracy.mean),
  );
  assert.deepEqual(
    tok!.y,
    pens.map((a) => a.tokens.mean),
  );
  pens.forEach((a, k) => close(a.tokens.mean - bars(tok!, "error_y").minus[k]!, a.tokens.ci[0]));
  assert.equal(dose.layout.xaxis!.type, "log");
  const single = j.arms.find((a) => a.arm === "single")!;
  assert.deepEqual(dose.data.find((d) => d.name === "single (no length penalty)")!.y, [
    single.accuracy.mean,
    single.accuracy.mean,
  ]);

  const sweep = sweepEstimates(T.archive, rules)!;
  assert.deepEqual(sweep.ns, [1, 2, 4]);
  const bcrAt4 = sweep.arms.find((a) => a.arm === "bcr")!.points.find((p) => p.n === 4)!;
  const rows = T.archive.rows.filter((r) => r.set === "sweep" && r.arm === "bcr" && r.n === 4);
  const want = nestedMeanCI(
    nestedFromRows(
      rows.map((r) => ({ sft_seed: r.sft, rl_seed: r.rl, problem: r.problem, sample: r.sample, value: r.tokens })),
    ).values,
    { seed: rules.seed, resamples: rules.bootstrap, level: rules.level },
  );
  assert.deepEqual(bcrAt4.tokens, want);
  const fig = nSweepFigure("T", j, sweep).fig!;
  const band = fig.data.find((d) => d.name === "bcr (band)" && d.yaxis === "y2")!;
  assert.ok((band.y as number[]).includes(want.ci[0]) && (band.y as number[]).includes(want.ci[1]));
});

test("figures without their rows are skipped with a reason, in the report too", async () => {
  const figs = studyFigures("N", N.judgement, N.archive, rules);
  const by = Object.fromEntries(figs.map((f) => [f.name, f]));
  assert.equal(by.frontier!.skipped, null);
  assert.equal(by["n-sweep"]!.fig, null);
  assert.match(by["n-sweep"]!.skipped!, /no sweep rows/);
  assert.equal(by["dose-response"]!.fig, null);
  assert.match(by["dose-response"]!.skipped!, /no linear penalty arms/);
  for (const f of studyFigures("G", G.judgement, G.archive, rules)) assert.match(f.skipped!, /gate failed/);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "bcr-study-report-"));
  await writeStudyReport(out, [N, G], outputOf([N, G]), () => {}, { png: false });
  const html = fs.readFileSync(path.join(out, "study", "report.html"), "utf8");
  assert.match(html, /linear penalty dose-response at N=1: not drawn, no linear penalty arms in this experiment/);
  assert.match(html, /modified since that commit/);
  assert.ok(fs.existsSync(path.join(out, "study", "N", "figures", "frontier.html")));
  assert.ok(!fs.existsSync(path.join(out, "study", "N", "figures", "n-sweep.html")));
});

test("writeStudyReport: findings first, and the same inputs give the same bytes", async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "bcr-study-report-"));
  const png = Renderer.available();
  const read = () => ["report.html", "findings.md"].map((f) => fs.readFileSync(path.join(out, "study", f), "utf8"));
  await writeStudyReport(out, [T, G], outputOf([T, G]), () => {}, { png });
  const first = read();
  await writeStudyReport(out, [T, G], outputOf([T, G]), () => {}, { png });
  const second = read();
  for (const k of [0, 1]) {
    const at = [...first[k]!].findIndex((ch, i) => second[k]![i] !== ch);
    assert.ok(
      first[k] === second[k],
      `${k === 0 ? "report.html" : "findings.md"} differs between two calls at ${at}: ${JSON.stringify(first[k]!.slice(at - 40, at + 40))}`,
    );
  }
  const html = first[0]!;
  assert.ok(html.indexOf('id="findings"') < html.indexOf('id="exp-T"'));
  assert.ok(html.indexOf('id="exp-T"') < html.indexOf('id="exp-G"'));
  assert.match(html, /Question of T \(&#36;5 and &lt;b&gt;\)\?/);
  assert.match(html, /<script src="plotly\.min\.js"><\/script>/);
  assert.match(html, /"plot-fig-T-frontier":\{"data"/);
  assert.ok(fs.existsSync(path.join(out, "study", "plotly.min.js")));
  if (png) {
    for (const f of ["frontier", "n-sweep", "loops", "dose-response"])
      assert.ok(fs.statSync(path.join(out, "study", "T", "figures", `${f}.png`)).size > 1000, f);
    assert.match(html, /<img src="T\/figures\/frontier\.png"/);
  }
});

test("countAxis: from below 0 to above every bar, error bar and marker, so a marker at 0 sits inside the frame", () => {
  const traces: Trace[] = [
    { type: "bar", x: ["a"], y: [1.5], error_y: { type: "data", array: [0.5], arrayminus: [0.3] } },
    { type: "scatter", mode: "markers", x: ["a", "b"], y: [0, 0.2] },
  ];
  const ax = countAxis(traces, "loops");
  assert.equal(ax.title.text, "loops");
  const [lo, hi] = ax.range;
  // 6% of the span 0..2 each side
  close(lo, -0.12);
  close(hi, 2.12);
  // nothing drawn: a unit axis with the same headroom
  assert.deepEqual(countAxis([], "loops").range, [-0.06, 1.06]);
  // the loops figure's greedy markers (0 re-checks here) lie strictly inside its y range
  const f = loopsFigure("T", T.judgement, T.archive).fig!;
  const [flo, fhi] = f.layout.yaxis!.range as [number, number];
  for (const t of f.data)
    for (const y of t.y as number[]) assert.ok(y > flo && y < fhi, `${t.name}: ${y} in [${flo}, ${fhi}]`);
  assert.ok(flo < 0);
});

test("peakText: the sgemm peaks the wall time was measured at, and which experiments recorded one", () => {
  const p = (start: number, end: number, threads = 2) => ({ sgemm_peak: { threads, start, end } });
  assert.equal(peakText([p(86.2, 93.4), p(90, 91)]), "(the machine's sgemm peak 86-93 GFLOP/s on 2 threads)");
  assert.equal(peakText([p(90.2, 89.9)]), "(the machine's sgemm peak 90 GFLOP/s on 2 threads)");
  assert.equal(
    peakText([p(100, 120), {}, {}]),
    "(the machine's sgemm peak 100-120 GFLOP/s on 2 threads, recorded for 1 of 3 experiments)",
  );
  assert.equal(peakText([p(60, 61, 1), p(90, 95)]), "(the machine's sgemm peak 60-95 GFLOP/s on 1 or 2 threads)");
  assert.equal(peakText([{}, {}]), "", "committed rows from before the field: nothing claimed");
});
