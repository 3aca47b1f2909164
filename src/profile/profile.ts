/**
 * `bcr profile`: where the time of the reproduction's work goes, phase by phase and kernel by
 * kernel, against the sgemm peak measured in the same run. The model and the batches come from
 * a config (default: the study's experiment A, its base resolved as its first SFT seed runs it),
 * and each phase runs once untimed, then `steps` times under tf.profile:
 *
 *   sft         one SFT step (src/train/sft.ts's: forward, backward, clip, AdamW) on the real
 *               SFT batches (shapes.ts), 1 worker; then `workers` data-parallel workers
 *   rl-rollout  the GRPO rollout (src/rl/grpo.ts): promptsPerStep x groupSize sequences of the
 *               bcr arm's packed prompts, generated with the KV cache under its budget, and scored
 *   rl-update   the GRPO update on those rollouts: advantages, the surrogate's forward and
 *               backward, clip, AdamW
 *   eval        one eval batch: eval.batchSize sampled N=1 requests at eval.n1Budget through
 *               LocalModel, as the eval stage asks them
 *
 * Per phase: wall ms of the profiled run, kernel ms by kernel name, the time outside kernels
 * (JavaScript, dispatch, scoring), the FLOPs counted from the shapes (flops.ts) and GFLOP/s as a
 * share of both sgemm peaks (peak.ts: one thread's and the machine's, all cores), with the
 * phase's MFU: its share of the peak of the threads it runs on (one worker at one OpenBLAS
 * thread: the 1-thread peak; the data-parallel workers: the machine's). Without `init` the
 * model is the config's at its random init, which seldom writes EOS: rollouts and eval
 * responses then run to the full budget (the most costly case).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { packProblems } from "../bcr/templates.js";
import { backendInfo, initBackend, tf, type BackendInfo } from "../engine/backend.js";
import { GPT, type GPTConfig } from "../model/gpt.js";
import { LocalModel } from "../model/local-model.js";
import { CharTokenizer } from "../model/tokenizer.js";
import { ReproduceConfigSchema, type ReproduceConfig } from "../reproduce/config.js";
import { rlConfigFor } from "../reproduce/rl.js";
import { makeShaping } from "../rewards/index.js";
import { groupAdvantages } from "../rl/advantages.js";
import type { RlConfig } from "../rl/config.js";
import { buildUpdateBatch, drawPrompts, sampleRollouts, surrogateGrads, type Rollout } from "../rl/grpo.js";
import { tokenLogProbsAndEntropy } from "../rl/loss.js";
import { loadExperiment, sftSeedConfig } from "../study/config.js";
import type { Encoded } from "../train/batch.js";
import { DataParallel, shardBounds } from "../train/data-parallel.js";
import { ensureGradients } from "../train/gradients.js";
import { loadLocal } from "../train/load-local.js";
import { AdamW, clipByGlobalNorm } from "../train/optim.js";
import { ConfigError, loadConfig } from "../util/config.js";
import { Rng } from "../util/rng.js";
import { forwardFlops, generateFlops, trainFlops, type FlopShape } from "./flops.js";
import { profiled, type KernelStat, type ProfileSummary } from "./kernels.js";
import { machineInfo, type MachineInfo } from "./machine.js";
import { formatPeak, measureSgemmPeak, peakFor, type SgemmPeak } from "../engine/peak.js";
import { fmt, formatTable, gptParamCount, SETTLED_LOAD, settledLabel } from "./report.js";
import { shapesOf } from "./shapes.js";
import { sftStepper } from "./sft-step.js";

export const DEFAULT_PROFILE_CONFIG = "configs/study/A.json";

export interface ProfileOptions {
  /** An experiment file (configs/study/*.json: its base as its first SFT seed runs it) or a reproduce config. */
  config: string;
  /** Profiled repetitions of each phase, after one untimed run; the figures are means per step. */
  steps: number;
  /** Data-parallel workers of the second SFT row (1: no such row). */
  workers: number;
  /** A smoke check of every path: a tiny model, small batches, few tokens (its figures mean nothing). */
  quick: boolean;
  /** A trained checkpoint (or run folder) to profile instead of the config's model at random init. */
  init?: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export type PhaseId = "sft" | "sft-dp" | "rl-rollout" | "rl-update" | "eval";

