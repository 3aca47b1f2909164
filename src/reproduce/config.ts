/**
 * Every setting of `bcr reproduce`, with its default and a one-line description. The defaults
 * are the former default run, essential traces without a ladder (configs/reproduce-essential.json
 * spells them out); the default run, configs/reproduce.json, extends them through the packs-of-8
 * variants with the ladder settings; configs/reproduce-quick.json is the tiny CI version. The resolved object is saved in <out>/summary.json.
 *
 * Numbers derived from the data rather than set by hand (recorded in <runs>/data/stats.json):
 *   bcr response budget  = ceil(rl.bcr.budgetFactor * rl.bcr.n * mean essential trace length)
 *                          (rl.bcr.n a list: its mean; the budget is the same for every N drawn)
 *   l1 target length     = round(mean essential trace length)   (unless a method sets one)
 * where the mean essential trace length is that of one problem of the training set, written as
 * in a packed response (`k:` header and separator included).
 */
import { z } from "zod";
import { SftConfigSchema } from "../train/sft-config.js";

const positiveInt = () => z.number().int().positive();
const nonNegInt = () => z.number().int().nonnegative();
const levels = () => z.array(z.number().int().min(1).max(8)).min(1);

export const DataSchema = z.strictObject({
  seed: z.number().int().default(1234).describe("seed of the synthetic train/test problems"),
  train: positiveInt().default(6000).describe("training problems (SFT examples are drawn from them)"),
  test: positiveInt().default(500).describe("held-out test problems written to disk"),
  levels: levels().default([5, 6, 7, 8]).describe("synthetic difficulty levels (data, RL prompts, eval)"),
});

export const SftStageSchema = z
  .strictObject({
    examples: positiveInt().default(20000).describe("SFT examples built with buildSftExamples"),
    groupSizes: z
      .array(positiveInt())
      .min(1)
      .default([1, 1, 2, 3, 4])
      .describe("N of each SFT example, drawn uniformly from this list (repeat a value to weight it)"),
    seed: z.number().int().default(2).describe("seed of the SFT example builder"),
    mix: z
      .strictObject({
        essential: z.number().nonnegative().default(0.1).describe("weight of concise essential traces"),
        redundant: z.number().nonnegative().default(0.8).describe("weight of wordy traces with re-check loops"),
        shortcut: z.number().nonnegative().default(0.1).describe("weight of answer-only traces"),
        // Optional without a default, so that configs without it keep their stage hashes.
        merged: z
          .number()
          .nonnegative()
          .optional()
          .describe("weight of traces whose steps may fold in the next operation (absent: 0)"),
        terse: z
          .number()
          .nonnegative()
          .optional()
          .describe(
            "weight of terse traces, symbol and result per step (`a=55 b=40 A40`), the ladder's rung below essential (absent: 0)",
          ),
        bare: z
          .number()
          .nonnegative()
          .optional()
          .describe("weight of bare traces, running values only (`55 40 A40`), the rung below terse (absent: 0)"),
      })
      .prefault({})
      .describe("trace-style mixture (default: the wordy DEFAULT_MIX)"),
    merge: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe("merged traces: chance that a step folds in the next operation (absent: 0.5, DEFAULT_MERGE)"),
    loops: z
      .tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])
      .refine(([lo, hi]) => lo <= hi, "loops: the low end must not exceed the high end")
      .default([2, 4])
      .describe("re-checks per redundant trace, inclusive range [low, high] (DEFAULT_LOOPS)"),
    run: SftConfigSchema.prefault({
      name: "sft",
      model: { blockSize: 512, nEmbd: 128, nLayer: 2, nHead: 4, dropout: 0, positions: "sections" },
      train: { steps: 1000, batchSize: 32, evalEvery: 100, checkpointEvery: 100 },
      optim: { lr: 3e-3, minLr: 3e-4, warmupSteps: 50 },
    }).describe("the SFT run itself (model size, steps, optimizer); data.train is ignored"),
    extend: z
      .strictObject({
        examples: positiveInt()
          .default(20000)
          .describe("examples of the second phase (same mix, loops and merge as the first)"),
        groupSizes: z
          .array(positiveInt())
          .min(1)
          .describe("N of each second-phase example, e.g. [1, 1, 2, 3, 4, 6, 8] to add longer packs"),
        seed: z.number().int().default(3).describe("seed of the second phase's example builder"),
        run: SftConfigSchema.describe(
          "the second phase's run, started from the first phase's weights with a fresh optimizer and schedule; model as sft.run.model except that blockSize may grow; data and init are set by the pipeline",
        ),
      })
      .optional()
      .describe(
        "a second SFT phase that continues the first on other packs (absent: one phase); its model is the SFT model RL starts from",
      ),
  })
  .superRefine((s, ctx) => {
    // Caught here, before an hour of first-phase training, rather than when the second phase loads it.
    if (!s.extend) return;
    const a = s.run.model as Record<string, unknown>,
      b = s.extend.run.model as Record<string, unknown>;
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (k === "blockSize") {
        if ((b.blockSize as number) < (a.blockSize as number)) {
          ctx.addIssue({
            code: "custom",
            path: ["extend", "run", "model", "blockSize"],
            message: `must be at least sft.run.model.blockSize (${a.blockSize as number}): the context may grow, not shrink`,
          });
        }
      } else if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) {
        ctx.addIssue({
          code: "custom",
          path: ["extend", "run", "model", k],
          message: `must equal sft.run.model.${k} (${JSON.stringify(a[k])}): the second phase continues the first model`,
        });
      }
    }
    if (s.extend.run.init !== undefined)
      ctx.addIssue({
        code: "custom",
        path: ["extend", "run", "init"],
        message: "is set by the pipeline (the first phase's run); leave it out",
      });
  });

