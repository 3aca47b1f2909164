// The study's model FLOPs, stage by stage, and the wall time they need at the machine's sgemm
// peak: the floor under issue 31's "whole study in 60 minutes" whatever the kernels do. Counted
// with src/profile/flops.ts's formulas (2mnk per matmul; training 3x forward) on the committed
// rows, and each part a lower bound:
//   sft     steps x batch x the mean real tokens of the phase's examples (no padding; the
//           attention square at the mean length, which Jensen's inequality puts below the mean
//           of the squares), per SFT phase and seed
//   rl      per run and step, promptsPerStep x groupSize rollouts of the pack prompt's mean length
//           plus a response of N x the run's final tokens per problem (its own in-run eval at
//           the end: RL shortens responses, so its earlier rollouts were no shorter), decoded
//           one sequence at a time (no batch riding along), and the update on the same lengths
//   eval    every sampled, greedy and sweep response in the rows, at its own length; its prompt
//           the mean pack prompt of its N
//   not counted: the gates, RL's periodic evals, the reference model, the continuation's eval
//           (not in rows), embeddings, LayerNorm, GELU, softmax, the optimizer.
// The peak is measured in the same run (1024^3 float32 sgemm on every core through the engine,
// src/engine/peak.ts), or given with --peak GFLOP/s (bench.json's `sgemmPeak.allCores.gflops`).
//   npx tsx scripts/study-flops.ts [--peak 200.6] [configs/study/study.json]
import * as path from "node:path";
import { initBackend } from "../src/engine/backend.js";
import { CharTokenizer } from "../src/model/tokenizer.js";
import { measureSgemmPeak } from "../src/engine/peak.js";
import { type FlopShape, generateFlops, trainFlops } from "../src/profile/flops.js";
import type { ReproduceConfig } from "../src/reproduce/config.js";
import { type Experiment, loadStudy, methodLabel, sftSeedConfig } from "../src/study/config.js";
import { packTokens, sftMeanTokens } from "../src/study/eta.js";
import { readRows, ROWS_FILE } from "../src/study/rows.js";
import { gptConfigFor } from "../src/train/sft.js";

const args = process.argv.slice(2);
const peakAt = args.indexOf("--peak");
const givenPeak = peakAt >= 0 ? Number(args.splice(peakAt, 2)[1]) : null;
if (givenPeak !== null && !(givenPeak > 0)) throw new Error("--peak: a positive GFLOP/s figure, e.g. --peak 200.6");
const studyFile = args[0] ?? "configs/study/study.json";
const study = loadStudy(studyFile);
const tok = new CharTokenizer();

/** Mean prompt tokens (BOS included) of a pack of n problems, as the ETA's decoding estimate counts them. */
const promptTokens = (c: ReproduceConfig, n: number) => packTokens(c, n).prompt;
const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const ns = (n: number | number[]) => (Array.isArray(n) ? n : [n]);

/** Generation FLOPs of one sequence: prompt P (rounded), R new tokens; memoised (the rows repeat lengths). */
const genCache = new Map<string, number>();
function genFlops(s: FlopShape, P: number, R: number): number {
  const key = `${Math.round(P)},${Math.max(1, Math.round(R))}`;
  let f = genCache.get(key);
  if (f === undefined) {
    f = generateFlops(s, [Math.round(P)], [Math.max(1, Math.round(R))]);
    genCache.set(key, f);
  }
  return f;
}

