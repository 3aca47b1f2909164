/**
 * Supervised fine-tuning: teacher-forced cross-entropy on response tokens.
 *
 * Each example is encoded as  BOS prompt response EOS  and right-padded with PAD to the longest
 * sequence in its batch. With lp[b,t] = log p(x[b,t+1] | x[b,<=t]) from the model,
 *   loss = - sum_{b,t} mask[b,t] lp[b,t] / sum_{b,t} mask[b,t]
 * where mask[b,t] = 1 exactly when x[b,t+1] is a response token or the EOS (the prompt and the
 * padding are not learned). One step = forward, backward, clip, AdamW, all on the backend; only
 * the logged loss and gradient norm are read back.
 *
 * Reproducibility: the model init, the data order, the eval split and the dropout masks all come
 * from `seed`. A checkpoint stores weights, AdamW moments, the step, the RNG states and the data
 * cursor, so a run interrupted and resumed ends with bit-identical weights to one that was not.
 *
 * Run folder (src/run/): config.json, backend.json, metrics.jsonl (train/loss, train/lr,
 * grad/norm, perf/tokens_per_s, eval/loss; `step` = updates before the measurement, so the loss
 * of the first update is step 0 and the final eval/loss is step = train.steps), checkpoints/.
 */
import { tf } from "../engine/backend.js";
import { withRealRows } from "../engine/real-rows.js";
import { GPT, type GPTConfig } from "../model/gpt.js";
import { CharTokenizer } from "../model/tokenizer.js";
import { shouldStop, type StopOptions } from "../run/interrupt.js";
import { RunFolder } from "../run/folder.js";
import { readRecords } from "../data/records.js";
import { Progress, type ProgressStream } from "../util/progress.js";
import { Rng } from "../util/rng.js";
import { restoreCheckpoint } from "../run/checkpoint.js";
import { type Encoded, encodeExample, makeBatch } from "./batch.js";

// Encoding and batching live in batch.ts (data-parallel.ts needs them too, without importing this file).
export { encodeExample, makeBatch };
import { DataParallel } from "./data-parallel.js";
import { initFromCheckpoint } from "./init-from.js";
import { AdamW, lrAt } from "./optim.js";
import type { SftConfig } from "./sft-config.js";

export interface SftExample {
  prompt: string;
  response: string;
  /** `file:line` the example was read from; errors about it name this (not its index after the eval split). */
  source?: string;
}

export interface SftData {
  train: SftExample[];
  /** Held-out examples; when absent, `data.evalFraction` of train is split off (seeded). */
  eval?: SftExample[];
}

export interface SftRunOptions extends StopOptions {
  /** Continue from checkpoints/latest in outDir when there is one (default true). */
  resume?: boolean;
  /** Save a checkpoint when stopped early (default true; false simulates a crash). */
  saveOnStop?: boolean;
  /** Progress bar: false for none, or a stream (default process.stderr). */
  progress?: false | ProgressStream;
  /** Called with every metrics record as it is written. */
  onMetrics?: (record: Record<string, number>) => void;
}

export interface SftResult {
  /** The trained model (the caller disposes it). */
  model: GPT;
  /** Step reached (== config.train.steps unless stopped early). */
  step: number;
  /** True when stopped by maxStepsThisRun or the signal before config.train.steps. */
  stopped: boolean;
  /** Step at which this call started (non-zero after a resume). */
  startStep: number;
  /** Train losses logged in this call. */
  losses: { step: number; loss: number }[];
  /** Eval losses computed in this call. */
  evalLosses: { step: number; loss: number }[];
  outDir: string;
}

// ---------------------------------------------------------------------------------------------
// Data

/**
 * Read {prompt, response} records from a JSONL file, checking each record's shape. Errors name
 * the file and the 1-based line; an empty file is an error (records.ts).
 */
export function readSftJsonl(file: string): SftExample[] {
  return readRecords(file).map(({ value, line }) => {
    const rec = value as Partial<SftExample> | null;
    if (typeof rec?.prompt !== "string" || typeof rec?.response !== "string") {
      throw new Error(`${file}:${line}: expected {"prompt": string, "response": string}`);
    }
    return { prompt: rec.prompt, response: rec.response, source: `${file}:${line}` };
  });
}