export const MethodSchema = z
  .strictObject({
    kind: z.enum(["single", "bcr", "penalty"]).describe("run kind (src/rl/config.ts)"),
    shaping: z.string().default("accuracy").describe("penalty runs: reward shaping from src/rewards"),
    params: z.record(z.string(), z.number()).default({}).describe('shaping parameters, e.g. {"lambda": 5}'),
    targetLength: positiveInt().optional().describe("l1-exact/l1-max: target length (default: derived from the data)"),
    // Optional without a default, so that configs without it keep their stage hashes.
    budget: z
      .union([positiveInt(), z.literal("bcr-per-problem")])
      .optional()
      .describe(
        'single runs: their own response budget instead of rl.singleBudget, in tokens or "bcr-per-problem" (floor of the bcr budget / mean bcr N): the matched-budget control, labelled single@b<k>',
      ),
    budgetSplit: z
      .enum(["shared", "equal"])
      .optional()
      .describe(
        'bcr runs: "equal" splits the bcr budget into equal per-problem caps (a problem counts as answered only if its attributed tokens fit budget / N), labelled bcr-split; "shared" (or absent) is the method',
      ),
  })
  .superRefine((m, ctx) => {
    if (m.budgetSplit !== undefined && m.kind !== "bcr")
      ctx.addIssue({
        code: "custom",
        path: ["budgetSplit"],
        message: `is for kind 'bcr' (how the pack's budget is split), not '${m.kind}'`,
      });
    if (m.budget !== undefined && m.kind !== "single")
      ctx.addIssue({
        code: "custom",
        path: ["budget"],
        message: `is for kind 'single' (the matched-budget control), not '${m.kind}'`,
      });
  });
export type MethodSpec = z.infer<typeof MethodSchema>;

