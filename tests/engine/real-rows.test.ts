// Skipping the padding's rows (src/engine/real-rows.ts): the run bookkeeping by hand, and the
// native kernels with and without the skipping, which must give the same bits: a product's real
// rows, 6 SFT steps (1 and 2 workers, with dropout) and an RL update's gradients. Each identity
// test also requires that rows were skipped, so it cannot pass by skipping nothing.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { trainedBits, useBackend, tf } from "../train/setup.js";
import { nativeKernelsInfo } from "../../src/engine/native-kernels.js";
import {
  alignRuns,
  paddedRuns,
  paddingSkipStats,
  realRowsFor,
  runRows,
  setPaddingSkip,
  withRealRows,
} from "../../src/engine/real-rows.js";
import { GPT } from "../../src/model/gpt.js";
import { buildUpdateBatch, surrogateGrads, type Rollout } from "../../src/rl/grpo.js";
import { SftConfigSchema } from "../../src/train/sft-config.js";
import { parseConfig } from "../../src/util/config.js";

await useBackend();
after(() => setPaddingSkip(true));

const skip =
  nativeKernelsInfo() === null ? "the native kernel set is not loaded (BCR_KERNELS=wasm or no addon)" : false;

test("paddedRuns: one run per sequence of a right-padded [B, T] layout, adjacent runs merged, lengths clamped", () => {
  assert.deepEqual(paddedRuns([3, 5, 0, 2], 5), [0, 3, 5, 10, 15, 17]);
  assert.deepEqual(paddedRuns([9, 1], 4), [0, 5]); // 9 clamps to 4: row 3 meets sequence 1's row 4
  assert.deepEqual(paddedRuns([], 4), []);
  assert.equal(runRows(paddedRuns([3, 5, 0, 2], 5)), 10);
});

test("alignRuns: whole tiles from row 0, the last one short at M, touching tiles merged, a lone row widened back", () => {
  // Tiles of 4 over 22 rows: [0,3) -> [0,4); [5,10) -> [4,12) touches it; [15,17) -> [12,20).
  assert.deepEqual(alignRuns([0, 3, 5, 10, 15, 17], 4, 22), [0, 20]);
  assert.deepEqual(alignRuns([0, 3, 13, 14], 4, 22), [0, 4, 12, 16]);
  assert.deepEqual(alignRuns([20, 22], 4, 22), [20, 22]); // the short last tile
  // M = 21: [20, 21) is the one-row last tile, widened to [16, 21), never a matrix-vector product
  assert.deepEqual(alignRuns([0, 2, 20, 21], 4, 21), [0, 4, 16, 21]);
  assert.deepEqual(alignRuns([0, 1], 1, 5), [0, 1]); // at row 0 there is nothing to widen to
  assert.deepEqual(alignRuns([3, 7], 1, 10), [3, 7]); // tile 1: the runs themselves
});

test("withRealRows: both layouts known inside, nothing outside, nesting refused, off with setPaddingSkip(false)", () => {
  assert.equal(realRowsFor(10), null);
  withRealRows([3, 5], 5, () => {
    assert.deepEqual(realRowsFor(10), [0, 3, 5, 10]);
    assert.deepEqual(realRowsFor(8), [0, 3, 4, 8]); // [B*(T-1)]: the head's rows
    assert.equal(realRowsFor(9), null);
    assert.throws(() => withRealRows([1], 2, () => 0), /already inside/);
  });
  assert.equal(realRowsFor(10), null);
  setPaddingSkip(false);
  try {
    withRealRows([3, 5], 5, () => assert.equal(realRowsFor(10), null));
  } finally {
    setPaddingSkip(true);
  }
});

test("a product over token rows: the real rows' bits as the full product's, the padding's rows zero", { skip }, () => {
  const B = 5,
    T = 61,
    k = 128,
    n = 384;
  const lengths = [61, 2, 40, 1, 33];
  const x = tf.randomNormal([B * T, k], 0, 1, "float32", 1) as tf.Tensor2D;
  const w = tf.randomNormal([k, n], 0, 1, "float32", 2) as tf.Tensor2D;
  const bias = tf.randomNormal([n], 0, 1, "float32", 3) as tf.Tensor1D;
  const full = tf.matMul(x, w);
  const fullBias = tf.fused.matMul({ a: x, b: w, bias });
  paddingSkipStats(true);
  const [part, partBias] = withRealRows(lengths, T, () => [tf.matMul(x, w), tf.fused.matMul({ a: x, b: w, bias })]);
  const { rows, skipped } = paddingSkipStats(true);
  assert.equal(rows, 2 * B * T);
  assert.ok(skipped > 0, "no row was skipped");
  const bits = (t: tf.Tensor) => new Uint32Array((t.dataSync() as Float32Array).slice().buffer);
  const [f, p, fb, pb] = [full, part!, fullBias, partBias!].map(bits);
  const real = paddedRuns(lengths, T);
  let computed = 0;
  for (let r = 0; r < B * T; r++) {
    const isReal = real.some((_, i) => i % 2 === 0 && r >= real[i]! && r < real[i + 1]!);
    const rowP = p!.subarray(r * n, (r + 1) * n);
    if (isReal) {
      assert.deepEqual(rowP, f!.subarray(r * n, (r + 1) * n), `row ${r}`);
      assert.deepEqual(pb!.subarray(r * n, (r + 1) * n), fb!.subarray(r * n, (r + 1) * n), `row ${r} with bias`);
    } else if (rowP.every((v) => v === 0)) continue;
    computed++;
  }
  assert.ok(computed < B * T, "every row was computed");
  tf.dispose([x, w, bias, full, fullBias, part!, partBias!]);
});

