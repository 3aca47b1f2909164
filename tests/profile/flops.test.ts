import { test } from "node:test";
import assert from "node:assert/strict";
import { forwardFlops, generateFlops, trainFlops, trainFlopsPerToken } from "../../src/profile/flops.js";

// A tiny GPT: C = 4, one layer, V = 5 (the head is tied: [C, V]); each matmul [m, k] x [k, n] is 2mnk.
const tiny = { nEmbd: 4, nLayer: 1, vocabSize: 5 };
const mm = (m: number, k: number, n: number) => 2 * m * k * n;

test("a training step on a 1 x 2 batch: the matmuls listed by hand, times 3", () => {
  // M = B*T = 2 positions; attention per sequence over the whole 2 x 2 square (C = heads * head dim)
  const qkv = mm(2, 4, 12); // 192
  const scores = mm(2, 4, 2); // q kᵀ over all heads: 32
  const values = mm(2, 2, 4); // p v: 32
  const proj = mm(2, 4, 4); // 64
  const mlp = mm(2, 4, 16) + mm(2, 16, 4); // 512
  const head = mm(2, 4, 5); // 80
  const forward = qkv + scores + values + proj + mlp + head;
  assert.equal(forward, 912);
  assert.equal(forwardFlops(tiny, { rows: 2, pairs: 4, headRows: 2 }), 912);
  assert.equal(trainFlops(tiny, 1, 2), 3 * 912);
});

test("training FLOPs per token at padded length 3: one position's matmuls listed by hand, times 3", () => {
  // one query row against T = 3 keys; the same tiny shape as above
  const qkv = mm(1, 4, 12); // 96
  const scores = mm(1, 4, 3); // q kᵀ against 3 keys: 24
  const values = mm(1, 3, 4); // p v: 24
  const proj = mm(1, 4, 4); // 32
  const mlp = mm(1, 4, 16) + mm(1, 16, 4); // 256
  const head = mm(1, 4, 5); // 40
  assert.equal(qkv + scores + values + proj + mlp + head, 472);
  assert.equal(trainFlopsPerToken(tiny, 3), 3 * 472);
  // a [B, T] step is B·T tokens at that count (the bench's MFU multiplies it by tokens/s)
  assert.equal(trainFlops(tiny, 2, 3), 2 * 3 * trainFlopsPerToken(tiny, 3));
  assert.equal(trainFlops(tiny, 1, 2), 2 * trainFlopsPerToken(tiny, 2));
});

test("trainFlops grows with layers and the square of the length as the formula says", () => {
  const s = { nEmbd: 128, nLayer: 2, vocabSize: 40 };
  // 32 x 256: 2 layers x (24 x 8192 x 128² + 4 x 32 x 256² x 128) + 2 x 8192 x 128 x 40, times 3
  const perLayer = 24 * 8192 * 128 ** 2 + 4 * 32 * 256 ** 2 * 128;
  assert.equal(trainFlops(s, 32, 256), 3 * (2 * perLayer + 2 * 8192 * 128 * 40));
});

test("a cached generate: the prefill of the padded prompts, then one position per running sequence", () => {
  // prompts of 2 and 1 tokens (padded to P = 2), sequence 0 generates 2 tokens, sequence 1 stops after 1
  const layer = (rows: number, pairs: number) =>
    mm(rows, 4, 12) + (2 * 4 + 2 * 4) * pairs + mm(rows, 4, 4) + mm(rows, 4, 16) + mm(rows, 16, 4); // q·k and p·v: 2C each a pair
  const prefill = layer(2 * 2, 2 * 2 * 2) + mm(2, 4, 5); // head on the last position of each row
  const step1 = layer(1, 3) + mm(1, 4, 5); // only sequence 0 runs, against P + 1 = 3 keys
  assert.equal(prefill, 1744);
  assert.equal(step1, 472);
  assert.equal(generateFlops(tiny, [2, 1], [2, 1]), prefill + step1);
  assert.equal(generateFlops(tiny, [], []), 0);
});
