import { test } from "node:test";
import assert from "node:assert/strict";
import { fitScaling } from "../../src/analysis/fit.js";
import type { Run } from "../../src/analysis/stability.js";
import { SHAPINGS } from "../../src/rewards/index.js";
import { methodColor, withAlpha } from "../../src/viz/colors.js";
import {
  accuracyVsTokensFigure,
  doseResponseFigure,
  gradientFigure,
  lengthHistogramFigure,
  loopHistogramFigure,
  positionAccuracyFigure,
  scalingFigure,
  smooth,
  taskScalingFigure,
  trainingCurvesFigure,
  binShares,
  metricLabel,
  liveCurvesFigure,
  liveEmptyPanelText,
  loopCountsFigure,
  NO_LOOPS_TEXT,
} from "../../src/viz/figures.js";

/** An error bar given by arrays (the builders' kind), read through Plotly's wider ErrorBar type. */
const bars = (e: unknown) => e as { array: number[]; arrayminus?: number[] };

const NS = [1, 2, 4, 8];
const tok = [1000, 620, 400, 290];
const acc = [0.6, 0.57, 0.52, 0.46];

test("methodColor is stable, distinct for the main methods, and reused across figures", () => {
  assert.equal(methodColor("bcr"), methodColor("BCR"));
  assert.notEqual(methodColor("bcr"), methodColor("linear"));
  assert.equal(methodColor("linear-0.5"), methodColor("linear")); // not a strength: `@` marks one
  assert.equal(methodColor("my-method"), methodColor("my-method"));
  assert.match(methodColor("my-method"), /^#[0-9a-f]{6}$/);
  assert.equal(withAlpha("#ff0080", 0.5), "rgba(255,0,128,0.5)");
});

test("methodColor: fixed distinct colors for sft, single, bcr and every shaping; labels take their shaping's color", () => {
  const names = ["sft", "single", "bcr", ...SHAPINGS];
  const colors = names.map(methodColor);
  assert.equal(new Set(colors).size, names.length, `distinct: ${names.map((n, i) => `${n}=${colors[i]}`).join(" ")}`);
  assert.equal(methodColor("bcr/seed-0"), methodColor("bcr"));
  assert.equal(methodColor("sft (before RL)"), methodColor("sft"));
  assert.equal(methodColor("single-s1"), methodColor("single"));
  assert.notEqual(methodColor("singleton"), methodColor("single"));
});

/** Relative luminance-free lightness of #rrggbb: (max + min) / 2 of the channels. */
const lightness = (hex: string) => {
  const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
  return (Math.max(...c) + Math.min(...c)) / 2;
};
const hue = (hex: string) => {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return Math.atan2(Math.sqrt(3) * (g! - b!), 2 * r! - g! - b!);
};

test("methodColor: the default run's methods all get distinct colors; strength is lightness within the family's hue", () => {
  const methods = ["sft", "single", "bcr", "single@b40", "linear@0.5", "linear@1", "linear@2", "linear@5"];
  const colors = methods.map(methodColor);
  assert.equal(new Set(colors).size, methods.length, methods.map((m, i) => `${m}=${colors[i]}`).join(" "));
  const linear = ["linear@0.5", "linear@1", "linear@2", "linear@5"].map(methodColor);
  for (let i = 1; i < linear.length; i++)
    assert.ok(lightness(linear[i]!) < lightness(linear[i - 1]!), `linear shades must darken: ${linear.join(" ")}`);
  for (const c of linear) assert.ok(Math.abs(hue(c) - hue(methodColor("linear"))) < 0.05, `${c} keeps linear's hue`);
  // One strength, one shade, in every figure; a seed suffix does not change it.
  assert.equal(methodColor("linear@1/seed-2"), methodColor("linear@1"));
  assert.equal(methodColor("l1-exact@0.01"), methodColor("L1-EXACT@0.01"));
  assert.notEqual(methodColor("l1-exact@0.5"), methodColor("l1-exact@2"));
  // Neighbouring strengths of a sweep differ by a visible step of lightness.
  for (let i = 1; i < linear.length; i++) assert.ok(lightness(linear[i - 1]!) - lightness(linear[i]!) > 0.05);
  // A budget control is a shade of its own, not single's black, whatever its budget.
  assert.notEqual(methodColor("single@b40"), methodColor("single"));
  assert.equal(methodColor("single@b40"), methodColor("single@b20"));
  assert.match(methodColor("linear@0.5"), /^#[0-9a-f]{6}$/);
});

test("scalingFigure: points, fitted curve and a closed band polygon reaching the extrapolation end", () => {
  const fit = fitScaling(NS, tok, { bootstrap: 50 });
  const fig = scalingFigure(
    [
      { method: "bcr", ns: NS, values: tok, fit },
      { method: "base", ns: NS, values: tok.map((t) => t * 1.5) },
    ],
    { metric: "eval/tokens_per_problem", extrapolateTo: 16 },
  );
  assert.equal(fig.data.length, 4); // bcr band + fit + points, base points
  const [band, curve, pts] = fig.data;
  assert.equal(band!.fill, "toself");
  assert.equal(band!.x!.length, 120);
  assert.equal(Math.max(...(band!.x as number[])), 16);
  for (let i = 0; i < 60; i++) assert.ok((band!.y![i] as number) >= (band!.y![119 - i] as number)); // upper over lower
  assert.equal(curve!.mode, "lines");
  assert.ok(Math.abs((curve!.y![0] as number) - fit.predict(1)) < 1e-9);
  assert.deepEqual(pts!.x, NS);
  assert.equal(pts!.marker!.color, methodColor("bcr"));
  assert.equal(fig.data[3]!.marker!.color, methodColor("base"));
  assert.equal(pts!.mode, "markers"); // a fit draws the curve
  assert.equal(fig.data[3]!.mode, "lines+markers"); // no fit: the points are joined
  assert.equal(fig.layout.xaxis!.type, "log");
  assert.deepEqual(fig.layout.xaxis!.tickvals, [1, 2, 4, 8, 16]);
  assert.equal(fig.layout.yaxis!.title!.text, "tokens per problem (held-out)"); // a reader's title, not the metric key
});

test("taskScalingFigure puts tokens and accuracy on two subplots with one legend entry per method", () => {
  const fig = taskScalingFigure([
    {
      method: "bcr",
      ns: NS,
      tokensPerProblem: tok,
      accuracy: acc,
      tokensFit: fitScaling(NS, tok, { bootstrap: 20 }),
      accuracyFit: fitScaling(NS, acc, { form: "loglinear", bootstrap: 20 }),
    },
  ]);
  assert.equal(fig.data.length, 6);
  assert.deepEqual(
    fig.data.filter((t) => t.showlegend !== false).map((t) => t.name),
    ["bcr"],
  );
  assert.equal(fig.data.filter((t) => t.xaxis === "x2").length, 3);
  assert.equal(fig.layout.yaxis2!.title!.text, "accuracy (held-out)");
  assert.equal(fig.layout.xaxis2!.anchor, "y2");
});

test("accuracyVsTokensFigure: seed points plus a mean marker with asymmetric CI bars on both axes", () => {
  const pts = [0, 1, 2, 3].flatMap((s) => [
    { method: "bcr", seed: s, accuracy: 0.5 + 0.01 * s, tokensPerProblem: 800 + 10 * s },
    { method: "base", seed: s, accuracy: 0.48, tokensPerProblem: 1500 },
  ]);
  const fig = accuracyVsTokensFigure(pts, { resamples: 200 });
  assert.equal(fig.data.length, 4);
  const mean = fig.data.find((t) => t.name === "bcr")!;
  assert.deepEqual(mean.x, [815]);
  assert.ok(Math.abs((mean.y![0] as number) - 0.515) < 1e-12);
  assert.ok(bars(mean.error_y).array[0]! > 0 && bars(mean.error_y).arrayminus![0]! > 0);
  assert.ok(bars(mean.error_x).array[0]! > 0);
  const base = fig.data.find((t) => t.name === "base")!;
  assert.deepEqual(bars(base.error_y).array, [0]); // no spread, no bar
  assert.equal(fig.data.find((t) => t.name === "bcr (seeds)")!.x!.length, 4);
  assert.equal(fig.layout.xaxis!.title!.text, "tokens per problem (held-out)");
});

function fakeRun(method: string, seed: number): Run {
  const metrics = Array.from({ length: 10 }, (_, step) => ({
    step,
    "grad/norm": 1 + step / 10,
    "grad/cos_acc_len": method === "linear" ? -0.5 : 0.1,
    ...(step % 3 === 0 ? { "eval/accuracy": 0.5 } : {}),
  }));
  return { dir: "", name: `${method}-s${seed}`, config: { method, seed }, metrics };
}

test("trainingCurvesFigure: one line per run, one legend entry per method, optional smoothing", () => {
  const runs = [fakeRun("bcr", 1), fakeRun("linear", 1), fakeRun("bcr", 2)];
  const fig = trainingCurvesFigure(runs, "eval/accuracy");
  assert.equal(fig.data.length, 3);
  assert.deepEqual(
    fig.data.map((t) => t.legendgroup),
    ["bcr", "bcr", "linear"],
  );
  assert.deepEqual(
    fig.data.map((t) => t.showlegend),
    [true, false, true],
  );
  assert.deepEqual(fig.data[0]!.x, [0, 3, 6, 9]);
  assert.equal(fig.layout.yaxis!.title!.text, "accuracy (held-out)");
  assert.deepEqual(smooth([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5]);
  const sm = trainingCurvesFigure(runs, "grad/norm", { smooth: 3 });
  assert.ok(Math.abs((sm.data[0]!.y![2] as number) - 1.1) < 1e-12);
});

test("gradientFigure: cosine on top with a zero line, norm below", () => {
  const fig = gradientFigure([fakeRun("bcr", 1), fakeRun("linear", 1)]);
  assert.equal(fig.data.length, 4);
  assert.equal(fig.data.filter((t) => t.yaxis === "y2").length, 2);
  assert.equal(fig.layout.yaxis!.title!.text, "cos(acc, len) gradients");
  assert.equal(fig.layout.yaxis2!.title!.text, "gradient norm");
  assert.equal(fig.layout.shapes!.length, 1);
  assert.equal(fig.data[0]!.mode, "lines+markers"); // 10 points: markers too
  assert.equal(fig.layout.xaxis!.matches, "x2"); // one step axis for both panels
});

test("gradientFigure: runs without a cosine get their legend entry from the norm panel; long curves are lines", () => {
  const noCos = (r: Run): Run => ({ ...r, metrics: r.metrics.map(({ "grad/cos_acc_len": _c, ...m }) => m) });
  const fig = gradientFigure([
    noCos(fakeRun("bcr", 1)),
    noCos(fakeRun("bcr", 2)),
    fakeRun("linear", 1),
    noCos(fakeRun("single", 1)),
  ]);
  assert.deepEqual(
    fig.data.filter((t) => t.yaxis === "y").map((t) => t.name),
    ["linear"],
  );
  const legend = fig.data.filter((t) => t.showlegend).map((t) => `${t.name}:${t.yaxis}`);
  assert.deepEqual(legend, ["linear:y", "bcr:y2", "single:y2"]);
  const long: Run = {
    ...fakeRun("linear", 3),
    metrics: Array.from({ length: 40 }, (_, step) => ({ step, "grad/norm": 1, "grad/cos_acc_len": 0 })),
  };
  assert.equal(gradientFigure([long]).data[0]!.mode, "lines");
  assert.equal(trainingCurvesFigure([long], "grad/norm").data[0]!.mode, "lines");
});

test("position and histogram figures", () => {
  const pos = positionAccuracyFigure(
    [
      { method: "bcr", position: 2, accuracy: 0.5, ci: [0.4, 0.6] },
      { method: "bcr", position: 1, accuracy: 0.6, ci: [0.5, 0.7] },
    ],
    { n: 2 },
  );
  assert.deepEqual(pos.data[0]!.x, [1, 2]);
  assert.ok(Math.abs(bars(pos.data[0]!.error_y).array[0]! - 0.1) < 1e-12);
  assert.match(pos.layout.title!.text!, /N=2/);
  const h = loopHistogramFigure([
    { method: "bcr", values: [0, 1] },
    { method: "base", values: [2, 3, 3, 3] },
  ]);
  // Step outlines on shared integer bins (edges -0.5, 0.5, ...), not translucent bars that blend.
  assert.equal(h.data[0]!.type, "scatter");
  assert.equal(h.data[0]!.line!.shape, "hv");
  assert.deepEqual(h.data[0]!.x, [-0.5, -0.5, 0.5, 1.5, 2.5, 3.5, 3.5]);
  assert.deepEqual(h.data[0]!.y, [0, 0.5, 0.5, 0, 0, 0, 0]);
  assert.deepEqual(h.data[1]!.y, [0, 0, 0, 0.25, 0.75, 0.75, 0]);
  assert.notEqual(h.data[0]!.line!.color, h.data[1]!.line!.color);
  assert.equal(
    lengthHistogramFigure([{ method: "bcr", values: [10] }]).layout.xaxis!.title!.text,
    "response length (tokens)",
  );
});

test("doseResponseFigure: points by lambda, lambda* drawn as a dashed line when known, gradient cosine in its own panel", () => {
  const pts = [
    {
      lambda: 5,
      collapsedShare: 1,
      finalAccuracy: { mean: 0.2, ci: [0.1, 0.3] as [number, number] },
      meanCosAccLen: -0.4,
    },
    {
      lambda: 1,
      collapsedShare: 0,
      finalAccuracy: { mean: 0.95, ci: [0.9, 1] as [number, number] },
      meanCosAccLen: null,
    },
  ];
  const f = doseResponseFigure(pts, 4.63);
  assert.deepEqual(f.data[0]!.x, [1, 5]);
  assert.deepEqual(f.data[0]!.y, [0, 1]);
  assert.deepEqual(f.data[2]!.x, [5], "a method without gradient diagnostics has no cosine point");
  const star = f.data.find((t) => t.name?.startsWith("lambda* = 4.63"));
  assert.ok(star && star.line?.dash === "dash");
  assert.deepEqual(star.x, [4.63, 4.63]);
  assert.match(f.layout.title!.text!, /lambda\* = 4\.63/);
  // A lambda* beyond every strength lies inside the x range, not on its edge (log10 units).
  const beyond = doseResponseFigure(pts, 7.31).layout.xaxis!.range as [number, number];
  assert.ok(beyond[0] < 0 && beyond[1] > Math.log10(7.31) + 0.1, `${beyond}`);
  const unknown = doseResponseFigure(pts, null);
  assert.ok(!unknown.data.some((t) => t.name?.startsWith("lambda*")));
  assert.match(unknown.layout.title!.text!, /lambda\* unknown/);
  JSON.stringify(f);
});

test("binShares: shares per bin match a hand count; out-of-range values are dropped", () => {
  assert.deepEqual(binShares([0, 0.4, 1, 2.9, 7], 0, 1, 3), [0.4, 0.2, 0.2]);
});

test("fits are drawn over the measured range only, clipped to the metric's bounds, and flagged when not identifiable", () => {
  const fit = fitScaling(NS, acc, { form: "loglinear", bootstrap: 50 });
  const fig = scalingFigure(
    [{ method: "bcr", ns: NS, values: acc, fit: { ...fit, predict: () => 1.7, band: () => [1.2, 2.5] } }],
    { metric: "eval/accuracy" },
  );
  const [band, curve] = fig.data;
  assert.equal(Math.max(...(band!.x as number[])), 8, "no extrapolation unless asked");
  assert.ok(
    (curve!.y as number[]).every((y) => y === 1),
    "accuracy clipped to 1",
  );
  assert.ok((band!.y as number[]).every((y) => y <= 1));
  const shaky = scalingFigure(
    [{ method: "bcr", ns: NS, values: acc, fit: { ...fit, identifiable: false, unidentified: ["a"] } }],
    { metric: "eval/accuracy" },
  );
  assert.equal(shaky.data.length, 2, "no band for a fit that is not identifiable");
  assert.equal(shaky.data[0]!.line!.dash, "dot");
  assert.match(shaky.data[0]!.name!, /not identifiable/);
});

test("metricLabel: readable names for the stable metric keys, the key otherwise", () => {
  assert.equal(metricLabel("eval/tokens_per_problem"), "tokens per problem (held-out)");
  assert.equal(metricLabel("custom/x"), "custom/x");
});

test("many methods: the legend goes below the plot in rows, every method once", () => {
  const series = ["sft", "single", "bcr", "kimi", "linear@1", "linear@5", "l1-exact@0.01", "efficient"].map((m) => ({
    method: m,
    ns: NS,
    tokensPerProblem: tok,
    accuracy: acc,
  }));
  const fig = taskScalingFigure(series);
  assert.equal(fig.layout.legend!.orientation, "h");
  assert.deepEqual(
    fig.data.filter((t) => t.showlegend !== false).map((t) => t.name),
    series.map((s) => s.method),
  );
});

test("liveCurvesFigure: one panel per metric from the records that have it", () => {
  const recs = [
    { step: 0, "eval/accuracy": 0.5, "reward/accuracy": 0.4 },
    { step: 1, "reward/accuracy": 0.6 },
    { step: 2, "reward/accuracy": 0.7, "grad/cos_acc_len": -0.2 },
  ];
  const fig = liveCurvesFigure(recs);
  assert.equal(fig.data.length, 4);
  assert.deepEqual(fig.data[0]!.x, [0, 1, 2]);
  assert.deepEqual(fig.data[1]!.y, [0.5]);
  assert.deepEqual(fig.data[3]!.y, [-0.2]);
  assert.equal(fig.data[3]!.yaxis, "y4");
  assert.equal(fig.layout.yaxis4!.title!.text!.replace(/<br>/g, " "), "cosine of accuracy and length gradients");
});

test("liveCurvesFigure: rate axes on [0, 1], counts from 0, every axis with automargin and titles wrapped to fit a panel", () => {
  const recs = [0, 1, 2].map((step) => ({
    step,
    "reward/accuracy": 0.2 * step,
    "eval/accuracy": 1,
    "length/tokens_per_problem": 300 - step,
    "grad/cos_acc_len": -0.1,
  }));
  const fig = liveCurvesFigure(recs);
  const axes = fig.layout as Record<
    string,
    { range?: number[]; rangemode?: string; automargin?: boolean; title?: { text?: string } }
  >;
  assert.deepEqual(axes.yaxis!.range, [0, 1]);
  assert.deepEqual(axes.yaxis2!.range, [0, 1]);
  assert.equal(axes.yaxis3!.rangemode, "tozero");
  assert.deepEqual(axes.yaxis4!.range, [-1.05, 1.05]);
  assert.ok(
    fig.data.every((t) => t.cliponaxis === false),
    "a point at accuracy 1 is drawn whole",
  );
  for (const k of ["", "2", "3", "4"]) {
    assert.equal(axes[`xaxis${k}`]!.automargin, true, `xaxis${k}`);
    assert.equal(axes[`yaxis${k}`]!.automargin, true, `yaxis${k}`);
    for (const line of axes[`yaxis${k}`]!.title!.text!.split("<br>")) assert.ok(line.length <= 26, line);
  }
  assert.ok(fig.layout.margin!.l! >= 80 && fig.layout.margin!.b! >= 60);
  assert.equal(fig.layout.annotations, undefined, "no panel is empty");
});

test("liveCurvesFigure: a run that never logs the gradient cosine (single, bcr) gets a note, not an empty panel", () => {
  const recs = [0, 1, 2].map((step) => ({ step, "reward/accuracy": 0.5, "length/tokens_per_problem": 300 }));
  const fig = liveCurvesFigure(recs);
  const notes = fig.layout.annotations ?? [];
  assert.deepEqual(
    notes.map((a) => a.text),
    [liveEmptyPanelText("eval/accuracy"), "no gradient-conflict metric for this run"],
  );
  const axes = fig.layout as Record<string, { domain?: number[]; showticklabels?: boolean }>;
  const cos = { x: Number(notes[1]!.x), y: Number(notes[1]!.y) };
  // the note sits in the cosine panel (bottom right), whose axes show no ticks
  assert.ok(cos.x > axes.xaxis4!.domain![0]! && cos.x < axes.xaxis4!.domain![1]!);
  assert.ok(cos.y > axes.yaxis4!.domain![0]! && cos.y < axes.yaxis4!.domain![1]!);
  assert.equal(axes.yaxis4!.showticklabels, false);
  assert.equal(fig.layout.yaxis4!.title!.text, "", "the note, not an axis title, names the empty panel");
  assert.equal(axes.yaxis!.showticklabels, undefined);
});

test("taskScalingFigure with truncation rates: a third panel between tokens and accuracy, rates on [0, 1]", () => {
  const fig = taskScalingFigure([
    { method: "bcr", ns: NS, tokensPerProblem: tok, accuracy: acc, truncationRate: [0, 0, 0.02, 0.7] },
    { method: "single", ns: NS, tokensPerProblem: tok, accuracy: acc, truncationRate: [0, 0, 0.03, 0.9] },
  ]);
  const middle = fig.data.filter((t) => t.xaxis === "x3");
  assert.deepEqual(
    middle.map((t) => t.y),
    [
      [0, 0, 0.02, 0.7],
      [0, 0, 0.03, 0.9],
    ],
  );
  assert.ok(middle.every((t) => t.showlegend === false && t.mode === "lines+markers"));
  const axes = fig.layout as Record<string, { domain?: number[]; range?: number[]; anchor?: string }>;
  assert.deepEqual(axes.yaxis3!.range, [0, 1.02]);
  assert.equal(axes.xaxis3!.anchor, "y3");
  // left to right: tokens, truncation, accuracy; no overlap
  assert.ok(axes.xaxis!.domain![1]! < axes.xaxis3!.domain![0]! && axes.xaxis3!.domain![1]! < axes.xaxis2!.domain![0]!);
  // without rates: the two-panel figure as before
  assert.equal(
    taskScalingFigure([{ method: "bcr", ns: NS, tokensPerProblem: tok, accuracy: acc }]).layout.xaxis3,
    undefined,
  );
});

test("accuracyVsTokensFigure: given means and intervals, a dashed frontier in order of tokens, labels that dodge each other", () => {
  const pts = ["single", "bcr", "linear@1", "linear@5"].flatMap((m, k) =>
    [1, 2].map((seed) => ({ method: m, seed, accuracy: 0.9 - 0.2 * k, tokensPerProblem: 30 - 6 * k })),
  );
  const means = {
    bcr: {
      accuracy: { mean: 0.7, ci: [0.6, 0.8] as [number, number] },
      tokens: { mean: 24, ci: [22, 26] as [number, number] },
    },
  };
  const fig = accuracyVsTokensFigure(pts, {
    means,
    frontier: { methods: ["linear@5", "single", "linear@1"], name: "penalties" },
    labels: true,
  });
  const frontier = fig.data.find((t) => t.name === "penalties")!;
  assert.equal(fig.data[0], frontier, "drawn first, beneath the markers");
  assert.deepEqual(frontier.x, [12, 18, 30]);
  assert.equal(frontier.line!.dash, "dash");
  const bcr = fig.data.find((t) => t.name === "bcr")!;
  assert.deepEqual(bcr.x, [24]);
  assert.ok(
    Math.abs(bars(bcr.error_y).array[0]! - 0.1) < 1e-12 && Math.abs(bars(bcr.error_x).arrayminus![0]! - 2) < 1e-12,
  );
  // the first-listed methods are drawn last (on top); the legend keeps the listed order
  const order = fig.data.filter((t) => t.legendrank !== undefined).map((t) => t.name);
  assert.deepEqual(order, ["linear@5", "linear@1", "bcr", "single"]);
  assert.deepEqual(
    fig.data.filter((t) => t.legendrank !== undefined).map((t) => t.legendrank),
    [1003, 1002, 1001, 1000],
  );
  const labels = fig.layout.annotations!;
  assert.deepEqual(
    labels.map((a) => a.text),
    ["single", "bcr", "linear@1", "linear@5"],
  );
  // two close means: labels on opposite sides
  const close = accuracyVsTokensFigure(
    [
      { method: "bcr", seed: 1, accuracy: 0.68, tokensPerProblem: 20.7 },
      { method: "linear@0.5", seed: 1, accuracy: 0.68, tokensPerProblem: 21 },
    ],
    { labels: true },
  ).layout.annotations!;
  assert.ok(close[0]!.ax! < 0 && close[1]!.ax! > 0, JSON.stringify(close.map((a) => [a.ax, a.ay])));
  assert.equal(accuracyVsTokensFigure(pts).layout.annotations, undefined, "no labels unless asked");
});

test("loop figures: no re-check anywhere says so instead of drawing an empty plot; loop-free methods are named, not drawn", () => {
  const none = loopHistogramFigure([
    { method: "bcr", values: [0, 0, 0] },
    { method: "sft", values: [0, 0] },
  ]);
  assert.equal(none.data.length, 0);
  assert.match(String(none.layout.annotations![0]!.text), new RegExp(`^${NO_LOOPS_TEXT} \\(bcr, sft\\)`));
  assert.equal(none.layout.xaxis!.visible, false);
  assert.equal(loopCountsFigure([{ method: "bcr", values: [0] }]).data.length, 0);
  const some = loopHistogramFigure([
    { method: "bcr", values: [0, 0] },
    { method: "sft", values: [0, 2, 3] },
  ]);
  assert.deepEqual(
    some.data.map((t) => t.name),
    ["sft"],
  );
  assert.match(String(some.layout.annotations![0]!.text), /no re-checks in any response of bcr/);
  // counts: bars on a log axis, a zero share no bar
  const counts = loopCountsFigure([
    { method: "bcr", values: [0, 0, 0, 0] },
    { method: "linear@5", values: [...new Array<number>(997).fill(0), 2, 3, 3] },
  ]);
  assert.equal(counts.layout.yaxis!.type, "log");
  assert.equal(counts.data.length, 1);
  const bar = counts.data[0]!;
  assert.equal(bar.type, "bar");
  assert.deepEqual(bar.x, [0, 1, 2, 3]);
  assert.deepEqual(bar.y, [0.997, null, 0.001, 0.002]);
  assert.match(String(counts.layout.annotations![0]!.text), /of bcr$/);
});

test("doseResponseFigure: a reference method's final accuracy drawn dotted across the top panel", () => {
  const pts = [
    {
      lambda: 1,
      collapsedShare: 0,
      finalAccuracy: { mean: 0.8, ci: [0.7, 0.9] as [number, number] },
      meanCosAccLen: 0,
    },
    {
      lambda: 5,
      collapsedShare: 0,
      finalAccuracy: { mean: 0.3, ci: [0.2, 0.4] as [number, number] },
      meanCosAccLen: -0.1,
    },
  ];
  const f = doseResponseFigure(pts, 4, { reference: { method: "bcr", accuracy: 0.81 } });
  const ref = f.data.find((t) => t.name?.startsWith("bcr (no length penalty)"))!;
  assert.deepEqual(ref.y, [0.81, 0.81]);
  assert.equal(ref.line!.color, methodColor("bcr"));
  const [lo, hi] = f.layout.xaxis!.range as [number, number];
  assert.ok(
    Math.abs(Math.log10((ref.x as number[])[0]!) - lo) < 1e-9 &&
      Math.abs(Math.log10((ref.x as number[])[1]!) - hi) < 1e-9,
  );
  assert.equal(f.layout.legend!.orientation, "h", "legend under the panels");
});
