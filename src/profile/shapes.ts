/**
 * The shapes `npm run bench` and `bcr profile` time: the reproduction's model and its real
 * batches, read from a reproduce config (configs/reproduce.json) through the config loader, so
 * the measurements follow the config instead of a copy of its numbers.
 *
 *   model   gptConfigFor(sft.run): width, layers, heads, section positions, blockSize
 *   train   sft.run.train.batchSize examples per step, drawn the way trainSft draws them
 *           (length-bucketed BatchSampler over SFT examples built as the data stage builds
 *           them), so each step is right-padded to its own longest example, as in training
 *   sample  the RL rollout batch (rl.promptsPerStep x rl.groupSize sequences) of packed
 *           N = rl.bcr.n prompts, with the BCR budget the pipeline derives (derive())
 *
 * The problems come from the data stage's generator and seed, without writing files; the
 * examples are a sample (trainSft's lengths, not its exact batches).
 */
import { CharTokenizer } from "../model/tokenizer.js";
import type { GPTConfig } from "../model/gpt.js";
import { ReproduceConfigSchema, type ReproduceConfig } from "../reproduce/config.js";
import type { Problem } from "../bcr/types.js";
import { derive, type Derived } from "../reproduce/budget.js";
import { traceLengths } from "../reproduce/data.js";
import { buildSftExamples, generateProblems } from "../tasks/index.js";
import { BatchSampler, encodeExample, gptConfigFor } from "../train/sft.js";
import { loadConfig } from "../util/config.js";

/** One example as encodeExample gives it; a step's batch is makeBatch of these (right-padded). */
export interface EncodedExample {
  ids: number[];
  /** First target position (BOS + prompt length). */
  responseStart: number;
}

export interface ReproduceShapes {
  configFile: string;
  model: GPTConfig;
  batchSize: number;
  batches: EncodedExample[][];
  /** Padded length of each batch (what the step computes on). */
  seqLens: number[];
  sample: { prompts: number[][]; newTokens: number; n: number; batch: number };
  /** The budgets the pipeline derives from the data statistics (derive()). */
  derived: Derived;
  /** The synthetic problems the SFT examples were built from (the train split's generator). */
  problems: Problem[];
}

/** SFT examples to draw batches from: enough for the bucketed sampler's pools. */
const EXAMPLE_POOL = 2048;

export function reproduceShapes(configFile: string, opts: { steps: number; sampleBatch?: number }): ReproduceShapes {
  return shapesOf(loadConfig(configFile, ReproduceConfigSchema), configFile, opts);
}

/** The same from a resolved config (a study experiment's, say); `configFile` only labels it. */
export function shapesOf(
  config: ReproduceConfig,
  configFile: string,
  opts: { steps: number; sampleBatch?: number },
): ReproduceShapes {
  const tok = new CharTokenizer();
  const run = config.sft.run;
  const model = gptConfigFor(run, tok);
  const d = config.data;
  // writeSyntheticDataset draws the train split from this generator and seed (minus duplicates)
  const problems = generateProblems(d.seed * 2, d.train, d.levels);
  const s = config.sft;
  const examples = buildSftExamples(problems, {
    count: EXAMPLE_POOL,
    groupSizes: s.groupSizes,
    seed: s.seed,
    mix: s.mix,
    loops: s.loops,
    ...(s.merge !== undefined ? { merge: s.merge } : {}),
  })
    .filter((e) => e.prompt.length + e.response.length + 2 <= run.model.blockSize)
    .map((e, i) => encodeExample(tok, e, run.model.blockSize, `bench example ${i + 1}`));
  const batchSize = run.train.batchSize;
  const sampler = new BatchSampler(examples.length, run.seed + 2, {
    lengths: examples.map((e) => e.ids.length),
    batchSize,
  });
  const batches = Array.from({ length: opts.steps }, () => sampler.next(batchSize).map((j) => examples[j]!));

  const rl = config.rl;
  const n = Array.isArray(rl.bcr.n) ? Math.max(...rl.bcr.n) : rl.bcr.n;
  const stats = traceLengths(problems.slice(0, 500), d.seed + 17, s.loops);
  const derived = derive(config, { ...stats, sftExamples: 0, sftStyleShares: {} });
  const budget = derived.bcrBudget;
  const batch = opts.sampleBatch ?? rl.promptsPerStep * rl.groupSize;
  // GRPO samples groupSize completions of each prompt: promptsPerStep distinct packed prompts
  const packs = buildSftExamples(problems, {
    count: rl.promptsPerStep,
    groupSizes: [n],
    seed: 99,
    mix: s.mix,
    loops: s.loops,
  });
  const prompts = Array.from({ length: batch }, (_, i) => [
    CharTokenizer.BOS,
    ...tok.encode(packs[i % packs.length]!.prompt),
  ]);
  return {
    configFile,
    model,
    batchSize,
    batches,
    seqLens: batches.map((b) => Math.max(...b.map((e) => e.ids.length))),
    sample: { prompts, newTokens: budget, n, batch },
    derived,
    problems,
  };
}