/** The train/eval data a config names (data.train / data.eval JSONL files). */
export function loadSftData(config: SftConfig): SftData {
  if (!config.data.train) throw new Error("no training data: set data.train to a JSONL of {prompt, response} records");
  const train = readSftJsonl(config.data.train);
  // Without data.eval, hold out data.evalFraction of train, as trainSft does for in-memory examples.
  if (!config.data.eval) return splitEval(train, config.data.evalFraction, config.seed + 1);
  return { train, eval: readSftJsonl(config.data.eval) };
}

/**
 * Endless shuffled passes over the training set. The state (epoch, position, and the RNG state
 * that produced this epoch's order) is small and restores the exact same sequence of batches.
 *
 * With `lengths`, each epoch's shuffled order is cut into pools of `batchSize * poolBatches`
 * examples, each pool sorted by length and its batches shuffled: a batch then holds examples
 * of similar length, so right-padding wastes little compute (packed prompts vary from ~10 to
 * ~300 tokens; padding every batch to its longest example roughly doubled the step time).
 */
export class BatchSampler {
  private rng: Rng;
  private epochRngState: number;
  private order: number[] = [];
  private epoch = 0;
  private pos = 0;

  constructor(
    private readonly n: number,
    seed: number,
    private readonly bucketing?: { lengths: readonly number[]; batchSize: number; poolBatches?: number },
  ) {
    if (n === 0) throw new Error("BatchSampler: no training examples");
    this.rng = new Rng(seed);
    this.epochRngState = this.rng.state;
    this.order = this.makeOrder();
  }

  private makeOrder(): number[] {
    const order = this.rng.shuffle(Array.from({ length: this.n }, (_, i) => i));
    if (!this.bucketing) return order;
    const { lengths, batchSize } = this.bucketing;
    const pool = batchSize * (this.bucketing.poolBatches ?? 16);
    const out: number[] = [];
    for (let start = 0; start < order.length; start += pool) {
      const sorted = order.slice(start, start + pool).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
      const batches: number[][] = [];
      for (let i = 0; i < sorted.length; i += batchSize) batches.push(sorted.slice(i, i + batchSize));
      for (const b of this.rng.shuffle(batches)) out.push(...b);
    }
    return out;
  }

  next(batchSize: number): number[] {
    const out: number[] = [];
    while (out.length < batchSize) {
      if (this.pos === this.n) {
        this.epoch++;
        this.pos = 0;
        this.epochRngState = this.rng.state;
        this.order = this.makeOrder();
      }
      out.push(this.order[this.pos++]!);
    }
    return out;
  }

  get state(): { epoch: number; pos: number; epochRngState: number } {
    return { epoch: this.epoch, pos: this.pos, epochRngState: this.epochRngState };
  }

  restore(s: { epoch: number; pos: number; epochRngState: number }): void {
    this.rng = Rng.fromState(s.epochRngState);
    this.order = this.makeOrder();
    this.epoch = s.epoch;
    this.pos = s.pos;
    this.epochRngState = s.epochRngState;
  }
}

/** Split off `fraction` of the examples as eval (at least one when fraction > 0), seeded. */
export function splitEval(examples: SftExample[], fraction: number, seed: number): SftData {
  if (fraction <= 0 || examples.length < 2) return { train: examples, eval: [] };
  const order = new Rng(seed).shuffle(Array.from({ length: examples.length }, (_, i) => i));
  const nEval = Math.min(examples.length - 1, Math.max(1, Math.round(examples.length * fraction)));
  const evalIdx = new Set(order.slice(0, nEval));
  return {
    train: examples.filter((_, i) => !evalIdx.has(i)),
    eval: examples.filter((_, i) => evalIdx.has(i)),
  };
}

// ---------------------------------------------------------------------------------------------
// Loss

/** Masked mean negative log-likelihood of the batch's response tokens (a scalar tensor). */
export function sftLoss(
  model: GPT,
  tokens: tf.Tensor2D,
  mask: tf.Tensor2D,
  opts: { training: boolean; dropoutSeed?: number },
): tf.Scalar {
  return tf.tidy(() => {
    const lp = model.tokenLogProbs(tokens, opts);
    return tf.div(tf.neg(tf.sum(tf.mul(lp, mask))), tf.maximum(tf.sum(mask), tf.scalar(1))) as tf.Scalar;
  });
}