/** One phase, every figure a mean per step. */
export interface PhaseProfile {
  id: PhaseId;
  label: string;
  shape: string;
  steps: number;
  wallMs: number;
  kernelMs: number;
  /**
   * wallMs - kernelMs: JavaScript, dispatch, host work (sampling, scoring), and the native
   * optimizer (AdamW and the clipping norm run as addon calls, not tfjs kernels: optim.ts).
   */
  outsideMs: number;
  kernelCalls: number;
  /** The longest kernels by name, then "other" (the rest): they sum to kernelMs. */
  kernels: KernelStat[];
  flops: number;
  gflopPerS: number;
  /** Threads the phase computes on at once (workers x OpenBLAS threads per call). */
  threads: number;
  /** gflopPerS / the 1-thread sgemm peak (null: not measured on this backend). */
  oneThreadPeakShare: number | null;
  /** gflopPerS / the machine's (all cores) sgemm peak (null: not measured on this backend). */
  machinePeakShare: number | null;
  /** The phase's model FLOPs utilisation: one of the two shares, the peak of its `threads` (peak.ts's peakFor). */
  mfu: number | null;
  mfuAgainst: "oneThread" | "allCores";
  /**
   * The share of the token rows of this thread's products and GELU passes that were padding and
   * skipped (src/engine/real-rows.ts); null where none was a batch's token rows (sampling).
   */
  paddingSkipped: number | null;
  note?: string;
}

export interface ProfileResult {
  date: string;
  settled: boolean;
  settledLoadLimit: number;
  loadAvgAtStart: number[];
  machine: MachineInfo;
  backend: BackendInfo;
  config: { file: string; description: string };
  model: GPTConfig & { params: number; init: string };
  settings: { steps: number; workers: number; quick: boolean };
  /** The ceiling: an n^3 float32 matmul on one thread and on every core, measured at the start of this run. */
  peak: SgemmPeak;
  phases: PhaseProfile[];
  /** Phases that could not run, and why. */
  skipped: { id: PhaseId; reason: string }[];
}

/** Kernels named per phase in the JSON; the rest are "other". */
const TOP_KERNELS = 8;

// ---------------------------------------------------------------------------------------------
// The config: an experiment's base or a reproduce config

function loadProfileConfig(file: string): { config: ReproduceConfig; description: string } {
  if (!fs.existsSync(file)) throw new ConfigError(`${file}: no such file (--config)`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new ConfigError(`${file}: not JSON: ${(e as Error).message}`);
  }
  if (raw !== null && typeof raw === "object" && "base" in raw && "sftSeeds" in raw) {
    const exp = loadExperiment(file);
    const k = exp.spec.sftSeeds[0]!;
    return {
      config: sftSeedConfig(exp, k, "runs/study"),
      description: `experiment ${exp.spec.id}'s base as SFT seed ${k} runs it`,
    };
  }
  return { config: loadConfig(file, ReproduceConfigSchema), description: "reproduce config" };
}

/** --quick: the config's lengths and prompts, a tiny model, small batches, a few tokens. */
function shrink(config: ReproduceConfig): ReproduceConfig {
  const c = structuredClone(config);
  c.sft.run.model = { ...c.sft.run.model, nEmbd: 32, nLayer: 1, nHead: 2 };
  c.sft.run.train = { ...c.sft.run.train, batchSize: 4 };
  c.rl.promptsPerStep = 2;
  c.rl.groupSize = 2;
  c.rl.bcr = { ...c.rl.bcr, budget: 8 };
  c.eval.batchSize = 4;
  c.eval.n1Budget = 8;
  return c;
}

