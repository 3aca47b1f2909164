// The study's figures (src/study/figures.ts) on hand-made estimates: the accuracy axis holds every
// point drawn on it (a greedy marker at accuracy 1.0 was cut in half at the frame's top edge), and
// every arm of the study's experiments has a colour of its own (bcr-split had bcr's).
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadExperiment, methodLabel } from "../../src/study/config.js";
import {
  armOrder,
  armStyle,
  doseResponseFigure,
  frontierFigure,
  nSweepFigure,
  type SweepEstimates,
} from "../../src/study/figures.js";
import type { ArmSummary, Judgement } from "../../src/study/judge.js";
import type { Layout } from "../../src/viz/figures.js";

const est = (mean: number, half: number) => ({ mean, ci: [mean - half, mean + half] as [number, number] });

function arm(name: string, accuracy: number, tokens: number, greedy: number | null): ArmSummary {
  return { arm: name, accuracy: est(accuracy, 0.04), tokens: est(tokens, 2), loops: null, greedyAccuracy: greedy };
}

/** Sampled accuracies near 0.9, single's greedy at exactly 1.0 (an easy set solved at temperature 0). */
const judgement: Judgement = {
  claims: [],
  frontier: { diff: null, ci: null },
  arms: [
    arm("single", 0.92, 40, 1),
    arm("bcr", 0.9, 30, 0.98),
    arm("linear@0.5", 0.88, 34, 0.97),
    arm("linear@2", 0.8, 28, 0.9),
  ],
  notes: [],
};

/**
 * The y range an axis shows: its explicit range, else as far as plotly's autorange may go (its
 * clip bounds: a mark beyond one is cut at the frame's edge).
 */
function yAxis(layout: Layout, name: "yaxis" | "yaxis2" = "yaxis"): [number, number] {
  const axis = layout[name] as { range?: [number, number]; autorangeoptions?: { clipmin?: number; clipmax?: number } };
  return axis.range ?? [axis.autorangeoptions?.clipmin ?? -Infinity, axis.autorangeoptions?.clipmax ?? Infinity];
}

test("frontier: the accuracy axis shows a greedy marker at 1.0 and every error bar, with room beyond", () => {
  const fig = frontierFigure("T", judgement).fig!;
  const [lo, hi] = yAxis(fig.layout);
  assert.ok(hi >= 1.02, `top ${hi}: a marker at 1.0 needs room above it`);
  assert.ok(lo <= 0.8 - 0.04 - 0.02, `bottom ${lo}: linear@2's error bar reaches 0.76`);
  assert.ok(hi - lo < 0.5, `range ${lo}..${hi}: still fitted to the data, not 0..1`);
});

test("n-sweep and dose-response: their accuracy axes show the greedy markers at 1.0 too", () => {
  const sweep: SweepEstimates = {
    ns: [1, 4],
    problems: 10,
    budget: 140,
    arms: ["single", "bcr"].map((a) => ({
      arm: a,
      points: [1, 4].map((n) => ({ n, accuracy: est(0.9 - 0.02 * n, 0.03), tokens: est(30, 2) })),
    })),
  };
  const [, sweepTop] = yAxis(nSweepFigure("T", judgement, sweep).fig!.layout);
  assert.ok(sweepTop >= 1.02, `n-sweep top ${sweepTop}`);
  const [, doseTop] = yAxis(doseResponseFigure("T", judgement).fig!.layout);
  assert.ok(doseTop >= 1.02, `dose-response top ${doseTop}`);
});

/** Hue (radians) and lightness ((max + min) / 2) of #rrggbb. */
function hueLightness(hex: string): [number, number] {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255) as [number, number, number];
  return [Math.atan2(Math.sqrt(3) * (g - b), 2 * r - g - b), (Math.max(r, g, b) + Math.min(r, g, b)) / 2];
}

test("every arm of configs/study/A, B and C has a colour of its own; bcr-split is bcr's hue, darker", () => {
  const arms = new Set(["sft"]);
  for (const id of ["A", "B", "C"])
    for (const m of loadExperiment(`configs/study/${id}.json`).base.rl.methods) {
      const label = methodLabel(m);
      arms.add(label === "single@b" ? "single@b35" : label); // single@b<tokens>: its tokens come from the data
    }
  const list = armOrder([...arms]);
  assert.deepEqual(list, ["sft", "single", "single@b35", "bcr", "bcr-split", "linear@0.1", "linear@1"]);
  const colors = list.map((a) => armStyle(a).color);
  assert.equal(new Set(colors).size, list.length, `distinct: ${list.map((a, i) => `${a}=${colors[i]}`).join(" ")}`);

  const [bcrHue, bcrLight] = hueLightness(armStyle("bcr").color);
  const [splitHue, splitLight] = hueLightness(armStyle("bcr-split").color);
  assert.ok(Math.abs(splitHue - bcrHue) < 0.05, "bcr-split keeps bcr's hue: its relative");
  assert.ok(
    bcrLight - splitLight > 0.1,
    `bcr-split is visibly darker (${splitLight.toFixed(2)} vs ${bcrLight.toFixed(2)})`,
  );
  assert.equal(armStyle("bcr-split/seed-1").color, armStyle("bcr-split").color, "its runs keep it");
});
