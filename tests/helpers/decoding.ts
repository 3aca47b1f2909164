/**
 * Decoding checks shared by the GPT tests (learned, rotary and section positions): the KV cache
 * against full recompute, and sampled log-probs against scoring each sequence alone.
 */
import assert from "node:assert/strict";
import { tf } from "../../src/engine/backend.js";
import type { GPT, SampleResult } from "../../src/model/gpt.js";
import { Rng } from "../../src/util/rng.js";

/**
 * Scales every layer's q/k/v weights: at init (std 0.02) q.k is ~0 and attention is uniform
 * whatever the positions, so a wrong position would go unseen.
 */
export function sharpenAttention(m: GPT, factor = 40): GPT {
  for (let i = 0; i < m.config.nLayer; i++) {
    const v = m.params.get(`transformer.h.${i}.attn.c_attn.weight`)!;
    v.assign(tf.tidy(() => tf.mul(v, factor)));
  }
  return m;
}

/** Sampling with the cache and without it draws the same tokens with the same log-probs. */
export function assertCacheMatchesRecompute(
  m: GPT,
  prompts: number[][],
  opts: { maxNewTokens: number; seed: number; temperature: number },
): SampleResult {
  const run = (useCache: boolean) =>
    m.generate(prompts, {
      maxNewTokens: opts.maxNewTokens,
      rng: new Rng(opts.seed),
      temperature: opts.temperature,
      useCache,
    });
  const a = run(true),
    b = run(false);
  assert.deepEqual(a.tokens, b.tokens);
  a.logProbs.forEach((row, i) =>
    row.forEach((v, t) =>
      assert.ok(
        Math.abs(v - b.logProbs[i]![t]!) < 1e-4,
        `seq ${i} token ${t}: cache ${v} vs recompute ${b.logProbs[i]![t]}`,
      ),
    ),
  );
  return a;
}

/** Each sampled token's log-prob equals tokenLogProbs on that sequence alone (unpadded). */
export function assertSampledLogProbsMatchScoring(m: GPT, prompts: number[][], r: SampleResult): void {
  prompts.forEach((p, i) => {
    const full = [...p, ...r.tokens[i]!];
    const lp = tf.tidy(() => m.tokenLogProbs(tf.tensor2d([full], [1, full.length], "int32")).dataSync());
    r.logProbs[i]!.forEach((v, t) =>
      assert.ok(Math.abs(v - lp[p.length - 1 + t]!) < 1e-4, `seq ${i} token ${t}: ${v} vs ${lp[p.length - 1 + t]}`),
    );
  });
}