// ---------------------------------------------------------------------------------------------
// The phases

interface Measured {
  summary: ProfileSummary;
  steps: number;
  flops: number;
}

function phaseOf(
  id: PhaseId,
  label: string,
  shape: string,
  m: Measured,
  peak: SgemmPeak,
  threads: number,
  note?: string,
): PhaseProfile {
  const per = (x: number) => x / m.steps;
  const p = m.summary;
  const named = p.top.slice(0, TOP_KERNELS).map((k) => ({ name: k.name, count: per(k.count), ms: per(k.ms) }));
  const rest = p.top.slice(TOP_KERNELS);
  const kernels = rest.length
    ? [
        ...named,
        {
          name: "other",
          count: per(rest.reduce((a, k) => a + k.count, 0)),
          ms: per(rest.reduce((a, k) => a + k.ms, 0)),
        },
      ]
    : named;
  const wallMs = per(p.wallMs);
  const gflopPerS = per(m.flops) / (wallMs / 1000) / 1e9;
  const share = (of: SgemmPeak["oneThread"]) => (of ? gflopPerS / of.gflops : null);
  const mfuPeak = peakFor(peak, threads);
  return {
    id,
    label,
    shape,
    steps: m.steps,
    wallMs,
    kernelMs: per(p.kernelMs),
    outsideMs: Math.max(0, wallMs - per(p.kernelMs)),
    kernelCalls: per(p.kernels),
    kernels,
    flops: per(m.flops),
    gflopPerS,
    threads,
    oneThreadPeakShare: share(peak.oneThread),
    machinePeakShare: share(peak.allCores),
    mfu: mfuPeak.gflops ? gflopPerS / mfuPeak.gflops : null,
    mfuAgainst: mfuPeak.against,
    paddingSkipped: p.paddingRows.rows > 0 ? p.paddingRows.skipped / p.paddingRows.rows : null,
    ...(note ? { note } : {}),
  };
}

const range = (xs: number[]) =>
  Math.min(...xs) === Math.max(...xs) ? `${xs[0]}` : `${Math.min(...xs)}..${Math.max(...xs)}`;
const paddedLength = (rows: Encoded[]) => Math.max(2, ...rows.map((e) => e.ids.length));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** SFT steps: one untimed on batches[0], then batches[1..steps] profiled. */
async function profileSft(
  model: GPT,
  batches: Encoded[][],
  config: ReproduceConfig,
  steps: number,
  dp?: DataParallel,
): Promise<Measured> {
  const stepper = sftStepper(model, batches, config.sft.run.optim, dp);
  try {
    await stepper.step();
    const summary = await profiled(async () => {
      for (let i = 0; i < steps; i++) await stepper.step();
    });
    const shape: FlopShape = model.config;
    const W = dp?.workers ?? 1;
    let flops = 0;
    for (const rows of batches.slice(1, steps + 1)) {
      // each data-parallel shard is padded to its own longest example
      for (const [a, b] of shardBounds(rows.length, W))
        flops += trainFlops(shape, b - a, paddedLength(rows.slice(a, b)));
    }
    return { summary, steps, flops };
  } finally {
    stepper.dispose();
  }
}

