/**
 * Data-parallel SFT gradients over worker threads: both cores on one training step.
 *
 * The wasm backend computes on one thread, so a step on W cores needs W backends. Each worker
 * thread holds its own tfjs engine and a copy of the model; every step the main thread sends it
 * the current weights and a shard of the batch, computes shard 0 itself meanwhile, and adds the
 * shards' gradients up in shard order. With S_s = -sum_{b,t in shard s} mask[b,t] lp[b,t] and
 * N = sum of the whole batch's mask,
 *   loss = sum_s S_s / N,   grad = (sum_s grad S_s) / N,
 * which is sftLoss and its gradient over the whole batch (token-weighted, not a mean of shard
 * means), up to float rounding. The split, the order of the sum and each shard's arithmetic are
 * fixed, so the same seed and worker count give the same weights, run after run; a different
 * worker count differs in the last digits (a different summation order, other padded shapes).
 *
 * Dropout: shard s draws its masks from dropoutSeed + s (one seed per step, as before).
 *
 * Which thread computes a shard does not change its bits (the same kernels on the same weights),
 * so with the fused training kernels (src/engine/native-kernels.ts) the main thread takes the
 * costliest shard: the others' round trip to their threads (weights in, gradients out) then hides
 * behind it instead of lengthening the step. Weights and gradients travel as one flat array per
 * thread, in the model's parameter order, read straight from the wasm heap and, in the worker,
 * written straight into it.
 */
import { startWorkerBeside } from "../util/worker.js";
import type { Worker } from "node:worker_threads";
import { backendInfo, tf } from "../engine/backend.js";
import { fusedTraining, readInto, writeInPlace } from "../engine/native-kernels.js";
import { paddingSkip, withRealRows } from "../engine/real-rows.js";
import type { GPT, GPTConfig } from "../model/gpt.js";
import { makeBatch } from "./batch.js";

/** An encoded SFT example (encodeExample). */
export interface ShardExample {
  ids: number[];
  responseStart: number;
}

export interface StepOptions {
  training: boolean;
  dropoutSeed?: number;
}

/** Split `n` examples into `parts` contiguous shards, sizes differing by at most one (larger first). */
export function shardBounds(n: number, parts: number): [number, number][] {
  const k = Math.min(parts, n);
  const out: [number, number][] = [];
  let start = 0;
  for (let s = 0; s < k; s++) {
    const size = Math.floor(n / k) + (s < n % k ? 1 : 0);
    out.push([start, start + size]);
    start += size;
  }
  return out;
}

/**
 * One shard: S = -sum(mask * lp) and its gradient with respect to `vars` (keyed by variable
 * name), the number of target tokens, all on the current backend.
 */
export function shardLossAndGrads(
  model: GPT,
  examples: ShardExample[],
  vars: tf.Variable[],
  opts: StepOptions,
): { lossSum: tf.Scalar; grads: tf.NamedTensorMap; targets: number } {
  const { tokens, mask, targets, lengths } = makeBatch(examples);
  try {
    // The padding's rows are skipped by the native kernels (src/engine/real-rows.ts): same bits.
    const { value, grads } = withRealRows(lengths, tokens.shape[1], () =>
      tf.variableGrads(
        () =>
          tf.tidy(() => {
            const lp = model.tokenLogProbs(tokens, opts);
            return tf.neg(tf.sum(tf.mul(lp, mask))) as tf.Scalar;
          }),
        vars,
      ),
    );
    return { lossSum: value, grads, targets };
  } finally {
    tf.dispose([tokens, mask]);
  }
}

/**
 * What a worker is sent and sends back (worker: data-parallel-worker.ts). Weights and gradients
 * are flat: every parameter's values one after the other, in the model's parameter order.
 * `fused`: the main thread's setFusedTraining, which the worker follows; `skipPadding` likewise
 * its setPaddingSkip (src/engine/real-rows.ts).
 */
export type ToWorker =
  | { kind: "init"; config: GPTConfig; backend: string; kernels: string | null }
  | {
      kind: "step";
      weights: Float32Array;
      examples: ShardExample[];
      opts: StepOptions;
      fused: boolean;
      skipPadding: boolean;
    };
