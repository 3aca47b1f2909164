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
  return sampleWithLogProb(logits, temperature, topP, rng).token;
}

/**
 * sampleToken and, for the token drawn, logProbOf, in one pass where they share it: at
 * temperature 1, exp(logit - max) and its index-order sum are the same float64 operations in
 * both, so logProb comes out with logProbOf's bits without a second pass over the row (the
 * decoding loop calls this once per running sequence per token). Other temperatures take
 * logProbOf as it is.
 */
export function sampleWithLogProb(
  logits: ArrayLike<number>,
  temperature: number,
  topP: number,
  rng: Uniform,
): { token: number; logProb: number } {
  const V = logits.length;
  if (temperature === 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i]! > logits[best]!) best = i;
    return { token: best, logProb: logProbOf(logits, best) };
  }
  let max = -Infinity;
  for (let i = 0; i < V; i++) max = Math.max(max, logits[i]!);
  const p = new Float64Array(V);
  let total = 0;
  for (let i = 0; i < V; i++) total += p[i] = Math.exp((logits[i]! - max) / temperature);
  const logProb = (token: number) =>
    temperature === 1 ? logits[token]! - max - Math.log(total) : logProbOf(logits, token);

  if (topP >= 1) {
    // No nucleus cut: tokens in id order.
    let u = rng.next() * total;
    for (let i = 0; i < V; i++) {
      u -= p[i]!;
      if (u < 0) return { token: i, logProb: logProb(i) };
    }
    return { token: V - 1, logProb: logProb(V - 1) };
  }
  // Visit tokens most likely first only when a nucleus cut is needed; the order does not
  // change the distribution, only which token a given u lands on.
  let order = Array.from({ length: V }, (_, i) => i).sort((a, b) => p[b]! - p[a]! || a - b);
  let cum = 0;
  let n = 0;
  while (n < V && cum < topP * total) cum += p[order[n++]!]!;
  order = order.slice(0, Math.max(n, 1));
  let u = rng.next() * cum;
  for (const i of order) {
    u -= p[i]!;
    if (u < 0) return { token: i, logProb: logProb(i) };
  }
  const last = order[order.length - 1]!;
  return { token: last, logProb: logProb(last) };
}