/** The update half of rlStep (src/rl/grpo.ts), in its order, for a bcr or single arm (no diagnostics). */
function rlUpdate(config: RlConfig, model: GPT, ref: GPT | null, optimizer: AdamW, groups: Rollout[][]): void {
  const shaping = makeShaping(
    config.kind === "penalty" ? config.shaping.name : "accuracy",
    config.kind === "penalty" ? config.shaping.params : {},
  );
  const ctx = {
    maxLength: config.sampling.budget,
    step: 0,
    totalSteps: config.steps,
    targetLength: config.shaping.targetLength,
  };
  const shaped = groups.map((g) =>
    shaping.shape(
      g.map((r) => ({ accuracy: r.accuracy, length: r.responseIds.length, truncated: r.truncated })),
      ctx,
    ),
  );
  const advantages = shaped.map((g) => groupAdvantages(g, config.grpo.advNorm));
  const batch = buildUpdateBatch(groups.flat(), advantages, config.sampling.groupSize, config.grpo.maskTruncated);
  const refLogp = ref ? tf.tidy(() => tokenLogProbsAndEntropy(ref.logits(batch.tokens), batch.tokens).logp) : undefined;
  const g0 = config.grpo;
  const surrogate = {
    clipLow: g0.clipLow,
    clipHigh: g0.clipHigh,
    klBeta: g0.klBeta,
    aggregation: g0.aggregation,
    budget: config.sampling.budget,
  };
  for (let epoch = 0; epoch < g0.epochs; epoch++) {
    const g = surrogateGrads(model, { ...batch, ...(refLogp ? { refLogp } : {}) }, batch.adv.total, surrogate);
    const clipped = clipByGlobalNorm(g.grads, config.optim.gradClip);
    if (epoch === 0) clipped.norm.dataSync();
    optimizer.update(clipped.grads, config.optim.lr);
    tf.dispose([...g.grads.values(), ...clipped.grads.values(), clipped.norm]);
  }
  tf.dispose([
    batch.tokens,
    batch.mask,
    batch.oldLogp,
    batch.adv.total,
    batch.adv.accuracy,
    batch.adv.length,
    ...(refLogp ? [refLogp] : []),
  ]);
}

/** The RL arm profiled: the bcr arm when the config has one, else its first method. */
function rlArm(config: ReproduceConfig, derived: Parameters<typeof rlConfigFor>[3], init: string): RlConfig {
  const method = config.rl.methods.find((m) => m.kind === "bcr") ?? config.rl.methods[0]!;
  return rlConfigFor(config, method, config.seeds[0] ?? 1, derived, init);
}

// ---------------------------------------------------------------------------------------------
// The run