/** Mean eval loss (weighted by target tokens) over up to `maxBatches` batches (0: all). */
export function evalLoss(model: GPT, data: Encoded[], batchSize: number, maxBatches: number): number {
  let total = 0,
    count = 0;
  const nBatches = Math.ceil(data.length / batchSize);
  const limit = maxBatches > 0 ? Math.min(maxBatches, nBatches) : nBatches;
  for (let i = 0; i < limit; i++) {
    const { tokens, mask, targets, lengths } = makeBatch(data.slice(i * batchSize, (i + 1) * batchSize));
    const loss = withRealRows(lengths, tokens.shape[1], () => sftLoss(model, tokens, mask, { training: false }));
    total += loss.dataSync()[0]! * targets;
    count += targets;
    tf.dispose([tokens, mask, loss]);
  }
  return count > 0 ? total / count : NaN;
}

// ---------------------------------------------------------------------------------------------
// The training loop

/**
 * Largest section id a "sections" model embeds: the sweep packs up to 8 problems; a 9th and
 * later share the last id.
 */
export const MAX_SECTION = 9;

export function gptConfigFor(config: SftConfig, tok: CharTokenizer): GPTConfig {
  const m = config.model;
  return {
    vocabSize: tok.vocabSize,
    blockSize: m.blockSize,
    nEmbd: m.nEmbd,
    nLayer: m.nLayer,
    nHead: m.nHead,
    dropout: m.dropout,
    seed: config.seed,
    ...(m.positions ? { positions: m.positions } : {}),
    // The compact template's prompt ends with a newline and opens each problem with `k:`.
    ...(m.positions === "sections"
      ? { sections: { promptEnd: tok.encode("\n")[0]!, mark: tok.encode(":")[0]!, maxSection: MAX_SECTION } }
      : {}),
  };
}

