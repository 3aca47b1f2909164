/**
 * FLOPs of the GPT's work, counted from the shapes (src/model/gpt.ts's architecture), each
 * matmul [m, k] x [k, n] as 2mnk. With C = nEmbd, V = vocabSize, M token positions computed,
 * `pairs` (query, key) pairs attended in all and the LM head applied to `headRows` positions:
 *
 *   per layer   qkv 2·M·C·3C + scores q·kᵀ 2·pairs·C + p·v 2·pairs·C + projection 2·M·C·C
 *               + MLP 2·M·C·4C + 2·M·4C·C                       = 24·M·C² + 4·pairs·C
 *   forward     nLayer·(24·M·C² + 4·pairs·C) + 2·headRows·C·V
 *   training    3 × forward   (backward: dX and dW of every matmul, 2 × forward)
 *
 * Attention counts the whole T x T square per sequence (pairs = B·T²), as the kernels compute it
 * (the causal mask is added, not skipped). Not counted: embeddings (a one-hot matmul in training,
 * a host lookup in generation), LayerNorm, GELU, softmax, the optimizer, and the attention
 * probabilities the backward pass recomputes.
 */

/** The model sizes the count depends on (a subset of GPTConfig). */
export interface FlopShape {
  nEmbd: number;
  nLayer: number;
  vocabSize: number;
}

/** Forward FLOPs of M positions attending `pairs` (query, key) pairs, the head on `headRows` of them. */
export function forwardFlops(s: FlopShape, w: { rows: number; pairs: number; headRows: number }): number {
  const C = s.nEmbd;
  return s.nLayer * (24 * w.rows * C * C + 4 * w.pairs * C) + 2 * w.headRows * C * s.vocabSize;
}

/** One training step (forward + backward) on a [B, T] batch: every position attends all T, the head on all. */
export function trainFlops(s: FlopShape, B: number, T: number): number {
  return 3 * forwardFlops(s, { rows: B * T, pairs: B * T * T, headRows: B * T });
}

/**
 * Training FLOPs per token of a batch padded to length T: one position attending T keys, the
 * head on it, times 3, i.e. 3·(nLayer·(24·C² + 4·T·C) + 2·C·V). trainFlops(s, B, T) is B·T of
 * these. The numerator of the bench's MFU (FLOPs per token x tokens/s): it counts padded tokens
 * as the step computes them, as its tokens/s does.
 */
export function trainFlopsPerToken(s: FlopShape, T: number): number {
  return 3 * forwardFlops(s, { rows: 1, pairs: T, headRows: 1 });
}

/**
 * One cached `generate`: the prompts left-padded to P = the longest, a prefill of B x P (the head
 * on the last position only), then decoding step k = 1, 2, ... feeds one token per sequence still
 * running (newTokens[b] > k) against P + k keys. `newTokens[b]`: tokens sequence b generated, its
 * stop token included. (Finished rows that generate keeps in the batch for a while are not
 * counted: this is the work the sequences need.)
 */
export function generateFlops(s: FlopShape, promptLens: readonly number[], newTokens: readonly number[]): number {
  const B = promptLens.length;
  if (B === 0) return 0;
  const P = Math.max(...promptLens);
  let flops = forwardFlops(s, { rows: B * P, pairs: B * P * P, headRows: B });
  const longest = Math.max(...newTokens);
  for (let k = 1; k < longest; k++) {
    const running = newTokens.filter((n) => n > k).length;
    flops += forwardFlops(s, { rows: running, pairs: running * (P + k), headRows: running });
  }
  return flops;
}