export async function runProfile(o: ProfileOptions): Promise<ProfileResult> {
  const log = o.log ?? (() => {});
  const loadAvgAtStart = os.loadavg();
  const unsettled = settledLabel(loadAvgAtStart[0]!, SETTLED_LOAD);
  const loaded = loadProfileConfig(o.config);
  const config = o.quick ? shrink(loaded.config) : loaded.config;
  const backend = await initBackend();
  ensureGradients();
  if (unsettled) log(`[profile] load average ${loadAvgAtStart[0]!.toFixed(2)} at the start: ${unsettled}`);

  const peak = measureSgemmPeak(o.quick ? { n: 256, reps: 2 } : { n: 1024, reps: 8 });
  log(`[profile] sgemm peak ${peak.n}^3: ${formatPeak(peak, (x) => fmt(x))}`);
  // threads one worker computes on: OpenBLAS's per call with the native set, else the backend's
  const blasThreads = backend.kernels?.engine === "native" ? backend.kernels.threads : backend.threads;

  const shapes = shapesOf(config, o.config, { steps: 1 + o.steps });
  const loadedModel = o.init ? await loadLocal(o.init) : null;
  const model = loadedModel?.gpt ?? new GPT(shapes.model);
  const tok = loadedModel?.tokenizer ?? new CharTokenizer();
  const cfg = model.config;
  const phases: PhaseProfile[] = [];
  const skipped: ProfileResult["skipped"] = [];
  try {
    // 1. SFT: 1 worker, then data-parallel
    const batches = shapes.batches;
    const sftShape = (k: number) =>
      `${batches[0]!.length} x ${range(batches.slice(1).map(paddedLength))} padded${k > 1 ? `, ${k} shards` : ""}`;
    log("[profile] sft step, 1 worker");
    phases.push(
      phaseOf(
        "sft",
        "sft step, 1 worker",
        sftShape(1),
        await profileSft(model, batches, config, o.steps),
        peak,
        blasThreads,
      ),
    );
    if (o.workers > 1) {
      log(`[profile] sft step, ${o.workers} workers`);
      try {
        const dp = await DataParallel.start(cfg, o.workers, model);
        try {
          const m = await profileSft(model, batches, config, o.steps, dp);
          phases.push(
            phaseOf(
              "sft-dp",
              `sft step, ${o.workers} workers (data-parallel)`,
              sftShape(o.workers),
              m,
              peak,
              o.workers * blasThreads,
              "kernel ms: the main thread's only (its shard, the costliest with the fused kernels, and the gradient sum); the other workers' kernels run in threads tf.profile does not see",
            ),
          );
        } finally {
          await dp.close();
        }
      } catch (e) {
        skipped.push({ id: "sft-dp", reason: (e as Error).message });
      }
    }

    // 2. RL: rollout, then the update on its rollouts
    const rl = rlArm(config, shapes.derived, o.init ?? "(bcr profile: the config's model, random init)");
    const G = rl.sampling.groupSize;
    const dataRng = new Rng(rl.task.trainSeed * 7919 + rl.seed);
    const sampleRng = new Rng(rl.seed);
    log(`[profile] rl rollout (${rl.method}, ${rl.sampling.promptsPerStep} x ${G}, budget ${rl.sampling.budget})`);
    const short = { ...rl, sampling: { ...rl.sampling, budget: Math.min(8, rl.sampling.budget) } };
    sampleRollouts(model, tok, drawPrompts(short, dataRng), short, sampleRng);
    let groups: Rollout[][] = [];
    let rolloutFlops = 0;
    const rolloutSummary = await profiled(() => {
      for (let i = 0; i < o.steps; i++) {
        groups = sampleRollouts(model, tok, drawPrompts(rl, dataRng), rl, sampleRng);
        const seqs = groups.flat();
        rolloutFlops += generateFlops(
          cfg,
          seqs.map((r) => r.promptIds.length),
          seqs.map((r) => r.responseIds.length),
        );
      }
    });
    const seqs = groups.flat();
    phases.push(
      phaseOf(
        "rl-rollout",
        "rl rollout (generate + score)",
        `${seqs.length} seqs (${rl.sampling.promptsPerStep} prompts x ${G}), prompt ${range(seqs.map((r) => r.promptIds.length))}, ` +
          `${fmt(mean(seqs.map((r) => r.responseIds.length)), 0)} of ${rl.sampling.budget} new`,
        { summary: rolloutSummary, steps: o.steps, flops: rolloutFlops },
        peak,
        blasThreads,
      ),
    );

    log("[profile] rl update");
    const optimizer = new AdamW(model.params, {
      beta1: rl.optim.beta1,
      beta2: rl.optim.beta2,
      eps: rl.optim.eps,
      weightDecay: rl.optim.weightDecay,
    });
    const ref = rl.grpo.klBeta > 0 ? new GPT(cfg) : null;
    try {
      rlUpdate(rl, model, ref, optimizer, groups);
      const updateSummary = await profiled(() => {
        for (let i = 0; i < o.steps; i++) rlUpdate(rl, model, ref, optimizer, groups);
      });
      const lens = seqs.map((r) => r.promptIds.length + r.responseIds.length);
      const T = Math.max(...lens);
      const S = seqs.length;
      // Model FLOPs: each sequence at its own length. The padding up to T is not the model's
      // work, and the kernels skip its rows (src/engine/real-rows.ts); the reference model's
      // forward pass still computes them.
      const perUpdate =
        rl.grpo.epochs * lens.reduce((a, len) => a + trainFlops(cfg, 1, len), 0) +
        (ref ? forwardFlops(cfg, { rows: S * T, pairs: S * T * T, headRows: S * T }) : 0);
      phases.push(
        phaseOf(
          "rl-update",
          "rl update (fwd + bwd + clip + AdamW)",
          `${seqs.length} x ${T}${rl.grpo.epochs > 1 ? `, ${rl.grpo.epochs} epochs` : ""}${ref ? ", + reference forward" : ""}`,
          { summary: updateSummary, steps: o.steps, flops: o.steps * perUpdate },
          peak,
          blasThreads,
        ),
      );
    } finally {
      optimizer.dispose();
      ref?.dispose();
    }

    // 3. Eval: one batch of N=1 requests as the eval stage asks them
    const e = config.eval;
    log(`[profile] eval batch (${e.batchSize} requests, N=1, budget ${e.n1Budget})`);
    const local = new LocalModel({ model, tokenizer: tok, name: "profile", maxBatch: e.batchSize });
    const requests = shapes.problems.slice(0, e.batchSize).map((p, i) => ({
      prompt: packProblems([p], { template: "compact" }).text,
      maxTokens: e.n1Budget,
      temperature: e.temperature,
      seed: i + 1,
    }));
    await local.complete(requests.map((r) => ({ ...r, maxTokens: Math.min(8, r.maxTokens) })));
    const promptLens = requests.map((r) => local.encodePrompt(r.prompt).length);
    let evalFlops = 0;
    let done: Awaited<ReturnType<LocalModel["complete"]>> = [];
    const evalSummary = await profiled(async () => {
      for (let i = 0; i < o.steps; i++) {
        done = await local.complete(requests);
        const ok = done.flatMap((c, j) => (c.finishReason === "error" ? [] : [j]));
        evalFlops += generateFlops(
          cfg,
          ok.map((j) => promptLens[j]!),
          ok.map((j) => done[j]!.completionTokens),
        );
      }
    });
    const failed = done.filter((c) => c.finishReason === "error").length;
    phases.push(
      phaseOf(
        "eval",
        "eval batch (N=1, sampled)",
        `${requests.length} requests, prompt ${range(promptLens)}, ` +
          `${fmt(mean(done.map((c) => c.completionTokens)), 0)} of ${e.n1Budget} new, temperature ${e.temperature}`,
        { summary: evalSummary, steps: o.steps, flops: evalFlops },
        peak,
        blasThreads,
        failed ? `${failed} requests failed` : undefined,
      ),
    );
  } finally {
    model.dispose();
  }

  return {
    date: new Date().toISOString(),
    settled: unsettled === null,
    settledLoadLimit: SETTLED_LOAD,
    loadAvgAtStart,
    machine: machineInfo(),
    backend: backendInfo() ?? backend,
    config: { file: path.relative(process.cwd(), o.config) || o.config, description: loaded.description },
    model: { ...cfg, params: gptParamCount(cfg), init: o.init ?? "random" },
    settings: { steps: o.steps, workers: o.workers, quick: o.quick },
    peak,
    phases,
    skipped,
  };
}

