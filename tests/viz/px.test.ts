import { test } from "node:test";
import assert from "node:assert/strict";
import * as aq from "arquero";
import type { PlotData } from "plotly.js";
import { methodColor } from "../../src/viz/colors.js";
import { band, bar, ema, isRateColumn, line, PALETTE, scatter } from "../../src/viz/px.js";

/** Three seeds of two methods over four steps: y = base + step/10 + seed/100. */
const RUNS = ["bcr", "linear@1"].flatMap((method, m) =>
  [1, 2, 3].flatMap((rl_seed) =>
    [0, 1, 2, 3].map((step) => ({ method, rl_seed, step, "reward/accuracy": m * 0.2 + step / 10 + rl_seed / 100 })),
  ),
);

const close = (a: unknown, b: number) => Math.abs((a as number) - b) < 1e-12;

test("line: one trace per colour group (band + mean when seeds share an x), methodColor for a method column", () => {
  const fig = line(RUNS, { x: "step", y: "reward/accuracy", color: "method" });
  assert.equal(fig.data.length, 4, "a band polygon and a mean line per method");
  const means = fig.data.filter((t) => t.fill === undefined);
  assert.deepEqual(
    means.map((t) => t.name),
    ["bcr", "linear@1"],
  );
  assert.deepEqual(
    means.map((t) => t.line?.color),
    [methodColor("bcr"), methodColor("linear@1")],
  );
  // the mean over seeds at each step, the band from the lowest to the highest seed
  const bcr = means[0]!;
  assert.deepEqual(bcr.x, [0, 1, 2, 3]);
  (bcr.y as number[]).forEach((v, i) => assert.ok(close(v, i / 10 + 0.02)));
  const poly = fig.data[0]!;
  assert.equal(poly.fill, "toself");
  assert.equal(poly.showlegend, false);
  assert.ok(
    close((poly.y as number[])[0], 0.03) && close((poly.y as number[])[7], 0.01),
    "upper ends out, lower ends back",
  );
  // without several rows per x there is no band, and spread "none" turns it off
  assert.equal(line(RUNS, { x: "step", y: "reward/accuracy", color: "rl_seed", facet_col: "method" }).data.length, 6);
  assert.equal(line(RUNS, { x: "step", y: "reward/accuracy", color: "method", spread: "none" }).data.length, 2);
});

test("line: other colour columns take the fixed palette in order of first appearance; an arquero table works as input", () => {
  const fig = line(aq.from(RUNS.filter((r) => r.method === "bcr")), {
    x: "step",
    y: "reward/accuracy",
    color: "rl_seed",
  });
  assert.deepEqual(
    fig.data.map((t) => [t.name, t.line?.color]),
    [
      ["1", PALETTE[0]],
      ["2", PALETTE[1]],
      ["3", PALETTE[2]],
    ],
  );
  assert.equal((fig.layout.legend as { title: { text: string } }).title.text, "rl_seed");
});

test("band: the polygon runs along hi, back along lo and closes on its first point; drawn beneath its line", () => {
  const t = [
    { position: 2, mean: 0.5, lo: 0.4, hi: 0.7, sft_seed: 0 },
    { position: 1, mean: 0.6, lo: 0.5, hi: 0.8, sft_seed: 0 },
    { position: 3, mean: 0.3, lo: 0.1, hi: 0.35, sft_seed: 0 },
  ];
  const fig = band(t, { x: "position", y: "mean", lo: "lo", hi: "hi", color: "sft_seed" });
  assert.equal(fig.data.length, 2);
  const [poly, mean] = fig.data as Partial<PlotData>[];
  assert.deepEqual(poly!.x, [1, 2, 3, 3, 2, 1, 1]);
  assert.deepEqual(poly!.y, [0.8, 0.7, 0.35, 0.1, 0.4, 0.5, 0.8]);
  assert.deepEqual([poly!.x!.at(-1), poly!.y!.at(-1)], [poly!.x![0], poly!.y![0]], "closed");
  assert.equal(poly!.fill, "toself");
  assert.deepEqual(mean!.x, [1, 2, 3], "sorted by x");
  assert.deepEqual(mean!.y, [0.6, 0.5, 0.3]);
  assert.equal(poly!.legendgroup, mean!.legendgroup, "toggled together from the legend");
  // lo and hi default to the columns summarize names
  assert.deepEqual(band(t, { x: "position", y: "mean" }).data[0]!.y, poly!.y);
  const noHi = t.map(({ hi: _, ...r }) => r);
  assert.throws(() => band(noHi, { x: "position", y: "mean", lo: "lo" }), /give both lo and hi/);
  assert.throws(
    () => band([{ x: 1, y: 2 }], { x: "x", y: "y" }),
    /band: no interval for y: give lo and hi columns .* or rows with several values at one x/,
  );
});

test("rate axes: y fixed to [0, 1] when asked or when y is named like a rate; other columns autoscale", () => {
  assert.deepEqual(line(RUNS, { x: "step", y: "reward/accuracy", color: "method" }).layout.yaxis!.range, [0, 1]);
  const t = [{ x: 1, mean: 0.5, lo: 0.2, hi: 0.9 }];
  assert.equal(band(t, { x: "x", y: "mean" }).layout.yaxis!.range, undefined);
  assert.deepEqual(band(t, { x: "x", y: "mean", rateAxis: true }).layout.yaxis!.range, [0, 1]);
  assert.equal(
    line(RUNS, { x: "step", y: "reward/accuracy", rateAxis: false }).layout.yaxis!.range,
    undefined,
    "an explicit false wins",
  );
  for (const name of ["accuracy", "correct", "eval/accuracy", "truncation_rate", "length/truncation_rate"])
    assert.ok(isRateColumn(name), name);
  for (const name of ["tokens", "mean", "eval/tokens_per_problem", "grad/cos_acc_len", "accurate_tokens"])
    assert.ok(!isRateColumn(name), name);
  // facets share one y range: every panel's axis is fixed
  const f = line(RUNS, { x: "step", y: "reward/accuracy", facet_col: "method" });
  assert.deepEqual(
    [f.layout.yaxis!.range, f.layout.yaxis2!.range],
    [
      [0, 1],
      [0, 1],
    ],
  );
  assert.equal(f.layout.yaxis2!.matches, "y");
  assert.deepEqual(
    f.data.map((t) => [t.xaxis, t.yaxis]),
    [
      ["x", "y"],
      ["x", "y"],
      ["x2", "y2"],
      ["x2", "y2"],
    ],
  );
  assert.deepEqual(
    f.layout.annotations!.map((a) => a.text),
    ["method = bcr", "method = linear@1"],
  );
});

