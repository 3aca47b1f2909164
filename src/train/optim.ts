/**
 * AdamW (Loshchilov & Hutter, decoupled weight decay), the learning-rate schedule and global-norm
 * gradient clipping, as used by every trainer.
 *
 * For each parameter p with gradient g, at step t (1-based), learning rate lr:
 *   p <- p - lr * wd * p                       (only for tensors with >= 2 dims, as in nanoGPT:
 *                                               matmul weights and embeddings; not biases or LN)
 *   m <- b1 m + (1 - b1) g
 *   v <- b2 v + (1 - b2) g^2
 *   p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 * which is what torch.optim.AdamW computes.
 */
import { tf } from "../engine/backend.js";
import { nativeOptimizer } from "../engine/native-kernels.js";

export interface AdamWOptions {
  /** Exponential decay of the first moment. */
  beta1: number;
  /** Exponential decay of the second moment. */
  beta2: number;
  /** Added to the denominator for numerical stability. */
  eps: number;
  /** Decoupled weight decay coefficient (multiplied by lr). */
  weightDecay: number;
  /** Which parameters get weight decay; default: tensors with rank >= 2. */
  decays?: (name: string, v: tf.Variable) => boolean;
}

import type { AdamWState, MomentState } from "../run/checkpoint.js";

export type { AdamWState, MomentState };

export class AdamW {
  readonly options: Required<AdamWOptions>;
  private readonly params: Map<string, tf.Variable>;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private readonly decayed = new Set<string>();
  private t = 0;

  constructor(params: Map<string, tf.Variable>, options: AdamWOptions) {
    this.params = params;
    this.options = { decays: (_n, v) => v.rank >= 2, ...options };
    for (const [name, p] of params) {
      this.m.set(
        name,
        tf.tidy(() => tf.variable(tf.zeros(p.shape, "float32"), false)),
      );
      this.v.set(
        name,
        tf.tidy(() => tf.variable(tf.zeros(p.shape, "float32"), false)),
      );
      if (this.options.decays(name, p)) this.decayed.add(name);
    }
  }

  /** Number of update steps taken. */
  get step(): number {
    return this.t;
  }

  /** Names of the parameters that receive weight decay. */
  get decayedNames(): string[] {
    return [...this.decayed];
  }

  /**
   * One update with learning rate `lr`. `grads` must hold a gradient for every parameter
   * (a missing one is an error: silently skipping a parameter hides bugs). Does not dispose
   * the gradients.
   */
  update(grads: Map<string, tf.Tensor> | Record<string, tf.Tensor>, lr: number): void {
    this.apply(grads, lr, 1);
  }

  /**
   * clipByGlobalNorm(grads, maxNorm) then update(clipped, lr), the same bits, without making the
   * clipped gradients: with the native kernels the norm is one pass per gradient and the clipping
   * factor rides on the AdamW pass. Returns the norm before clipping (the caller disposes it).
   * Does not dispose the gradients.
   */
  clipAndUpdate(grads: Map<string, tf.Tensor>, maxNorm: number, lr: number): tf.Scalar {
    const native = nativeOptimizer();
    const sums = native ? [...grads.values()].map((g) => native.sumSquares(g)) : null;
    const norm = sums?.every((x) => x !== null) ? globalNorm(sums as number[]) : NaN;
    // A non-finite norm (a diverged step) takes the tfjs ops too: NaN and Infinity through
    // tf.minimum are theirs to define.
    if (!Number.isFinite(norm)) {
      const clipped = clipByGlobalNorm(grads, maxNorm);
      this.update(clipped.grads, lr);
      tf.dispose([...clipped.grads.values()]);
      return clipped.norm;
    }
    this.apply(grads, lr, clipCoefficient(norm, maxNorm));
    return tf.scalar(norm);
  }

