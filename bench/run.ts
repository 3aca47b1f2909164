/**
 * `npm run bench`: throughput of the default small model (DEFAULT_GPT) on the selected tfjs
 * backend, beside the same model and step in PyTorch on the CPU (bench/torch_peer.py).
 *
 *   train   SFT step = forward + backward + AdamW on a fixed [batch, seq] token batch (tokens/s)
 *   sample  batched generate, 128 new tokens x 64 sequences, with the KV cache and with full
 *           recompute (tokens/s and the speed-up)
 *   memory  process RSS high-water mark; tf.memory() peak bytes (from tf.profile) of one
 *           training step and of one cached generate; tf.memory().numTensors before and after
 *           50 training steps (a small 2x64 batch: a leak shows at any size)
 *
 * Results go to results/bench.json (atomically). Usage and how to read the table: bench/README.md.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { initBackend, tf, type BackendInfo } from "../src/engine/backend.js";
import { DEFAULT_GPT, GPT, type GPTConfig } from "../src/model/gpt.js";
import { AdamW, clipByGlobalNorm } from "../src/train/optim.js";
import { sftLoss } from "../src/train/sft.js";
import { writeJsonAtomic } from "../src/util/fsx.js";
import { Rng } from "../src/util/rng.js";
import { fmt, fmtRatio, formatTable, gptParamCount, ratio } from "./lib/report.js";
import { runTorchPeer, type TorchResult } from "./lib/torch.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

// ---------------------------------------------------------------------------------------------
// Settings

interface Settings {
  /** Training batch (sequences per step). */
  batch: number;
  /** Training sequence length (tokens per sequence). */
  seq: number;
  /** Timed training steps (ours and PyTorch's). */
  steps: number;
  /** Steps of the tensor-leak check (numTensors before/after), on a 2x64 batch. */
  leakSteps: number;
  /** Untimed training steps first (kernel set-up, allocator warm-up). */
  warmup: number;
  /** Sequences sampled at once. */
  sampleBatch: number;
  /** Prompt tokens per sequence. */
  promptLen: number;
  /** New tokens per sequence. */
  newTokens: number;
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
  /** Where the JSON goes. */
  out: string;
  quick: boolean;
}

const USAGE = `usage: npm run bench -- [--quick] [--steps N] [--leak-steps N] [--batch N] [--seq N] [--warmup N]
       [--sample-batch N] [--new-tokens N] [--prompt-len N] [--backend NAME] [--no-torch] [--out FILE]`;

