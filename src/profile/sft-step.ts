/**
 * The SFT step as src/train/sft.ts runs it, over a fixed list of batches (cycled): makeBatch,
 * masked mean NLL (sftLoss), global-norm clipping, AdamW; the loss and grad norm are read back
 * once per step. With `dp`, the gradient comes from shards on worker threads
 * (src/train/data-parallel.ts). Shared by `npm run bench` and `bcr profile`.
 */
import { tf } from "../engine/backend.js";
import { withRealRows } from "../engine/real-rows.js";
import type { GPT } from "../model/gpt.js";
import type { Encoded } from "../train/batch.js";
import type { DataParallel } from "../train/data-parallel.js";
import { AdamW } from "../train/optim.js";
import { makeBatch, sftLoss } from "../train/sft.js";
import { Rng } from "../util/rng.js";

export interface SftStepSettings {
  lr: number;
  weightDecay: number;
  gradClip: number;
  beta1: number;
  beta2: number;
  eps: number;
}

export interface SftStepper {
  /** One step on the next batch: its loss, its padded tokens (B x T) and padded length T. */
  step(): Promise<{ loss: number; tokens: number; seqLen: number }>;
  /** Frees the optimizer state. */
  dispose(): void;
}

export function sftStepper(model: GPT, batches: Encoded[][], s: SftStepSettings, dp?: DataParallel): SftStepper {
  const cfg = model.config;
  const opt = new AdamW(model.params, { beta1: s.beta1, beta2: s.beta2, eps: s.eps, weightDecay: s.weightDecay });
  const varNames = new Map([...model.params].map(([name, v]) => [v.name, name]));
  const vars = [...model.params.values()];
  const dropoutRng = new Rng(4);
  let next = 0;
  const step = async () => {
    const rows = batches[next++ % batches.length]!;
    const { tokens, mask, lengths } = makeBatch(rows);
    const padded = tokens.shape[0] * tokens.shape[1];
    const training = cfg.dropout > 0;
    const dropoutSeed = dropoutRng.int(0, 2 ** 31 - 1);
    const opts = training ? { training, dropoutSeed } : { training };
    const { value: loss, grads } = dp
      ? await dp.lossAndGrads(model, rows, opts)
      : withRealRows(lengths, tokens.shape[1], () => tf.variableGrads(() => sftLoss(model, tokens, mask, opts), vars));
    const named = new Map(Object.entries(grads).map(([k, g]) => [varNames.get(k) ?? k, g]));
    const norm = opt.clipAndUpdate(named, s.gradClip, s.lr);
    const both = tf.tidy(() => tf.stack([loss, norm]));
    const lossValue = both.dataSync()[0]!;
    tf.dispose([both, loss, norm, grads, tokens, mask]);
    return { loss: lossValue, tokens: padded, seqLen: tokens.shape[1] };
  };
  return { step, dispose: () => opt.dispose() };
}