  /**
   * The update with every gradient first multiplied by `clip` (clipByGlobalNorm's coefficient, a
   * float32; 1: none, and g * 1 is g). Each parameter runs on the native AdamW where it can be
   * updated in place, else on the tfjs ops; both compute the same float32 operations in the same
   * order, so which one ran does not show in the bits.
   */
  private apply(grads: Map<string, tf.Tensor> | Record<string, tf.Tensor>, lr: number, clip: number): void {
    const get = grads instanceof Map ? (k: string) => grads.get(k) : (k: string) => grads[k];
    this.t += 1;
    const { beta1, beta2, eps, weightDecay } = this.options;
    const bc1 = 1 - beta1 ** this.t;
    const bc2 = 1 - beta2 ** this.t;
    // The scalars as tf.scalar makes them: each JS double rounded to float32.
    const coefs = Float32Array.of(
      clip,
      beta1,
      1 - beta1,
      beta2,
      1 - beta2,
      lr / bc1,
      Math.sqrt(bc2),
      eps,
      1 - lr * weightDecay,
    );
    const native = nativeOptimizer();
    tf.tidy(() => {
      let scalars: AdamScalars | null = null;
      for (const [name, p] of this.params) {
        const g = get(name);
        if (!g) throw new Error(`AdamW: no gradient for parameter ${name}`);
        const m = this.m.get(name)!,
          v = this.v.get(name)!;
        const decays = this.decayed.has(name) && weightDecay !== 0;
        if (native?.adamw(p, m, v, g, decays, coefs)) continue;
        scalars ??= adamScalars(coefs);
        tfjsStep(p, m, v, clip === 1 ? g : tf.mul(g, scalars.clip), decays, scalars);
      }
    });
  }

  /** A copy of the optimizer state (reads the moments from the backend). */
  getState(): AdamWState {
    const moments = new Map<string, MomentState>();
    for (const [name, p] of this.params) {
      moments.set(name, {
        shape: [...p.shape],
        m: new Float32Array(this.m.get(name)!.dataSync()),
        v: new Float32Array(this.v.get(name)!.dataSync()),
      });
    }
    return { step: this.t, moments };
  }