export type FromWorker =
  | { kind: "ready"; names: string[] }
  | { kind: "grads"; lossSum: number; targets: number; grads: Float32Array }
  | { kind: "error"; message: string };
type Grads = Extract<FromWorker, { kind: "grads" }>;

/** Every tensor's values one after the other in one new array (readInto: straight from the heap on wasm). */
export function flatten(tensors: tf.Tensor[]): Float32Array {
  const out = new Float32Array(tensors.reduce((n, t) => n + t.size, 0));
  let at = 0;
  for (const t of tensors) {
    readInto(t, out, at);
    at += t.size;
  }
  return out;
}

/** flatten's inverse for `vars`: each variable's slice of `flat`, in place where it may be, else assigned. */
export function assignFlat(vars: tf.Variable[], flat: Float32Array): void {
  const total = vars.reduce((n, v) => n + v.size, 0);
  if (flat.length !== total) throw new Error(`data parallel: ${flat.length} weights for ${total} parameters`);
  let at = 0;
  tf.tidy(() => {
    for (const v of vars) {
      const part = flat.subarray(at, at + v.size);
      if (!writeInPlace(v, part)) v.assign(tf.tensor(part, v.shape));
      at += v.size;
    }
  });
}

/**
 * The shard the main thread computes: with the fused kernels the costliest, the most padded
 * tokens (on a tie the later, longer shard: attention grows with the square), else shard 0.
 */
function mainShard(examples: ShardExample[], bounds: [number, number][], fused: boolean): number {
  if (!fused) return 0;
  let best = 0;
  let bestCost = -1;
  bounds.forEach(([a, b], s) => {
    const cost = (b - a) * Math.max(...examples.slice(a, b).map((e) => e.ids.length));
    if (cost >= bestCost) {
      best = s;
      bestCost = cost;
    }
  });
  return best;
}

/** One shard's summed loss, target count and gradients (v's, found at `at` in the flat layout). */
interface ShardPart {
  lossSum: number;
  targets: number;
  grad(v: tf.Variable, at: number): tf.Tensor;
}

/**
 * sftLoss and its gradients from the shards (see the header): losses, targets and gradients
 * added in shard order, then the gradients times 1/targets (the order fixes the bits).
 */
function addShards(vars: tf.Variable[], parts: ShardPart[]): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  let lossSum = parts[0]!.lossSum;
  let targets = parts[0]!.targets;
  for (const p of parts.slice(1)) {
    lossSum += p.lossSum;
    targets += p.targets;
  }
  const scale = 1 / Math.max(targets, 1);
  const grads: tf.NamedTensorMap = {};
  let at = 0;
  for (const v of vars) {
    grads[v.name] = tf.tidy(() => {
      let g = parts[0]!.grad(v, at);
      for (const p of parts.slice(1)) g = tf.add(g, p.grad(v, at));
      return tf.mul(g, scale);
    });
    at += v.size;
  }
  return { value: tf.scalar(lossSum * scale), grads };
}

class ShardWorker {
  private pending: { resolve: (m: FromWorker) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(
    readonly worker: Worker,
    readonly index: number,
  ) {
    worker.on("message", (m: FromWorker) => {
      const p = this.pending;
      this.pending = null;
      worker.unref();
      if (m.kind === "error") p?.reject(new Error(`data-parallel worker ${index}: ${m.message}`));
      else p?.resolve(m);
    });
    const fail = (e: Error) => {
      this.failure = e;
      this.pending?.reject(e);
      this.pending = null;
    };
    worker.on("error", (e) => fail(new Error(`data-parallel worker ${index}: ${e.message}`)));
    worker.on("exit", (code) => fail(new Error(`data-parallel worker ${index} exited (code ${code})`)));
    // an idle worker never keeps the process alive (a run that fails still exits); one that
    // owes a reply does
    worker.unref();
  }

  request(msg: ToWorker, transfer: ArrayBuffer[] = []): Promise<FromWorker> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending)
      return Promise.reject(new Error(`data-parallel worker ${this.index}: a request is already pending`));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.ref();
      this.worker.postMessage(msg, transfer);
    });
  }
}

