/**
 * Every setting of an RL run, with its default and a one-line description. One schema for the
 * three kinds of run (the kind picks how prompts are built and how they are rewarded):
 *   single   one problem per context, accuracy reward                       (the baseline)
 *   bcr      N problems per context, one shared response budget, mean accuracy   (the method)
 *   penalty  one problem per context, any length shaping from src/rewards/   (the baselines)
 * `bcr train --help` prints this list; a run folder's config.json is this object, resolved.
 */
import { z } from "zod";

const positiveInt = () => z.number().int().positive();
const nonNegInt = () => z.number().int().nonnegative();

export const RlTaskSchema = z.strictObject({
  levels: z
    .array(z.number().int().min(1).max(8))
    .min(1)
    .default([1, 2, 3, 4])
    .describe("synthetic difficulty levels drawn uniformly for training prompts"),
  trainSeed: z.number().int().default(11).describe("seed of the stream of training problems"),
  trainFile: z
    .string()
    .optional()
    .describe(
      "JSONL of problems to draw training prompts from (e.g. a data set's train split, so RL never sees test problems); default: generated",
    ),
  evalSeed: z.number().int().default(7).describe("seed of the fixed held-out eval problems"),
  evalProblems: positiveInt().default(64).describe("held-out problems evaluated at each eval"),
  // Optional without a default, so that configs without it keep their bytes and hashes.
  packMix: z
    .array(z.array(z.number().int().min(1).max(8)).min(1))
    .min(2)
    .optional()
    .describe(
      "mixed-difficulty packs, e.g. [[5, 6], [7, 8]]: problem k of a pack is drawn from level set (offset + k) mod sets (offset random per pack), then the pack is shuffled, so a pack of 4 holds 2 easy and 2 hard problems (absent: every problem from levels)",
    ),
});

export const RlSamplingSchema = z.strictObject({
  promptsPerStep: positiveInt().default(8).describe("prompts (packed contexts) per RL step"),
  groupSize: z.number().int().min(2).default(8).describe("G: responses sampled per prompt"),
  budget: positiveInt()
    .default(160)
    .describe("max new tokens for the whole response (shared by the N problems under bcr)"),
  temperature: z.number().positive().default(1).describe("sampling temperature of rollouts"),
  topP: z.number().gt(0).max(1).default(1).describe("nucleus mass of rollouts (1: off)"),
});

export const RlGrpoSchema = z.strictObject({
  clipLow: z.number().min(0).lt(1).default(0.2).describe("PPO clip below: ratio >= 1 - clipLow"),
  clipHigh: z.number().min(0).default(0.28).describe("PPO clip above: ratio <= 1 + clipHigh (DAPO clip-higher)"),
  klBeta: z.number().min(0).default(0).describe("k3 KL coefficient to the frozen initial model (0: no reference)"),
  epochs: positiveInt().default(1).describe("optimisation passes over each batch of rollouts"),
  aggregation: z
    .enum(["seq-mean", "token-mean", "const"])
    .default("seq-mean")
    .describe("loss aggregation: GRPO per-sequence mean, DAPO token mean, Dr. GRPO constant"),
  advNorm: z
    .enum(["std", "none"])
    .default("std")
    .describe("divide advantages by the group's std (GRPO) or not (Dr. GRPO)"),
  maskTruncated: z
    .boolean()
    .default(false)
    .describe("drop truncated responses from the loss (off: truncation is the budget signal)"),
});

export const RlOptimSchema = z.strictObject({
  lr: z.number().positive().default(3e-4).describe("learning rate (constant after warm-up)"),
  warmupSteps: nonNegInt().default(0).describe("linear warm-up steps"),
  weightDecay: z.number().nonnegative().default(0).describe("AdamW decoupled weight decay"),
  beta1: z.number().min(0).lt(1).default(0.9).describe("AdamW first-moment decay"),
  beta2: z.number().min(0).lt(1).default(0.99).describe("AdamW second-moment decay"),
  eps: z.number().positive().default(1e-8).describe("AdamW epsilon"),
  gradClip: z.number().nonnegative().default(1).describe("clip the global gradient norm (0: off)"),
});

export const RlEvalSchema = z.strictObject({
  every: nonNegInt().default(10).describe("steps between evals (0: only at the start and the end)"),
  n: positiveInt().default(1).describe("problems per context at eval"),
  budget: positiveInt().default(256).describe("max new tokens per eval context (generous: N=1 eval must not truncate)"),
  temperature: z.number().min(0).default(0).describe("eval sampling temperature (0: greedy)"),
  samples: positiveInt()
    .default(4)
    .describe("independent draws per eval group at temperature > 0, each with its own seed (greedy: one)"),
});

