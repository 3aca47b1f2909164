/**
 * The GRPO surrogate (DeepSeekMath, arXiv 2402.03300; DAPO arXiv 2503.14476; Dr. GRPO
 * arXiv 2503.20783). Per response token t of response i, with ratio rho = pi_theta / pi_old:
 *
 *   obj_it = min(rho_it * A_i, clip(rho_it, 1 - clipLow, 1 + clipHigh) * A_i) - beta * KL_it
 *   KL_it  = pi_ref/pi_theta - log(pi_ref/pi_theta) - 1          (k3 estimator, >= 0)
 *
 * and the loss is minus an aggregate of obj over the response tokens (mask = 1):
 *
 *   "seq-mean"   (GRPO)     mean_i [ sum_t obj_it / |o_i| ]
 *   "token-mean" (DAPO)     sum_it obj_it / sum_i |o_i|
 *   "const"      (Dr. GRPO) sum_it obj_it / (numSequences * budget)
 *
 * All inputs are [S, L] with L the (padded) number of predicted positions; positions that
 * are not response tokens carry mask 0 and contribute nothing.
 */
import { tf } from "../engine/backend.js";

export type Aggregation = "seq-mean" | "token-mean" | "const";

export interface SurrogateConfig {
  clipLow: number;
  clipHigh: number;
  /** KL coefficient beta; 0 disables the KL term (then refLogp may be omitted). */
  klBeta: number;
  aggregation: Aggregation;
  /**
   * The response budget in tokens: Dr. GRPO's constant normaliser for "const" (it divides by the
   * most tokens a response may have, so the loss does not favour short or long responses).
   */
  budget: number;
}

export interface SurrogateParts {
  loss: tf.Scalar;
  /** Share of response tokens whose clipped term was the smaller one (clipping active). */
  clipFrac: tf.Scalar;
  /** Mean k3 KL to the reference over response tokens (0 without a reference). */
  kl: tf.Scalar;
  /** Estimate of KL(pi_old || pi_theta): mean (oldLogp - logp) over response tokens. */
  approxKlOld: tf.Scalar;
}

export function grpoSurrogate(
  logp: tf.Tensor2D,
  oldLogp: tf.Tensor2D,
  advantages: tf.Tensor1D,
  mask: tf.Tensor2D,
  cfg: SurrogateConfig,
  refLogp?: tf.Tensor2D,
): SurrogateParts {
  return tf.tidy(() => {
    const adv = tf.expandDims(advantages, 1); // [S,1]
    const logRatio = tf.sub(logp, oldLogp);
    const ratio = tf.exp(logRatio);
    const unclipped = tf.mul(ratio, adv);
    const clipped = tf.mul(tf.clipByValue(ratio, 1 - cfg.clipLow, 1 + cfg.clipHigh), adv);
    let obj: tf.Tensor = tf.minimum(unclipped, clipped);
    let kl: tf.Tensor = tf.zerosLike(logp);
    if (cfg.klBeta !== 0) {
      if (!refLogp) throw new Error("grpoSurrogate: klBeta > 0 needs reference log-probs");
      const d = tf.sub(refLogp, logp);
      kl = tf.sub(tf.sub(tf.exp(d), d), 1);
      obj = tf.sub(obj, tf.mul(kl, cfg.klBeta));
    }
    const masked = tf.mul(obj, mask);
    const safeTokens = tf.maximum(tf.sum(mask), 1);
    let aggregate: tf.Tensor;
    switch (cfg.aggregation) {
      case "seq-mean":
        aggregate = tf.mean(tf.div(tf.sum(masked, 1), tf.maximum(tf.sum(mask, 1), 1)));
        break;
      case "token-mean":
        aggregate = tf.div(tf.sum(masked), safeTokens);
        break;
      case "const":
        aggregate = tf.div(tf.sum(masked), logp.shape[0] * cfg.budget);
        break;
      default:
        throw new Error(`grpoSurrogate: unknown aggregation '${cfg.aggregation as string}'`);
    }
    const clipActive = tf.mul(tf.cast(tf.less(clipped, unclipped), "float32"), mask);
    const perToken = (x: tf.Tensor) => tf.div(tf.sum(tf.mul(x, mask)), safeTokens) as tf.Scalar;
    return {
      loss: tf.neg(aggregate) as tf.Scalar,
      clipFrac: tf.div(tf.sum(clipActive), safeTokens) as tf.Scalar,
      kl: perToken(kl),
      approxKlOld: perToken(tf.neg(logRatio)),
    };
  });
}

