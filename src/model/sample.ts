/**
 * Picking one token from one row of logits, in plain JS and float64. Sampling runs on the host
 * (the logits of the last position are read back each step anyway) so the same logits and the
 * same Rng give the same token on every backend.
 */
import type { Uniform } from "../util/rng.js";

/** log softmax(logits)[token] at temperature 1: what GRPO stores as pi_old. */
export function logProbOf(logits: ArrayLike<number>, token: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  return logits[token]! - max - Math.log(sum);
}

/** The k most likely tokens of log softmax(logits) at temperature 1, most likely first (ties: lower id). */
export function topLogProbs(logits: ArrayLike<number>, k: number): { token: number; logProb: number }[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  const logZ = max + Math.log(sum);
  const ids = Array.from({ length: logits.length }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]! || a - b);
  return ids.slice(0, k).map((token) => ({ token, logProb: logits[token]! - logZ }));
}

/**
 * Samples a token from softmax(logits / temperature), restricted to the nucleus: the smallest
 * set of most likely tokens whose probability reaches topP. temperature 0 is greedy (argmax)
 * and draws nothing from the rng; otherwise exactly one rng.next() per call.
 */
export function sampleToken(logits: ArrayLike<number>, temperature: number, topP: number, rng: Uniform): number {
  const V = logits.length;
  if (temperature === 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i]! > logits[best]!) best = i;
    return best;
  }
  let max = -Infinity;
  for (let i = 0; i < V; i++) max = Math.max(max, logits[i]!);
  const p = new Float64Array(V);
  let total = 0;
  for (let i = 0; i < V; i++) total += p[i] = Math.exp((logits[i]! - max) / temperature);

  // Visit tokens most likely first only when a nucleus cut is needed; the order does not
  // change the distribution, only which token a given u lands on.
  let order: number[];
  let kept = total;
  if (topP < 1) {
    order = Array.from({ length: V }, (_, i) => i).sort((a, b) => p[b]! - p[a]! || a - b);
    let cum = 0;
    let n = 0;
    while (n < V && cum < topP * total) cum += p[order[n++]!]!;
    order = order.slice(0, Math.max(n, 1));
    kept = cum;
  } else {
    order = Array.from({ length: V }, (_, i) => i);
  }
  let u = rng.next() * kept;
  for (const i of order) {
    u -= p[i]!;
    if (u < 0) return i;
  }
  return order[order.length - 1]!;
}