export const RlStageSchema = z.strictObject({
  steps: positiveInt().default(40).describe("RL steps of every run (same for every method)"),
  workers: positiveInt()
    .default(2)
    .describe(
      "RL runs trained at once, each in its own process, and models evaluated at once, each in its own thread (wasm computes on one thread: 2 uses both cores of a 2-core machine); not hashed",
    ),
  promptsPerStep: positiveInt().default(8).describe("prompts per RL step (same for every method)"),
  groupSize: z.number().int().min(2).default(8).describe("G: rollouts per prompt (same for every method)"),
  lr: z
    .number()
    .positive()
    .default(1e-4)
    .describe(
      "RL learning rate (2e-4 damages the single baseline of a section-position SFT model, see docs/packed-contexts.md)",
    ),
  singleBudget: positiveInt()
    .default(128)
    .describe("response budget of single and penalty runs (generous: a wordy answer fits)"),
  bcr: z
    .strictObject({
      n: z
        .union([positiveInt(), z.array(positiveInt()).min(1)])
        .default(3)
        .describe(
          "problems per context in bcr training: fixed, or drawn per step from a list (one budget for every N, derived from the list's mean: larger N get less room per problem)",
        ),
      budgetFactor: z
        .number()
        .positive()
        .default(1.2)
        .describe(
          "bcr budget = ceil(factor * n * mean essential trace length): tight enough that wordy answers run out of room",
        ),
      budget: positiveInt().optional().describe("explicit bcr budget in tokens (overrides budgetFactor)"),
    })
    .prefault({})
    .describe("the BCR runs"),
  packMix: z
    .array(levels())
    .min(2)
    .optional()
    .describe(
      "mixed-difficulty RL prompts, e.g. [[5, 6], [7, 8]]: each pack draws its problems from these level sets in turn, half each (RlConfig task.packMix; absent: levels drawn uniformly)",
    ),
  evalEvery: nonNegInt()
    .default(10)
    .describe("steps between periodic held-out evals during RL (training curves, collapse detection)"),
  evalProblems: positiveInt().default(64).describe("held-out problems per periodic eval"),
  evalBudget: positiveInt().default(160).describe("token budget of the periodic N=1 eval"),
  diagnosticsEvery: nonNegInt()
    .default(5)
    .describe("steps between accuracy/length gradient diagnostics (penalty runs)"),
  checkpointEvery: nonNegInt().default(10).describe("steps between RL checkpoints (resume granularity)"),
  methods: z
    .array(MethodSchema)
    .min(1)
    .default([
      { kind: "single", shaping: "accuracy", params: {} },
      { kind: "bcr", shaping: "accuracy", params: {} },
      { kind: "penalty", shaping: "linear", params: { lambda: 5 } },
      { kind: "penalty", shaping: "kimi", params: {} },
      { kind: "penalty", shaping: "l1-exact", params: { alpha: 0.01 } },
    ])
    .describe("methods trained, one run per method and seed; labels single, bcr, <shaping>@<param>"),
  // Token-level aggregation by default: GRPO's per-sequence mean weighs tokens by 1/|o|, a length
  // pressure of its own that would shorten the accuracy-only baseline (Dr. GRPO, arXiv 2503.20783).
  base: z
    .record(z.string(), z.unknown())
    .default({ grpo: { aggregation: "token-mean" } })
    .describe('extra RlConfig fields merged into every run first (e.g. {"grpo": {"klBeta": 0.01}})'),
});

export const EvalStageSchema = z.strictObject({
  problems: positiveInt().default(128).describe("test problems evaluated (the first ones of the test split)"),
  n1Budget: positiveInt().default(160).describe("token budget of the N=1 eval (generous: no answer should be cut off)"),
  temperature: z
    .number()
    .min(0)
    .default(1)
    .describe(
      "sampling temperature of the N=1 eval and the sweep (1: the policy as trained and sampled in RL; 0: greedy, which hides the SFT model's re-check loops since no single re-check is ever the likeliest next token)",
    ),
  samples: positiveInt()
    .default(4)
    .describe(
      "independent draws per problem (N=1) or group (sweep) at temperature > 0, each request with its own seed; intervals average a problem's draws inside the problem level (greedy: one)",
    ),
  ns: z.array(positiveInt()).min(1).default([1, 2, 3, 4, 6, 8]).describe("N values of the task-scaling sweep"),
  sweepBudget: positiveInt()
    .default(256)
    .describe("fixed total token budget per context in the sweep (same for every N)"),
  rotations: positiveInt()
    .default(1)
    .describe("cyclic rotations per sweep group (N: full Latin square over positions)"),
  batchSize: positiveInt().default(64).describe("contexts generated per batch"),
  greedy: z
    .boolean()
    .optional()
    .describe(
      "also evaluate every model at N=1 greedily (temperature 0), reported beside the sampled numbers (absent: false)",
    ),
});

