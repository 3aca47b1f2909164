import { test, before } from "node:test";
import assert from "node:assert/strict";
import { tf, useBackend } from "./setup.js";
import { GPT, type GPTConfig } from "../../src/model/gpt.js";
import { DataParallel, shardBounds } from "../../src/train/data-parallel.js";
import { SftConfigSchema } from "../../src/train/sft-config.js";
import { encodeExample, makeBatch, sftLoss, trainSft, type SftExample } from "../../src/train/sft.js";
import { parseConfig } from "../../src/util/config.js";
import { tempDir } from "../helpers/tmp.js";
import { TINY_GPT, tok } from "../helpers/tiny-gpt.js";

before(useBackend);

const MODEL: GPTConfig = {
  ...TINY_GPT,
  positions: "sections",
  sections: { promptEnd: tok.encode("\n")[0]!, mark: tok.encode(":")[0]!, maxSection: 4 },
};
// lengths from 5 to 25 tokens, so every shard pads differently and holds a different number of targets
const EXAMPLES: SftExample[] = Array.from({ length: 7 }, (_, i) => ({
  prompt: `${i}+${(i * 7) % 10}=\n`,
  response: `1:${"ab".repeat(i)}${i + ((i * 7) % 10)}`,
}));
const encoded = EXAMPLES.map((e, i) => encodeExample(tok, e, MODEL.blockSize, `example ${i}`));

test("shardBounds splits contiguously, sizes differing by at most one, never an empty shard", () => {
  assert.deepEqual(shardBounds(7, 2), [
    [0, 4],
    [4, 7],
  ]);
  assert.deepEqual(shardBounds(7, 3), [
    [0, 3],
    [3, 5],
    [5, 7],
  ]);
  assert.deepEqual(shardBounds(2, 4), [
    [0, 1],
    [1, 2],
  ]);
  assert.deepEqual(shardBounds(32, 2), [
    [0, 16],
    [16, 32],
  ]);
});

/** max |a - b| / max |b| over one tensor's values. */
function relErr(a: Float32Array, b: Float32Array): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

for (const workers of [2, 3]) {
  test(`${workers} workers: the loss and every gradient equal the single-process full-batch ones (token-weighted)`, async () => {
    const model = new GPT(MODEL);
    const vars = [...model.params.values()];
    const { tokens, mask } = makeBatch(encoded);
    const ref = tf.variableGrads(() => sftLoss(model, tokens, mask, { training: false }), vars);
    const dp = await DataParallel.start(MODEL, workers, model);
    try {
      const got = await dp.lossAndGrads(model, encoded, { training: false });
      const refLoss = ref.value.dataSync()[0]!;
      assert.ok(
        Math.abs(got.value.dataSync()[0]! - refLoss) <= 1e-6 * Math.abs(refLoss),
        `loss ${got.value.dataSync()[0]} vs ${refLoss}`,
      );
      for (const v of vars) {
        const e = relErr(got.grads[v.name]!.dataSync() as Float32Array, ref.grads[v.name]!.dataSync() as Float32Array);
        assert.ok(e < 1e-5, `${v.name}: relative error ${e}`);
      }
      // a mean of shard means would weight the short shard's tokens more: the check above sees it
      tf.dispose([got.value, got.grads]);
    } finally {
      await dp.close();
      tf.dispose([tokens, mask, ref.value, ref.grads]);
      model.dispose();
    }
  });
}

test("a worker's failure is an error naming the worker, not a hang", async () => {
  const model = new GPT(MODEL);
  const dp = await DataParallel.start(MODEL, 2, model);
  try {
    // The second shard's example is longer than the worker model's blockSize. The first shard
    // (2 x 25 padded tokens) costs more than the second (1 x 40), so a worker gets the bad one
    // whichever shard the main thread takes.
    const longest = encoded[encoded.length - 1]!;
    const bad = [longest, longest, { ids: Array(40).fill(5), responseStart: 1 }];
    await assert.rejects(dp.lossAndGrads(model, bad, { training: false }), /data-parallel worker 1:/);
  } finally {
    await dp.close();
    model.dispose();
  }
});

