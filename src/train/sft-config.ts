/**
 * Every setting of a supervised fine-tuning run, with its default and a one-line description.
 * `bcr sft --help` prints this list; a run folder's config.json is this object, fully resolved.
 */
import { z } from "zod";
import { DEFAULT_GPT } from "../model/gpt.js";

const positiveInt = () => z.number().int().positive();
const nonNegInt = () => z.number().int().nonnegative();

export const SftModelSchema = z
  .strictObject({
    blockSize: positiveInt()
      .default(DEFAULT_GPT.blockSize)
      .describe("context length in tokens (BOS + prompt + response + EOS must fit)"),
    nEmbd: positiveInt().default(DEFAULT_GPT.nEmbd).describe("embedding width"),
    nLayer: positiveInt().default(DEFAULT_GPT.nLayer).describe("number of transformer blocks"),
    nHead: positiveInt().default(DEFAULT_GPT.nHead).describe("attention heads per block (must divide nEmbd)"),
    dropout: z.number().min(0).lt(1).default(DEFAULT_GPT.dropout).describe("dropout probability during training"),
    // No default, so configs written before this setting existed resolve (and hash) as before.
    positions: z
      .enum(["learned", "rotary", "sections"])
      .optional()
      .describe(
        "position encoding: learned absolute table (when absent), rotary q/k (relative offsets only), or sections (learned table restarted at every problem section `k:` of the response, plus a learned section id)",
      ),
  })
  .refine((m) => m.nEmbd % m.nHead === 0, { message: "nHead must divide nEmbd", path: ["nHead"] });

export const SftDataSchema = z.strictObject({
  train: z.string().optional().describe("JSONL of {prompt, response} records to train on (or pass examples in code)"),
  eval: z.string().optional().describe("JSONL of held-out {prompt, response} records for eval/loss"),
  evalFraction: z
    .number()
    .min(0)
    .max(0.5)
    .default(0.05)
    .describe("without data.eval: fraction of train held out for eval (seeded split)"),
});

export const SftTrainSchema = z.strictObject({
  steps: positiveInt().default(2000).describe("optimizer steps in the whole run"),
  batchSize: positiveInt().default(32).describe("sequences per step"),
  evalEvery: nonNegInt().default(200).describe("steps between eval-loss passes (0: only at the end)"),
  evalBatches: nonNegInt().default(8).describe("batches per eval pass (0: the whole eval set)"),
  checkpointEvery: nonNegInt().default(500).describe("steps between checkpoints (0: only at the end)"),
  keepCheckpoints: nonNegInt().default(2).describe("newest checkpoints kept in checkpoints/ (0: keep all)"),
  logEvery: positiveInt().default(1).describe("steps between metrics.jsonl lines (each reads the loss back)"),
  // No default, so configs written before this setting existed resolve (and hash) as before.
  workers: positiveInt()
    .optional()
    .describe(
      "threads that share each step's batch (data-parallel gradients, data-parallel.ts; absent: 1, all on the main thread); the same seed and workers give the same weights, another workers count differs in the last digits",
    ),
});

export const SftOptimSchema = z.strictObject({
  lr: z.number().positive().default(1e-3).describe("peak learning rate (after warm-up)"),
  minLr: z.number().nonnegative().default(1e-4).describe("learning rate at the end of the cosine decay"),
  warmupSteps: nonNegInt().default(100).describe("linear warm-up steps"),
  decay: z.enum(["cosine", "constant"]).default("cosine").describe("schedule after warm-up"),
  weightDecay: z.number().nonnegative().default(0.1).describe("AdamW decoupled weight decay (2-D weights only)"),
  beta1: z.number().min(0).lt(1).default(0.9).describe("AdamW first-moment decay"),
  beta2: z.number().min(0).lt(1).default(0.95).describe("AdamW second-moment decay"),
  eps: z.number().positive().default(1e-8).describe("AdamW denominator epsilon"),
  gradClip: z.number().nonnegative().default(1.0).describe("clip the global gradient norm to this (0: off)"),
});

export const SftConfigSchema = z.strictObject({
  name: z.string().default("sft").describe("run name (shown in logs)"),
  seed: z.number().int().default(1337).describe("seeds model init, data order, eval split and dropout"),
  init: z
    .string()
    .optional()
    .describe(
      "start from this checkpoint's weights (a checkpoint, checkpoints folder or run folder; model must match, except that blockSize may grow) instead of a random init",
    ),
  model: SftModelSchema.prefault({}).describe("GPT size"),
  data: SftDataSchema.prefault({}).describe("where the examples come from"),
  train: SftTrainSchema.prefault({}).describe("loop lengths and intervals"),
  optim: SftOptimSchema.prefault({}).describe("AdamW and the learning-rate schedule"),
});

export type SftConfig = z.infer<typeof SftConfigSchema>;
/** The input form: every field optional (defaults fill them). */
export type SftConfigInput = z.input<typeof SftConfigSchema>;