/**
 * `workers` shards per step: the main thread computes shard 0, `workers - 1` threads the rest.
 * Create with DataParallel.start, close with close().
 */
export class DataParallel {
  private constructor(
    private readonly threads: ShardWorker[],
    private readonly names: string[],
  ) {}

  /** Start `workers - 1` threads, each with `config`'s model on the main thread's backend. */
  static async start(config: GPTConfig, workers: number, model: GPT): Promise<DataParallel> {
    if (!Number.isInteger(workers) || workers < 1)
      throw new Error(`data parallel: workers must be a positive integer, got ${workers}`);
    const backend = backendInfo()?.name ?? tf.getBackend();
    // The workers use the main thread's kernel set, whatever BCR_KERNELS=auto would pick there.
    const kernels = backendInfo()?.kernels?.engine ?? null;
    const names = [...model.params.keys()];
    const threads = Array.from(
      { length: workers - 1 },
      (_, i) => new ShardWorker(startWorkerBeside(import.meta.url, "data-parallel-worker"), i + 1),
    );
    try {
      const replies = await Promise.all(threads.map((t) => t.request({ kind: "init", config, backend, kernels })));
      for (const r of replies) {
        if (r.kind !== "ready" || r.names.join(",") !== names.join(","))
          throw new Error("data parallel: a worker's model has other parameters than the main model");
      }
    } catch (e) {
      await Promise.all(threads.map((t) => t.worker.terminate()));
      throw e;
    }
    return new DataParallel(threads, names);
  }

  get workers(): number {
    return this.threads.length + 1;
  }

  /**
   * sftLoss of the whole batch and its gradients keyed by variable name (as tf.variableGrads
   * gives them), computed shard-parallel (see the header). The caller disposes both.
   */
  async lossAndGrads(
    model: GPT,
    examples: ShardExample[],
    opts: StepOptions,
  ): Promise<{ value: tf.Scalar; grads: tf.NamedTensorMap }> {
    const bounds = shardBounds(examples.length, this.workers);
    const vars = this.names.map((n) => model.params.get(n)!);
    const fused = fusedTraining();
    const seedFor = (s: number): StepOptions =>
      opts.dropoutSeed === undefined
        ? { training: opts.training }
        : { training: opts.training, dropoutSeed: opts.dropoutSeed + s };
    const mine = mainShard(examples, bounds, fused);
    const sent = bounds.map((_, s) => s).filter((s) => s !== mine);
    // Send first, so the threads work while the main thread computes its shard.
    const weights = flatten(vars);
    const replies = sent.map((s, i) => {
      const copy = i === sent.length - 1 ? weights : weights.slice();
      const [a, b] = bounds[s]!;
      return this.threads[i]!.request(
        {
          kind: "step",
          weights: copy,
          examples: examples.slice(a, b),
          opts: seedFor(s),
          fused,
          skipPadding: paddingSkip(),
        },
        [copy.buffer as ArrayBuffer],
      );
    });
    let own: ReturnType<typeof shardLossAndGrads>;
    try {
      own = shardLossAndGrads(model, examples.slice(...bounds[mine]!), vars, seedFor(mine));
    } catch (e) {
      // The threads' replies still arrive: take them (a failed one too) before giving up the
      // step, so each thread is free for the next and no rejection goes unhandled.
      await Promise.allSettled(replies);
      throw e;
    }
    let shards: Grads[];
    try {
      shards = (await Promise.all(replies)).map((r) => {
        if (r.kind !== "grads") throw new Error(`data parallel: expected gradients, got ${r.kind}`);
        return r;
      });
    } catch (e) {
      tf.dispose([own.lossSum, own.grads]);
      throw e;
    }
    // Everything in shard order, whichever thread computed which shard.
    const parts = bounds.map((_, s): ShardPart => {
      if (s === mine)
        return { lossSum: own.lossSum.dataSync()[0]!, targets: own.targets, grad: (v) => own.grads[v.name]! };
      const r = shards[sent.indexOf(s)]!;
      return { ...r, grad: (v, at) => tf.tensor(r.grads.subarray(at, at + v.size), v.shape) };
    });
    try {
      return addShards(vars, parts);
    } finally {
      tf.dispose([own.lossSum, own.grads]);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }
}