// ---------------------------------------------------------------------------------------------
// The report

const SHORT: Record<PhaseId, string> = {
  sft: "sft",
  "sft-dp": "sft dp",
  "rl-rollout": "rollout",
  "rl-update": "update",
  eval: "eval",
};

/** Kernels shown in the by-kernel table: the union of each phase's longest few. */
const KERNEL_ROWS_PER_PHASE = 5;

/** A share as a percentage, "*" marking the row's MFU; "-" where that peak was not measured. */
const percent = (share: number | null, isMfu: boolean) =>
  share == null ? "-" : `${fmt(100 * share, 1)}${isMfu ? "*" : " "}`;

export function formatProfile(r: ProfileResult): string {
  const unsettled = r.settled ? null : settledLabel(r.loadAvgAtStart[0]!, r.settledLoadLimit);
  const b = r.backend;
  const m = r.model;
  const lines = [
    `config: ${r.config.file} (${r.config.description})${r.settings.quick ? ", --quick: a tiny model, a smoke check" : ""}`,
    `model: ${m.nEmbd} wide, ${m.nLayer} layers, ${m.nHead} heads, vocab ${m.vocabSize}, blockSize ${m.blockSize}, ${m.params} parameters, ${m.init === "random" ? "random init" : `from ${m.init}`}`,
    `machine: ${r.machine.cpuModel}, ${r.machine.cores} cores, node ${r.machine.node}, load average ${r.loadAvgAtStart.map((x) => x.toFixed(2)).join(" ")}` +
      (unsettled ? ` -> ${unsettled}: no figure below is a measurement` : ""),
    `backend: ${b.name}` +
      (b.kernels
        ? `, ${b.kernels.engine} kernels${b.kernels.engine === "native" ? `, OpenBLAS ${b.kernels.threads} thread(s)/call` : ""}`
        : ""),
    `sgemm peak (${r.peak.n}^3 float32 matmul, ${r.peak.reps} calls each, this run): ${formatPeak(r.peak, (x) => fmt(x))}`,
    `each phase: one untimed run, then ${r.settings.steps} under tf.profile; ms are means per step`,
    "",
    formatTable(
      ["phase", "shape", "wall ms", "kernel ms", "outside ms", "GFLOP", "GFLOP/s", "% 1-thread peak", "% machine peak"],
      r.phases.map((p) => [
        p.label,
        p.shape,
        fmt(p.wallMs),
        fmt(p.kernelMs),
        fmt(p.outsideMs),
        fmt(p.flops / 1e9, 3),
        fmt(p.gflopPerS),
        percent(p.oneThreadPeakShare, p.mfuAgainst === "oneThread"),
        percent(p.machinePeakShare, p.mfuAgainst === "allCores"),
      ]),
    ),
    "* the row's MFU: its share of the peak of the threads it runs on (one thread: the 1-thread peak; more, as the data-parallel workers: the machine peak)",
    "",
  ];
  // by kernel: rows are kernels, columns phases
  const chosen = new Map<string, number>();
  for (const p of r.phases)
    for (const k of p.kernels.filter((k) => k.name !== "other").slice(0, KERNEL_ROWS_PER_PHASE))
      chosen.set(k.name, (chosen.get(k.name) ?? 0) + k.ms / Math.max(p.wallMs, 1e-9));
  const names = [...chosen.entries()].sort((a, b) => b[1] - a[1]).map(([n]) => n);
  const msOf = (p: PhaseProfile, name: string) => p.kernels.find((k) => k.name === name)?.ms ?? 0;
  lines.push(
    formatTable(
      ["kernel ms per step", ...r.phases.map((p) => SHORT[p.id])],
      [
        ...names.map((n) => [n, ...r.phases.map((p) => fmt(msOf(p, n)))]),
        ["other kernels", ...r.phases.map((p) => fmt(p.kernelMs - names.reduce((a, n) => a + msOf(p, n), 0)))],
        ["outside kernels", ...r.phases.map((p) => fmt(p.outsideMs))],
        ["wall", ...r.phases.map((p) => fmt(p.wallMs))],
      ],
    ),
  );
  const skippedRows = r.phases.filter((p) => p.paddingSkipped != null);
  if (skippedRows.length)
    lines.push(
      "",
      `padding rows skipped (src/engine/real-rows.ts; share of the token rows of products and GELU, this thread): ${skippedRows
        .map((p) => `${SHORT[p.id]} ${fmt(100 * p.paddingSkipped!, 1)}%`)
        .join(", ")}`,
    );
  const notes = r.phases.filter((p) => p.note).map((p) => `note, ${SHORT[p.id]}: ${p.note}`);
  for (const s of r.skipped) notes.push(`skipped ${SHORT[s.id]}: ${s.reason}`);
  if (unsettled)
    notes.push(
      `UNSETTLED: the 1-minute load average at the start was ${r.loadAvgAtStart[0]!.toFixed(2)} (limit ${r.settledLoadLimit}); run it on an idle machine`,
    );
  if (notes.length) lines.push("", ...notes);
  return lines.join("\n");
}