test("ema against a hand computation, and smoothing per seed before the mean", () => {
  const s = ema([1, 3, null, 5], 0.5);
  // s0 = 1; s1 = 0.5*3 + 0.5*1 = 2; null stays null; s3 = 0.5*5 + 0.5*2 = 3.5
  assert.deepEqual(s, [1, 2, null, 3.5]);
  assert.deepEqual(ema([4, 8], 1), [4, 8], "alpha 1: no smoothing");
  assert.throws(() => ema([1], 0), /alpha must be in \(0, 1\]/);
  const rows = [
    { seed: 1, step: 0, y: 0 },
    { seed: 1, step: 1, y: 1 },
    { seed: 1, step: 2, y: 1 },
    { seed: 2, step: 0, y: 1 },
    { seed: 2, step: 1, y: 0 },
    { seed: 2, step: 2, y: 0 },
  ];
  // seed 1: 0, 0.25, 0.4375; seed 2: 1, 0.75, 0.5625 (alpha 0.25); mean 0.5, 0.5, 0.5
  const fig = line(rows, { x: "step", y: "y", unit: "seed", smooth: 0.25 });
  const mean = fig.data.find((t) => t.fill === undefined)!;
  (mean.y as number[]).forEach((v) => assert.ok(close(v, 0.5)));
  const poly = fig.data.find((t) => t.fill === "toself")!;
  const up = (poly.y as number[]).slice(0, 3);
  [1, 0.75, 0.5625].forEach((v, i) => assert.ok(close(up[i], v)));
  // without unit: the mean is smoothed (0.5, 0.5, 0.5 stays)
  const plain = line(rows.slice(0, 3), { x: "step", y: "y", smooth: 0.5 });
  assert.deepEqual(plain.data[0]!.y, [0, 0.5, 0.75]);
});

test("scatter and bar: points as they are with error bars from error_y; bars averaged per x, grouped", () => {
  const t = [
    { method: "bcr", n: 1, mean: 0.6, lo: 0.5, hi: 0.8 },
    { method: "bcr", n: 2, mean: 0.5, lo: 0.4, hi: 0.55 },
    { method: "single", n: 1, mean: 0.9, lo: 0.85, hi: 0.95 },
  ];
  const s = scatter(t, { x: "n", y: "mean", color: "method", error_y: ["lo", "hi"] });
  assert.equal(s.data.length, 2);
  assert.equal(s.data[0]!.mode, "markers");
  const e = s.data[0]!.error_y as { array: number[]; arrayminus: number[] };
  assert.ok(close(e.array[0], 0.2) && close(e.arrayminus[0], 0.1) && close(e.array[1], 0.05));
  assert.equal(s.data[1]!.marker?.color, methodColor("single"));
  const b = bar(RUNS, { x: "step", y: "reward/accuracy", color: "method" });
  assert.equal(b.data.length, 2);
  assert.equal(b.layout.barmode, "group");
  assert.equal(b.data[0]!.type, "bar");
  assert.ok(close((b.data[0]!.y as number[])[0], 0.02));
  assert.ok(b.data[0]!.error_y, "the seeds' spread as an error bar");
  // line with error_y: error bars, and one row per point is required
  assert.ok(line(t, { x: "n", y: "mean", color: "method", error_y: ["lo", "hi"] }).data[0]!.error_y);
  assert.throws(
    () => line([...t, t[0]!], { x: "n", y: "mean", color: "method", error_y: ["lo", "hi"] }),
    /line: 2 rows at n=1 in one colour group; interval columns need one row per point/,
  );
});

test("figures are deterministic JSON, any Plotly option can be added, and missing columns are named", () => {
  const a = JSON.stringify(line(RUNS, { x: "step", y: "reward/accuracy", color: "method", title: "t" }));
  const b = JSON.stringify(line(RUNS, { x: "step", y: "reward/accuracy", color: "method", title: "t" }));
  assert.equal(a, b);
  const fig = band([{ x: 1, mean: 1, lo: 0, hi: 2 }], {
    x: "x",
    y: "mean",
    layout: { hovermode: "x unified", xaxis: { type: "log" } },
  });
  assert.equal(fig.layout.hovermode, "x unified");
  assert.equal(fig.layout.xaxis!.type, "log");
  fig.data[1]!.hovertemplate = "%{y:.2f}"; // typed by plotly.js: a misspelt attribute would not compile
  assert.throws(
    () => line(RUNS, { x: "step", y: "accuracy" }),
    /line: no column "accuracy" \(columns: method, rl_seed, step, reward\/accuracy\)/,
  );
  assert.equal(line(RUNS, { x: "step", y: "reward/accuracy", title: "T" }).layout.title!.text, "T");
  assert.equal(
    line(RUNS, { x: "step", y: "reward/accuracy" }).layout.yaxis!.title!.text,
    "reward: accuracy of sampled responses",
  );
});