export const AnalysisStageSchema = z.strictObject({
  bootstrap: positiveInt().default(1000).describe("bootstrap resamples for every CI and fit band"),
  seed: z.number().int().default(0).describe("seed of every bootstrap"),
  fitBy: z.enum(["aic", "aicc", "bic"]).default("aicc").describe("criterion that ranks the scaling forms"),
  ci: z
    .enum(["problems", "hierarchical"])
    .default("problems")
    .describe(
      "intervals of per-method numbers and differences: problems (seeds averaged per problem, problems bootstrapped) or hierarchical (seeds, then problems; src/analysis/hierarchical.ts)",
    ),
});

/** Thresholds of the claim verdicts (src/reproduce/claims.ts documents each one). */
export const ClaimThresholdsSchema = z.strictObject({
  freeLunchMinReduction: z
    .number()
    .min(0)
    .max(1)
    .default(0.3)
    .describe("free lunch: bcr must use at least this fraction fewer tokens per problem than single at N=1"),
  freeLunchAccuracyMargin: z
    .number()
    .min(0)
    .max(1)
    .default(0.01)
    .describe(
      "free lunch: bcr's mean accuracy may be at most this much (a fraction) below single's (reported beside the verdict; the verdict is non-inferiority)",
    ),
  freeLunchNonInferiorityMargin: z
    .number()
    .min(0)
    .max(1)
    .default(0.03)
    .describe(
      "free lunch: non-inferiority margin, fixed before the run: the lower bound of the accuracy difference's interval (bcr - single) must be at least minus this (a fraction)",
    ),
  monotoneTolerance: z
    .number()
    .min(0)
    .default(0.02)
    .describe(
      "task scaling: a rise of tokens/problem between consecutive N up to this fraction of the N=1 value counts as noise",
    ),
  scalingMaxN: positiveInt()
    .default(8)
    .describe("task scaling: accuracy drop measured from N=1 to this N (or the largest N measured)"),
  collapseFraction: z
    .number()
    .gt(0)
    .lt(1)
    .default(0.5)
    .describe("a run collapsed when eval accuracy ends below this fraction of its start (src/analysis/stability.ts)"),
  collapsedSeedShare: z
    .number()
    .gt(0)
    .max(1)
    .default(0.5)
    .describe("a method counts as collapsed when at least this share of its seeds collapsed"),
});

export const ReproduceConfigSchema = z.strictObject({
  name: z.string().default("reproduce").describe("name shown in logs and the report"),
  out: z
    .string()
    .default("docs/history/ladder")
    .describe("output folder (claims.json, summary.json, tables/, figures/, report.html); --out overrides"),
  demoModel: z
    .string()
    .optional()
    .describe("where the SFT model's final weights go as the demo checkpoint (absent or with --out: <out>/models/sft)"),
  runs: z
    .string()
    .default("runs/reproduce")
    .describe("folder of the data, the runs and the eval caches; --runs overrides"),
  seeds: z
    .array(z.number().int())
    .min(1)
    .default([1, 2, 3])
    .describe("RL seeds: every method is trained once per seed"),
  data: DataSchema.prefault({}).describe("synthetic problems"),
  sft: SftStageSchema.prefault({}).describe("the SFT starting point"),
  rl: RlStageSchema.prefault({}).describe("the RL runs"),
  eval: EvalStageSchema.prefault({}).describe("N=1 eval and the N-sweep"),
  analysis: AnalysisStageSchema.prefault({}).describe("bootstraps and fits"),
  claims: ClaimThresholdsSchema.prefault({}).describe("verdict thresholds"),
  figures: z
    .strictObject({
      png: z.boolean().default(true).describe("render PNGs with headless Chromium (false: interactive HTML only)"),
    })
    .prefault({})
    .describe("figure output"),
});

export type ReproduceConfig = z.infer<typeof ReproduceConfigSchema>;
export type ReproduceConfigInput = z.input<typeof ReproduceConfigSchema>;
