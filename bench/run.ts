/**
 * `npm run bench`: throughput of our tfjs GPT beside the same model and step in PyTorch on the
 * CPU (bench/torch_peer.py), for two models in one invocation:
 *
 *   reproduce  the model the reproduction trains (configs/reproduce.json through the config
 *              loader, src/profile/shapes.ts): 128 wide, 2 layers, 4 heads, section positions,
 *              blockSize 512; its real SFT batches (32 examples, right-padded to each batch's
 *              longest) and its RL rollout (64 packed N=3 prompts, the derived BCR budget)
 *   default    DEFAULT_GPT on a fixed random 16 x 256 batch, 64 x 128 new tokens
 *
 * For each: train  SFT step = forward + backward + clip + AdamW (tokens/s, padded tokens)
 *           sample batched generate with the KV cache (and, for default, full recompute)
 *           and, for reproduce, the same steps data-parallel over --workers threads (default
 *           min(2, cores); src/train/data-parallel.ts): tokens/s with 1 and with 2 workers
 *    decode for reproduce, the rollout's sampling in worker threads as the eval stage runs its
 *           models (bench/lib/decode.ts): tokens/s in 1 thread and in --workers threads at once
 * plus a tensor-leak check (numTensors before/after 50 steps of 2x64) and kernel profiles.
 *
 * The 1-minute load average at the start is recorded; above 0.5 every ratio is printed as
 * "unsettled (load X)" and the JSON says settled: false. An unsettled run does not replace a
 * settled results/bench.json unless --out or --force is given (it goes to a temp file instead).
 * Usage and how to read the table: bench/README.md.
 */
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { initBackend, tf } from "../src/engine/backend.js";
import { DEFAULT_GPT, GPT, type GPTConfig } from "../src/model/gpt.js";
import { trainFlopsPerToken } from "../src/profile/flops.js";
import { profiled, type ProfileSummary } from "../src/profile/kernels.js";
import { machineInfo } from "../src/profile/machine.js";
import { formatPeak, measureSgemmPeak, type SgemmPeak } from "../src/engine/peak.js";
import { fmt, fmtRatio, formatTable, gptParamCount, ratio, SETTLED_LOAD, settledLabel } from "../src/profile/report.js";
import { reproduceShapes, type EncodedExample } from "../src/profile/shapes.js";
import { sftStepper } from "../src/profile/sft-step.js";
import { DataParallel } from "../src/train/data-parallel.js";
import { writeJsonAtomic } from "../src/util/fsx.js";
import { Rng } from "../src/util/rng.js";
import { chooseOut } from "./lib/out.js";
import { benchDecode, type DecodeBench } from "./lib/decode.js";
import { runTorchPeer, type TorchResult } from "./lib/torch.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DEFAULT_OUT = path.join(root, "results", "bench.json");

// ---------------------------------------------------------------------------------------------
// Settings

interface Settings {
  /** The reproduce config whose SFT model, batches and RL rollout are timed. */
  config: string;
  /** DEFAULT_GPT's training batch (sequences per step) and sequence length. */
  batch: number;
  seq: number;
  /** Timed training steps (ours and PyTorch's), per model. */
  steps: number;
  /** Steps of the tensor-leak check (numTensors before/after), on a 2x64 batch. */
  leakSteps: number;
  /** Untimed training steps first (kernel set-up, allocator warm-up). */
  warmup: number;
  /** DEFAULT_GPT: sequences sampled at once, prompt tokens, new tokens. */
  sampleBatch: number;
  promptLen: number;
  newTokens: number;
  /** The reproduction's rollout: sequences (default: rl.promptsPerStep x rl.groupSize). */
  rolloutBatch?: number;
  /** The reproduction's training also with the gradient data-parallel over this many workers (1: off),
   * and its decoding in this many threads at once (decode.ts). */
  workers: number;
  /** Timed generate calls per decode thread. */
  decodeRounds: number;
  /** Backend request passed to initBackend (default: BCR_BACKEND or auto). */
  backend?: string;
  /** Skip the PyTorch peer. */
  torch: boolean;
  /** AdamW settings, the same on both sides. */
  lr: number;
  weightDecay: number;
  gradClip: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Where the JSON goes, and whether --out named it. */
  out: string;
  outGiven: boolean;
  /** Replace a settled results/bench.json with an unsettled one. */
  force: boolean;
  quick: boolean;
}

const USAGE = `usage: npm run bench -- [--quick] [--config FILE] [--steps N] [--leak-steps N] [--batch N] [--seq N] [--warmup N]
       [--sample-batch N] [--new-tokens N] [--prompt-len N] [--rollout-batch N] [--workers N] [--decode-rounds N] [--backend NAME] [--no-torch]
       [--out FILE] [--force]`;