function parseArgs(argv: string[]): Settings {
  const s: Settings = {
    batch: 16, seq: 256, steps: 10, leakSteps: 50, warmup: 1, sampleBatch: 64, promptLen: 16, newTokens: 128,
    torch: true, lr: 3e-4, weightDecay: 0.1, gradClip: 1, beta1: 0.9, beta2: 0.95, eps: 1e-8,
    out: path.join(root, "results", "bench.json"), quick: false,
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
      case "--quick": s.quick = true; break;
      case "--steps": s.steps = int(); break;
      case "--leak-steps": s.leakSteps = int(); break;
      case "--batch": s.batch = int(); break;
      case "--seq": s.seq = int(); break;
      case "--warmup": s.warmup = int(); break;
      case "--sample-batch": s.sampleBatch = int(); break;
      case "--new-tokens": s.newTokens = int(); break;
      case "--prompt-len": s.promptLen = int(); break;
      case "--backend": s.backend = value(); break;
      case "--no-torch": s.torch = false; break;
      case "--out": s.out = path.resolve(value()); break;
      case "--help": case "-h": console.log(USAGE); process.exit(0); break;
      default: throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  if (s.quick) {
    // a smoke check: the same shapes, a handful of steps and tokens
    if (!given.has("--steps")) s.steps = 2;
    if (!given.has("--leak-steps")) s.leakSteps = 5;
    if (!given.has("--new-tokens")) s.newTokens = 16;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Machine

function machineInfo() {
  let cpuModel = os.cpus()[0]?.model ?? "unknown";
  try {
    const m = fs.readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.+)$/m);
    if (m) cpuModel = m[1]!.trim();
  } catch { /* not Linux: os.cpus() is good enough */ }
  return {
    cores: os.availableParallelism(),
    cpuModel,
    memoryGB: os.totalmem() / 2 ** 30,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  };
}

/** Process RSS high-water mark in MB (getrusage ru_maxrss). */
const peakRssMB = (): number => process.resourceUsage().maxRSS / 1024;

function tfFlags(): Record<string, boolean | number | string> {
  const out: Record<string, boolean | number | string> = {};
  for (const f of ["PROD", "WASM_HAS_SIMD_SUPPORT", "WASM_HAS_MULTITHREAD_SUPPORT"]) {
    try { out[f] = tf.env().get(f); } catch { /* flag not registered by this backend */ }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Kernel profiles (where the time goes)

interface KernelStat { name: string; count: number; ms: number }
interface ProfileSummary {
  wallMs: number; kernelMs: number; kernels: number; peakBytes: number; newTensors: number;
  top: KernelStat[];
}

async function profiled(f: () => void): Promise<ProfileSummary> {
  const t0 = performance.now();
  const info = await tf.profile(() => { f(); });
  const wallMs = performance.now() - t0;
  const by = new Map<string, KernelStat>();
  let kernelMs = 0;
  for (const k of info.kernels) {
    // customGrad wrappers ("unnamed scope") enclose kernels that are profiled on their own
    if (k.name === "unnamed scope") continue;
    const ms = typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
    // wasm runs 2-D matmuls through XNNPACK but batched ones on a slow path: keep them apart
    const batched = k.name === "BatchMatMul" && k.inputShapes.some((sh) => sh != null && sh.length > 2 && sh[0]! > 1);
    const name = k.name === "BatchMatMul" ? (batched ? "BatchMatMul(batched)" : "BatchMatMul(2-D)") : k.name;
    const s = by.get(name) ?? { name, count: 0, ms: 0 };
    s.count += 1;
    s.ms += ms;
    kernelMs += ms;
    by.set(name, s);
  }
  const top = [...by.values()].sort((a, b) => b.ms - a.ms);
  return { wallMs, kernelMs, kernels: [...by.values()].reduce((a, k) => a + k.count, 0), peakBytes: info.peakBytes, newTensors: info.newTensors, top };
}

// ---------------------------------------------------------------------------------------------
// Our side: training and sampling

function randomTokens(rng: Rng, rows: number, cols: number, vocab: number): number[][] {
  // ids 3.. avoid the specials PAD/BOS/EOS, so no sequence stops early
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => rng.int(3, vocab - 1)));
}

interface TrainBench {
  batch: number; seqLen: number; steps: number; warmup: number;
  msPerStep: number; msPerStepMin: number; tokensPerS: number; lossFirst: number; lossLast: number;
  /** Live tensors after the optimizer exists, before any step. */
  numTensorsBeforeWarmup: number;
  /** Live tensors before and after the timed steps: equal means no step leaks. */
  numTensorsBefore: number;
  numTensorsAfter: number;
  peakRssMB: number;
}

/**
 * The SFT step as src/train/sft.ts runs it: masked mean NLL (sftLoss, every target counted),
 * global-norm clipping, AdamW; the loss and grad norm are read back once per step.
 */
function benchTrain(model: GPT, s: Settings, shape: { batch: number; seq: number; steps: number; warmup: number; quiet?: boolean }):
  { result: TrainBench; step: () => number; dispose: () => void } {
  const cfg = model.config;
  const opt = new AdamW(model.params, { beta1: s.beta1, beta2: s.beta2, eps: s.eps, weightDecay: s.weightDecay });
  const tokens = tf.tensor2d(randomTokens(new Rng(1), shape.batch, shape.seq, cfg.vocabSize), [shape.batch, shape.seq], "int32");
  const mask = tf.ones([shape.batch, shape.seq - 1]) as tf.Tensor2D;
  const varNames = new Map([...model.params].map(([name, v]) => [v.name, name]));
  const vars = [...model.params.values()];
  const dropoutRng = new Rng(4);
  const dispose = () => { tf.dispose([tokens, mask]); opt.dispose(); };

  const step = (): number => {
    const training = cfg.dropout > 0;
    const dropoutSeed = dropoutRng.int(0, 2 ** 31 - 1);
    const { value: loss, grads } = tf.variableGrads(
      () => sftLoss(model, tokens, mask, training ? { training, dropoutSeed } : { training }), vars);
    const named = new Map(Object.entries(grads).map(([k, g]) => [varNames.get(k) ?? k, g]));
    const { grads: clipped, norm } = clipByGlobalNorm(named, s.gradClip);
    opt.update(clipped, s.lr);
    const both = tf.tidy(() => tf.stack([loss, norm]));
    const lossValue = both.dataSync()[0]!;
    tf.dispose([both, loss, norm, grads, [...clipped.values()]]);
    return lossValue;
  };

  try {
    const numTensorsBeforeWarmup = tf.memory().numTensors;
    for (let i = 0; i < shape.warmup; i++) step();
    const numTensorsBefore = tf.memory().numTensors;
    const times: number[] = [];
    const losses: number[] = [];
    for (let i = 0; i < shape.steps; i++) {
      const t0 = performance.now();
      losses.push(step());
      times.push(performance.now() - t0);
      if (!shape.quiet && (i === 0 || (i + 1) % 5 === 0 || i === shape.steps - 1)) {
        process.stderr.write(`[bench] train step ${i + 1}/${shape.steps}: ${fmt(times[i]!)} ms, loss ${losses[i]!.toFixed(4)}\n`);
      }
    }
    const total = times.reduce((a, b) => a + b, 0);
    const result: TrainBench = {
      batch: shape.batch, seqLen: shape.seq, steps: shape.steps, warmup: shape.warmup,
      msPerStep: total / shape.steps, msPerStepMin: Math.min(...times),
      tokensPerS: (shape.batch * shape.seq * shape.steps) / (total / 1000),
      lossFirst: losses[0]!, lossLast: losses[losses.length - 1]!,
      numTensorsBeforeWarmup, numTensorsBefore, numTensorsAfter: tf.memory().numTensors,
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
  const res = model.generate(prompts, { maxNewTokens: newTokens, rng: new Rng(3), useCache, stopTokens: [], temperature: 1 });
  const seconds = (performance.now() - t0) / 1000;
  const tokens = res.tokens.reduce((a, t) => a + t.length, 0);
  return { seconds, tokens, tokensPerS: tokens / seconds, msPerToken: (1000 * seconds) / newTokens, res };
}

interface SampleTiming { seconds: number; tokens: number; tokensPerS: number; msPerToken: number; numTensorsLeaked: number }
interface SampleBench {
  batch: number; promptLen: number; newTokens: number;
  cached: SampleTiming; full: SampleTiming;
  /** full-recompute time / cached time */
  speedup: number;
  /** Share of new tokens that are the same with and without the cache (same seeded draws). */
  cachedFullTokenAgreement: number | null;
  peakRssMB: number;
}

function benchSample(model: GPT, s: Settings): { out: SampleBench; prompts: number[][] } {
  const prompts = randomTokens(new Rng(2), s.sampleBatch, s.promptLen, model.config.vocabSize);
  const run = (useCache: boolean) => {
    sampleOnce(model, prompts, Math.min(8, s.newTokens), useCache); // warm-up: kernels, shapes
    const before = tf.memory().numTensors;
    const r = sampleOnce(model, prompts, s.newTokens, useCache);
    const timing: SampleTiming = { seconds: r.seconds, tokens: r.tokens, tokensPerS: r.tokensPerS,
      msPerToken: r.msPerToken, numTensorsLeaked: tf.memory().numTensors - before };
    process.stderr.write(`[bench] sample ${useCache ? "cached" : "full"}: ${fmt(r.tokensPerS)} tokens/s (${fmt(r.seconds)} s)\n`);
    return { timing, tokens: r.res.tokens };
  };
  const cached = run(true);
  const full = run(false);
  // Same seeded draws from the same model: the cache should give the same tokens (a float
  // rounding difference can flip a rare draw, so this is reported, not asserted).
  let same = 0, total = 0;
  cached.tokens.forEach((a, i) => {
    const b = full.tokens[i]!;
    for (let j = 0; j < Math.min(a.length, b.length); j++) { total++; if (a[j] === b[j]) same++; }
  });
  const out: SampleBench = {
    batch: s.sampleBatch, promptLen: s.promptLen, newTokens: s.newTokens,
    cached: cached.timing, full: full.timing, speedup: full.timing.seconds / cached.timing.seconds,
    cachedFullTokenAgreement: total ? same / total : null, peakRssMB: peakRssMB(),
  };
  return { out, prompts };
}

/** GFLOP/s of a 1024^3 float32 matmul on the backend: the ceiling for everything else. */
function matmulGflops(n = 1024, reps = 8): number {
  const a = tf.randomNormal([n, n]), b = tf.randomNormal([n, n]);
  // (not tf.tidy(() => c.dataSync()): tidy would walk the returned million-entry array)
  const once = () => { const c = tf.matMul(a, b); c.dataSync(); c.dispose(); };
  once();
  once();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) once();
  const sec = (performance.now() - t0) / 1000;
  tf.dispose([a, b]);
  return (2 * n ** 3 * reps) / sec / 1e9;
}

// ---------------------------------------------------------------------------------------------
// Report

interface Report {
  backend: BackendInfo; machine: ReturnType<typeof machineInfo>; settings: Settings;
  params: number; expectedParams: number; gflops: number;
  train: TrainBench | null; leak: TrainBench | null; trainError: string | null; trainProfile: ProfileSummary | null;
  vocabSize: number;
  /** os.loadavg() when the benchmark started. */
  loadAvg: number[];
  sample: SampleBench; sampleProfile: ProfileSummary; torch: TorchResult;
}

function printReport(r: Report): void {
  const t = r.torch.ok ? r.torch : null;
  const { train, leak, sample, settings: s } = r;
  const theirsNa = r.torch.ok ? "-" : "n/a";
  const oursNa = (v: number | null | undefined) => (v == null ? "failed" : undefined);
  const row = (name: string, ours: number | null | undefined, theirs: number | null | undefined, digits?: number, showRatio = true) =>
    [name, oursNa(ours) ?? fmt(ours, digits), theirs == null ? theirsNa : fmt(theirs, digits), showRatio ? fmtRatio(ratio(ours, theirs)) : ""];
  const mb = (bytes: number | undefined) => (bytes == null ? "failed" : fmt(bytes / 2 ** 20));
  const rows = [
    row("parameters", r.params, t?.params, 0, false),
    row("matmul 1024^3 GFLOP/s (compute ceiling)", r.gflops, t?.matmulGflops),
    row(`train tokens/s (${s.batch}x${s.seq}, fwd+bwd+clip+AdamW)`, train?.tokensPerS, t?.train?.tokensPerS),
    row("train ms/step (mean)", train?.msPerStep, t?.train?.msPerStep, undefined, false),
    row(`sample tokens/s, KV cache (${s.sampleBatch} x ${s.newTokens} new)`, sample.cached.tokensPerS, t?.sample?.cached.tokensPerS),
    row("sample tokens/s, full recompute", sample.full.tokensPerS, t?.sample?.full?.tokensPerS),
    row("KV-cache speed-up (full / cached time)", sample.speedup, t?.sample?.speedup, 2, false),
    row("peak RSS MB, after training", train?.peakRssMB, t?.peakRssMBAfterTrain, 0, false),
    row("peak RSS MB, whole run", sample.peakRssMB, t?.peakRssMB, 0, false),
    ["tf peak MB, one training step", mb(r.trainProfile?.peakBytes), "", ""],
    ["tf peak MB, one cached generate", mb(r.sampleProfile.peakBytes), "", ""],
    [`tf numTensors before/after ${s.leakSteps} steps`, leak ? `${leak.numTensorsBefore} / ${leak.numTensorsAfter}` : "failed", "", ""],
  ];
  console.log("");
  console.log(formatTable(["", "ours (tfjs)", "PyTorch CPU", "ours/PyTorch"], rows));
  console.log("");
  const trainRatio = ratio(train?.tokensPerS, t?.train?.tokensPerS);
  const verdict = (x: number | null, goal: number) => (x == null ? "n/a" : x >= goal ? "met" : "NOT met");
  console.log(`goal: training >= 0.5x PyTorch CPU .......... ${fmtRatio(trainRatio)}  ${verdict(trainRatio, 0.5)}`);
  console.log(`goal: KV cache >= 5x faster than recompute ... ${fmtRatio(sample.speedup)}  ${verdict(sample.speedup, 5)}`);
  if (train && leak) {
    const grew = leak.numTensorsAfter - leak.numTensorsBefore;
    const warm = leak.numTensorsBefore - leak.numTensorsBeforeWarmup;
    console.log(`check: numTensors equal before/after ${leak.steps} steps (${leak.batch}x${leak.seqLen}) .. ${grew === 0 ? "yes" : `NO (+${grew})`}` +
      (warm !== 0 ? ` (the warm-up step changed the count by ${warm})` : ""));
    const lnV = Math.log(r.vocabSize);
    const tLoss = t?.train?.lossFirst;
    console.log(`check: first training loss ${fmt(train.lossFirst, 3)} (ours) / ${tLoss == null ? "n/a" : fmt(tLoss, 3)} (PyTorch), ` +
      `ln(vocab) = ${fmt(lnV, 3)} for uniform random tokens .. ${Math.abs(train.lossFirst - lnV) < 0.5 ? "plausible" : "WRONG: the loss is not a cross-entropy"}`);
  } else {
    console.log(`check: training FAILED: ${r.trainError}`);
  }
  const same = r.params === r.expectedParams && (t == null || t.params === r.params);
  console.log(`check: parameters ${r.params} (ours) / ${t?.params ?? "n/a"} (PyTorch) / ${r.expectedParams} (formula) .. ` +
    (same ? "equal" : "DIFFERENT: the architectures differ"));
  if (t?.sample) console.log(`check: PyTorch KV cache vs full recompute, max |logit diff| ${t.sample.cacheMaxAbsDiff.toExponential(1)}`);
  if (sample.cachedFullTokenAgreement != null) {
    console.log(`check: ours, same tokens with and without the cache .. ${fmt(100 * sample.cachedFullTokenAgreement, 1)}%`);
  }
  if (!r.torch.ok) console.log(`PyTorch unavailable: ${r.torch.error}`);
  console.log("");
  // Kernel times come from tf.profile (one extra step / generate); the wall time is the
  // unprofiled measurement above, so wall - kernels is time spent outside kernels (JS, dispatch).
  const profiles = [
    ["training step", r.trainProfile, train?.msPerStep],
    [`cached generate (${s.newTokens} tokens)`, r.sampleProfile, 1000 * sample.cached.seconds],
  ] as const;
  for (const [name, p, wallMs] of profiles) {
    if (!p || wallMs == null) continue;
    const top = p.top.slice(0, 7).map((k) => `${k.name} ${fmt((100 * k.ms) / p.kernelMs, 0)}% (${k.count})`).join(", ");
    console.log(`where time goes, ${name}: ${p.kernels} kernel calls, ${fmt(p.kernelMs)} ms in kernels of ${fmt(wallMs)} ms wall ` +
      `(${fmt(Math.max(0, 100 * (1 - p.kernelMs / wallMs)), 0)}% outside kernels); top kernels (share, calls): ${top}`);
  }
  if (r.loadAvg[0]! > 0.5 * r.machine.cores) {
    console.log(`WARNING: load average ${r.loadAvg.map((x) => x.toFixed(1)).join(" ")} on ${r.machine.cores} cores at the start: ` +
      "other processes shared the CPU, so the absolute numbers (and less so the ratios) are low");
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const s = parseArgs(process.argv.slice(2));
  const machine = machineInfo();
  const loadAvg = os.loadavg();
  const backend = await initBackend(s.backend);
  console.log(`machine: ${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}`);
  console.log(`backend: ${backend.name} (${backend.package}, tfjs ${backend.tfjsVersion}, ${backend.threads} thread(s))` +
    (backend.skipped.length ? `; skipped: ${backend.skipped.map((x) => `${x.backend} (${x.reason})`).join("; ")}` : ""));

  const gflops = matmulGflops();
  const model = new GPT(DEFAULT_GPT);
  const cfg = model.config;
  const params = [...model.params.values()].reduce((a, v) => a + v.size, 0);
  const expectedParams = gptParamCount(cfg);
  console.log(`model: DEFAULT_GPT ${JSON.stringify(cfg)}, ${params} parameters`);
  if (s.seq > cfg.blockSize) throw new Error(`--seq ${s.seq} exceeds the model's blockSize ${cfg.blockSize}`);
  if (s.promptLen + s.newTokens > cfg.blockSize) {
    throw new Error(`prompt ${s.promptLen} + new ${s.newTokens} tokens exceed the model's blockSize ${cfg.blockSize}`);
  }

  // ours: training (a failure is reported, and the rest still runs)
  console.log(`train: ${s.warmup} warm-up + ${s.steps} timed steps of ${s.batch}x${s.seq} tokens; leak check over ${s.leakSteps} steps of 2x64`);
  let train: TrainBench | null = null;
  let leak: TrainBench | null = null;
  let trainError: string | null = null;
  let trainProfile: ProfileSummary | null = null;
  try {
    const tr = benchTrain(model, s, { batch: s.batch, seq: s.seq, steps: s.steps, warmup: s.warmup });
    train = tr.result;
    trainProfile = await profiled(() => { tr.step(); });
    tr.dispose();
    const lk = benchTrain(model, s, { batch: 2, seq: Math.min(64, cfg.blockSize), steps: s.leakSteps, warmup: 1, quiet: true });
    leak = lk.result;
    lk.dispose();
  } catch (e) {
    trainError = e instanceof Error ? e.message : String(e);
    console.error(`[bench] training failed: ${trainError}`);
  }

  // ours: sampling
  console.log(`sample: ${s.sampleBatch} sequences, prompt ${s.promptLen}, ${s.newTokens} new tokens, cached and full recompute`);
  const { out: sample, prompts } = benchSample(model, s);
  const sampleProfile = await profiled(() => { sampleOnce(model, prompts, s.newTokens, true); });
  const rssAfterOurs = peakRssMB();
  model.dispose();

  // PyTorch peer, after ours so the two never share the cores
  const threads = machine.cores;
  const torchConfig = {
    model: cfg, threads,
    train: { batch: s.batch, seqLen: s.seq, steps: s.steps, warmup: s.warmup,
      lr: s.lr, weightDecay: s.weightDecay, gradClip: s.gradClip, beta1: s.beta1, beta2: s.beta2, eps: s.eps },
    sample: { batch: s.sampleBatch, promptLen: s.promptLen, newTokens: s.newTokens, warmup: 1, full: true },
  };
  let torch: TorchResult = { ok: false, error: "skipped (--no-torch)" };
  if (s.torch) {
    console.log(`PyTorch peer: ${threads} threads (OMP_WAIT_POLICY=${process.env.OMP_WAIT_POLICY ?? "PASSIVE"}), ${torchConfig.train.steps} timed steps`);
    torch = await runTorchPeer(path.join(root, "bench", "torch_peer.py"), torchConfig);
  }

  printReport({ backend, machine, settings: s, params, expectedParams, gflops, train, leak, trainError, trainProfile, vocabSize: cfg.vocabSize, loadAvg,
    sample, sampleProfile, torch });

  const record = {
    date: new Date().toISOString(),
    machine: { ...machine, loadAvgAtStart: loadAvg, loadAvgAtEnd: os.loadavg() },
    backend: { ...backend, flags: tfFlags() },
    torch: torch.ok
      ? { ok: true, version: torch.torch, python: torch.python, threads: torch.threads, interopThreads: torch.interopThreads,
          ompWaitPolicy: torch.ompWaitPolicy,
          blas: torch.blas, matmulGflops1024: torch.matmulGflops }
      : { ok: false, error: torch.error },
    settings: s,
    model: { config: cfg, params, expectedParams, torchParams: torch.params ?? null },
    ours: { matmulGflops1024: gflops, train, leakCheck: leak, trainError, sample, peakRssMB: rssAfterOurs,
      profiles: { train: trainProfile, cachedGenerate: sampleProfile } },
    pytorch: torch.ok ? { train: torch.train, sample: torch.sample, peakRssMB: torch.peakRssMB } : null,
    ratios: {
      matmulGflops: ratio(gflops, torch.matmulGflops),
      trainTokensPerS: ratio(train?.tokensPerS, torch.train?.tokensPerS),
      sampleCachedTokensPerS: ratio(sample.cached.tokensPerS, torch.sample?.cached.tokensPerS),
      sampleFullTokensPerS: ratio(sample.full.tokensPerS, torch.sample?.full?.tokensPerS),
    },
    goals: { trainVsTorch: 0.5, kvCacheSpeedup: 5 },
  };
  writeJsonAtomic(s.out, record);
  console.log(`wrote ${path.relative(process.cwd(), s.out) || s.out}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : String(e));
  process.exit(1);
});