/**
 * The same objective in plain numbers, written independently of the tensor version, for
 * tests and for anyone checking the formula by hand.
 */
export function grpoSurrogateReference(
  logp: number[][],
  oldLogp: number[][],
  advantages: number[],
  mask: number[][],
  cfg: SurrogateConfig,
  refLogp?: number[][],
): { loss: number; clipFrac: number; kl: number } {
  let sumObj = 0;
  let tokens = 0;
  let clippedCount = 0;
  let klSum = 0;
  let seqMeanSum = 0;
  for (let i = 0; i < logp.length; i++) {
    let seqObj = 0;
    let seqTokens = 0;
    for (let t = 0; t < logp[i]!.length; t++) {
      if (!mask[i]![t]) continue;
      const rho = Math.exp(logp[i]![t]! - oldLogp[i]![t]!);
      const a = advantages[i]!;
      const rhoClipped = Math.min(Math.max(rho, 1 - cfg.clipLow), 1 + cfg.clipHigh);
      const u = rho * a;
      const c = rhoClipped * a;
      if (c < u) clippedCount++;
      let o = Math.min(u, c);
      if (cfg.klBeta !== 0 && refLogp) {
        const d = refLogp[i]![t]! - logp[i]![t]!;
        const k = Math.exp(d) - d - 1;
        klSum += k;
        o -= cfg.klBeta * k;
      }
      seqObj += o;
      seqTokens++;
    }
    sumObj += seqObj;
    tokens += seqTokens;
    seqMeanSum += seqObj / Math.max(seqTokens, 1);
  }
  const agg =
    cfg.aggregation === "seq-mean"
      ? seqMeanSum / logp.length
      : cfg.aggregation === "token-mean"
        ? sumObj / Math.max(tokens, 1)
        : sumObj / (logp.length * cfg.budget);
  return { loss: -agg, clipFrac: clippedCount / Math.max(tokens, 1), kl: klSum / Math.max(tokens, 1) };
}

/**
 * Per-position log-probability of the chosen next token and the entropy of the predictive
 * distribution, from logits [S, T, V] and the token sequence [S, T]. Returns [S, T-1] each.
 * Uses a one-hot product instead of gather because the wasm backend has no gather gradient.
 */
export function tokenLogProbsAndEntropy(
  logits: tf.Tensor3D,
  tokens: tf.Tensor2D,
): { logp: tf.Tensor2D; entropy: tf.Tensor2D } {
  return tf.tidy(() => {
    const [s, t, v] = logits.shape;
    const logProbs = tf.logSoftmax(tf.slice(logits, [0, 0, 0], [s, t - 1, v]), -1);
    const targets = tf.cast(tf.slice(tokens, [0, 1], [s, t - 1]), "int32");
    // cast rather than oneHot(..., "float32"): the wasm kernel ignores that dtype argument
    const oneHot = tf.cast(tf.oneHot(targets as tf.Tensor2D, v), "float32");
    const logp = tf.sum(tf.mul(logProbs, oneHot), -1) as tf.Tensor2D;
    const entropy = tf.neg(tf.sum(tf.mul(tf.exp(logProbs), logProbs), -1)) as tf.Tensor2D;
    return { logp, entropy };
  });
}