  /** Restore a state from getState(); names and shapes must match exactly. */
  setState(state: AdamWState): void {
    const missing = [...this.params.keys()].filter((n) => !state.moments.has(n));
    const extra = [...state.moments.keys()].filter((n) => !this.params.has(n));
    if (missing.length || extra.length) {
      throw new Error(
        `AdamW.setState: parameter names differ (missing: ${missing.join(", ") || "none"}; unexpected: ${extra.join(", ") || "none"})`,
      );
    }
    for (const [name, p] of this.params) {
      const s = state.moments.get(name)!;
      if (s.shape.join(",") !== p.shape.join(",")) {
        throw new Error(`AdamW.setState: ${name} has shape [${s.shape}] in the state but [${p.shape}] in the model`);
      }
      tf.tidy(() => {
        this.m.get(name)!.assign(tf.tensor(s.m, p.shape, "float32"));
        this.v.get(name)!.assign(tf.tensor(s.v, p.shape, "float32"));
      });
    }
    this.t = state.step;
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/** AdamW's scalars as tensors, from the float32 coefficients (native/kernels.c's order). */
interface AdamScalars {
  clip: tf.Scalar;
  b1: tf.Scalar;
  oneMinusB1: tf.Scalar;
  b2: tf.Scalar;
  oneMinusB2: tf.Scalar;
  stepSize: tf.Scalar;
  sqrtBc2: tf.Scalar;
  eps: tf.Scalar;
  decay: tf.Scalar;
}

function adamScalars(k: Float32Array): AdamScalars {
  const [clip, b1, oneMinusB1, b2, oneMinusB2, stepSize, sqrtBc2, eps, decay] = [...k].map((x) => tf.scalar(x));
  return {
    clip: clip!,
    b1: b1!,
    oneMinusB1: oneMinusB1!,
    b2: b2!,
    oneMinusB2: oneMinusB2!,
    stepSize: stepSize!,
    sqrtBc2: sqrtBc2!,
    eps: eps!,
    decay: decay!,
  };
}

/** One parameter's AdamW step in tfjs ops (the reference the native kernel reproduces). */
function tfjsStep(p: tf.Variable, m: tf.Variable, v: tf.Variable, g: tf.Tensor, decays: boolean, s: AdamScalars): void {
  const mNew = tf.add(tf.mul(s.b1, m), tf.mul(s.oneMinusB1, g));
  const vNew = tf.add(tf.mul(s.b2, v), tf.mul(s.oneMinusB2, tf.square(g)));
  m.assign(mNew);
  v.assign(vNew);
  const denom = tf.add(tf.div(tf.sqrt(vNew), s.sqrtBc2), s.eps);
  const base = decays ? tf.mul(p, s.decay) : p;
  p.assign(tf.sub(base, tf.mul(s.stepSize, tf.div(mNew, denom))));
}

// ---------------------------------------------------------------------------------------------
// Learning-rate schedule

export interface LrSchedule {
  /** Peak learning rate (reached at the end of warm-up). */
  lr: number;
  /** Floor reached at the end of the decay. */
  minLr: number;
  /** Linear warm-up length in steps (0: start at lr). */
  warmupSteps: number;
  /** Step at which the decay reaches minLr (usually the run's total steps). */
  decaySteps: number;
  /** Shape after warm-up: cosine to minLr, or constant lr. */
  decay: "cosine" | "constant";
}

/**
 * Learning rate for 0-based `step`: linear warm-up lr*(step+1)/warmupSteps, then cosine from lr
 * (at step = warmupSteps) down to minLr (at step = decaySteps), then minLr.
 */
export function lrAt(step: number, s: LrSchedule): number {
  if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  if (s.decay === "constant") return s.lr;
  if (step >= s.decaySteps) return s.minLr;
  const ratio = (step - s.warmupSteps) / Math.max(1, s.decaySteps - s.warmupSteps);
  return s.minLr + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (s.lr - s.minLr);
}

// ---------------------------------------------------------------------------------------------
// Gradient clipping

/**
 * The global norm from each gradient's sum of squares, as clipByGlobalNorm's tfjs ops compute it
 * on float32: tf.addN adds them one by one from 0 in the map's order, then tf.sqrt. Math.fround
 * after each JS operation gives the float32 operation's result: for +, -, *, / and sqrt, rounding
 * to double (53 bits) and then to float32 (24) equals rounding once, as 53 >= 2 * 24 + 2.
 */
function globalNorm(sums: number[]): number {
  let total = 0;
  for (const s of sums) total = Math.fround(total + s);
  return Math.fround(Math.sqrt(total));
}

/** clipByGlobalNorm's coefficient min(1, maxNorm / (norm + 1e-6)) in float32 (see globalNorm); 1 when clipping is off. */
function clipCoefficient(norm: number, maxNorm: number): number {
  if (!(maxNorm > 0)) return 1;
  const f = Math.fround;
  return Math.min(1, f(f(maxNorm) / f(norm + f(1e-6))));
}

/**
 * Scale all gradients so that their global L2 norm is at most `maxNorm` (torch's
 * clip_grad_norm_: coefficient min(1, maxNorm / (norm + 1e-6))); maxNorm <= 0 disables clipping.
 * Returns new gradient tensors and the norm BEFORE clipping as a scalar tensor, so the caller
 * decides when to read it back (one sync per step with the loss). The inputs are not disposed.
 */
export function clipByGlobalNorm(
  grads: Map<string, tf.Tensor>,
  maxNorm: number,
): { grads: Map<string, tf.Tensor>; norm: tf.Scalar } {
  const out = new Map<string, tf.Tensor>();
  const norm = tf.tidy(() => {
    const sq = [...grads.values()].map((g) => tf.sum(tf.square(g)));
    return tf.sqrt(sq.length ? tf.addN(sq) : tf.scalar(0)) as tf.Scalar;
  });
  if (!(maxNorm > 0)) {
    for (const [k, g] of grads) out.set(k, tf.clone(g));
    return { grads: out, norm };
  }
  const coef = tf.tidy(() => tf.minimum(tf.scalar(1), tf.div(tf.scalar(maxNorm), tf.add(norm, tf.scalar(1e-6)))));
  for (const [k, g] of grads) out.set(k, tf.mul(g, coef));
  coef.dispose();
  return { grads: out, norm };
}