export const RlConfigSchema = z
  .strictObject({
    name: z.string().default("rl").describe("run name (used in logs)"),
    method: z
      .string()
      .default("")
      .describe("method label in tables and figures (default: kind, or <shaping>@<first param> for penalty runs)"),
    kind: z
      .enum(["single", "bcr", "penalty"])
      .default("bcr")
      .describe("single: 1 problem + accuracy; bcr: N problems + mean accuracy; penalty: 1 problem + shaping"),
    seed: z.number().int().default(1).describe("seeds rollouts, problem order and the trainer's RNG streams"),
    init: z.string().describe("checkpoint (or run folder) of the SFT model to start from"),
    n: z
      .union([positiveInt(), z.array(positiveInt()).min(1)])
      .default(3)
      .describe("bcr: problems per context, fixed or drawn per step from a list"),
    budgetSplit: z
      .enum(["shared", "equal"])
      .optional()
      .describe(
        "bcr: shared (one budget for the pack, the method) or equal (the same packed generation, but a problem counts as answered only if its attributed tokens fit budget / N: bcr-split) (absent: shared)",
      ),
    shaping: z
      .strictObject({
        name: z.string().default("accuracy").describe("reward shaping from src/rewards (penalty runs)"),
        params: z.record(z.string(), z.number()).default({}).describe('its parameters, e.g. {"lambda": 1}'),
        targetLength: positiveInt().optional().describe("l1-exact/l1-max: target length stated in the prompt"),
      })
      .prefault({})
      .describe("reward shaping"),
    steps: positiveInt().default(100).describe("RL steps"),
    task: RlTaskSchema.prefault({}).describe("synthetic task settings"),
    sampling: RlSamplingSchema.prefault({}).describe("rollouts"),
    grpo: RlGrpoSchema.prefault({}).describe("the GRPO objective"),
    optim: RlOptimSchema.prefault({}).describe("AdamW"),
    eval: RlEvalSchema.prefault({}).describe("periodic held-out evaluation"),
    diagnosticsEvery: nonNegInt()
      .default(5)
      .describe("steps between gradient diagnostics (accuracy vs length gradients; 0: off)"),
    checkpointEvery: nonNegInt().default(25).describe("steps between checkpoints (0: only at the end)"),
    keepCheckpoints: nonNegInt().default(2).describe("newest checkpoints kept (0: all)"),
    samplesEvery: nonNegInt()
      .default(10)
      .describe("steps between writing example responses to samples.jsonl (0: never)"),
  })
  .superRefine((c, ctx) => {
    if (c.budgetSplit !== undefined && c.kind !== "bcr")
      ctx.addIssue({
        code: "custom",
        path: ["budgetSplit"],
        message: `is for kind 'bcr' (how the pack's budget is split), not '${c.kind}'`,
      });
    if (c.kind !== "penalty" && c.shaping.name !== "accuracy") {
      ctx.addIssue({
        code: "custom",
        path: ["shaping", "name"],
        message: `kind '${c.kind}' is rewarded by accuracy alone; use kind 'penalty' for shaping '${c.shaping.name}'`,
      });
    }
  })
  .transform((c) => ({ ...c, method: c.method || defaultMethodLabel(c) }));

/** `single`, `bcr`, `bcr-split` (equal per-problem caps), or `<shaping>@<first parameter value>` (e.g. `linear@1`, `kimi`). */
export function defaultMethodLabel(c: {
  kind: string;
  budgetSplit?: "shared" | "equal" | undefined;
  shaping: { name: string; params: Record<string, number> };
}): string {
  if (c.kind === "bcr" && c.budgetSplit === "equal") return "bcr-split";
  if (c.kind !== "penalty") return c.kind;
  const first = Object.values(c.shaping.params)[0];
  return first === undefined ? c.shaping.name : `${c.shaping.name}@${first}`;
}

export type RlConfig = z.infer<typeof RlConfigSchema>;
export type RlConfigInput = z.input<typeof RlConfigSchema>;

/** Problems per context this step: 1 unless bcr. */
export function contextSize(c: RlConfig, draw: (ns: number[]) => number): number {
  if (c.kind !== "bcr") return 1;
  return Array.isArray(c.n) ? draw(c.n) : c.n;
}

/** The per-problem cap of an equal-split bcr run for a pack of n (floor(budget / n)), else undefined. */
export function perProblemCap(c: RlConfig, n: number): number | undefined {
  return c.kind === "bcr" && c.budgetSplit === "equal" ? Math.max(1, Math.floor(c.sampling.budget / n)) : undefined;
}

/** Target tokens per problem that a run states in its prompts (L1-style penalty runs), else undefined. */
export function promptTargetLength(c: RlConfig): number | undefined {
  return c.kind === "penalty" ? c.shaping.targetLength : undefined;
}