export async function trainSft(
  config: SftConfig,
  examples: SftData | SftExample[],
  outDir: string,
  opts: SftRunOptions = {},
): Promise<SftResult> {
  const { train: T, optim: O } = config;
  const tok = new CharTokenizer();
  const data = Array.isArray(examples) ? splitEval(examples, config.data.evalFraction, config.seed + 1) : examples;
  // Name an example by the line it was read from when it has one (its index after the eval split
  // points nowhere in the file).
  const trainSet = data.train.map((e, i) =>
    encodeExample(tok, e, config.model.blockSize, e.source ?? `train example ${i + 1}`),
  );
  const evalSet = (data.eval ?? []).map((e, i) =>
    encodeExample(tok, e, config.model.blockSize, e.source ?? `eval example ${i + 1}`),
  );

  // Model, optimizer, data order, dropout stream
  const model = new GPT(gptConfigFor(config, tok));
  const opt = new AdamW(model.params, { beta1: O.beta1, beta2: O.beta2, eps: O.eps, weightDecay: O.weightDecay });
  const sampler = new BatchSampler(trainSet.length, config.seed + 2, {
    lengths: trainSet.map((e) => e.ids.length),
    batchSize: T.batchSize,
  });
  let dropoutRng = new Rng(config.seed + 3);
  const schedule = { lr: O.lr, minLr: O.minLr, warmupSteps: O.warmupSteps, decaySteps: T.steps, decay: O.decay };

  // Run folder: resume from its latest checkpoint, or start fresh. Everything that can refuse the
  // run (the checkpoint's config and shapes, the init weights) is loaded before the folder is
  // written, so a failed call leaves it byte-identical and creates no new one.
  const run = new RunFolder(outDir, opts.onMetrics ? { onMetrics: opts.onMetrics } : {});
  let step = 0;
  const ck = opts.resume === false ? null : run.loadLatest({ expectConfig: model.config, expectParams: model.params });
  if (ck) {
    restoreCheckpoint(ck, model, opt);
    step = ck.step;
    dropoutRng = Rng.fromState((ck.rngState as { dropout: number }).dropout);
    sampler.restore(ck.extra.data as BatchSampler["state"]);
  } else if (config.init) {
    // Fine-tuning: weights from another run; the optimizer, data order and schedule start fresh.
    // The architecture must match, except that the context (blockSize) may grow (init-from.ts).
    initFromCheckpoint(model, config.init);
  }
  run.writeHeader(config);
  if (ck) run.resumeFrom(ck);
  else run.startFresh();

  const startStep = step;
  const varNames = new Map([...model.params].map(([name, v]) => [v.name, name]));
  const varList = [...model.params.values()];
  const losses: SftResult["losses"] = [];
  const evalLosses: SftResult["evalLosses"] = [];
  const bar =
    opts.progress === false
      ? null
      : new Progress({
          total: T.steps,
          label: config.name,
          startStep,
          ...(opts.progress ? { stream: opts.progress } : {}),
        });
  const checkpoint = () =>
    run.saveCheckpoint(
      {
        model,
        optimizer: opt,
        step,
        rngState: { dropout: dropoutRng.state },
        extra: { data: sampler.state },
      },
      T.keepCheckpoints,
    );
  // The model after `step` updates, so logged at `step` (metrics.ts); before any checkpoint write
  // at a later step, so a resume from `step` redoes it.
  const runEval = () => {
    if (evalSet.length === 0) return;
    const loss = evalLoss(model, evalSet, T.batchSize, T.evalBatches);
    evalLosses.push({ step, loss });
    run.metrics.append({ step, "eval/loss": loss });
    bar?.update(step, { eval: loss });
  };

  const dp = (T.workers ?? 1) > 1 ? await DataParallel.start(model.config, T.workers!, model) : null;
  let stopped = false;
  let lastCheckpoint = startStep;
  while (step < T.steps) {
    if (await shouldStop(opts, step, startStep)) {
      stopped = true;
      break;
    }
    if (T.evalEvery > 0 && step > 0 && step % T.evalEvery === 0) runEval();
    const t0 = performance.now();
    const lr = lrAt(step, schedule);
    const batch = sampler.next(T.batchSize).map((i) => trainSet[i]!);
    const dropoutSeed = config.model.dropout > 0 ? dropoutRng.int(0, 2 ** 31 - 1) : undefined;
    const { tokens, mask, lengths } = makeBatch(batch);

    // forward + backward, clip, update: no reads from the backend until the log below
    // (with train.workers, the gradient comes from the shards, data-parallel.ts; the native
    // optimizer sums the clipping norm in place in the heap, optim.ts)
    const stepOpts = { training: config.model.dropout > 0, ...(dropoutSeed !== undefined ? { dropoutSeed } : {}) };
    const { value: loss, grads } = dp
      ? await dp.lossAndGrads(model, batch, stepOpts)
      : withRealRows(lengths, tokens.shape[1], () =>
          tf.variableGrads(() => sftLoss(model, tokens, mask, stepOpts), varList),
        );
    const named = new Map(Object.entries(grads).map(([k, g]) => [varNames.get(k) ?? k, g]));
    const norm = opt.clipAndUpdate(named, O.gradClip, lr);

    // The loss was measured on the model before this update: logged at `step` (metrics.ts).
    if (step % T.logEvery === 0 || step === T.steps - 1) {
      const both = tf.tidy(() => tf.stack([loss, norm]));
      const [lossValue, normValue] = both.dataSync();
      both.dispose();
      const dt = (performance.now() - t0) / 1000;
      losses.push({ step, loss: lossValue! });
      run.metrics.append({
        step,
        "train/loss": lossValue!,
        "train/lr": lr,
        "grad/norm": normValue!,
        "perf/tokens_per_s": batch.reduce((n, e) => n + e.ids.length, 0) / dt,
      });
      bar?.update(step + 1, { loss: lossValue!, lr });
    } else {
      bar?.update(step + 1);
    }
    tf.dispose([tokens, mask, loss, norm, ...Object.values(grads)]);
    step++;

    if (T.checkpointEvery > 0 && step % T.checkpointEvery === 0 && step < T.steps) {
      checkpoint();
      lastCheckpoint = step;
    }
  }

  if (!stopped) {
    runEval();
    if (lastCheckpoint !== step) checkpoint();
  } else if (opts.saveOnStop !== false && lastCheckpoint !== step) {
    checkpoint();
  }
  bar?.done();
  await dp?.close();
  opt.dispose();
  return { model, step, stopped, startStep, losses, evalLosses, outDir };
}