function parseArgs(argv: string[]): Settings {
  const s: Settings = {
    config: path.join(root, "configs", "reproduce.json"),
    batch: 16,
    seq: 256,
    steps: 10,
    leakSteps: 50,
    warmup: 1,
    sampleBatch: 64,
    promptLen: 16,
    newTokens: 128,
    workers: Math.max(1, Math.min(2, os.availableParallelism())),
    decodeRounds: 3,
    torch: true,
    lr: 3e-4,
    weightDecay: 0.1,
    gradClip: 1,
    beta1: 0.9,
    beta2: 0.95,
    eps: 1e-8,
    out: DEFAULT_OUT,
    outGiven: false,
    force: false,
    quick: false,
  };
  const given = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    const int = (): number => {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: expected a positive integer, got "${v}"`);
      return n;
    };
    given.add(flag);
    switch (flag) {
      case "--quick":
        s.quick = true;
        break;
      case "--config":
        s.config = path.resolve(value());
        break;
      case "--steps":
        s.steps = int();
        break;
      case "--leak-steps":
        s.leakSteps = int();
        break;
      case "--batch":
        s.batch = int();
        break;
      case "--seq":
        s.seq = int();
        break;
      case "--warmup":
        s.warmup = int();
        break;
      case "--sample-batch":
        s.sampleBatch = int();
        break;
      case "--new-tokens":
        s.newTokens = int();
        break;
      case "--prompt-len":
        s.promptLen = int();
        break;
      case "--rollout-batch":
        s.rolloutBatch = int();
        break;
      case "--workers":
        s.workers = int();
        break;
      case "--decode-rounds":
        s.decodeRounds = int();
        break;
      case "--backend":
        s.backend = value();
        break;
      case "--no-torch":
        s.torch = false;
        break;
      case "--out":
        s.out = path.resolve(value());
        s.outGiven = true;
        break;
      case "--force":
        s.force = true;
        break;
      case "--help":
      case "-h":
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  if (s.quick) {
    // a smoke check of every path, not a measurement: one step, few tokens, small batches
    if (!given.has("--steps")) s.steps = 1;
    if (!given.has("--leak-steps")) s.leakSteps = 2;
    if (!given.has("--batch")) s.batch = 4;
    if (!given.has("--seq")) s.seq = 64;
    if (!given.has("--sample-batch")) s.sampleBatch = 4;
    if (!given.has("--new-tokens")) s.newTokens = 8;
    if (!given.has("--rollout-batch")) s.rolloutBatch = 4;
    if (!given.has("--warmup")) s.warmup = 0;
    if (!given.has("--decode-rounds")) s.decodeRounds = 1;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Machine

/** Process RSS high-water mark in MB (getrusage ru_maxrss). */
const peakRssMB = (): number => process.resourceUsage().maxRSS / 1024;

function tfFlags(): Record<string, boolean | number | string> {
  const out: Record<string, boolean | number | string> = {};
  for (const f of ["PROD", "WASM_HAS_SIMD_SUPPORT", "WASM_HAS_MULTITHREAD_SUPPORT"]) {
    try {
      out[f] = tf.env().get(f);
    } catch {
      /* flag not registered by this backend */
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// What is timed: one case per model

interface Case {
  name: "reproduce" | "default";
  description: string;
  /** Also time training data-parallel over this many workers (1: not). */
  workers: number;
  model: GPTConfig;
  /** The training batches, cycled: encoded examples (made into a padded batch per step). */
  batches: EncodedExample[][];
  sample: { prompts: number[][]; newTokens: number; full: boolean };
  /** Also time the sampling in 1 and in `workers` threads at once (decode.ts). */
  decode: boolean;
  leakCheck: boolean;
}

function randomTokens(rng: Rng, rows: number, cols: number, vocab: number): number[][] {
  // ids 3.. avoid the specials PAD/BOS/EOS, so no sequence stops early
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => rng.int(3, vocab - 1)));
}

function defaultCase(s: Settings): Case {
  const V = DEFAULT_GPT.vocabSize;
  if (s.seq > DEFAULT_GPT.blockSize)
    throw new Error(`--seq ${s.seq} exceeds DEFAULT_GPT's blockSize ${DEFAULT_GPT.blockSize}`);
  if (s.promptLen + s.newTokens > DEFAULT_GPT.blockSize) {
    throw new Error(
      `prompt ${s.promptLen} + new ${s.newTokens} tokens exceed DEFAULT_GPT's blockSize ${DEFAULT_GPT.blockSize}`,
    );
  }
  // every position a target (responseStart 1), as the fixed random batch always was
  const batch = randomTokens(new Rng(1), s.batch, s.seq, V).map((ids) => ({ ids, responseStart: 1 }));
  return {
    name: "default",
    description: `DEFAULT_GPT, random ${s.batch}x${s.seq} batch`,
    model: DEFAULT_GPT,
    batches: [batch],
    sample: { prompts: randomTokens(new Rng(2), s.sampleBatch, s.promptLen, V), newTokens: s.newTokens, full: true },
    decode: false,
    leakCheck: true,
    workers: 1,
  };
}

function reproduceCase(s: Settings): Case {
  const shapes = reproduceShapes(s.config, {
    steps: s.warmup + s.steps,
    ...(s.rolloutBatch ? { sampleBatch: s.rolloutBatch } : {}),
  });
  const sp = shapes.sample;
  // --quick: the reproduction's model and lengths, but --batch examples per step (a smoke test)
  const batches = s.quick ? shapes.batches.map((b) => b.slice(0, s.batch)) : shapes.batches;
  const lens = shapes.seqLens;
  return {
    name: "reproduce",
    description:
      `${path.relative(root, s.config)} SFT model, ${batches[0]!.length}-example SFT batches (padded lengths ${Math.min(...lens)}..${Math.max(...lens)}), ` +
      `rollout ${sp.batch} x N=${sp.n} prompts, budget ${sp.newTokens}`,
    model: shapes.model,
    batches,
    sample: { prompts: sp.prompts, newTokens: sp.newTokens, full: false },
    decode: true,
    leakCheck: false,
    workers: s.workers,
  };
}

// ---------------------------------------------------------------------------------------------
// Our side: training and sampling

interface TrainBench {
  batch: number;
  seqLens: number[];
  steps: number;
  warmup: number;
  msPerStep: number;
  msPerStepMin: number;
  tokensPerS: number;
  lossFirst: number;
  lossLast: number;
  /** Process CPU time (all threads) / wall time over the timed steps: how many cores were busy. */
  coresBusy: number;
  /**
   * Model FLOPs per padded token of the timed steps (flops.ts's trainFlopsPerToken at each step's
   * padded length, weighted by its tokens): the batch as one [B, T] step, whatever the workers.
   */
  flopsPerToken: number;
  /** Model FLOPs utilisation: flopsPerToken x tokensPerS / the all-cores sgemm peak of this run (null: not measured). */
  mfu: number | null;
  /** Live tensors after the optimizer exists, before any step. */
  numTensorsBeforeWarmup: number;
  /** Live tensors before and after the timed steps: equal means no step leaks. */
  numTensorsBefore: number;
  numTensorsAfter: number;
  peakRssMB: number;
}

/**
 * The SFT step as src/train/sft.ts runs it (src/profile/sft-step.ts): makeBatch, masked mean NLL
 * (sftLoss), global-norm clipping, AdamW; the loss and grad norm are read back once per step.
 * Tokens/s counts the padded batch (B x T), as PyTorch's side does.
 */
async function benchTrain(
  model: GPT,
  s: Settings,
  batches: EncodedExample[][],
  peak: SgemmPeak,
  shape: { steps: number; warmup: number; quiet?: boolean; dp?: DataParallel },
): Promise<{ result: TrainBench; step: () => Promise<number>; dispose: () => void }> {
  const stepper = sftStepper(model, batches, s, shape.dp);
  const dispose = () => {
    stepper.dispose();
  };
  let lastTokens = 0;
  let lastSeqLen = 0;

  const step = async (): Promise<number> => {
    const { loss, tokens, seqLen } = await stepper.step();
    lastTokens = tokens;
    lastSeqLen = seqLen;
    return loss;
  };

  try {
    const numTensorsBeforeWarmup = tf.memory().numTensors;
    for (let i = 0; i < shape.warmup; i++) await step();
    const numTensorsBefore = tf.memory().numTensors;
    const times: number[] = [];
    const losses: number[] = [];
    const seqLens: number[] = [];
    let tokens = 0;
    let flops = 0;
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < shape.steps; i++) {
      const t0 = performance.now();
      losses.push(await step());
      times.push(performance.now() - t0);
      tokens += lastTokens;
      flops += lastTokens * trainFlopsPerToken(model.config, lastSeqLen);
      seqLens.push(lastTokens / batches[0]!.length);
      if (!shape.quiet && (i === 0 || (i + 1) % 5 === 0 || i === shape.steps - 1)) {
        process.stderr.write(
          `[bench] train step ${i + 1}/${shape.steps}${shape.dp ? ` (${shape.dp.workers} workers)` : ""}: ${fmt(times[i]!)} ms, loss ${losses[i]!.toFixed(4)}\n`,
        );
      }
    }
    const total = times.reduce((a, b) => a + b, 0);
    const cpu = process.cpuUsage(cpu0);
    const tokensPerS = tokens / (total / 1000);
    const flopsPerToken = flops / tokens;
    const result: TrainBench = {
      batch: batches[0]!.length,
      seqLens,
      steps: shape.steps,
      warmup: shape.warmup,
      msPerStep: total / shape.steps,
      msPerStepMin: Math.min(...times),
      tokensPerS,
      lossFirst: losses[0]!,
      lossLast: losses[losses.length - 1]!,
      coresBusy: (cpu.user + cpu.system) / 1000 / total,
      flopsPerToken,
      mfu: peak.allCores ? (flopsPerToken * tokensPerS) / (peak.allCores.gflops * 1e9) : null,
      numTensorsBeforeWarmup,
      numTensorsBefore,
      numTensorsAfter: tf.memory().numTensors,
      peakRssMB: peakRssMB(),
    };
    return { result, step, dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}

function sampleOnce(model: GPT, prompts: number[][], newTokens: number, useCache: boolean) {
  const t0 = performance.now();
  const res = model.generate(prompts, {
    maxNewTokens: newTokens,
    rng: new Rng(3),
    useCache,
    stopTokens: [],
    temperature: 1,
  });
  const seconds = (performance.now() - t0) / 1000;
  const tokens = res.tokens.reduce((a, t) => a + t.length, 0);
  return { seconds, tokens, tokensPerS: tokens / seconds, msPerToken: (1000 * seconds) / newTokens, res };
}

interface SampleTiming {
  seconds: number;
  tokens: number;
  tokensPerS: number;
  msPerToken: number;
  numTensorsLeaked: number;
}
interface SampleBench {
  batch: number;
  promptLen: number;
  newTokens: number;
  cached: SampleTiming;
  full: SampleTiming | null;
  /** full-recompute time / cached time */
  speedup: number | null;
  /** Share of new tokens that are the same with and without the cache (same seeded draws). */
  cachedFullTokenAgreement: number | null;
  peakRssMB: number;
}

function benchSample(model: GPT, c: Case): SampleBench {
  const { prompts, newTokens } = c.sample;
  const run = (useCache: boolean) => {
    sampleOnce(model, prompts, Math.min(8, newTokens), useCache); // warm-up: kernels, shapes
    const before = tf.memory().numTensors;
    const r = sampleOnce(model, prompts, newTokens, useCache);
    const timing: SampleTiming = {
      seconds: r.seconds,
      tokens: r.tokens,
      tokensPerS: r.tokensPerS,
      msPerToken: r.msPerToken,
      numTensorsLeaked: tf.memory().numTensors - before,
    };
    process.stderr.write(
      `[bench] ${c.name} sample ${useCache ? "cached" : "full"}: ${fmt(r.tokensPerS)} tokens/s (${fmt(r.seconds)} s)\n`,
    );
    return { timing, tokens: r.res.tokens };
  };
  const cached = run(true);
  const full = c.sample.full ? run(false) : null;
  // Same seeded draws from the same model: the cache should give the same tokens (a float
  // rounding difference can flip a rare draw, so this is reported, not asserted).
  let same = 0,
    total = 0;
  if (full) {
    cached.tokens.forEach((a, i) => {
      const b = full.tokens[i]!;
      for (let j = 0; j < Math.min(a.length, b.length); j++) {
        total++;
        if (a[j] === b[j]) same++;
      }
    });
  }
  return {
    batch: prompts.length,
    promptLen: meanPromptLen(prompts),
    newTokens,
    cached: cached.timing,
    full: full?.timing ?? null,
    speedup: full ? full.timing.seconds / cached.timing.seconds : null,
    cachedFullTokenAgreement: total ? same / total : null,
    peakRssMB: peakRssMB(),
  };
}

const meanPromptLen = (prompts: number[][]) => Math.round(prompts.reduce((a, p) => a + p.length, 0) / prompts.length);

// ---------------------------------------------------------------------------------------------
// One case, both sides

interface CaseResult {
  name: Case["name"];
  description: string;
  model: GPTConfig;
  params: number;
  expectedParams: number;
  train: TrainBench | null;
  leak: TrainBench | null;
  trainError: string | null;
  trainProfile: ProfileSummary | null;
  /** The same steps with the gradient data-parallel over `workers` threads (null: not run). */
  trainParallel: (TrainBench & { workers: number; scaling: number | null }) | null;
  sample: SampleBench;
  sampleProfile: ProfileSummary;
  /** The sampling in 1 and in `workers` worker threads at once (null: not run). */
  decode: DecodeBench | null;
  torch: TorchResult;
  ratios: {
    trainTokensPerS: number | null;
    /** The data-parallel steps (both cores, as PyTorch's two threads) against PyTorch. */
    trainParallelTokensPerS: number | null;
    sampleCachedTokensPerS: number | null;
    sampleFullTokensPerS: number | null;
  };
}

async function runCase(c: Case, s: Settings, threads: number, peak: SgemmPeak): Promise<CaseResult> {
  console.log(`\n== ${c.name}: ${c.description}`);
  const model = new GPT(c.model);
  const cfg = model.config;
  const params = [...model.params.values()].reduce((a, v) => a + v.size, 0);
  const expectedParams = gptParamCount(cfg);
  console.log(`model: ${JSON.stringify(cfg)}, ${params} parameters`);

  // ours: training (a failure is reported, and the rest still runs)
  let train: TrainBench | null = null;
  let leak: TrainBench | null = null;
  let trainError: string | null = null;
  let trainProfile: ProfileSummary | null = null;
  let trainParallel: CaseResult["trainParallel"] = null;
  try {
    const tr = await benchTrain(model, s, c.batches, peak, { steps: s.steps, warmup: s.warmup });
    train = tr.result;
    trainProfile = await profiled(() => tr.step());
    tr.dispose();
    if (c.workers > 1) {
      // 1 vs W workers in the same invocation, on the same batches (both from the same weights
      // onwards is not needed: a step's cost does not depend on the weights)
      const dp = await DataParallel.start(cfg, c.workers, model);
      try {
        const par = await benchTrain(model, s, c.batches, peak, { steps: s.steps, warmup: s.warmup, dp });
        par.dispose();
        trainParallel = { ...par.result, workers: c.workers, scaling: ratio(par.result.tokensPerS, train.tokensPerS) };
      } finally {
        await dp.close();
      }
    }
    if (c.leakCheck) {
      const small = randomTokens(new Rng(5), 2, Math.min(64, cfg.blockSize), cfg.vocabSize).map((ids) => ({
        ids,
        responseStart: 1,
      }));
      const lk = await benchTrain(model, s, [small], peak, { steps: s.leakSteps, warmup: 1, quiet: true });
      leak = lk.result;
      lk.dispose();
    }
  } catch (e) {
    trainError = e instanceof Error ? e.message : String(e);
    console.error(`[bench] ${c.name}: training failed: ${trainError}`);
  }

  const sample = benchSample(model, c);
  const sampleProfile = await profiled(() => {
    sampleOnce(model, c.sample.prompts, c.sample.newTokens, true);
  });
  model.dispose();
  let decode: DecodeBench | null = null;
  if (c.decode) {
    decode = await benchDecode(cfg, c.sample.prompts, c.sample.newTokens, s.decodeRounds, c.workers);
    const line = (t: DecodeBench["single"]) => `${fmt(t.tokensPerS)} tokens/s (${fmt(t.seconds)} s)`;
    process.stderr.write(
      `[bench] ${c.name} decode: 1 thread ${line(decode.single)}` +
        (decode.parallel ? `, ${decode.parallel.workers} threads ${line(decode.parallel)}` : "") +
        "\n",
    );
  }

  // PyTorch peer, after ours so the two never share the cores. It gets the same shapes: the
  // padded length of every timed step, the rollout's batch and (mean) prompt length.
  let torch: TorchResult = { ok: false, error: "skipped (--no-torch)" };
  if (s.torch) {
    const lens = train?.seqLens ?? c.batches.map((b) => Math.max(...b.map((e) => e.ids.length)));
    const torchConfig = {
      model: cfg,
      threads,
      train: {
        batch: c.batches[0]!.length,
        seqLen: Math.max(...lens),
        seqLens: lens,
        steps: s.steps,
        warmup: s.warmup,
        lr: s.lr,
        weightDecay: s.weightDecay,
        gradClip: s.gradClip,
        beta1: s.beta1,
        beta2: s.beta2,
        eps: s.eps,
      },
      sample: {
        batch: c.sample.prompts.length,
        promptLen: meanPromptLen(c.sample.prompts),
        newTokens: c.sample.newTokens,
        warmup: 1,
        full: c.sample.full,
      },
    };
    console.log(
      `PyTorch peer: ${threads} threads (OMP_WAIT_POLICY=${process.env.OMP_WAIT_POLICY ?? "PASSIVE"}), ${s.steps} timed steps`,
    );
    torch = await runTorchPeer(path.join(root, "bench", "torch_peer.py"), torchConfig);
  }
  return {
    name: c.name,
    description: c.description,
    model: cfg,
    params,
    expectedParams,
    train,
    leak,
    trainError,
    trainProfile,
    trainParallel,
    sample,
    sampleProfile,
    decode,
    torch,
    ratios: {
      trainTokensPerS: ratio(train?.tokensPerS, torch.train?.tokensPerS),
      trainParallelTokensPerS: ratio(trainParallel?.tokensPerS, torch.train?.tokensPerS),
      sampleCachedTokensPerS: ratio(sample.cached.tokensPerS, torch.sample?.cached.tokensPerS),
      sampleFullTokensPerS: ratio(sample.full?.tokensPerS, torch.sample?.full?.tokensPerS),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Report

/** The decode rows: tokens/s in 1 and in W threads, the scaling, the cores each kept busy (ours only). */
function decodeRows(d: DecodeBench, unsettled: string | null): string[][] {
  const shape = `${d.batch} x ${d.newTokens} new, ${d.rounds} call(s) per thread`;
  const rows = [[`decode tokens/s, 1 thread (${shape})`, fmt(d.single.tokensPerS), "", ""]];
  if (!d.parallel) return rows;
  const w = d.parallel.workers;
  return [
    ...rows,
    [`decode tokens/s, ${w} threads at once (the eval pool)`, fmt(d.parallel.tokensPerS), "", ""],
    [`  scaling, 1 -> ${w} threads`, `${fmtRatio(d.scaling)}${unsettled ? ` ${unsettled}` : ""}`, "", ""],
    [
      `  cores busy (CPU time / wall), 1 / ${w} threads`,
      `${fmt(d.single.coresBusy)} / ${fmt(d.parallel.coresBusy)}`,
      "",
      "",
    ],
  ];
}

function printCase(r: CaseResult, unsettled: string | null, peak: SgemmPeak): void {
  const t = r.torch.ok ? r.torch : null;
  // MFU: model FLOPs/s over the machine's (all cores) sgemm peak; a percentage, labelled under load
  const peakThreads = peak.allCores?.threads ?? peak.cores;
  const mfuCell = (b: TrainBench | null) =>
    b?.mfu == null ? "-" : `${fmt(100 * b.mfu, 1)}%${unsettled ? ` ${unsettled}` : ""}`;
  const { train, leak, sample } = r;
  const theirsNa = r.torch.ok ? "-" : "n/a";
  const oursNa = (v: number | null | undefined) => (v == null ? "failed" : undefined);
  // On a loaded machine no ratio is a finding: it is printed, labelled, never bare.
  const fmtR = (x: number | null) => (x == null ? "-" : unsettled ? `${fmtRatio(x)} ${unsettled}` : fmtRatio(x));
  const row = (
    name: string,
    ours: number | null | undefined,
    theirs: number | null | undefined,
    digits?: number,
    showRatio = true,
  ) => [
    name,
    oursNa(ours) ?? fmt(ours, digits),
    theirs == null ? theirsNa : fmt(theirs, digits),
    showRatio ? fmtR(ratio(ours, theirs)) : "",
  ];
  const mb = (bytes: number | undefined) => (bytes == null ? "failed" : fmt(bytes / 2 ** 20));
  const lens = train?.seqLens ?? [];
  const shape = `${train?.batch ?? "?"}x${lens.length ? (Math.min(...lens) === Math.max(...lens) ? lens[0] : `${Math.min(...lens)}..${Math.max(...lens)}`) : "?"}`;
  const rows = [
    row("parameters", r.params, t?.params, 0, false),
    row(`train tokens/s (${shape}, fwd+bwd+clip+AdamW)`, train?.tokensPerS, t?.train?.tokensPerS),
    row("train ms/step (mean)", train?.msPerStep, t?.train?.msPerStep, undefined, false),
    [`  MFU, 1 worker (of the machine peak, ${peakThreads} threads)`, mfuCell(train), "", ""],
    ...(r.trainParallel
      ? [
          row(
            `train tokens/s, ${r.trainParallel.workers} workers (data-parallel)`,
            r.trainParallel.tokensPerS,
            t?.train?.tokensPerS,
          ),
          [
            `  MFU, ${r.trainParallel.workers} workers (of the machine peak, ${peakThreads} threads)`,
            mfuCell(r.trainParallel),
            "",
            "",
          ],
          [
            `  scaling, 1 -> ${r.trainParallel.workers} workers`,
            `${fmtRatio(r.trainParallel.scaling)}${unsettled ? ` ${unsettled}` : ""}`,
            "",
            "",
          ],
          [
            `  cores busy (CPU time / wall), 1 / ${r.trainParallel.workers} workers`,
            `${fmt(train?.coresBusy)} / ${fmt(r.trainParallel.coresBusy)}`,
            "",
            "",
          ],
        ]
      : []),
    row(
      `sample tokens/s, KV cache (${sample.batch} x ${sample.newTokens} new, prompt ~${sample.promptLen})`,
      sample.cached.tokensPerS,
      t?.sample?.cached.tokensPerS,
    ),
    ...(sample.full
      ? [
          row("sample tokens/s, full recompute", sample.full.tokensPerS, t?.sample?.full?.tokensPerS),
          row("KV-cache speed-up (full / cached time)", sample.speedup, t?.sample?.speedup, 2, false),
        ]
      : []),
    ...(r.decode ? decodeRows(r.decode, unsettled) : []),
    row("peak RSS MB, after training", train?.peakRssMB, t?.peakRssMBAfterTrain, 0, false),
    ["tf peak MB, one training step", mb(r.trainProfile?.peakBytes), "", ""],
    ["tf peak MB, one cached generate", mb(r.sampleProfile.peakBytes), "", ""],
    ...(leak
      ? [
          [
            `tf numTensors before/after ${leak.steps} steps`,
            `${leak.numTensorsBefore} / ${leak.numTensorsAfter}`,
            "",
            "",
          ],
        ]
      : []),
  ];
  console.log("");
  console.log(formatTable(["", "ours (tfjs)", "PyTorch CPU", "ours/PyTorch"], rows));
  console.log("");
  const verdict = (x: number | null, goal: number) =>
    x == null ? "n/a" : unsettled ? unsettled : x >= goal ? "met" : "NOT met";
  // PyTorch trains on all cores (its threads); the like-for-like figure is ours on all cores
  // too, the data-parallel steps, when they ran. The one-worker figure is printed beside it.
  if (r.trainParallel) {
    console.log(
      `goal: training >= 1.0x PyTorch CPU, ${r.trainParallel.workers} workers against its ${r.torch.threads ?? "?"} threads .. ${fmtRatio(r.ratios.trainParallelTokensPerS)}  ${verdict(r.ratios.trainParallelTokensPerS, 1)}` +
        ` (1 worker: ${fmtRatio(r.ratios.trainTokensPerS)})`,
    );
  } else {
    console.log(
      `goal: training >= 1.0x PyTorch CPU ......... ${fmtRatio(r.ratios.trainTokensPerS)}  ${verdict(r.ratios.trainTokensPerS, 1)}`,
    );
  }
  console.log(
    `goal: KV-cache sampling >= 1.0x PyTorch .... ${fmtRatio(r.ratios.sampleCachedTokensPerS)}  ${verdict(r.ratios.sampleCachedTokensPerS, 1)}`,
  );
  if (sample.speedup != null)
    console.log(
      `goal: KV cache >= 5x faster than recompute ... ${fmtRatio(sample.speedup)}  ${sample.speedup >= 5 ? "met" : "NOT met"}`,
    );
  if (leak) {
    const grew = leak.numTensorsAfter - leak.numTensorsBefore;
    const warm = leak.numTensorsBefore - leak.numTensorsBeforeWarmup;
    console.log(
      `check: numTensors equal before/after ${leak.steps} steps (${leak.batch}x${leak.seqLens[0]}) .. ${grew === 0 ? "yes" : `NO (+${grew})`}` +
        (warm !== 0 ? ` (the warm-up step changed the count by ${warm})` : ""),
    );
  }
  if (train) {
    const lnV = Math.log(r.model.vocabSize);
    const tLoss = t?.train?.lossFirst;
    // only random tokens (the default case) give a first loss of ln(vocab); real text is lower
    console.log(
      `check: first training loss ${fmt(train.lossFirst, 3)} (ours) / ${tLoss == null ? "n/a" : fmt(tLoss, 3)} (PyTorch, random tokens), ` +
        `ln(vocab) = ${fmt(lnV, 3)} .. ${Math.abs(train.lossFirst - lnV) < 0.5 ? "plausible" : r.name === "default" ? "WRONG: the loss is not a cross-entropy" : "real data"}`,
    );
  } else {
    console.log(`check: training FAILED: ${r.trainError}`);
  }
  const same = r.params === r.expectedParams && (t == null || t.params === r.params);
  console.log(
    `check: parameters ${r.params} (ours) / ${t?.params ?? "n/a"} (PyTorch) / ${r.expectedParams} (formula) .. ` +
      (same ? "equal" : "DIFFERENT: the architectures differ"),
  );
  if (t?.sample)
    console.log(
      `check: PyTorch KV cache vs full recompute, max |logit diff| ${t.sample.cacheMaxAbsDiff.toExponential(1)}`,
    );
  if (sample.cachedFullTokenAgreement != null) {
    console.log(
      `check: ours, same tokens with and without the cache .. ${fmt(100 * sample.cachedFullTokenAgreement, 1)}%`,
    );
  }
  if (!r.torch.ok) console.log(`PyTorch unavailable: ${r.torch.error}`);
  // Kernel times come from tf.profile (one extra step / generate); the wall time is the
  // unprofiled measurement above, so wall - kernels is time spent outside kernels (JS, dispatch).
  const profiles = [
    ["training step", r.trainProfile, train?.msPerStep],
    [`cached generate (${sample.newTokens} tokens)`, r.sampleProfile, 1000 * sample.cached.seconds],
  ] as const;
  for (const [name, p, wallMs] of profiles) {
    if (!p || wallMs == null) continue;
    const top = p.top
      .slice(0, 7)
      .map((k) => `${k.name} ${fmt((100 * k.ms) / p.kernelMs, 0)}% (${k.count})`)
      .join(", ");
    console.log(
      `where time goes, ${name}: ${p.kernels} kernel calls, ${fmt(p.kernelMs)} ms in kernels of ${fmt(wallMs)} ms wall ` +
        `(${fmt(Math.max(0, 100 * (1 - p.kernelMs / wallMs)), 0)}% outside kernels); top kernels (share, calls): ${top}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const s = parseArgs(process.argv.slice(2));
  const machine = machineInfo();
  const loadAvg = os.loadavg();
  const unsettled = settledLabel(loadAvg[0]!, SETTLED_LOAD);
  const backend = await initBackend(s.backend);
  console.log(
    `machine: ${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}, load average ${loadAvg.map((x) => x.toFixed(2)).join(" ")}` +
      (unsettled ? ` -> every ratio below is ${unsettled}` : ""),
  );
  console.log(
    `backend: ${backend.name} (${backend.package}, tfjs ${backend.tfjsVersion}, ${backend.threads} thread(s)` +
      (backend.kernels
        ? `, ${backend.kernels.engine} kernels${backend.kernels.engine === "native" ? `, OpenBLAS ${backend.kernels.threads} thread(s)/call` : ""}`
        : "") +
      ")" +
      (backend.skipped.length
        ? `; skipped: ${backend.skipped.map((x) => `${x.backend} (${x.reason})`).join("; ")}`
        : ""),
  );

  // the sgemm peak on one thread and on every core (peak.ts, shared with bcr profile): the
  // training rows' MFU is held to the all-cores figure
  const peak = measureSgemmPeak({ n: 1024, reps: s.quick ? 1 : 8, cores: machine.cores });
  const gflops = peak.oneThread?.gflops ?? null;
  console.log(`sgemm peak (1024^3 float32 matmul, ${peak.reps} call(s) each): ${formatPeak(peak, (x) => fmt(x))}`);
  const threads = machine.cores;
  const cases: CaseResult[] = [];
  for (const c of [reproduceCase(s), defaultCase(s)]) {
    const r = await runCase(c, s, threads, peak);
    printCase(r, unsettled, peak);
    cases.push(r);
  }
  const torch = cases.find((c) => c.torch.ok)?.torch ?? cases[0]!.torch;
  console.log(
    `\nmatmul 1024^3 GFLOP/s: ours ${fmt(gflops)} on 1 thread, PyTorch ${fmt(torch.matmulGflops)} on ${torch.threads ?? "?"} (${fmtRatio(ratio(gflops, torch.matmulGflops))}` +
      `${unsettled ? ` ${unsettled}` : ""}); ours on ${peak.cores} threads ${fmt(peak.allCores?.gflops)}`,
  );
  if (unsettled) {
    console.log(
      `UNSETTLED: load average ${loadAvg.map((x) => x.toFixed(2)).join(" ")} at the start (limit ${SETTLED_LOAD}): ` +
        "other processes shared the CPU with both sides, at different moments; no ratio here is a measurement of the engines",
    );
  }

  const record = {
    date: new Date().toISOString(),
    settled: unsettled === null,
    settledLoadLimit: SETTLED_LOAD,
    machine: { ...machine, loadAvgAtStart: loadAvg, loadAvgAtEnd: os.loadavg() },
    backend: { ...backend, flags: tfFlags() },
    torch: torch.ok
      ? {
          ok: true,
          version: torch.torch,
          python: torch.python,
          threads: torch.threads,
          interopThreads: torch.interopThreads,
          ompWaitPolicy: torch.ompWaitPolicy,
          blas: torch.blas,
          matmulGflops1024: torch.matmulGflops,
        }
      : { ok: false, error: torch.error },
    settings: s,
    matmulGflops1024: { ours: gflops, pytorch: torch.matmulGflops ?? null, ratio: ratio(gflops, torch.matmulGflops) },
    sgemmPeak: peak,
    cases: Object.fromEntries(
      cases.map((c) => [
        c.name,
        {
          description: c.description,
          model: {
            config: c.model,
            params: c.params,
            expectedParams: c.expectedParams,
            torchParams: c.torch.params ?? null,
          },
          ours: {
            train: c.train,
            trainParallel: c.trainParallel,
            leakCheck: c.leak,
            trainError: c.trainError,
            sample: c.sample,
            decode: c.decode,
            profiles: { train: c.trainProfile, cachedGenerate: c.sampleProfile },
          },
          pytorch: c.torch.ok
            ? { train: c.torch.train, sample: c.torch.sample, peakRssMB: c.torch.peakRssMB }
            : { error: c.torch.error },
          ratios: c.ratios,
        },
      ]),
    ),
    goals: { trainVsTorch: 1, sampleCachedVsTorch: 1, kvCacheSpeedup: 5 },
  };
  const { file, why } = chooseOut(s, record.settled, path.join(os.tmpdir(), `bench-unsettled-${process.pid}.json`));
  if (why) console.log(`not replacing ${why}`);
  writeJsonAtomic(file, record);
  console.log(`wrote ${path.relative(process.cwd(), file) || file}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
