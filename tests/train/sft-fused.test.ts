// The SFT step with the fused training kernels (src/engine/native-kernels.ts: the native AdamW
// and clipping norm, Identity without the copy, the data-parallel shortcuts) against the same
// step without them, which is the tfjs code they replace: N steps of trainSft, 1 and 2 workers,
// must end with the same bits in every weight and log the same losses and norms.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { trainedBits, useBackend } from "./setup.js";
import { nativeOptimizer, setFusedTraining } from "../../src/engine/native-kernels.js";
import { SftConfigSchema } from "../../src/train/sft-config.js";
import { parseConfig } from "../../src/util/config.js";

await useBackend();
after(() => setFusedTraining(true));

const skip = nativeOptimizer() === null ? "the native kernel set is not loaded (BCR_KERNELS=wasm or no addon)" : false;

function config(workers: number, dropout: number) {
  return parseConfig(
    {
      seed: 9,
      model: { blockSize: 48, nEmbd: 16, nLayer: 2, nHead: 2, positions: "sections", dropout },
      data: { evalFraction: 0 },
      train: { steps: 6, batchSize: 12, evalEvery: 0, checkpointEvery: 0, logEvery: 1, workers },
      optim: { lr: 3e-2, minLr: 1e-3, warmupSteps: 2, gradClip: 0.5 },
    },
    SftConfigSchema,
    "test",
  );
}

// Lengths from 8 to about 40 tokens: the batches' shards pad differently, and in some steps the
// last shard is the costliest (the main thread then computes it, not shard 0).
const EXAMPLES = Array.from({ length: 21 }, (_, i) => ({
  prompt: `${i}+${(i * 7) % 10}=\n`,
  response: `1:${"ab".repeat(i % 13)}${i + ((i * 7) % 10)}`,
}));

async function run(fused: boolean, workers: number, dropout: number) {
  setFusedTraining(fused);
  try {
    return await trainedBits(config(workers, dropout), EXAMPLES, "bcr-fused-");
  } finally {
    setFusedTraining(true);
  }
}

for (const [workers, dropout] of [
  [1, 0],
  [2, 0],
  [2, 0.1],
  [3, 0],
]) {
  test(`${workers} worker(s)${dropout ? ", dropout" : ""}: 6 SFT steps with the fused kernels end with the old path's bits`, {
    skip,
  }, async () => {
    const fused = await run(true, workers!, dropout!);
    const old = await run(false, workers!, dropout!);
    assert.deepEqual(fused.losses, old.losses);
    for (let i = 0; i < old.weights.length; i++)
      assert.deepEqual(fused.weights[i], old.weights[i], `${old.weights[i]![0]} differs`);
  });
}