test("a failure on the main thread's shard is an error too, and the workers serve the next step", async () => {
  const model = new GPT(MODEL);
  const dp = await DataParallel.start(MODEL, 2, model);
  try {
    // the costlier shard is the bad one (the main thread's with the fused kernels, else a worker's)
    const bad = [encoded[0]!, { ids: Array(40).fill(5), responseStart: 1 }];
    await assert.rejects(dp.lossAndGrads(model, bad, { training: false }), /outside|blockSize|worker 1/);
    const ok = await dp.lossAndGrads(model, encoded, { training: false });
    assert.ok(Number.isFinite(ok.value.dataSync()[0]!));
    tf.dispose([ok.value, ok.grads]);
  } finally {
    await dp.close();
    model.dispose();
  }
});

function config(workers?: number, dropout = 0) {
  return parseConfig(
    {
      seed: 5,
      model: { blockSize: 32, nEmbd: 16, nLayer: 1, nHead: 2, positions: "sections", dropout },
      data: { evalFraction: 0 },
      train: { steps: 4, batchSize: 5, evalEvery: 0, checkpointEvery: 0, ...(workers ? { workers } : {}) },
      optim: { lr: 1e-2, minLr: 1e-3, warmupSteps: 1 },
    },
    SftConfigSchema,
    "test",
  );
}
const weights = (m: GPT) => [...m.params].map(([k, v]) => [k, Array.from(v.dataSync())] as const);
const EXAMPLES_12 = Array.from({ length: 12 }, (_, i) => ({
  prompt: `${i}+${i % 3}=\n`,
  response: `1:${i + (i % 3)}`,
}));

test("trainSft with train.workers 2: two runs give identical weights; the losses match the one-thread run", async () => {
  const run = async (workers?: number) => {
    const r = await trainSft(config(workers), EXAMPLES_12, tempDir("bcr-dp-"), { progress: false });
    const w = weights(r.model);
    r.model.dispose();
    return { w, losses: r.losses.map((l) => l.loss) };
  };
  const a = await run(2);
  const b = await run(2);
  assert.deepEqual(a.w, b.w);
  const one = await run();
  a.losses.forEach((l, i) =>
    assert.ok(
      Math.abs(l - one.losses[i]!) < 1e-4 * Math.abs(one.losses[i]!),
      `step ${i + 1}: ${l} vs ${one.losses[i]}`,
    ),
  );
  // absent stays absent: configs without the field resolve (and hash) as before
  assert.equal("workers" in config().train, false);
});

test("train.workers 2: a run interrupted and resumed ends with the weights of one that was not; dropout runs reproduce too", async () => {
  const whole = await trainSft(config(2), EXAMPLES_12, tempDir("bcr-dp-"), { progress: false });
  const dir = tempDir("bcr-dp-");
  const first = await trainSft(config(2), EXAMPLES_12, dir, { progress: false, maxStepsThisRun: 2 });
  assert.equal(first.stopped, true);
  first.model.dispose();
  const resumed = await trainSft(config(2), EXAMPLES_12, dir, { progress: false });
  assert.equal(resumed.startStep, 2);
  assert.deepEqual(weights(resumed.model), weights(whole.model));
  tf.dispose([...whole.model.params.values(), ...resumed.model.params.values()]);

  // with dropout each shard draws its own masks from the step's seed: still the same run twice
  const d1 = await trainSft(config(2, 0.2), EXAMPLES_12, tempDir("bcr-dp-"), { progress: false });
  const d2 = await trainSft(config(2, 0.2), EXAMPLES_12, tempDir("bcr-dp-"), { progress: false });
  assert.deepEqual(weights(d1.model), weights(d2.model));
  d1.model.dispose();
  d2.model.dispose();
});