type Stage = "sft" | "rollout" | "update" | "eval";
function experimentFlops(exp: Experiment): {
  flops: Record<Stage, number>;
  wall: Record<string, number>;
  notes: string[];
} {
  const flops: Record<Stage, number> = { sft: 0, rollout: 0, update: 0, eval: 0 };
  const notes: string[] = [];
  const c1 = sftSeedConfig(exp, exp.spec.sftSeeds[0]!, "unused");
  const shape: FlopShape = gptConfigFor(c1.sft.run, tok);
  // SFT: every phase of every seed at its examples' mean real length.
  for (const k of exp.spec.sftSeeds) {
    const c = sftSeedConfig(exp, k, "unused");
    const phases = [
      { run: c.sft.run, p: c.sft },
      ...(c.sft.extend ? [{ run: c.sft.extend.run, p: c.sft.extend }] : []),
    ];
    for (const { run, p } of phases) {
      const L = sftMeanTokens(c, p);
      flops.sft += run.train.steps * run.train.batchSize * trainFlops(shape, 1, L);
    }
  }
  const archive = readRows(path.join("results/study", exp.spec.id, ROWS_FILE));
  // RL: each run's steps, at the final tokens per problem it reached.
  const packN = (arm: string) => (arm.startsWith("bcr") ? ns(c1.rl.bcr.n) : [1]);
  for (const r of archive.meta.runs) {
    if (r.finalTokens === null) {
      notes.push(`${r.arm} sft-${r.sft} rl-${r.rl} (${r.set}): no final tokens, not counted`);
      continue;
    }
    const c = sftSeedConfig(exp, r.sft, "unused");
    const B = c.rl.promptsPerStep * c.rl.groupSize;
    const lens = packN(r.arm).map((n) => ({ P: promptTokens(c, n), R: n * r.finalTokens! }));
    const rollout = meanOf(lens.map(({ P, R }) => genFlops(shape, P, R)));
    const update = meanOf(lens.map(({ P, R }) => trainFlops(shape, 1, P + R)));
    // GRPO's passes over each batch (rl.base.grpo.epochs, RlConfig's default 1)
    const epochs = Number((c.rl.base.grpo as { epochs?: number } | undefined)?.epochs ?? 1);
    flops.rollout += r.steps * B * rollout;
    flops.update += r.steps * B * epochs * update;
  }
  if (
    !exp.base.rl.methods.every(
      (m) => ["single", "single@b", "bcr", "bcr-split"].includes(methodLabel(m)) || m.kind === "penalty",
    )
  )
    notes.push("a method whose pack size this count does not know was counted as N=1");
  // Eval: every response in the rows at its own length.
  const responses = new Map<string, { n: number; tokens: number }>();
  for (const row of archive.rows) {
    const key =
      row.set === "sweep"
        ? `${row.arm}|${row.sft}|${row.rl}|${row.set}|${row.n}|${row.group}|${row.sample}`
        : `${row.arm}|${row.sft}|${row.rl}|${row.set}|${row.problem}|${row.sample}`;
    const r = responses.get(key);
    if (r) r.tokens += row.tokens;
    else responses.set(key, { n: row.n, tokens: row.tokens });
  }
  for (const { n, tokens } of responses.values()) flops.eval += genFlops(shape, promptTokens(c1, n), tokens);
  return { flops, wall: archive.meta.wall as Record<string, number>, notes };
}

let peak = givenPeak;
let peakHow = "given with --peak";
if (peak === null) {
  await initBackend();
  const m = measureSgemmPeak({ n: 1024, reps: 8 });
  peak = m.allCores?.gflops ?? m.oneThread?.gflops ?? null;
  if (!peak) throw new Error("no sgemm peak could be measured on this backend: give one with --peak");
  peakHow = `measured now (1024^3 sgemm, ${m.allCores ? "every core" : "one thread"})`;
}

const fmt = (x: number, d = 0) => x.toFixed(d);
const min = (s: number) => `${fmt(s / 60, 1)} min`;
let total = 0;
let totalWall = 0;
console.log(`peak ${fmt(peak, 1)} GFLOP/s, ${peakHow}\n`);
console.log("experiment  stage    TFLOP  floor at peak  recorded wall  share of peak in the recorded wall");
for (const exp of study.experiments) {
  const { flops, wall, notes } = experimentFlops(exp);
  const walls: Record<Stage | "rl", number> = {
    sft: wall.sft ?? 0,
    rollout: 0,
    update: 0,
    rl: (wall.rl ?? 0) + (wall.continuation ?? 0),
    eval: wall.eval ?? 0,
  };
  const rows: [string, number, number | null][] = [
    ["sft", flops.sft, walls.sft],
    ["rl", flops.rollout + flops.update, walls.rl],
    ["  rollout", flops.rollout, null],
    ["  update", flops.update, null],
    ["eval", flops.eval, walls.eval],
  ];
  for (const [stage, f, w] of rows) {
    const floor = f / (peak * 1e9);
    console.log(
      `${exp.spec.id.padEnd(10)}  ${stage.padEnd(9)} ${fmt(f / 1e12, 1).padStart(5)}  ${fmt(floor).padStart(11)} s  ${w === null ? "" : `${fmt(w).padStart(10)} s`}  ${w ? `${fmt((100 * floor) / w, 1)}%` : ""}`,
    );
  }
  const f = flops.sft + flops.rollout + flops.update + flops.eval;
  total += f;
  totalWall += walls.sft + walls.rl + walls.eval + (wall.gate ?? 0);
  for (const n of notes) console.log(`  note: ${n}`);
}
const floor = total / (peak * 1e9);
console.log(
  `\nstudy: ${fmt(total / 1e12, 1)} TFLOP counted; at ${fmt(peak, 1)} GFLOP/s that is ${min(floor)} at 100% of the peak, ` +
    `${min(floor / 0.5)} at 50%; 60 minutes need ${fmt((100 * floor) / 3600, 1)}% of the peak on average over the study ` +
    `(the recorded stages, ${min(totalWall)}, ran at ${fmt((100 * floor) / totalWall, 1)}% of this peak)`,
);