function sftConfig(workers: number, dropout: number) {
  return parseConfig(
    {
      seed: 4,
      model: { blockSize: 96, nEmbd: 32, nLayer: 2, nHead: 2, positions: "sections", dropout },
      data: { evalFraction: 0.2 },
      train: { steps: 6, batchSize: 12, evalEvery: 3, checkpointEvery: 0, logEvery: 1, workers },
      optim: { lr: 3e-2, minLr: 1e-3, warmupSteps: 2, gradClip: 0.5 },
    },
    SftConfigSchema,
    "test",
  );
}

// Lengths from 8 to about 90 tokens, so every batch pads most of its rows.
const EXAMPLES = Array.from({ length: 30 }, (_, i) => ({
  prompt: `${i}+${(i * 7) % 10}=\n`,
  response: `1:${"ab".repeat((i * 11) % 41)}${i + ((i * 7) % 10)}`,
}));

async function train(skipOn: boolean, workers: number, dropout: number) {
  setPaddingSkip(skipOn);
  paddingSkipStats(true);
  try {
    const r = await trainedBits(sftConfig(workers, dropout), EXAMPLES, "bcr-realrows-");
    return { ...r, skipped: paddingSkipStats(true).skipped };
  } finally {
    setPaddingSkip(true);
  }
}

for (const [workers, dropout] of [
  [1, 0],
  [2, 0.1],
]) {
  test(`${workers} worker(s)${dropout ? ", dropout" : ""}: 6 SFT steps skipping the padding end with the same bits`, {
    skip,
  }, async () => {
    const on = await train(true, workers!, dropout!);
    const off = await train(false, workers!, dropout!);
    // With 2 workers the other shard's rows are skipped in its thread: this thread's count is enough.
    assert.ok(on.skipped > 0, "no row was skipped");
    assert.equal(off.skipped, 0);
    assert.deepEqual(on.losses, off.losses);
    for (let i = 0; i < off.weights.length; i++)
      assert.deepEqual(on.weights[i], off.weights[i], `${off.weights[i]![0]} differs`);
  });
}

test("an RL update's gradients skipping the padding: the same bits", { skip }, () => {
  const model = new GPT({ vocabSize: 40, blockSize: 80, nEmbd: 32, nLayer: 2, nHead: 2, dropout: 0, seed: 5 });
  const G = 4;
  const rollouts: Rollout[] = Array.from({ length: 8 }, (_, s) => {
    const promptIds = Array.from({ length: 6 + (s % 3) }, (_, i) => 1 + ((i * 3 + s) % 39));
    const responseIds = Array.from({ length: 2 + ((s * 17) % 60) }, (_, i) => 1 + ((i * 5 + s) % 39));
    return {
      promptIds,
      responseIds,
      oldLogProbs: responseIds.map((_, i) => -1 - ((i + s) % 5) / 7),
      text: "",
      truncated: false,
      accuracy: s % 2,
      correct: [s % 2 === 1],
      tokensPerProblem: responseIds.length,
      loops: 0,
    };
  });
  const adv = [0, 1].map((g) => {
    const v = [0.5, -1, 1.5, -0.25].map((a) => a * (g + 1));
    return { total: v, accuracy: v, length: [0, 0, 0, 0], zeroVariance: false };
  });
  const batch = buildUpdateBatch(rollouts, adv, G, true);
  const cfg = { clipLow: 0.2, clipHigh: 0.28, klBeta: 0, aggregation: "token-mean" as const, budget: 64 };
  const grads = (on: boolean) => {
    setPaddingSkip(on);
    paddingSkipStats(true);
    try {
      const g = surrogateGrads(model, batch, batch.adv.total, cfg);
      const out = [...g.grads].map(([k, t]) => [
        k,
        Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer)),
      ]);
      tf.dispose([...g.grads.values()]);
      return { out, loss: g.loss, skipped: paddingSkipStats(true).skipped };
    } finally {
      setPaddingSkip(true);
    }
  };
  const on = grads(true);
  const off = grads(false);
  assert.ok(on.skipped > 0, "no row was skipped");
  assert.equal(on.loss, off.loss);
  assert.deepEqual(on.out, off.out);
  tf.dispose([batch.tokens, batch.mask, batch.oldLogp, batch.adv.total, batch.adv.accuracy, batch.adv.length]);
  model.dispose();
});
